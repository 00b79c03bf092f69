// The verification mode: re-run an array's graph through the unoptimized path and compare.
#include "array/verify.hpp"

#include <cmath>
#include <complex>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include <fmt/ostream.h>

#include "array/node.hpp"
#include "src/dispatch.hpp"
#include "tessera/error.hpp"
#include "tessera/scheduler.hpp"
#include "tessera/shape.hpp"

namespace tessera::detail {
namespace {

template <class T>
bool same_element(const T& a, const T& b) {
    if constexpr (std::is_floating_point_v<T>) {
        if (std::isnan(a) && std::isnan(b)) return true;
    } else if constexpr (is_complex_v<T>) {
        return same_element(a.real(), b.real()) && same_element(a.imag(), b.imag());
    }
    return std::memcmp(&a, &b, sizeof(T)) == 0;
}

std::vector<std::int64_t> unravel(std::int64_t flat, const Shape& shape) {
    std::vector<std::int64_t> index(shape.size());
    for (std::size_t axis = shape.size(); axis-- > 0;) {
        index[axis] = flat % shape[axis];
        flat /= shape[axis];
    }
    return index;
}

}  // namespace

bool verify_enabled() {
    const char* value = std::getenv("TESSERA_VERIFY");
    if (value == nullptr) return false;
    const std::string_view v(value);
    return v == "1" || v == "true";
}

void verify_array(const Array& array, const NDArray& result) {
    Graph graph;
    const NodePtr node = array.node();
    const std::vector<Key> keys = lower_arrays(std::span(&node, 1), graph, /*fuse=*/false);
    NDArray expected;
    if (!keys.empty()) {
        // The scheduler directly: compute_graph would fuse chains and might pick another scheduler.
        const Graph culled = graph.cull(keys);
        const GraphIndex index = index_graph(culled);
        const std::vector<std::int64_t> priority = memory_order(culled, index, keys);
        std::vector<std::int64_t> positions;
        for (const Key& key : keys) positions.push_back(culled.find(key));
        const std::vector<Value> values = make_sync_scheduler()->run(culled, index, priority, positions, {});
        expected = array.finalize(values);
    } else {
        expected = array.finalize({});
    }
    if (expected.dtype() != result.dtype() || expected.shape() != result.shape())
        throw Error("verification of array {} failed: the optimized result is {} {} but the unfused one is {} {}",
                    array.name(), result.dtype().name(), shape_str(result.shape()), expected.dtype().name(),
                    shape_str(expected.shape()));
    const NDArray got = result.copy(), want = expected.copy();
    visit_dtype(got.dtype(), [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T* a = static_cast<const T*>(got.raw_data());
        const T* b = static_cast<const T*>(want.raw_data());
        const std::int64_t n = got.size();
        for (std::int64_t flat = 0; flat < n; ++flat) {
            if (same_element(a[flat], b[flat])) continue;
            const auto index = unravel(flat, got.shape());
            throw Error("verification of array {} failed: element {} is {} optimized but {} unfused", array.name(),
                        shape_str(index), fmt::streamed(got.get_scalar(index)), fmt::streamed(want.get_scalar(index)));
        }
    });
}

}  // namespace tessera::detail
