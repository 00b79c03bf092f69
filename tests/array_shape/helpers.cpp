#include "helpers.hpp"

#include <sstream>
#include <string>

namespace shape_test {

ts::NDArray sample(const ts::Shape& shape) {
    std::vector<double> v(static_cast<std::size_t>(ts::shape_size(shape)));
    for (std::size_t k = 0; k < v.size(); ++k) v[k] = (k % 3 == 2 ? -1.0 : 1.0) * (static_cast<double>(k) + 0.5);
    return ts::NDArray::from_data(ts::float64, shape, v.data());
}

ts::NDArray sample_ints(const ts::Shape& shape, ts::DType dtype) {
    std::vector<std::int64_t> v(static_cast<std::size_t>(ts::shape_size(shape)));
    for (std::size_t k = 0; k < v.size(); ++k) v[k] = static_cast<std::int64_t>(k) - 7;
    return ts::NDArray::from_data(ts::int64, shape, v.data()).astype(dtype);
}

std::vector<std::pair<std::string, ts::ChunkSpec>> chunkings(const ts::Shape& shape, std::int64_t ones_axis) {
    std::vector<ts::AxisChunks> whole, regular, ragged, ones;
    for (std::size_t axis = 0; axis < shape.size(); ++axis) {
        const std::int64_t n = shape[axis];
        whole.push_back(ts::AxisChunks::whole());
        regular.push_back(ts::AxisChunks(std::max<std::int64_t>(1, (n + 1) / 2)));
        ts::BlockSizes sizes;
        for (std::int64_t left = n, next = 1; left > 0; ++next) {
            sizes.push_back(std::min(left, next));
            left -= sizes.back();
        }
        if (sizes.empty()) sizes.push_back(0);
        ragged.push_back(ts::AxisChunks(sizes));
        ones.push_back(static_cast<std::int64_t>(axis) == ones_axis ? ts::AxisChunks(1) : ts::AxisChunks::whole());
    }
    return {{"single", ts::ChunkSpec(whole)},
            {"regular", ts::ChunkSpec(regular)},
            {"ragged", ts::ChunkSpec(ragged)},
            {"size-1 along axis " + std::to_string(ones_axis), ts::ChunkSpec(ones)}};
}

ts::NDArray compute_all(const ts::Array& a) {
    ts::NDArray results[4];
    int k = 0;
    for (bool fuse : {true, false}) {
        for (const char* scheduler : {"sync", "threads"}) {
            ts::config::Scoped scoped({.scheduler = scheduler, .optimize = fuse});
            results[k++] = a.compute();
        }
    }
    CHECK(results[0].dtype() == a.dtype());
    CHECK(results[0].shape() == a.shape());
    for (int r = 1; r < 4; ++r) {
        INFO("run " << r << " (threads = odd, unfused = 2, 3) differs from fused sync");
        CHECK(same(results[r], results[0]));
    }
    return results[0];
}

bool same(const ts::NDArray& actual, const ts::NDArray& expected) {
    return actual.dtype() == expected.dtype() && actual.shape() == expected.shape() && actual.equals(expected, true);
}

std::int64_t count_op(const ts::Graph& graph, std::string_view op) {
    std::int64_t n = 0;
    for (const auto& t : graph.tasks()) n += ts::op_name(t.op) == op ? 1 : 0;
    return n;
}

std::int64_t count_name(const ts::Graph& graph, std::string_view name) {
    std::int64_t n = 0;
    for (const auto& t : graph.tasks()) n += t.key.name() == name ? 1 : 0;
    return n;
}

std::int64_t count_deps(const ts::Graph& graph, std::string_view op) {
    std::int64_t n = 0;
    for (const auto& t : graph.tasks())
        if (ts::op_name(t.op) == op) n += static_cast<std::int64_t>(t.deps.size());
    return n;
}

std::vector<std::int64_t> split_ints(const std::string& text, char sep) {
    std::vector<std::int64_t> out;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, sep))
        if (item.find_first_not_of(' ') != std::string::npos) out.push_back(std::stoll(item));
    return out;
}

ts::NDArray ref_take(const ts::NDArray& a, const std::vector<std::int64_t>& idx, std::int64_t axis) {
    ts::Shape shape = a.shape();
    shape[static_cast<std::size_t>(axis)] = static_cast<std::int64_t>(idx.size());
    ts::NDArray out = ts::NDArray::zeros(a.dtype(), shape);
    std::vector<std::int64_t> offset(shape.size(), 0);
    for (std::size_t k = 0; k < idx.size(); ++k) {
        const std::int64_t i = idx[k] < 0 ? idx[k] + a.shape(axis) : idx[k];
        offset[static_cast<std::size_t>(axis)] = static_cast<std::int64_t>(k);
        out.assign_region(offset, a.slice(axis, i, i + 1));
    }
    return out;
}

}  // namespace shape_test
