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

    /// Allocates `nbytes` (uninitialized) aligned bytes; pages are not touched until written.
    /// Throws std::bad_alloc, or ValueError for a negative size.
    static std::shared_ptr<Buffer> allocate(std::int64_t nbytes);
    /// Allocates zero-filled bytes (large blocks are lazily zeroed pages: free until written).
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

    /// Number of Buffers alive in this process (owned or wrapped) and the bytes of the owned ones
    /// (for tests and memory stats).
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
    /// An empty 0-element float64 array of shape (0,) (allocates nothing).
    NDArray();
    /// A view of `buffer`: `offset` in bytes to element 0, `strides` in elements (empty = C order).
    /// ShapeError when strides and shape differ in length; ValueError for negative extents or a
    /// view reaching outside the buffer.
    NDArray(DType dtype, Shape shape, std::vector<std::int64_t> strides, std::int64_t offset,
            std::shared_ptr<Buffer> buffer);

    /// Uninitialized contiguous C-order array. ValueError for negative extents
    /// ("negative dimensions are not allowed in shape (2, -1)").
    static NDArray empty(DType dtype, const Shape& shape);
    static NDArray zeros(DType dtype, const Shape& shape);
    /// Every element set to `value` converted to `dtype`.
    static NDArray full(DType dtype, const Shape& shape, const Scalar& value);
    /// A 0-d array holding `value` with `value`'s dtype (or `dtype` when given).
    static NDArray scalar(const Scalar& value);
    static NDArray scalar(const Scalar& value, DType dtype);
    /// Copies `shape`'s worth of C-ordered elements from `data`.
    static NDArray from_data(DType dtype, const Shape& shape, const void* data);
    /// Copies `values` into a 1-d array, or into `shape` when given (ShapeError when the sizes
    /// differ). Use scalar() for 0-d arrays.
    template <Element T>
    static NDArray from_vector(const std::vector<T>& values, Shape shape = {}) {
        if (shape.empty()) shape = {static_cast<std::int64_t>(values.size())};
        if (shape_size(shape) != static_cast<std::int64_t>(values.size()))
            throw ShapeError("cannot make an array of shape {} from {} values", shape_str(shape),
                             values.size());
        if constexpr (std::is_same_v<T, bool>) {
            // std::vector<bool> is packed: unpack it.
            NDArray out = empty(dtype_of<bool>(), shape);
            for (std::size_t k = 0; k < values.size(); ++k) out.data<bool>()[k] = values[k];
            return out;
        } else {
            return from_data(dtype_of<T>(), shape, values.data());
        }
    }
    /// Wraps external memory without copying; `keep_alive` holds it alive. `data` is element 0;
    /// `strides` (in elements, empty = C order) may be negative.
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

    /// Element at `index` converted to T (any dtype). Negative indices count from the end.
    /// IndexError when out of bounds ("index 5 is out of bounds for axis 0 with size 3") or when
    /// the index length is not ndim() ("too many indices for array: array is 2-dimensional, but
    /// 3 were indexed", "not enough indices for array: ...").
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
    /// Sets the element at `index` (value converted to this dtype); IndexError as at().
    void set(std::span<const std::int64_t> index, const Scalar& value);
    void set(std::initializer_list<std::int64_t> index, const Scalar& value) {
        set(std::span<const std::int64_t>(index.begin(), index.size()), value);
    }
    /// The single element of a size-1 array converted to T, like NumPy's item(); throws
    /// ValueError "can only convert an array of size 1 to a Python scalar" when size() != 1.
    template <class T>
    T item() const {
        return item_scalar().template as<T>();
    }
    Scalar item_scalar() const;

    /// A contiguous C-order copy (always a new buffer).
    NDArray copy() const;
    /// This array if already contiguous, else a contiguous copy.
    NDArray contiguous() const;
    /// Converted copy (NumPy astype, unsafe casting): to bool is x != 0, complex to real takes
    /// the real part, integers wrap, float to integer truncates, and NaN/inf/out-of-range floats
    /// give NumPy's x86 results (INT64_MIN for int64, 0 for int8, 2^63 for uint64; never UB).
    NDArray astype(DType dtype) const;
    /// Same data, new shape (a view of contiguous arrays; copies otherwise). One extent may be -1.
    /// ShapeError "cannot reshape array of size 6 into shape (4,)"; ValueError for two -1.
    NDArray reshape(const Shape& shape) const;
    /// Axis permutation view (empty `axes` reverses the axes). AxisError when `axes` is not a
    /// permutation of the axes (wrong length, out of range or repeated).
    NDArray transpose(std::span<const std::int64_t> axes = {}) const;
    /// View of [start, stop) with `step` along `axis`, with Python slice semantics: negative
    /// bounds count from the end, bounds are clamped, a negative step walks backwards (pass
    /// INT64_MIN as `stop` to run down to element 0). AxisError for a bad axis, ValueError for
    /// step 0.
    ///
    ///     a.slice(0, -1, INT64_MIN, -1);   // a[::-1]
    NDArray slice(std::int64_t axis, std::int64_t start, std::int64_t stop, std::int64_t step = 1) const;
    /// Copies `src` (same shape, any dtype, converted like astype) into this array's elements;
    /// overlapping views of one buffer are handled. ShapeError when the shapes differ.
    void assign(const NDArray& src);
    /// Copies `src` into the region of this array starting at `offset` (one entry per axis).
    /// ShapeError naming the region when it does not fit ("region [1:4, 2:5] is out of bounds for
    /// array of shape (3, 4)") or when the dimensions differ.
    void assign_region(std::span<const std::int64_t> offset, const NDArray& src);

    /// Elementwise equality of shape, dtype and values (NaN == NaN when `equal_nan`).
    bool equals(const NDArray& other, bool equal_nan = true) const;
    /// Short NumPy-like text ("array([1., 2.], dtype=float64)"), elided with "..." (three items
    /// at each end of an axis) when there are more than 20 elements.
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
