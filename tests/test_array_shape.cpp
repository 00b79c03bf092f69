// Shape and indexing operations of tessera::Array against whole-array references (NDArray views
// of the computed input, plain loops), over four chunkings, 0-d and empty arrays, both
// schedulers fused and unfused. This file: getitem and transpose; reshape, rechunk and
// concatenate are in tests/array_shape/.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "array_shape/helpers.hpp"

using namespace shape_test;
using ts::IndexItem;
using ts::NDArray;
using ts::Slice;

namespace {

constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();

// NumPy basic indexing on a whole array, through NDArray::slice and reshape.
NDArray ref_getitem(const NDArray& a, const std::vector<IndexItem>& items) {
    std::int64_t used = 0;
    for (const auto& item : items)
        used += item.kind() == IndexItem::Kind::Integer || item.kind() == IndexItem::Kind::Slice ? 1 : 0;
    std::vector<IndexItem> full;
    bool seen = false;
    for (const auto& item : items) {
        if (item.kind() == IndexItem::Kind::Ellipsis) {
            for (std::int64_t k = 0; k < a.ndim() - used; ++k) full.emplace_back(Slice());
            seen = true;
        } else {
            full.push_back(item);
        }
    }
    if (!seen)
        for (std::int64_t k = 0; k < a.ndim() - used; ++k) full.emplace_back(Slice());
    NDArray view = a;
    ts::Shape shape;
    std::int64_t axis = 0;
    for (const auto& item : full) {
        if (item.kind() == IndexItem::Kind::NewAxis) {
            shape.push_back(1);
        } else if (item.kind() == IndexItem::Kind::Integer) {
            const std::int64_t i = item.integer() < 0 ? item.integer() + a.shape(axis) : item.integer();
            view = view.slice(axis++, i, i + 1);
        } else {
            const Slice& s = item.slice();
            // A step of |step| >= n selects at most one element, like a step of +-n; clamped
            // because NDArray::slice multiplies its strides by the step.
            const std::int64_t n = std::max<std::int64_t>(a.shape(axis), 1);
            const std::int64_t step = std::clamp<std::int64_t>(s.step.value_or(1), -n, n);
            view = view.slice(axis, s.start.value_or(step > 0 ? 0 : kMax), s.stop.value_or(step > 0 ? kMax : kMin), step);
            shape.push_back(view.shape(axis++));
        }
    }
    return view.copy().reshape(shape);
}

std::string describe(const std::vector<IndexItem>& items) {
    std::string out = "[";
    for (const auto& item : items) {
        switch (item.kind()) {
            case IndexItem::Kind::Integer: out += std::to_string(item.integer()); break;
            case IndexItem::Kind::NewAxis: out += "newaxis"; break;
            case IndexItem::Kind::Ellipsis: out += "..."; break;
            case IndexItem::Kind::Slice: {
                const Slice& s = item.slice();
                auto part = [](const std::optional<std::int64_t>& v) { return v ? std::to_string(*v) : std::string(); };
                out += part(s.start) + ":" + part(s.stop) + ":" + part(s.step);
            }
        }
        out += ", ";
    }
    return out + "]";
}

}  // namespace

// ------------------------------------------------------------------------------ getitem

TEST_CASE("getitem matches NumPy basic indexing over every chunking" * doctest::timeout(60)) {
    const ts::Shape shape{7, 6, 5};
    const NDArray data = sample(shape);
    const std::vector<std::vector<IndexItem>> indices = {
        {Slice(1, 6, 2)},
        {Slice(ts::none, ts::none, -1)},
        {Slice(-2, 1, -2), 3},
        {2, Slice(), -1},
        {ts::ellipsis, 2},
        {ts::newaxis, Slice(1, 4), ts::ellipsis, ts::newaxis},
        {Slice(5, 2)},
        {Slice(100, 200), Slice(-100, 100, 3)},
        {Slice(ts::none, ts::none, 10), Slice(ts::none, ts::none, -4)},
        {Slice(ts::none, ts::none, -3), Slice(4, ts::none, -2), Slice(1, -1)},
        {-7, -6, -5},
        {6, 5, 4},
        {Slice(0, ts::none, kMax), Slice(kMin, kMax), Slice(kMax, kMin, -1)},
        {Slice(kMax, ts::none, kMin)},
        {1, ts::newaxis, 2, ts::newaxis},
        {ts::newaxis},
        {Slice(3, 4), Slice(2, 3), 4},
    };
    auto specs = chunkings(shape, 0);
    specs.push_back(chunkings(shape, 2).back());
    specs.emplace_back("with empty blocks", ts::ChunkSpec({ts::AxisChunks({0, 3, 0, 4}), ts::AxisChunks({6, 0}),
                                                           ts::AxisChunks({2, 0, 3})}));
    for (const auto& [label, spec] : specs) {
        const ts::Array x = ts::from_array(data, spec);
        for (const auto& index : indices) {
            INFO("chunks " << label << " index " << describe(index));
            const ts::Array y = ts::getitem(x, ts::IndexList(index));
            const NDArray expected = ref_getitem(data, index);
            CHECK(y.shape() == expected.shape());
            CHECK(same(compute_all(y), expected));
        }
    }
}

TEST_CASE("getitem chunks follow Dask's slicing rules" * doctest::timeout(60)) {
    const ts::Array x = ts::from_array(sample({15}), {5});
    auto chunks_of = [&](const ts::IndexList& index) { return ts::getitem(x, index).chunks(); };
    CHECK(chunks_of(Slice(2, 12)) == ts::Chunks({{3, 5, 2}}));
    CHECK(chunks_of(Slice(ts::none, ts::none, 2)) == ts::Chunks({{3, 2, 3}}));
    CHECK(chunks_of(Slice(ts::none, ts::none, -1)) == ts::Chunks({{5, 5, 5}}));
    CHECK(chunks_of(Slice(ts::none, ts::none, -2)) == ts::Chunks({{3, 2, 3}}));  // 14 12 10 | 8 6 | 4 2 0
    CHECK(chunks_of(Slice(13, 1, -4)) == ts::Chunks({{1, 2}}));                   // 13 | 9 5
    CHECK(chunks_of(Slice(6, 7)) == ts::Chunks({{1}}));
    CHECK(chunks_of(Slice(7, 7)) == ts::Chunks({{0}}));
    CHECK(chunks_of({ts::newaxis, ts::ellipsis}) == ts::Chunks({{1}, {5, 5, 5}}));
    CHECK(chunks_of(7) == ts::Chunks());
    CHECK(compute_all(ts::getitem(x, 7)).item<double>() == 7.5);
    CHECK(compute_all(ts::getitem(x, -1)).item<double>() == -14.5);

    // Full slices give the array itself.
    CHECK(ts::getitem(x, Slice()).name() == x.name());
    CHECK(ts::getitem(x, ts::ellipsis).name() == x.name());
    CHECK(ts::getitem(x, Slice(0, 15, 1)).name() == x.name());
    // Equal indices give equal keys; different ones differ.
    CHECK(ts::getitem(x, Slice(1, 9)).name() == ts::getitem(x, Slice(1, 9)).name());
    CHECK(ts::getitem(x, Slice(1, 9)).name() != ts::getitem(x, Slice(1, 10)).name());
}

TEST_CASE("getitem reads only the input blocks it touches" * doctest::timeout(60)) {
    const ts::Array x = ts::from_array(sample({15, 4}), {5, 2});
    const ts::Array y = ts::getitem(x, {Slice(6, 8), 3});
    const ts::Graph g = y.graph();
    REQUIRE(count_op(g, "tessera.getitem") == 1);
    for (const auto& task : g.tasks())
        if (ts::op_name(task.op) == "tessera.getitem") {
            REQUIRE(task.deps.size() == 1);
            CHECK(task.deps[0] == x.block_key(std::vector<std::int64_t>{1, 1}));
            CHECK(task.local == nullptr);
            CHECK(!task.params.empty());
        }
    // An empty selection reads nothing.
    const ts::Graph empty = ts::getitem(x, Slice(3, 3)).graph();
    CHECK(count_deps(empty, "tessera.getitem") == 0);
}

TEST_CASE("getitem of elementwise, 0-d and empty arrays" * doctest::timeout(60)) {
    // An elementwise input (arange * 2): its blocks are materialized and sliced.
    const ts::Array r = ts::arange(30, {.chunks = 7, .dtype = ts::int64}) * 2;
    const NDArray got = compute_all(ts::getitem(r, Slice(25, 2, -4)));
    REQUIRE(got.shape() == ts::Shape{6});
    for (std::int64_t k = 0; k < 6; ++k) CHECK(got.at<std::int64_t>({k}) == 2 * (25 - 4 * k));

    const ts::Array s = ts::from_array(NDArray::scalar(ts::Scalar(3.5)));
    CHECK(ts::getitem(s, ts::IndexList(std::vector<IndexItem>{})).name() == s.name());
    CHECK(ts::getitem(s, ts::ellipsis).name() == s.name());
    CHECK(same(compute_all(ts::getitem(s, ts::newaxis)), NDArray::from_vector(std::vector<double>{3.5})));
    CHECK(same(compute_all(ts::getitem(s, {ts::ellipsis, ts::newaxis, ts::newaxis})),
               NDArray::from_vector(std::vector<double>{3.5}, {1, 1})));
    CHECK_THROWS_WITH_AS(ts::getitem(s, 0), "too many indices for array: array is 0-dimensional, but 1 were indexed",
                         ts::IndexError);

    const NDArray empty_data = NDArray::zeros(ts::float64, {0, 4});
    for (const auto& [label, spec] : chunkings({0, 4})) {
        INFO(label);
        const ts::Array e = ts::from_array(empty_data, spec);
        CHECK(same(compute_all(ts::getitem(e, {Slice(), 2})), NDArray::zeros(ts::float64, {0})));
        CHECK(same(compute_all(ts::getitem(e, {Slice(1, 3), Slice(1, 3)})), NDArray::zeros(ts::float64, {0, 2})));
        CHECK(same(compute_all(ts::getitem(e, {ts::newaxis, Slice(ts::none, ts::none, -1)})),
                   NDArray::zeros(ts::float64, {1, 0, 4})));
        CHECK_THROWS_WITH_AS(ts::getitem(e, 0), "index 0 is out of bounds for axis 0 with size 0", ts::IndexError);
    }
}

TEST_CASE("getitem errors" * doctest::timeout(60)) {
    const ts::Array x = ts::from_array(sample({10}), {3});
    CHECK_THROWS_WITH_AS(ts::getitem(x, 10), "index 10 is out of bounds for axis 0 with size 10", ts::IndexError);
    CHECK_THROWS_WITH_AS(ts::getitem(x, -11), "index -11 is out of bounds for axis 0 with size 10", ts::IndexError);
    CHECK_THROWS_WITH_AS(ts::getitem(x, Slice(0, 5, 0)), "slice step cannot be zero", ts::ValueError);
    const ts::Array m = ts::from_array(sample({3, 4}), {2, 2});
    CHECK_THROWS_WITH_AS(ts::getitem(m, {0, 0, 0}), "too many indices for array: array is 2-dimensional, but 3 were indexed",
                         ts::IndexError);
    CHECK_THROWS_WITH_AS(ts::getitem(m, {ts::ellipsis, 0, ts::ellipsis}),
                         "an index can only have a single ellipsis ('...')", ts::IndexError);
    CHECK_THROWS_WITH_AS(ts::getitem(m, {Slice(), 5}), "index 5 is out of bounds for axis 1 with size 4", ts::IndexError);
    CHECK_THROWS_WITH_AS(ts::getitem(m, {ts::newaxis, 1, -5}), "index -5 is out of bounds for axis 1 with size 4",
                         ts::IndexError);
}

// ------------------------------------------------------------------------------ transpose

TEST_CASE("transpose, swapaxes and moveaxis over every chunking" * doctest::timeout(60)) {
    const ts::Shape shape{4, 5, 3};
    const NDArray data = sample(shape);
    struct Case {
        const char* name;
        std::function<ts::Array(const ts::Array&)> op;
        std::vector<std::int64_t> axes;  // the equivalent permutation
    };
    const std::vector<Case> cases = {
        {"transpose()", [](const ts::Array& a) { return ts::transpose(a); }, {2, 1, 0}},
        {"transpose(1, 0, 2)", [](const ts::Array& a) { return ts::transpose(a, {1, 0, 2}); }, {1, 0, 2}},
        {"transpose(2, 0, 1)", [](const ts::Array& a) { return ts::transpose(a, {2, 0, 1}); }, {2, 0, 1}},
        {"transpose(-1, 0, -2)", [](const ts::Array& a) { return ts::transpose(a, {-1, 0, -2}); }, {2, 0, 1}},
        {"swapaxes(0, 2)", [](const ts::Array& a) { return ts::swapaxes(a, 0, 2); }, {2, 1, 0}},
        {"swapaxes(-1, 1)", [](const ts::Array& a) { return ts::swapaxes(a, -1, 1); }, {0, 2, 1}},
        {"moveaxis(0, -1)", [](const ts::Array& a) { return ts::moveaxis(a, 0, -1); }, {1, 2, 0}},
        {"moveaxis(2, 0)", [](const ts::Array& a) { return ts::moveaxis(a, 2, 0); }, {2, 0, 1}},
        {"moveaxis({0, 1}, {-1, -2})", [](const ts::Array& a) { return ts::moveaxis(a, {0, 1}, {-1, -2}); }, {2, 1, 0}},
        {"moveaxis({0, 2}, {1, 0})", [](const ts::Array& a) { return ts::moveaxis(a, {0, 2}, {1, 0}); }, {2, 0, 1}},
    };
    for (std::int64_t ones_axis : {0, 1}) {
        for (const auto& [label, spec] : chunkings(shape, ones_axis)) {
            const ts::Array x = ts::from_array(data, spec);
            for (const auto& c : cases) {
                INFO(c.name << " chunks " << label);
                const ts::Array y = c.op(x);
                std::vector<ts::BlockSizes> sizes;
                for (auto axis : c.axes) sizes.push_back(x.chunks().sizes(axis));
                CHECK(y.chunks() == ts::Chunks(sizes));
                CHECK(same(compute_all(y), data.transpose(c.axes).copy()));
            }
        }
    }
}

namespace {

/// `a` transposed by `axes` and copied (NumPy's a.transpose(axes)).
NDArray transposed(const NDArray& a, const std::vector<std::int64_t>& axes) { return a.transpose(axes).copy(); }

/// a + b elementwise for float64 or float32 arrays of one shape and dtype (the reference of
/// x + f(x), computed in the arrays' dtype).
NDArray add(const NDArray& a, const NDArray& b) {
    NDArray out = a.copy();
    const NDArray bc = b.copy();  // C-contiguous
    for (std::int64_t k = 0; k < out.size(); ++k) {
        if (a.dtype() == ts::float32) out.data<float>()[k] += bc.data<float>()[k];
        else out.data<double>()[k] += bc.data<double>()[k];
    }
    return out;
}

}  // namespace

TEST_CASE("fused kernels read through transposes: no transposed copy, same values" * doctest::timeout(60)) {
    // Materialized inputs: the transposed read gathers bands of rows (one input cache line each).
    const ts::Shape square{7, 7};
    const NDArray data = sample(square);
    for (const auto& [label, spec] : chunkings(square, 1)) {
        INFO("x + x.T, chunks " << label);
        const ts::Array x = ts::from_array(data, spec);
        const ts::Array y = x + ts::transpose(x);
        CHECK(count_op(y.graph(true), "tessera.transpose") == 0);
        CHECK(same(compute_all(y), add(data, transposed(data, {1, 0}))));
        const double total = compute_all(y.sum()).item<double>();
        double expected = 0;
        const NDArray ref = add(data, transposed(data, {1, 0}));
        for (std::int64_t k = 0; k < ref.size(); ++k) expected += ref.data<double>()[k];
        CHECK(total == doctest::Approx(expected).epsilon(1e-12));
    }
    // Other itemsizes (bands of 64 / itemsize rows) and a 3-d permutation (plain gather).
    for (ts::DType dtype : {ts::uint8, ts::int16, ts::float32}) {
        INFO(dtype.name());
        const NDArray d = sample_ints({70, 9}, dtype);
        const ts::Array x = ts::from_array(d, {13, 4});
        CHECK(same(compute_all(ts::transpose(x) * 1), transposed(d, {1, 0})));
    }
    const NDArray tall = sample({40, 30});  // several bands of 8 rows in one block, and a partial one
    CHECK(same(compute_all(ts::transpose(ts::from_array(tall, {36, 30})) * 1.0), transposed(tall, {1, 0})));
    const NDArray cube = sample({4, 5, 3});
    const ts::Array c = ts::from_array(cube, {3, 2, 2});
    CHECK(same(compute_all(ts::transpose(c, {2, 0, 1}) + 0.0), transposed(cube, {2, 0, 1})));
    CHECK(count_op((ts::transpose(c, {2, 0, 1}) + 0.0).graph(true), "tessera.transpose") == 0);
}

TEST_CASE("random sources are recomputed in their consumers, transposed reads included" * doctest::timeout(60)) {
    // A random array read by two consumers (itself and its transpose) is evaluated inside both
    // fused kernels (no block of it is materialized); the values are those of the materialized
    // array, for even and odd offsets (two rows per Philox call, or one value per call).
    for (ts::DType dtype : {ts::float64, ts::float32}) {
        for (const ts::Shape& shape : {ts::Shape{10, 10}, ts::Shape{9, 9}}) {
            for (std::int64_t chunk : {3, 4, 10}) {
                INFO(dtype.name() << " shape " << shape[0] << " chunks " << chunk);
                const ts::Array r = ts::random::random(shape, {.chunks = {chunk, chunk}, .seed = 7, .dtype = dtype});
                const NDArray values = compute_all(r);
                const ts::Array y = r + ts::transpose(r);
                const ts::Graph g = y.graph(true);
                CHECK(count_op(g, "tessera.transpose") == 0);
                CHECK(count_name(g, r.name()) == 0);
                CHECK(same(compute_all(y), add(values, transposed(values, {1, 0}))));
            }
        }
    }
    const ts::Array k = ts::random::integers(-5, 100, {11, 6}, {.chunks = {4, 5}, .seed = 3});
    const NDArray kv = compute_all(k);
    CHECK(same(compute_all(ts::transpose(k) + 0), transposed(kv, {1, 0})));
    const ts::Array n = ts::random::normal(0.0, 1.0, {12, 8}, {.chunks = {5, 8}, .seed = 4});
    CHECK(same(compute_all(ts::transpose(n) * 1.0), transposed(compute_all(n), {1, 0})));
}

TEST_CASE("transpose of 0-d, 1-d and empty arrays, identity and errors" * doctest::timeout(60)) {
    const ts::Array s = ts::from_array(NDArray::scalar(ts::Scalar(2.0)));
    CHECK(ts::transpose(s).name() == s.name());
    const ts::Array v = ts::from_array(sample({5}), {2});
    CHECK(ts::transpose(v).name() == v.name());
    const ts::Array m = ts::from_array(sample({3, 4}), {2, 3});
    CHECK(ts::transpose(m, {0, 1}).name() == m.name());
    CHECK(ts::transpose(m).name() == ts::transpose(m, {1, 0}).name());

    const NDArray empty_data = NDArray::zeros(ts::int32, {0, 3});
    for (const auto& [label, spec] : chunkings({0, 3}, 1)) {
        INFO(label);
        const ts::Array e = ts::transpose(ts::from_array(empty_data, spec));
        CHECK(same(compute_all(e), NDArray::zeros(ts::int32, {3, 0})));
    }

    CHECK_THROWS_WITH_AS(ts::transpose(m, {0}), "axes (0,) don't match array of dimension 2", ts::AxisError);
    CHECK_THROWS_WITH_AS(ts::transpose(m, {0, 0}), "repeated axis 0 in transpose axes (0, 0)", ts::AxisError);
    CHECK_THROWS_WITH_AS(ts::transpose(m, {0, 2}), "axis 2 is out of bounds for array of dimension 2", ts::AxisError);
    CHECK_THROWS_WITH_AS(ts::swapaxes(m, 0, 3), "axis 3 is out of bounds for array of dimension 2", ts::AxisError);
    CHECK_THROWS_WITH_AS(ts::moveaxis(m, {0, 1}, 0),
                         "`source` and `destination` arguments must have the same number of elements", ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::moveaxis(m, {0, -2}, {0, 1}), "repeated axis 0 in (0, -2)", ts::AxisError);
    CHECK_THROWS_WITH_AS(ts::moveaxis(m, 0, 2), "axis 2 is out of bounds for array of dimension 2", ts::AxisError);
}
