// flip / flipud / fliplr (a getitem with reversed slices) and roll (a concatenation of the two
// slices that swap places), so neither moves data inside a block beyond the slice copy.
#include <map>

#include "array/shape_ops.hpp"
#include "tessera/indexing.hpp"

namespace tessera {

namespace {

// x[..., start:stop, ...] along `axis`.
Array slice_axis(const Array& x, std::int64_t axis, const Slice& slice) {
    std::vector<IndexItem> items(static_cast<std::size_t>(x.ndim()), IndexItem(Slice()));
    items[static_cast<std::size_t>(axis)] = IndexItem(slice);
    return getitem(x, IndexList(std::move(items)));
}

Array roll_axis(const Array& x, std::int64_t shift, std::int64_t axis) {
    const std::int64_t n = x.shape(axis);
    if (n == 0) return x;
    const std::int64_t s = ((shift % n) + n) % n;
    if (s == 0) return x;
    return concatenate({slice_axis(x, axis, Slice(n - s, none)), slice_axis(x, axis, Slice(none, n - s))}, axis);
}

}  // namespace

Array flip(const Array& x, const Axes& axis) {
    std::vector<std::int64_t> axes;
    if (axis.all()) {
        for (std::int64_t a = 0; a < x.ndim(); ++a) axes.push_back(a);
    } else {
        axes = normalize_axes(axis.list(), x.ndim());
    }
    std::vector<IndexItem> items(static_cast<std::size_t>(x.ndim()), IndexItem(Slice()));
    for (auto a : axes) items[static_cast<std::size_t>(a)] = IndexItem(Slice(none, none, -1));
    return getitem(x, IndexList(std::move(items)));
}

Array flipud(const Array& x) {
    if (x.ndim() < 1) throw ValueError("Input must be >= 1-d.");
    return flip(x, 0);
}

Array fliplr(const Array& x) {
    if (x.ndim() < 2) throw ValueError("Input must be >= 2-d.");
    return flip(x, 1);
}

Array roll(const Array& x, std::int64_t shift, std::optional<std::int64_t> axis) {
    if (axis) return roll_axis(x, shift, normalize_axis(*axis, x.ndim()));
    return reshape(roll_axis(ravel(x), shift, 0), x.shape());
}

Array roll(const Array& x, const std::vector<std::int64_t>& shifts, const std::vector<std::int64_t>& axes) {
    if (shifts.size() != axes.size()) throw ValueError("'shift' and 'axis' should be scalars or 1D sequences");
    std::map<std::int64_t, std::int64_t> total;  // repeated axes add up, as in NumPy
    for (std::size_t k = 0; k < axes.size(); ++k) {
        const std::int64_t a = normalize_axis(axes[k], x.ndim());
        const std::int64_t n = std::max<std::int64_t>(x.shape(a), 1);
        total[a] = (total[a] + shifts[k] % n) % n;
    }
    Array out = x;
    for (const auto& [a, s] : total) out = roll_axis(out, s, a);
    return out;
}

}  // namespace tessera
