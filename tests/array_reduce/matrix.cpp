// The verification matrix: every reduction × shapes × chunkings × axes × keepdims × ddof, on
// clean and NaN-heavy data, against the whole-array reference, under the sync and threads
// schedulers (bitwise identical for the same chunking).
#include <doctest/doctest.h>

#include <cmath>

#include "helpers.hpp"

using namespace reduce_test;

namespace {

ts::DType expected_dtype(Kind kind, ts::DType in) {
    if (kind == Kind::Any || kind == Kind::All) return ts::bool_;
    return in;  // float inputs keep their dtype for every other reduction
}

const char* ufunc_name(Kind kind) {
    switch (kind) {
        case Kind::Min: return "minimum";
        case Kind::Max: return "maximum";
        case Kind::NanMin: return "fmin";
        default: return "fmax";
    }
}

// NaN-heavy data: 40% NaN and the whole first slab along axis 0 NaN (all-NaN slices).
ts::NDArray nan_data(ts::DType dtype, const ts::Shape& shape, std::uint64_t seed) {
    ts::NDArray x = make_data(dtype, shape, seed, 0.4);
    if (shape.size() >= 2) {
        for (std::int64_t flat = 0; flat < x.size(); ++flat) {
            std::vector<std::int64_t> idx(shape.size());
            std::int64_t rest = flat;
            for (std::size_t axis = shape.size(); axis-- > 0;) idx[axis] = rest % shape[axis], rest /= shape[axis];
            if (idx[0] == 0) x.set(idx, ts::Scalar(std::nan("")));
        }
    }
    return x;
}

void run_matrix(const ts::NDArray& data, double rtol) {
    const ts::Shape& shape = data.shape();
    const std::int64_t ndim = static_cast<std::int64_t>(shape.size());
    for (const auto& [chunk_label, spec] : chunkings(shape)) {
        ts::Array a = ts::from_array(data, spec);
        CHECK(a.compute().equals(data));
        for (const auto& axis : axis_choices(ndim)) {
            for (bool keepdims : {false, true}) {
                for (const auto& info : all_kinds()) {
                    for (std::int64_t ddof : {0, 1}) {
                        if (ddof == 1 && !is_var_kind(info.kind)) continue;
                        INFO(info.name << " of " << ts::shape_str(shape) << " chunks " << chunk_label
                                       << " axis " << axis.label << " keepdims " << keepdims << " ddof " << ddof);
                        const ts::ReduceOptions options{.keepdims = keepdims, .ddof = ddof};
                        bool empty_axis = false;
                        for (auto ax : axis.normalized) empty_axis = empty_axis || shape[static_cast<std::size_t>(ax)] == 0;
                        if (is_minmax_kind(info.kind) && empty_axis) {
                            CHECK_THROWS_WITH_AS(info.fn(a, axis.axes, options),
                                                 (std::string("zero-size array to reduction operation ") +
                                                  ufunc_name(info.kind) + " which has no identity")
                                                     .c_str(),
                                                 ts::ValueError);
                            continue;
                        }
                        ts::Array r = info.fn(a, axis.axes, options);
                        const Ref ref = reference(info.kind, data, axis.normalized, keepdims, ddof);
                        const ts::DType dtype = expected_dtype(info.kind, data.dtype());
                        CHECK(r.dtype() == dtype);
                        CHECK(r.shape() == ref.shape);
                        ts::NDArray sync = r.compute({.scheduler = "sync"});
                        ts::NDArray threads = r.compute({.scheduler = "threads", .num_threads = 3});
                        CHECK(compare(sync, ref, dtype, rtol) == "");
                        CHECK(same_bits(sync, threads));
                    }
                }
            }
        }
    }
}

}  // namespace

TEST_CASE("reduction matrix: 1-d" * doctest::timeout(60)) {
    run_matrix(make_data(ts::float64, {13}, 1), 1e-12);
    run_matrix(nan_data(ts::float64, {13}, 2), 1e-12);
}

TEST_CASE("reduction matrix: 2-d" * doctest::timeout(60)) {
    run_matrix(make_data(ts::float64, {7, 5}, 3), 1e-12);
    run_matrix(nan_data(ts::float64, {7, 5}, 4), 1e-12);
}

TEST_CASE("reduction matrix: 3-d" * doctest::timeout(60)) {
    run_matrix(make_data(ts::float64, {4, 3, 5}, 5), 1e-12);
    run_matrix(nan_data(ts::float64, {4, 3, 5}, 6), 1e-12);
}

TEST_CASE("reduction matrix: 0-d, length-1 axes" * doctest::timeout(60)) {
    run_matrix(make_data(ts::float64, {}, 7), 1e-12);
    run_matrix(nan_data(ts::float64, {}, 8), 0);
    run_matrix(ts::NDArray::scalar(ts::Scalar(std::nan(""))), 0);
    run_matrix(make_data(ts::float64, {1, 6}, 9), 1e-12);
    run_matrix(nan_data(ts::float64, {6, 1}, 10), 1e-12);
}

TEST_CASE("reduction matrix: empty arrays" * doctest::timeout(60)) {
    run_matrix(make_data(ts::float64, {0}, 11), 0);
    run_matrix(make_data(ts::float64, {3, 0}, 12), 0);
    run_matrix(make_data(ts::float64, {0, 4}, 13), 0);
    run_matrix(make_data(ts::float64, {2, 0, 3}, 14), 0);
}

TEST_CASE("reduction matrix: all-NaN data" * doctest::timeout(60)) {
    run_matrix(make_data(ts::float64, {5, 4}, 15, 1.0), 0);
}

TEST_CASE("reduction matrix: float32 keeps float32 with float64 accuracy" * doctest::timeout(60)) {
    // The reference is float64 (long double) on the same float32 values: only the final
    // rounding to float32 may differ.
    run_matrix(make_data(ts::float32, {7, 5}, 16), 2e-7);
    run_matrix(nan_data(ts::float32, {4, 3, 5}, 17), 2e-7);
}
