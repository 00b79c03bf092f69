#pragma once
/// \file ndarray.hpp
/// Materialized data: 64-byte aligned reference-counted buffers and NDArray, a typed strided
/// view over one (what compute() returns and what every chunk is).
///
///     ts::NDArray a = ts::NDArray::zeros(ts::float32, {3, 4});
///     a.set<float>({1, 2}, 5.0f);
///     double v = a.at<double>({1, 2});   // 5.0
///     double m = x.mean().compute().item<double>();

#include <complex>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "tessera/dtype.hpp"
#include "tessera/error.hpp"
#include "tessera/shape.hpp"

namespace tessera {

/// A 64-byte aligned block of memory. Shared by reference counting (std::shared_ptr<Buffer>).
/// Either owns its memory or wraps external memory kept alive by `keep_alive`.
class Buffer {
public:
    static constexpr std::size_t kAlignment = 64;

    /// Allocates `nbytes` (uninitialized) aligned bytes. Throws std::bad_alloc.
    static std::shared_ptr<Buffer> allocate(std::int64_t nbytes);
    /// Allocates zero-filled bytes.
    static std::shared_ptr<Buffer> zeros(std::int64_t nbytes);
    /// Wraps external memory; `keep_alive` is held for the buffer's lifetime (may be null).
    static std::shared_ptr<Buffer> wrap(void* data, std::int64_t nbytes,
                                        std::shared_ptr<const void> keep_alive);

    ~Buffer();
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;

    std::byte* data() { return data_; }
    const std::byte* data() const { return data_; }
    std::int64_t nbytes() const { return nbytes_; }
    bool owns_memory() const { return owned_; }

    /// Number of Buffers alive in this process and their bytes (for tests and memory stats).
    static std::int64_t live_count();
    static std::int64_t live_bytes();

private:
    Buffer(std::byte* data, std::int64_t nbytes, bool owned, std::shared_ptr<const void> keep_alive);
    std::byte* data_;
    std::int64_t nbytes_;
    bool owned_;
    std::shared_ptr<const void> keep_alive_;
};

/// A typed, strided N-d view on a Buffer. Copying an NDArray copies the view, not the data.
/// Strides are in elements (may be negative or zero).
class NDArray {
public:
    /// An empty 0-element float64 array of shape (0,).
    NDArray();
    NDArray(DType dtype, Shape shape, std::vector<std::int64_t> strides, std::int64_t offset,
            std::shared_ptr<Buffer> buffer);

    /// Uninitialized contiguous C-order array.
    static NDArray empty(DType dtype, const Shape& shape);
    static NDArray zeros(DType dtype, const Shape& shape);
    /// Every element set to `value` converted to `dtype`.
    static NDArray full(DType dtype, const Shape& shape, const Scalar& value);
    /// A 0-d array holding `value` with `value`'s dtype (or `dtype` when given).
    static NDArray scalar(const Scalar& value);
    static NDArray scalar(const Scalar& value, DType dtype);
    /// Copies `shape`'s worth of C-ordered elements from `data`.
    static NDArray from_data(DType dtype, const Shape& shape, const void* data);
    template <Element T>
    static NDArray from_vector(const std::vector<T>& values, Shape shape = {}) {
        if (shape.empty() && !values.empty()) shape = {static_cast<std::int64_t>(values.size())};
        return from_data(dtype_of<T>(), shape, values.data());
    }
    /// Wraps external memory without copying; `keep_alive` holds it alive.
    static NDArray wrap(DType dtype, const Shape& shape, void* data,
                        std::shared_ptr<const void> keep_alive,
                        std::vector<std::int64_t> strides = {});

    DType dtype() const { return dtype_; }
    const Shape& shape() const { return shape_; }
    std::int64_t ndim() const { return static_cast<std::int64_t>(shape_.size()); }
    std::int64_t shape(std::int64_t axis) const;
    std::int64_t size() const;
    std::int64_t itemsize() const { return dtype_.itemsize(); }
    std::int64_t nbytes() const { return size() * itemsize(); }
    const std::vector<std::int64_t>& strides() const { return strides_; }
    std::int64_t offset() const { return offset_; }
    const std::shared_ptr<Buffer>& buffer() const { return buffer_; }
    /// True for a C-contiguous layout.
    bool is_contiguous() const;

    /// Address of element 0 (the view's origin).
    void* raw_data();
    const void* raw_data() const;
    /// Typed pointer to element 0; throws DTypeError when T is not this dtype.
    template <Element T>
    T* data() {
        check_dtype(dtype_of<T>());
        return static_cast<T*>(raw_data());
    }
    template <Element T>
    const T* data() const {
        check_dtype(dtype_of<T>());
        return static_cast<const T*>(raw_data());
    }

    /// Element at `index` converted to T (any dtype); IndexError when out of bounds.
    template <class T>
    T at(std::span<const std::int64_t> index) const {
        return get_scalar(index).template as<T>();
    }
    template <class T>
    T at(std::initializer_list<std::int64_t> index) const {
        return at<T>(std::span<const std::int64_t>(index.begin(), index.size()));
    }
    /// Element at `index` as a typed Scalar.
    Scalar get_scalar(std::span<const std::int64_t> index) const;
    /// Sets the element at `index` (value converted to this dtype).
    void set(std::span<const std::int64_t> index, const Scalar& value);
    void set(std::initializer_list<std::int64_t> index, const Scalar& value) {
        set(std::span<const std::int64_t>(index.begin(), index.size()), value);
    }
    /// The single element of a size-1 array converted to T, like NumPy's item();
    /// throws ValueError when size() != 1.
    template <class T>
    T item() const {
        return item_scalar().template as<T>();
    }
    Scalar item_scalar() const;

    /// A contiguous C-order copy (always a new buffer).
    NDArray copy() const;
    /// This array if already contiguous, else a contiguous copy.
    NDArray contiguous() const;
    /// Converted copy (NumPy astype, unsafe casting, C conversion rules).
    NDArray astype(DType dtype) const;
    /// Same data, new shape (contiguous arrays only; copies otherwise). ShapeError on size mismatch.
    NDArray reshape(const Shape& shape) const;
    /// Axis permutation view (empty `axes` reverses the axes).
    NDArray transpose(std::span<const std::int64_t> axes = {}) const;
    /// View of [start, stop) with `step` along `axis`.
    NDArray slice(std::int64_t axis, std::int64_t start, std::int64_t stop, std::int64_t step = 1) const;
    /// Copies `src` (same shape, any dtype) into this array's elements.
    void assign(const NDArray& src);
    /// Copies `src` into the region of this array starting at `offset` (one entry per axis).
    void assign_region(std::span<const std::int64_t> offset, const NDArray& src);

    /// Elementwise equality of shape, dtype and values (NaN == NaN when `equal_nan`).
    bool equals(const NDArray& other, bool equal_nan = true) const;
    /// Short NumPy-like text ("array([1., 2.], dtype=float64)"), elided when large.
    std::string repr() const;

private:
    void check_dtype(DType expected) const;
    DType dtype_;
    Shape shape_;
    std::vector<std::int64_t> strides_;
    std::int64_t offset_ = 0;  // in bytes from buffer start
    std::shared_ptr<Buffer> buffer_;
};

std::ostream& operator<<(std::ostream& os, const NDArray& a);

}  // namespace tessera
