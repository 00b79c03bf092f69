// Reductions computed together share their chunk stage (array/reduction_share.hpp): one pass
// over the input per block, fewer tasks, and every result bitwise what it is alone.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <xtensor/xarray.hpp>
#include <xtensor/xmath.hpp>

#include "array/reduction_kernels.hpp"
#include "helpers.hpp"
#include "tessera/xtensor.hpp"

using namespace reduce_test;
using ts::NDArray;

namespace {

std::int64_t count_ops(const ts::Graph& g, std::string_view op) {
    std::int64_t n = 0;
    for (const auto& t : g.tasks()) n += ts::op_name(t.op) == op ? 1 : 0;
    return n;
}

/// The joint graph of several arrays (like compute(a, b, ...)) and their output keys.
ts::Graph joint_graph(const std::vector<ts::Array>& arrays, std::vector<ts::Key>& keys) {
    ts::Graph g;
    ts::GraphBatch batch(g);
    for (const auto& a : arrays) a.add_to_graph(g, keys);
    batch.finish();
    return g;
}

/// compute(a, b, ...) for a runtime list.
std::vector<NDArray> compute_together(const std::vector<ts::Array>& arrays, const ts::ComputeOptions& options = {}) {
    std::vector<ts::Key> keys;
    std::vector<ts::Value> values;
    {
        ts::Graph g = joint_graph(arrays, keys);
        values = ts::compute_graph(g, keys, options);
    }
    std::vector<NDArray> out;
    std::size_t pos = 0;
    for (const auto& a : arrays) {
        out.push_back(a.finalize(std::span<const ts::Value>(values.data() + pos, a.n_keys())));
        pos += a.n_keys();
    }
    return out;
}

/// NaN in every element whose last two indices are (1, 2): all-NaN slices along the leading axes.
NDArray with_nan_column(NDArray x) {
    if (!x.dtype().is_floating() || x.ndim() < 2) return x;
    for (std::int64_t i = 0; i < x.shape(0); ++i) {
        std::vector<std::int64_t> idx(static_cast<std::size_t>(x.ndim()), 0);
        idx[0] = i;
        idx[static_cast<std::size_t>(x.ndim() - 2)] = 1;
        idx[static_cast<std::size_t>(x.ndim() - 1)] = 2;
        x.set(idx, ts::Scalar(std::numeric_limits<double>::quiet_NaN()));
    }
    return x;
}

struct Member {
    Kind kind;
    std::int64_t ddof;
};

}  // namespace

TEST_CASE("reductions computed together match each alone bitwise and the reference" * doctest::timeout(60)) {
    const std::vector<Member> members = {{Kind::NanMean, 0}, {Kind::NanStd, 0}, {Kind::NanVar, 1}, {Kind::Mean, 0},
                                         {Kind::Std, 2},     {Kind::Sum, 0},    {Kind::NanSum, 0}, {Kind::NanMax, 0},
                                         {Kind::Min, 0}};
    const ts::Shape shape{7, 6, 5};
    for (ts::DType dtype : {ts::float64, ts::float32}) {
        for (double nan_fraction : {0.0, 0.3}) {
            const NDArray data = with_nan_column(make_data(dtype, shape, 17, nan_fraction));
            for (const auto& [label, spec] : chunkings(shape)) {
                const ts::Array x = ts::from_array(data, spec);
                for (const auto& axis : axis_choices(3)) {
                    const bool keepdims = axis.normalized.size() % 2 == 1;
                    const int split_every = keepdims ? 0 : 2;  // 2: combine levels (shared too)
                    INFO(dtype << " nan " << nan_fraction << " chunks " << label << " axis " << axis.label
                               << " keepdims " << keepdims << " split_every " << split_every);
                    std::vector<ts::Array> arrays;
                    for (const auto& m : members) {
                        const KindInfo& info = all_kinds()[static_cast<std::size_t>(m.kind)];
                        arrays.push_back(
                            info.fn(x, axis.axes, {.keepdims = keepdims, .split_every = split_every, .ddof = m.ddof}));
                    }
                    const std::vector<NDArray> together = compute_together(arrays);
                    for (std::size_t k = 0; k < members.size(); ++k) {
                        const KindInfo& info = all_kinds()[static_cast<std::size_t>(members[k].kind)];
                        INFO(info.name << " ddof " << members[k].ddof);
                        CHECK(same_bits(together[k], arrays[k].compute()));
                        const Ref ref = reference(members[k].kind, data, axis.normalized, keepdims, members[k].ddof);
                        const double rtol = dtype == ts::float32 ? 1e-6 : 1e-12;
                        CHECK(compare(together[k], ref, arrays[k].dtype(), rtol) == "");
                    }
                }
            }
        }
    }
}

TEST_CASE("nanmean and nanstd together against xtensor" * doctest::timeout(60)) {
    const NDArray data = with_nan_column(make_data(ts::float64, {40, 9, 8}, 5, 0.45));
    const xt::xarray<double> x = ts::to_xarray<double>(data);
    for (std::size_t axis = 0; axis < 3; ++axis) {
        INFO("axis " << axis);
        const xt::xarray<double> valid = xt::where(xt::isnan(x), 0.0, 1.0);
        const xt::xarray<double> count = xt::sum(valid, {axis});
        const xt::xarray<double> mean = xt::nansum(x, {axis}) / count;
        const xt::xarray<double> mean_kd = xt::nansum(x, {axis}, xt::keep_dims) / xt::sum(valid, {axis}, xt::keep_dims);
        const xt::xarray<double> dev = xt::where(xt::isnan(x), 0.0, xt::square(x - mean_kd));
        // NumPy: nanstd with ddof >= the count of a slice is NaN.
        const xt::xarray<double> sd = xt::where(count - 1.0 > 0, xt::sqrt(xt::sum(dev, {axis}) / (count - 1.0)),
                                                std::numeric_limits<double>::quiet_NaN());
        for (ts::ChunkSpec spec : {ts::ChunkSpec({7, 4, 3}), ts::ChunkSpec({1, 9, 8}), ts::ChunkSpec(-1)}) {
            const ts::Array a = ts::from_array(data, spec);
            const auto ax = static_cast<std::int64_t>(axis);
            const ts::Array m = ts::nanmean(a, ax), s = ts::nanstd(a, ax, {.ddof = 1});
            auto [mv, sv] = ts::compute(m, s);
            const xt::xarray<double> got_m = ts::to_xarray<double>(mv), got_s = ts::to_xarray<double>(sv);
            // The all-NaN slices (axis 0: column (1, 2)) give NaN, like NumPy.
            CHECK(xt::all(xt::isclose(got_m, mean, 1e-12, 1e-13, true)));
            CHECK(xt::all(xt::isclose(got_s, sd, 1e-12, 1e-13, true)));
            if (axis == 0) {
                CHECK(std::isnan(mv.at<double>({1, 2})));
                CHECK(std::isnan(sv.at<double>({1, 2})));
            }
        }
    }
}

TEST_CASE("the joint graph has one chunk task per input block") {
    const NDArray data = make_data(ts::float64, {12, 10}, 3, 0.2);
    const ts::Array x = ts::from_array(data, {3, 5});  // 4 x 2 blocks
    const ts::Array m = ts::nanmean(x, 0), s = ts::nanstd(x, 0), v = ts::nanvar(x, 0, {.ddof = 1});
    std::vector<ts::Key> keys;
    const ts::Graph joint = joint_graph({m, s, v}, keys);
    CHECK(keys.size() == 6);
    CHECK(count_ops(joint, "tessera.reduce_chunk") == 8);
    std::int64_t separate_chunks = 0, separate_tasks = 0;
    for (const auto& a : {m, s, v}) {
        const ts::Graph g = a.graph(true);
        separate_chunks += count_ops(g, "tessera.reduce_chunk");
        separate_tasks += static_cast<std::int64_t>(g.size());
    }
    CHECK(separate_chunks == 3 * 8);
    // Separately: 8 constants, 8 chunks and 2 aggregates each; together: 8 + 8 + 3 * 2.
    CHECK(separate_tasks == 3 * (8 + 8 + 2));
    CHECK(static_cast<std::int64_t>(joint.size()) == 8 + 8 + 3 * 2);
    // nanstd and nanvar share one partial kind: the chunk tasks compute two, not three.
    bool named = false;
    for (const auto& t : joint.tasks()) named = named || t.key.group() == "nanmean+nanvar_chunk";
    CHECK(named);
    // Combine levels are shared as well (split_every 2: 4 -> 2 -> 1 along axis 0).
    const ts::Array m2 = ts::nanmean(x, 0, {.split_every = 2}), s2 = ts::nanstd(x, 0, {.split_every = 2});
    keys.clear();
    const ts::Graph tree = joint_graph({m2, s2}, keys);
    CHECK(count_ops(tree, "tessera.reduce_combine") == 2 * 2);
    CHECK(count_ops(tree, "tessera.reduce_aggregate") == 2 * 2);
    const auto together = compute_together({m2, s2});
    CHECK(same_bits(together[0], m2.compute()));
    CHECK(same_bits(together[1], s2.compute()));
}

TEST_CASE("an elementwise input read only by the group is fused into the shared chunk tasks" *
          doctest::timeout(60)) {
    const ts::Shape shape{40, 30, 20};
    const ts::Array u = ts::random::random(shape, {.chunks = {10, 15, 20}, .seed = 0});
    const ts::Array v = ts::random::random(shape, {.chunks = {10, 15, 20}, .seed = 1}).astype(ts::float32);
    const ts::Array cube = ts::where(u < 0.3, ts::nan, v);
    const ts::Array m = ts::nanmean(cube, 0), s = ts::nanstd(cube, 0);
    std::vector<ts::Key> keys;
    ts::Graph joint;
    {
        ts::config::Scoped on({.optimize = true});
        joint = joint_graph({m, s}, keys);
        CHECK(count_ops(joint, "tessera.reduce_fused") == 8);
        CHECK(count_ops(joint, "tessera.fused") == 0);
        CHECK_FALSE(joint.contains(cube.block_key(std::vector<std::int64_t>{0, 0, 0})));
        CHECK(joint.size() < m.graph(true).size() + s.graph(true).size());
        auto [mv, sv] = ts::compute(m, s);
        CHECK(same_bits(mv, m.compute()));
        CHECK(same_bits(sv, s.compute()));
        // Against the materialized cube.
        const NDArray c = cube.compute();
        const xt::xarray<float> xc = ts::to_xarray<float>(c);
        const xt::xarray<double> xd = xt::cast<double>(xc);
        const xt::xarray<double> count = xt::sum(xt::where(xt::isnan(xd), 0.0, 1.0), {0});
        const xt::xarray<double> mean = xt::nansum(xd, {0}) / count;
        CHECK(xt::allclose(xt::cast<double>(ts::to_xarray<float>(mv)), mean, 1e-6, 1e-7));
        // Unfused: same bits.
        ts::config::Scoped off({.optimize = false});
        auto [mu, su] = ts::compute(m, s);
        CHECK(same_bits(mu, mv));
        CHECK(same_bits(su, sv));
    }
    // A third reader of the cube: it is materialized once and the group reads it.
    const ts::Array total = ts::sum(cube);
    keys.clear();
    const ts::Graph three = joint_graph({m, s, total}, keys);
    CHECK(three.contains(cube.block_key(std::vector<std::int64_t>{0, 0, 0})));
    CHECK(count_ops(three, "tessera.reduce_chunk") == 8 + 8);
}

TEST_CASE("reductions that differ in axes, split_every or dtype do not share") {
    const NDArray data = make_data(ts::float64, {8, 6}, 9, 0.1);
    const ts::Array x = ts::from_array(data, {2, 3});  // 8 blocks
    const std::vector<ts::Array> arrays = {ts::nanmean(x, 0), ts::nanstd(x, 1), ts::nanmean(x, 0, {.split_every = 3}),
                                           ts::nanmean(x, 0, {.dtype = ts::float32})};
    std::vector<ts::Key> keys;
    const ts::Graph g = joint_graph(arrays, keys);
    CHECK(count_ops(g, "tessera.reduce_chunk") == 4 * 8);
    const auto together = compute_together(arrays);
    for (std::size_t k = 0; k < arrays.size(); ++k) CHECK(same_bits(together[k], arrays[k].compute()));
}

TEST_CASE("one expression of two reductions shares their chunk stage" * doctest::timeout(60)) {
    const NDArray data = make_data(ts::float64, {9, 4, 6}, 13, 0.25);
    const ts::Array x = ts::from_array(data, {2, 4, 3});  // 10 blocks
    const ts::Array m = ts::nanmean(x, {0, 1}), s = ts::nanstd(x, {0, 1});
    const ts::Array z = (x.sum({0, 1}) - m) / s;
    const ts::Array y = m + s;
    CHECK(count_ops(y.graph(), "tessera.reduce_chunk") == 10);
    CHECK(count_ops(z.graph(), "tessera.reduce_chunk") == 10);  // sum joins: any kinds share
    const NDArray mv = m.compute(), sv = s.compute(), yv = y.compute();
    for (std::int64_t j = 0; j < 6; ++j) CHECK(yv.at<double>({j}) == mv.at<double>({j}) + sv.at<double>({j}));
    const NDArray tv = x.sum({0, 1}).compute(), zv = z.compute();
    for (std::int64_t j = 0; j < 6; ++j)
        CHECK(same_bits(NDArray::from_vector(std::vector<double>{zv.at<double>({j})}),
                        NDArray::from_vector(std::vector<double>{(tv.at<double>({j}) - mv.at<double>({j})) /
                                                                 sv.at<double>({j})})));
}

TEST_CASE("integer, complex and empty inputs share like the rest" * doctest::timeout(60)) {
    SUBCASE("integer means with dtype=") {
        const NDArray data = make_data(ts::int32, {10, 7}, 4);
        const ts::Array x = ts::from_array(data, {3, 4});
        const std::vector<ts::Array> arrays = {ts::mean(x, 0, {.dtype = ts::int64}),
                                               ts::sum(x, 0, {.dtype = ts::int64}),
                                               ts::mean(x, 0),
                                               ts::var(x, 0),
                                               ts::std(x, 0, {.ddof = 1}),
                                               ts::max(x, 0)};
        const auto together = compute_together(arrays);
        for (std::size_t k = 0; k < arrays.size(); ++k) CHECK(same_bits(together[k], arrays[k].compute()));
        const Ref ref = reference(Kind::Mean, data, std::vector<std::int64_t>{0}, false);
        CHECK(compare(together[2], ref, ts::float64, 1e-13) == "");
        const Ref ref_std = reference(Kind::Std, data, std::vector<std::int64_t>{0}, false, 1);
        CHECK(compare(together[4], ref_std, ts::float64, 1e-12) == "");
    }
    SUBCASE("complex") {
        const NDArray data = make_data(ts::complex128, {6, 5}, 8, 0.2);
        for (ts::ChunkSpec spec : {ts::ChunkSpec({2, 5}), ts::ChunkSpec({6, 2})}) {
            const ts::Array x = ts::from_array(data, spec);
            for (std::int64_t axis : {0, 1}) {
                const std::vector<ts::Array> arrays = {ts::mean(x, axis), ts::var(x, axis), ts::nanmean(x, axis),
                                                       ts::nanstd(x, axis), ts::sum(x, axis)};
                const auto together = compute_together(arrays);
                for (std::size_t k = 0; k < arrays.size(); ++k) CHECK(same_bits(together[k], arrays[k].compute()));
                const Ref ref = reference(Kind::NanStd, data, std::vector<std::int64_t>{axis}, false);
                CHECK(compare(together[3], ref, ts::float64, 1e-12) == "");
            }
        }
    }
    SUBCASE("empty") {
        for (const ts::Shape& shape : {ts::Shape{0, 4}, ts::Shape{3, 0}}) {
            const NDArray data = NDArray::zeros(ts::float64, shape);
            const ts::Array x = ts::from_array(data, 2);
            const std::vector<ts::Array> arrays = {ts::nanmean(x, 0), ts::nanstd(x, 0), ts::sum(x, 0), ts::mean(x, 0)};
            const auto together = compute_together(arrays);
            for (std::size_t k = 0; k < arrays.size(); ++k) {
                CHECK(same_bits(together[k], arrays[k].compute()));
                const Kind kinds[] = {Kind::NanMean, Kind::NanStd, Kind::Sum, Kind::Mean};
                CHECK(compare(together[k], reference(kinds[k], data, std::vector<std::int64_t>{0}, false), ts::float64,
                              0) == "");
            }
        }
    }
}

TEST_CASE("shared reduction parameters decode strictly") {
    using namespace ts::detail;
    ReduceParams p;
    p.kind = ReduceKind::NanMean;
    p.compute_dtype = ts::float32;
    p.out_dtype = ts::float32;
    p.axes = {0};
    p.shared = {share_code(ReduceKind::NanMean, false), share_code(ReduceKind::NanStd, false),
                share_code(ReduceKind::Mean, true)};
    p.part_offset = 2;
    const ReduceParams q = decode_params(encode_params(p));
    CHECK(q.shared == std::vector<std::uint8_t>{10, 11, 0x82});
    CHECK(q.part_offset == 2);
    const ReduceParams member = member_params(q, 2);
    CHECK(member.kind == ReduceKind::Mean);
    CHECK(member.int_mean);
    CHECK(member.shared.empty());
    CHECK(partial_count(ReduceKind::NanStd) == 3);
    p.shared = {0x7f};
    CHECK_THROWS_WITH_AS(decode_params(encode_params(p)), "malformed reduction parameters: shared partial kind 127",
                         ts::ProtocolError);
    // The binary codec: every field round-trips; truncated, padded or garbled bytes are refused.
    p.shared.clear();
    p.program = std::string("\x00\x01program bytes", 15);
    p.partial_shape = {1, 7};
    p.ddof = -3;
    p.keepdims = true;
    const std::string bytes = encode_params(p);
    CHECK(encode_params(decode_params(bytes)) == bytes);
    CHECK(decode_params(bytes).program == p.program);
    CHECK_THROWS_WITH_AS(decode_params(bytes.substr(0, 5)),
                         "malformed reduction parameters (5 bytes): 1 bytes needed at offset 5", ts::ProtocolError);
    CHECK_THROWS_WITH_AS(decode_params(bytes + "x"),
                         ("malformed reduction parameters (" + std::to_string(bytes.size() + 1) + " bytes): trailing bytes").c_str(),
                         ts::ProtocolError);
    std::string bad_flag = bytes;
    bad_flag[3] = 2;  // zero_nans
    CHECK_THROWS_WITH_AS(decode_params(bad_flag),
                         ("malformed reduction parameters (" + std::to_string(bytes.size()) + " bytes): flag 2").c_str(),
                         ts::ProtocolError);
}
