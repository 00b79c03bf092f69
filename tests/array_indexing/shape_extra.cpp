// flip / roll / pad / tril / triu / broadcast_to / eye / block / from_delayed, the Array member
// shortcuts and the creation dtype defaults, against NumPy fixtures (pad) or plain-loop
// references over every chunking.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../array_shape/helpers.hpp"

using namespace shape_test;
using ts::NDArray;

namespace {

NDArray ref_roll(const NDArray& a, std::int64_t shift, std::int64_t axis) {
    const std::int64_t n = a.shape(axis);
    std::vector<std::int64_t> idx;
    for (std::int64_t k = 0; k < n; ++k) idx.push_back((((k - shift) % n) + n) % n);
    return ref_take(a, idx, axis);
}

}  // namespace

TEST_CASE("flip, flipud, fliplr over every chunking" * doctest::timeout(60)) {
    const ts::Shape shape{4, 5, 3};
    const NDArray a = sample(shape);
    auto reversed = [](std::int64_t n) {
        std::vector<std::int64_t> idx;
        for (std::int64_t k = n - 1; k >= 0; --k) idx.push_back(k);
        return idx;
    };
    for (const auto& [label, spec] : chunkings(shape, 1)) {
        INFO(label);
        const ts::Array x = ts::from_array(a, spec);
        CHECK(same(compute_all(ts::flipud(x)), ref_take(a, reversed(4), 0)));
        CHECK(same(compute_all(ts::fliplr(x)), ref_take(a, reversed(5), 1)));
        CHECK(same(compute_all(ts::flip(x, -1)), ref_take(a, reversed(3), 2)));
        CHECK(same(compute_all(ts::flip(x)), ref_take(ref_take(ref_take(a, reversed(4), 0), reversed(5), 1), reversed(3), 2)));
        CHECK(same(compute_all(ts::flip(x, {0, 2})), ref_take(ref_take(a, reversed(4), 0), reversed(3), 2)));
    }
    CHECK_THROWS_WITH_AS(ts::flipud(ts::from_array(NDArray::scalar(1.0))), "Input must be >= 1-d.", ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::fliplr(ts::from_array(sample({3}))), "Input must be >= 2-d.", ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::flip(ts::from_array(sample({3})), 1), "axis 1 is out of bounds for array of dimension 1",
                         ts::AxisError);
}

TEST_CASE("roll along axes and flattened over every chunking" * doctest::timeout(60)) {
    const ts::Shape shape{4, 5};
    const NDArray a = sample(shape);
    for (const auto& [label, spec] : chunkings(shape, 0)) {
        const ts::Array x = ts::from_array(a, spec);
        for (std::int64_t shift : {0, 1, -1, 3, 7, -12, 20}) {
            INFO(label << " shift " << shift);
            CHECK(same(compute_all(ts::roll(x, shift, 0)), ref_roll(a, shift, 0)));
            CHECK(same(compute_all(ts::roll(x, shift, -1)), ref_roll(a, shift, 1)));
            CHECK(same(compute_all(ts::roll(x, shift)), ref_roll(a.reshape({20}), shift, 0).reshape(shape)));
        }
        CHECK(same(compute_all(ts::roll(x, {1, 2, 1}, {0, 1, 0})), ref_roll(ref_roll(a, 2, 0), 2, 1)));
    }
    const ts::Array e = ts::from_array(sample({0, 3}), 2);
    CHECK(compute_all(ts::roll(e, 2, 0)).shape() == ts::Shape{0, 3});
    CHECK(same(compute_all(ts::roll(ts::from_array(NDArray::scalar(2.0)), 3)), NDArray::scalar(2.0)));
    CHECK_THROWS_WITH_AS(ts::roll(e, {1}, {0, 1}), "'shift' and 'axis' should be scalars or 1D sequences",
                         ts::ValueError);
}

TEST_CASE("pad matches NumPy 1.24 for every mode over every chunking" * doctest::timeout(60)) {
    std::ifstream in(std::string(TESSERA_TEST_DATA) + "/pad_numpy124.txt");
    REQUIRE(in.good());
    std::string line;
    int cases = 0;
    while (std::getline(in, line)) {
        const auto bar1 = line.find('|'), bar2 = line.rfind('|');
        std::stringstream head(line.substr(0, bar1));
        std::string mode, shape_text, widths_text;
        head >> mode >> shape_text >> widths_text;
        const ts::Shape shape = split_ints(shape_text, ',');
        std::vector<std::pair<std::int64_t, std::int64_t>> widths;
        std::stringstream ws(widths_text);
        std::string pair;
        while (std::getline(ws, pair, ';')) {
            const auto v = split_ints(pair, ',');
            widths.emplace_back(v[0], v[1]);
        }
        const ts::Shape out_shape = split_ints(line.substr(bar1 + 1, bar2 - bar1 - 1), ',');
        const NDArray expected = NDArray::from_vector(split_ints(line.substr(bar2 + 1), ' '), out_shape);
        ts::PadOptions options;
        options.mode = mode == "constant" ? ts::PadMode::Constant
                       : mode == "edge"   ? ts::PadMode::Edge
                       : mode == "reflect" ? ts::PadMode::Reflect
                       : mode == "symmetric" ? ts::PadMode::Symmetric
                                             : ts::PadMode::Wrap;
        options.value = -1;
        std::vector<std::int64_t> iota(static_cast<std::size_t>(ts::shape_size(shape)));
        for (std::size_t k = 0; k < iota.size(); ++k) iota[k] = static_cast<std::int64_t>(k);
        const NDArray a = NDArray::from_vector(iota, shape);
        for (const auto& [label, spec] : chunkings(shape, 0)) {
            INFO(line.substr(0, bar1) << " / " << label);
            CHECK(same(compute_all(ts::pad(ts::from_array(a, spec), widths, options)), expected));
        }
        ++cases;
    }
    CHECK(cases == 100);
}

TEST_CASE("pad keeps the input's blocks, one block per pad region; errors" * doctest::timeout(60)) {
    const ts::Array x = ts::from_array(sample({6, 4}), {2, 3});
    const ts::Array p = ts::pad(x, {{3, 1}, {0, 2}}, {.mode = ts::PadMode::Reflect});
    CHECK(p.chunks() == ts::Chunks({{3, 2, 2, 2, 1}, {3, 1, 2}}));
    const ts::Array c = ts::pad(x, {{1, 1}}, {.value = 2.5});
    CHECK(c.chunks() == ts::Chunks({{1, 2, 2, 2, 1}, {1, 3, 1, 1}}));
    CHECK(same(compute_all(ts::pad(ts::from_array(sample({0, 2}), 1), {{1, 0}, {0, 0}})), NDArray::zeros(ts::float64, {1, 2})));
    CHECK_THROWS_WITH_AS(ts::pad(x, {{-1, 0}}), "index can't contain negative values", ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::pad(x, {{1, 0}, {0, 0}, {0, 0}}), "pad: 3 (before, after) pairs for an array of dimension 2",
                         ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::pad(ts::from_array(sample({0, 2}), 1), {{1, 0}}, {.mode = ts::PadMode::Edge}),
                         "can't extend empty axis 0 using modes other than 'constant' or 'empty'", ts::ValueError);
}

TEST_CASE("tril and triu over every chunking, with diagonals k" * doctest::timeout(60)) {
    const ts::Shape shape{2, 5, 4};
    const NDArray a = sample_ints(shape, ts::int32);
    for (const auto& [label, spec] : chunkings(shape, 2)) {
        const ts::Array x = ts::from_array(a, spec);
        for (std::int64_t k : {-6, -1, 0, 2, 5}) {
            INFO(label << " k " << k);
            const NDArray lo = compute_all(ts::tril(x, k)), up = compute_all(ts::triu(x, k));
            for (std::int64_t b = 0; b < 2; ++b)
                for (std::int64_t i = 0; i < 5; ++i)
                    for (std::int64_t j = 0; j < 4; ++j) {
                        const auto v = a.at<std::int64_t>({b, i, j});
                        CHECK(lo.at<std::int64_t>({b, i, j}) == (j <= i + k ? v : 0));
                        CHECK(up.at<std::int64_t>({b, i, j}) == (j >= i + k ? v : 0));
                    }
        }
    }
    CHECK(compute_all(ts::tril(ts::from_array(sample({0, 3}), 1))).shape() == ts::Shape{0, 3});
    CHECK_THROWS_WITH_AS(ts::tril(ts::from_array(sample({3}))), "input must be at least 2-dimensional", ts::ValueError);
}

TEST_CASE("eye, broadcast_to and block" * doctest::timeout(60)) {
    for (std::int64_t k : {-3, -1, 0, 2, 9}) {
        const NDArray e = compute_all(ts::eye(4, 6, k, {.chunks = 3}));
        CHECK(e.dtype() == ts::float64);
        for (std::int64_t i = 0; i < 4; ++i)
            for (std::int64_t j = 0; j < 6; ++j) CHECK(e.at<double>({i, j}) == (j == i + k ? 1.0 : 0.0));
    }
    CHECK(compute_all(ts::eye(3, std::nullopt, 0, {.dtype = ts::int8})).equals(
        NDArray::from_vector<std::int8_t>({1, 0, 0, 0, 1, 0, 0, 0, 1}, {3, 3})));
    CHECK(compute_all(ts::eye(0)).shape() == ts::Shape{0, 0});
    CHECK_THROWS_WITH_AS(ts::eye(-1), "negative dimensions are not allowed", ts::ValueError);

    const NDArray a = sample({3, 1});
    const ts::Array x = ts::from_array(a, {2, 1});
    const ts::Array b = ts::broadcast_to(x, {2, 3, 4});
    CHECK(b.chunks() == ts::Chunks({{2}, {2, 1}, {4}}));
    const NDArray rb = compute_all(b);
    for (std::int64_t p = 0; p < 2; ++p)
        for (std::int64_t i = 0; i < 3; ++i)
            for (std::int64_t j = 0; j < 4; ++j) CHECK(rb.at<double>({p, i, j}) == a.at<double>({i, 0}));
    CHECK(ts::broadcast_to(x, {2, 3, 4}, ts::ChunkSpec{1, 2, 3}).chunks() == ts::Chunks({{1, 1}, {2, 1}, {3, 1}}));
    CHECK(same(compute_all(ts::broadcast_to(x, {2, 3, 4}, ts::ChunkSpec{1, 2, 3})), rb));
    CHECK(compute_all(ts::broadcast_to(x, {0, 3, 0})).shape() == ts::Shape{0, 3, 0});
    CHECK(ts::broadcast_to(x, {3, 1}).name() == x.name());
    CHECK_THROWS_WITH_AS(ts::broadcast_to(x, {4, 2}), "cannot broadcast shape (3, 1) to shape (4, 2)", ts::ShapeError);
    CHECK_THROWS_WITH_AS(ts::broadcast_to(x, {1}), "cannot broadcast shape (3, 1) to shape (1,)", ts::ShapeError);
    CHECK_THROWS_WITH_AS(ts::broadcast_to(x, {3, 4}, ts::ChunkSpec{1, 2}),
                         "cannot broadcast chunks ((2, 1), (1,)) to chunks ((1, 1, 1), (2, 2)): new chunks must either "
                         "be along a new dimension or a dimension of size 1",
                         ts::ValueError);

    // np.block([[A, B], [C, D]]) with A (2, 2), B (2, 3), C (1, 2), D (1, 3); and a 1-d row.
    const NDArray A = sample({2, 2}), B = sample_ints({2, 3}).astype(ts::float64), C = sample({1, 2}),
                  D = sample({1, 3});
    const ts::Array m = ts::block({{ts::from_array(A, 1), ts::from_array(B, 2)}, {ts::from_array(C), ts::from_array(D)}});
    NDArray expected = NDArray::zeros(ts::float64, {3, 5});
    expected.assign_region(std::vector<std::int64_t>{0, 0}, A);
    expected.assign_region(std::vector<std::int64_t>{0, 2}, B);
    expected.assign_region(std::vector<std::int64_t>{2, 0}, C);
    expected.assign_region(std::vector<std::int64_t>{2, 2}, D);
    CHECK(same(compute_all(m), expected));
    const NDArray row = compute_all(ts::block({ts::from_array(sample({2})), ts::from_array(sample({3}))}));
    CHECK(row.shape() == ts::Shape{5});
    CHECK(same(compute_all(ts::block({{ts::from_array(sample({2}))}})), sample({2}).reshape({1, 2})));
    CHECK_THROWS_WITH_AS(ts::block(ts::BlockNest(std::vector<ts::BlockNest>{})), "Lists cannot be empty", ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::block({{ts::from_array(A)}, ts::from_array(B)}),
                         "List depths are mismatched. First element was at depth 2, but there is an element at depth 1 "
                         "(arrays[1])",
                         ts::ValueError);
}

TEST_CASE("from_delayed" * doctest::timeout(60)) {
    const NDArray a = sample({2, 3});
    const ts::Delayed d = ts::Delayed::from_value(ts::Value(a));
    const ts::Array x = ts::from_delayed(d, {2, 3}, ts::float64);
    CHECK(x.chunks() == ts::Chunks({{2}, {3}}));
    CHECK(same(compute_all(x * 2.0), compute_all(ts::from_array(a) * 2.0)));
    const ts::Array bad = ts::from_delayed(d, {3}, ts::float32);
    try {
        bad.compute();
        FAIL("expected a ValueError");
    } catch (const ts::ValueError& e) {
        const std::string msg = e.what();
        const std::string tail = "from_delayed: the value is a float64 array of shape (2, 3) but float32 of shape (3,) was declared";
        CHECK(msg.size() >= tail.size());
        CHECK(msg.substr(msg.size() - std::min(msg.size(), tail.size())) == tail);
    }
}

TEST_CASE("Array member shortcuts" * doctest::timeout(60)) {
    const NDArray a = sample({3, 4});
    const ts::Array x = ts::from_array(a, 2);
    CHECK(same(compute_all(x.T()), a.transpose().copy()));
    CHECK(same(compute_all(x.transpose({1, 0})), a.transpose().copy()));
    CHECK(same(compute_all(x.reshape({4, 3})), a.reshape({4, 3})));
    CHECK(x.rechunk({3, 1}).chunks() == ts::Chunks({{3}, {1, 1, 1, 1}}));
    CHECK(x.rechunk(-1, ts::RechunkOptions{}).chunks() == ts::Chunks({{3}, {4}}));
    CHECK(same(compute_all(x.ravel()), a.reshape({12})));
    CHECK(same(compute_all(x.flatten()), a.reshape({12})));
    CHECK(same(compute_all(x[{1, ts::Slice(ts::none, ts::none, -2)}]), a.slice(0, 1, 2).slice(1, 3, -100, -2).reshape({2})));
    CHECK(same(compute_all(x[-1]), a.slice(0, 2, 3).reshape({4})));
    CHECK(same(compute_all(x(ts::ellipsis, 2, ts::newaxis)), a.slice(1, 2, 3)));
    CHECK(same(compute_all(x(ts::Slice(1, 3))), a.slice(0, 1, 3).copy()));
    CHECK(same(compute_all(x(ts::newaxis).squeeze()), a));
    CHECK(same(compute_all(x[x > 0.0].compute_chunk_sizes()), ts::getitem_mask(x, x > 0.0).compute()));
}

TEST_CASE("creation dtype defaults follow NumPy" * doctest::timeout(60)) {
    CHECK(ts::full({2}, 3).dtype() == ts::int64);
    CHECK(ts::full({2}, 3.5).dtype() == ts::float64);
    CHECK(ts::full({2}, true).dtype() == ts::bool_);
    CHECK(ts::full({2}, ts::Scalar(std::int64_t{3}, ts::int16)).dtype() == ts::int16);
    CHECK(ts::full({2}, 3, {.dtype = ts::float32}).dtype() == ts::float32);
    CHECK(ts::zeros({2}).dtype() == ts::float64);
    CHECK(ts::ones({2}).dtype() == ts::float64);
    CHECK(ts::empty({2}).dtype() == ts::float64);
    CHECK(ts::arange(std::int64_t{5}).dtype() == ts::int64);
    CHECK(ts::arange(0.0, 5.0).dtype() == ts::float64);
    CHECK(ts::linspace(0, 1, 3).dtype() == ts::float64);
    CHECK(ts::zeros({2}, {.dtype = ts::uint8}).dtype() == ts::uint8);
    CHECK(same(compute_all(ts::full({3}, 7)), NDArray::from_vector<std::int64_t>({7, 7, 7})));
}

TEST_CASE("diag of matrices and of vectors" * doctest::timeout(60)) {
    const NDArray a = sample({4, 6});
    for (const auto& [label, spec] : chunkings({4, 6}, 0)) {
        const ts::Array x = ts::from_array(a, spec);
        for (std::int64_t k : {-5, -2, 0, 1, 5, 6}) {
            INFO(label << " k " << k);
            std::vector<double> expected;
            for (std::int64_t i = 0; i < 4; ++i)
                if (i + k >= 0 && i + k < 6) expected.push_back(a.at<double>({i, i + k}));
            CHECK(same(compute_all(ts::diag(x, k)), NDArray::from_vector(expected)));
        }
    }
    const NDArray v = sample_ints({3}, ts::int64);
    for (const auto& [label, spec] : chunkings({3}, 0)) {
        for (std::int64_t k : {-2, 0, 1}) {
            INFO(label << " k " << k);
            const std::int64_t n = 3 + (k < 0 ? -k : k);
            NDArray expected = NDArray::zeros(ts::int64, {n, n});
            for (std::int64_t i = 0; i < 3; ++i) {
                const std::int64_t row = k >= 0 ? i : i - k, col = k >= 0 ? i + k : i;
                expected.set({row, col}, v.at<std::int64_t>({i}));
            }
            CHECK(same(compute_all(ts::diag(ts::from_array(v, spec), k)), expected));
        }
    }
    CHECK_THROWS_WITH_AS(ts::diag(ts::from_array(sample({2, 2, 2}))), "Input must be 1- or 2-d.", ts::ValueError);
}
