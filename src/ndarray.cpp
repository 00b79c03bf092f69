// NDArray: construction, element access, views, conversions and repr.

#include "tessera/ndarray.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <ostream>

#include "src/dispatch.hpp"

namespace tessera {
namespace {

void check_shape(const Shape& shape) {
    for (std::int64_t extent : shape)
        if (extent < 0) throw ValueError("negative dimensions are not allowed in shape {}", shape_str(shape));
}

std::int64_t checked_nbytes(const Shape& shape, DType dtype) {
    check_shape(shape);
    std::int64_t n = dtype.itemsize();
    for (std::int64_t extent : shape) {
        if (extent != 0 && n > std::numeric_limits<std::int64_t>::max() / extent)
            throw ValueError("array of shape {} and dtype {} is too big", shape_str(shape), dtype);
        n *= extent;
    }
    return n;
}

// Lowest and highest element offsets (in elements, relative to the origin) a view reaches.
std::pair<std::int64_t, std::int64_t> element_extent(const Shape& shape,
                                                     const std::vector<std::int64_t>& strides) {
    std::int64_t lo = 0, hi = 0;
    for (std::size_t axis = 0; axis < shape.size(); ++axis) {
        if (shape[axis] == 0) return {0, 0};
        const std::int64_t reach = (shape[axis] - 1) * strides[axis];
        (reach < 0 ? lo : hi) += reach;
    }
    return {lo, hi};
}

// --- Strided iteration -------------------------------------------------------------------------
// Walks the elements of `shape` for N operands at once, calling
// run(ptrs, byte_strides, n) for each innermost run. Axes of extent 1 are dropped and axes that
// are contiguous with their inner neighbour in every operand are merged, so contiguous data is
// one long run. No recursion: an odometer over the outer axes.
template <std::size_t N, class Run>
void strided_loop(const Shape& shape, std::array<std::byte*, N> ptrs,
                  std::array<const std::vector<std::int64_t>*, N> strides,
                  std::array<std::int64_t, N> itemsizes, Run&& run) {
    struct Dim {
        std::int64_t extent;
        std::array<std::int64_t, N> stride;  // bytes
    };
    std::vector<Dim> dims;
    for (std::size_t axis = 0; axis < shape.size(); ++axis) {
        if (shape[axis] == 0) return;
        if (shape[axis] == 1) continue;
        Dim d{shape[axis], {}};
        for (std::size_t op = 0; op < N; ++op) d.stride[op] = (*strides[op])[axis] * itemsizes[op];
        if (!dims.empty()) {
            Dim& outer = dims.back();
            bool mergeable = true;
            for (std::size_t op = 0; op < N; ++op)
                mergeable = mergeable && outer.stride[op] == d.stride[op] * d.extent;
            if (mergeable) {
                outer.extent *= d.extent;
                outer.stride = d.stride;
                continue;
            }
        }
        dims.push_back(d);
    }
    if (dims.empty()) {
        run(ptrs, std::array<std::int64_t, N>{}, std::int64_t{1});
        return;
    }
    const Dim inner = dims.back();
    dims.pop_back();
    std::vector<std::int64_t> counter(dims.size(), 0);
    while (true) {
        run(ptrs, inner.stride, inner.extent);
        std::size_t axis = dims.size();
        for (; axis > 0; --axis) {
            Dim& d = dims[axis - 1];
            if (++counter[axis - 1] < d.extent) {
                for (std::size_t op = 0; op < N; ++op) ptrs[op] += d.stride[op];
                break;
            }
            counter[axis - 1] = 0;
            for (std::size_t op = 0; op < N; ++op) ptrs[op] -= d.stride[op] * (d.extent - 1);
        }
        if (axis == 0) return;
    }
}

template <class T>
T load(const std::byte* p) {
    T v;
    std::memcpy(&v, p, sizeof(T));
    return v;
}

using ConvertRun = void (*)(std::byte*, std::int64_t, const std::byte*, std::int64_t, std::int64_t);

template <class D, class S>
void convert_run(std::byte* dst, std::int64_t dst_stride, const std::byte* src,
                 std::int64_t src_stride, std::int64_t n) {
    if (dst_stride == sizeof(D) && src_stride == sizeof(S)) {
        if constexpr (std::is_same_v<D, S>) {
            std::memcpy(dst, src, static_cast<std::size_t>(n) * sizeof(D));
        } else {
            D* d = reinterpret_cast<D*>(dst);
            const S* s = reinterpret_cast<const S*>(src);
            for (std::int64_t k = 0; k < n; ++k) d[k] = element_cast<D>(s[k]);
        }
        return;
    }
    for (std::int64_t k = 0; k < n; ++k)
        *reinterpret_cast<D*>(dst + k * dst_stride) =
            element_cast<D>(*reinterpret_cast<const S*>(src + k * src_stride));
}

ConvertRun convert_fn(DType to, DType from) {
    return visit_dtype(to, [from](auto to_tag) {
        using D = typename decltype(to_tag)::type;
        return visit_dtype(from, [](auto from_tag) -> ConvertRun {
            return &convert_run<D, typename decltype(from_tag)::type>;
        });
    });
}

// Byte range [first, last) of a non-empty view within its buffer.
std::pair<std::int64_t, std::int64_t> byte_range(const NDArray& a) {
    auto [lo, hi] = element_extent(a.shape(), a.strides());
    return {a.offset() + lo * a.itemsize(), a.offset() + (hi + 1) * a.itemsize()};
}

// Copies `src` into `dst` (same shape, any dtypes, no overlap).
void copy_into(NDArray& dst, const NDArray& src) {
    const std::int64_t n = src.size();
    if (n == 0) return;
    auto* d = static_cast<std::byte*>(dst.raw_data());
    const auto* s = static_cast<const std::byte*>(src.raw_data());
    if (dst.is_contiguous() && src.is_contiguous()) {
        if (dst.dtype() == src.dtype())
            std::memcpy(d, s, static_cast<std::size_t>(n * src.itemsize()));
        else
            convert_fn(dst.dtype(), src.dtype())(d, dst.itemsize(), s, src.itemsize(), n);
        return;
    }
    ConvertRun fn = convert_fn(dst.dtype(), src.dtype());
    strided_loop<2>(dst.shape(), {d, const_cast<std::byte*>(s)}, {&dst.strides(), &src.strides()},
                    {dst.itemsize(), src.itemsize()},
                    [fn](const std::array<std::byte*, 2>& p, const std::array<std::int64_t, 2>& st,
                         std::int64_t count) { fn(p[0], st[0], p[1], st[1], count); });
}

std::int64_t index_byte_offset(const NDArray& a, std::span<const std::int64_t> index) {
    const auto given = static_cast<std::int64_t>(index.size());
    if (given > a.ndim())
        throw IndexError("too many indices for array: array is {}-dimensional, but {} were indexed",
                         a.ndim(), given);
    if (given < a.ndim())
        throw IndexError("not enough indices for array: array is {}-dimensional, but {} were indexed",
                         a.ndim(), given);
    std::int64_t elems = 0;
    for (std::int64_t axis = 0; axis < given; ++axis) {
        std::int64_t i = index[axis];
        const std::int64_t n = a.shape()[axis];
        if (i < -n || i >= n)
            throw IndexError("index {} is out of bounds for axis {} with size {}", i, axis, n);
        if (i < 0) i += n;
        elems += i * a.strides()[axis];
    }
    return elems * a.itemsize();
}

template <class T>
bool element_equal(T x, T y, bool equal_nan) {
    if constexpr (std::is_floating_point_v<T>) {
        return x == y || (equal_nan && std::isnan(x) && std::isnan(y));
    } else if constexpr (is_complex_v<T>) {
        const auto is_nan = [](T v) { return std::isnan(v.real()) || std::isnan(v.imag()); };
        return x == y || (equal_nan && is_nan(x) && is_nan(y));
    } else {
        return x == y;
    }
}

}  // namespace

// --- Construction ------------------------------------------------------------------------------

NDArray::NDArray() : dtype_(float64), shape_{0}, strides_{1} {}

NDArray::NDArray(DType dtype, Shape shape, std::vector<std::int64_t> strides, std::int64_t offset,
                 std::shared_ptr<Buffer> buffer)
    : dtype_(dtype), shape_(std::move(shape)), strides_(std::move(strides)), offset_(offset),
      buffer_(std::move(buffer)) {
    check_shape(shape_);
    if (strides_.empty() && !shape_.empty()) strides_ = c_strides(shape_);
    if (strides_.size() != shape_.size())
        throw ShapeError("strides {} do not match shape {}", shape_str(strides_), shape_str(shape_));
    if (size() == 0) return;
    const auto [first, last] = byte_range(*this);
    if (!buffer_ || first < 0 || last > buffer_->nbytes())
        throw ValueError("view of shape {} with strides {} at offset {} does not fit in a buffer of {} bytes",
                         shape_str(shape_), shape_str(strides_), offset_,
                         buffer_ ? buffer_->nbytes() : 0);
}

NDArray NDArray::empty(DType dtype, const Shape& shape) {
    return NDArray(dtype, shape, c_strides(shape), 0, Buffer::allocate(checked_nbytes(shape, dtype)));
}

NDArray NDArray::zeros(DType dtype, const Shape& shape) {
    return NDArray(dtype, shape, c_strides(shape), 0, Buffer::zeros(checked_nbytes(shape, dtype)));
}

NDArray NDArray::full(DType dtype, const Shape& shape, const Scalar& value) {
    return visit_dtype(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T v = from_scalar<T>(value);
        const T zero{};
        // All-zero bytes (not -0.0): the lazily zeroed allocation is free for huge arrays.
        if (std::memcmp(&v, &zero, sizeof(T)) == 0) return zeros(dtype, shape);
        NDArray out = empty(dtype, shape);
        std::fill_n(static_cast<T*>(out.raw_data()), out.size(), v);
        return out;
    });
}

NDArray NDArray::scalar(const Scalar& value) { return full(value.dtype(), {}, value); }
NDArray NDArray::scalar(const Scalar& value, DType dtype) { return full(dtype, {}, value); }

NDArray NDArray::from_data(DType dtype, const Shape& shape, const void* data) {
    NDArray out = empty(dtype, shape);
    if (out.nbytes() > 0) std::memcpy(out.raw_data(), data, static_cast<std::size_t>(out.nbytes()));
    return out;
}

NDArray NDArray::wrap(DType dtype, const Shape& shape, void* data,
                      std::shared_ptr<const void> keep_alive, std::vector<std::int64_t> strides) {
    check_shape(shape);
    if (strides.empty()) strides = c_strides(shape);
    if (strides.size() != shape.size())
        throw ShapeError("strides {} do not match shape {}", shape_str(strides), shape_str(shape));
    // The buffer covers exactly the bytes the view reaches, which may lie before `data` when a
    // stride is negative; the offset then points back at `data`.
    std::int64_t lo = 0, nbytes = 0;
    if (shape_size(shape) > 0) {
        auto [first, last] = element_extent(shape, strides);
        lo = first * dtype.itemsize();
        nbytes = (last - first + 1) * dtype.itemsize();
    }
    auto buffer = Buffer::wrap(static_cast<std::byte*>(data) + lo, nbytes, std::move(keep_alive));
    return NDArray(dtype, shape, std::move(strides), -lo, std::move(buffer));
}

// --- Properties and element access --------------------------------------------------------------

std::int64_t NDArray::shape(std::int64_t axis) const {
    return shape_[static_cast<std::size_t>(normalize_axis(axis, ndim()))];
}

std::int64_t NDArray::size() const { return shape_size(shape_); }

bool NDArray::is_contiguous() const {
    if (size() == 0) return true;
    std::int64_t expected = 1;
    for (std::size_t axis = shape_.size(); axis-- > 0;) {
        if (shape_[axis] == 1) continue;
        if (strides_[axis] != expected) return false;
        expected *= shape_[axis];
    }
    return true;
}

void* NDArray::raw_data() { return buffer_ ? buffer_->data() + offset_ : nullptr; }
const void* NDArray::raw_data() const { return buffer_ ? buffer_->data() + offset_ : nullptr; }

void NDArray::check_dtype(DType expected) const {
    if (expected != dtype_)
        throw DTypeError("array of dtype {} accessed as {}", dtype_, expected);
}

Scalar NDArray::get_scalar(std::span<const std::int64_t> index) const {
    const std::byte* p = static_cast<const std::byte*>(raw_data()) + index_byte_offset(*this, index);
    return visit_dtype(dtype_, [p](auto tag) {
        using T = typename decltype(tag)::type;
        return to_scalar<T>(load<T>(p));
    });
}

void NDArray::set(std::span<const std::int64_t> index, const Scalar& value) {
    std::byte* p = static_cast<std::byte*>(raw_data()) + index_byte_offset(*this, index);
    visit_dtype(dtype_, [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T v = from_scalar<T>(value);
        std::memcpy(p, &v, sizeof(T));
    });
}

Scalar NDArray::item_scalar() const {
    if (size() != 1) throw ValueError("can only convert an array of size 1 to a Python scalar");
    const auto* p = static_cast<const std::byte*>(raw_data());
    return visit_dtype(dtype_, [p](auto tag) {
        using T = typename decltype(tag)::type;
        return to_scalar<T>(load<T>(p));
    });
}

// --- Copies and views --------------------------------------------------------------------------

NDArray NDArray::copy() const { return astype(dtype_); }

NDArray NDArray::contiguous() const { return is_contiguous() ? *this : copy(); }

NDArray NDArray::astype(DType dtype) const {
    NDArray out = empty(dtype, shape_);
    copy_into(out, *this);
    return out;
}

NDArray NDArray::reshape(const Shape& shape) const {
    const Shape resolved = resolve_reshape(shape, size());
    if (!is_contiguous()) return copy().reshape(resolved);
    return NDArray(dtype_, resolved, c_strides(resolved), offset_, buffer_);
}

NDArray NDArray::transpose(std::span<const std::int64_t> axes) const {
    const std::int64_t n = ndim();
    const std::vector<std::int64_t> perm = normalize_permutation(axes, n);
    Shape shape(perm.size());
    std::vector<std::int64_t> strides(perm.size());
    for (std::size_t k = 0; k < perm.size(); ++k) {
        shape[k] = shape_[static_cast<std::size_t>(perm[k])];
        strides[k] = strides_[static_cast<std::size_t>(perm[k])];
    }
    return NDArray(dtype_, std::move(shape), std::move(strides), offset_, buffer_);
}

NDArray NDArray::slice(std::int64_t axis, std::int64_t start, std::int64_t stop, std::int64_t step) const {
    const auto ax = static_cast<std::size_t>(normalize_axis(axis, ndim()));
    if (step == 0) throw ValueError("slice step cannot be zero");
    // Python's slice.indices(): negative bounds count from the end, then clamp.
    const std::int64_t n = shape_[ax];
    const std::int64_t lower = step < 0 ? -1 : 0, upper = step < 0 ? n - 1 : n;
    const auto clamp = [&](std::int64_t v) {
        if (v < 0) v = v < -n ? lower : v + n;  // v < -n also avoids overflow for INT64_MIN
        if (v < 0) return lower;
        return std::min(v, upper);
    };
    start = clamp(start);
    stop = clamp(stop);
    std::int64_t length = 0;
    if (step > 0 && stop > start) length = (stop - start - 1) / step + 1;
    if (step < 0 && start > stop) length = (start - stop - 1) / -step + 1;
    Shape shape = shape_;
    std::vector<std::int64_t> strides = strides_;
    shape[ax] = length;
    strides[ax] = strides_[ax] * step;
    const std::int64_t offset = length > 0 ? offset_ + start * strides_[ax] * itemsize() : offset_;
    return NDArray(dtype_, std::move(shape), std::move(strides), offset, buffer_);
}

void NDArray::assign(const NDArray& src) {
    if (src.shape() != shape_)
        throw ShapeError("cannot assign an array of shape {} to an array of shape {}",
                         shape_str(src.shape()), shape_str(shape_));
    if (size() == 0) return;
    if (buffer_ && src.buffer() == buffer_) {
        if (raw_data() == src.raw_data() && strides_ == src.strides() && dtype_ == src.dtype()) return;
        // Overlapping views of one buffer (e.g. a.assign(a.transpose())): read from a copy.
        const auto [dst_first, dst_last] = byte_range(*this);
        const auto [src_first, src_last] = byte_range(src);
        if (dst_first < src_last && src_first < dst_last) {
            copy_into(*this, src.copy());
            return;
        }
    }
    copy_into(*this, src);
}

void NDArray::assign_region(std::span<const std::int64_t> offset, const NDArray& src) {
    if (static_cast<std::int64_t>(offset.size()) != ndim())
        throw ShapeError("region offset {} has {} entries for an array of dimension {}",
                         shape_str(offset), offset.size(), ndim());
    if (src.ndim() != ndim())
        throw ShapeError("cannot assign a {}-dimensional array to a region of a {}-dimensional array",
                         src.ndim(), ndim());
    bool fits = true;
    std::string region;
    for (std::size_t axis = 0; axis < offset.size(); ++axis) {
        const std::int64_t begin = offset[axis], end = begin + src.shape()[axis];
        fits = fits && begin >= 0 && end <= shape_[axis];
        region += fmt::format("{}{}:{}", axis ? ", " : "", begin, end);
    }
    if (!fits)
        throw ShapeError("region [{}] is out of bounds for array of shape {}", region, shape_str(shape_));
    NDArray view = *this;
    for (std::size_t axis = 0; axis < offset.size(); ++axis)
        view = view.slice(static_cast<std::int64_t>(axis), offset[axis], offset[axis] + src.shape()[axis]);
    view.assign(src);
}

bool NDArray::equals(const NDArray& other, bool equal_nan) const {
    if (dtype_ != other.dtype_ || shape_ != other.shape_) return false;
    bool equal = true;
    visit_dtype(dtype_, [&](auto tag) {
        using T = typename decltype(tag)::type;
        strided_loop<2>(
            shape_,
            {const_cast<std::byte*>(static_cast<const std::byte*>(raw_data())),
             const_cast<std::byte*>(static_cast<const std::byte*>(other.raw_data()))},
            {&strides_, &other.strides_}, {itemsize(), itemsize()},
            [&](const std::array<std::byte*, 2>& p, const std::array<std::int64_t, 2>& st,
                std::int64_t count) {
                for (std::int64_t k = 0; k < count && equal; ++k)
                    equal = element_equal(load<T>(p[0] + k * st[0]), load<T>(p[1] + k * st[1]), equal_nan);
            });
    });
    return equal;
}


// --- repr --------------------------------------------------------------------------------------

namespace {

constexpr std::int64_t kReprThreshold = 20;  // more elements than this are elided
constexpr std::int64_t kReprEdgeItems = 3;   // shown at each end of an elided axis

// Integral values and non-finite ones, NumPy-style: "3.", "-0.", "nan", "-inf".
std::string format_real(double v) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
    return fmt::format("{:.0f}.", v);
}

template <class T>
std::string format_value(T v) {
    if constexpr (std::is_same_v<T, bool>) {
        return v ? "True" : "False";
    } else if constexpr (std::is_integral_v<T>) {
        return fmt::format("{}", static_cast<scalar_storage_t<T>>(v));
    } else if constexpr (std::is_floating_point_v<T>) {
        // Shortest text of the value in its own precision ("0.1" for float32, not 0.100000001).
        if (std::isfinite(v) && !(v == std::trunc(v) && std::fabs(v) < T(1e16))) return fmt::format("{}", v);
        return format_real(static_cast<double>(v));
    } else {
        const std::string im = format_value(v.imag());
        return format_value(v.real()) + (im.front() == '-' ? "" : "+") + im + "j";
    }
}

template <class T>
std::string format_element(const std::byte* p) {
    return format_value(load<T>(p));
}

// Positions shown along an axis of extent n; -1 marks the "..." of an elided axis.
std::vector<std::int64_t> shown_positions(std::int64_t n, bool elide) {
    std::vector<std::int64_t> out;
    if (elide && n > 2 * kReprEdgeItems) {
        for (std::int64_t k = 0; k < kReprEdgeItems; ++k) out.push_back(k);
        out.push_back(-1);
        for (std::int64_t k = n - kReprEdgeItems; k < n; ++k) out.push_back(k);
    } else {
        for (std::int64_t k = 0; k < n; ++k) out.push_back(k);
    }
    return out;
}

// Formats the shown elements first (to align them to a common width), then writes the nested
// brackets NumPy-style.
class ReprWriter {
public:
    explicit ReprWriter(const NDArray& a)
        : a_(a), elide_(a.size() > kReprThreshold),
          format_(visit_dtype(a.dtype(), [](auto tag) -> std::string (*)(const std::byte*) {
              return &format_element<typename decltype(tag)::type>;
          })) {}

    std::string write(std::size_t indent) {
        collect(0, static_cast<const std::byte*>(a_.raw_data()));
        for (const auto& cell : cells_) width_ = std::max(width_, cell.size());
        std::string out;
        emit(out, 0, indent);
        return out;
    }

private:
    void collect(std::size_t axis, const std::byte* p) {
        if (axis == a_.shape().size()) {
            cells_.push_back(format_(p));
            return;
        }
        const std::int64_t step = a_.strides()[axis] * a_.itemsize();
        for (std::int64_t pos : shown_positions(a_.shape()[axis], elide_))
            if (pos >= 0) collect(axis + 1, p + pos * step);
    }

    void emit(std::string& out, std::size_t axis, std::size_t indent) {
        const std::size_t ndim = a_.shape().size();
        if (axis == ndim) {
            const std::string& cell = cells_[next_++];
            out.append(width_ - cell.size(), ' ').append(cell);
            return;
        }
        out += '[';
        bool first = true;
        for (std::int64_t pos : shown_positions(a_.shape()[axis], elide_)) {
            if (!first) {
                if (axis + 1 == ndim) out += ", ";
                else out.append(",").append(ndim - 1 - axis, '\n').append(indent + axis + 1, ' ');
            }
            first = false;
            if (pos < 0) out += "...";
            else emit(out, axis + 1, indent);
        }
        out += ']';
    }

    const NDArray& a_;
    bool elide_;
    std::string (*format_)(const std::byte*);
    std::vector<std::string> cells_;
    std::size_t width_ = 0, next_ = 0;
};

}  // namespace

std::string NDArray::repr() const {
    const std::string suffix = fmt::format("dtype={})", dtype_);
    if (size() == 0) {
        if (ndim() == 1) return "array([], " + suffix;
        return fmt::format("array([], shape={}, {}", shape_str(shape_), suffix);
    }
    return "array(" + ReprWriter(*this).write(6) + ", " + suffix;
}

std::ostream& operator<<(std::ostream& os, const NDArray& a) { return os << a.repr(); }

}  // namespace tessera
