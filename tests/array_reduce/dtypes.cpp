// Reductions over every real dtype against the reference, and leading-axis reductions of tall
// blocks (the in-place row accumulation path).
#include <doctest/doctest.h>

#include <vector>

#include "helpers.hpp"

using namespace reduce_test;
using ts::NDArray;

namespace {

const ts::DType kAllDTypes[] = {ts::bool_,  ts::int8,    ts::int16,     ts::int32,     ts::int64,
                                ts::uint8,  ts::uint16,  ts::uint32,    ts::uint64,    ts::float32,
                                ts::float64, ts::complex64, ts::complex128};

}  // namespace

TEST_CASE("leading-axis reductions of tall blocks (in-place row accumulation)" * doctest::timeout(60)) {
    NDArray data = make_data(ts::float64, {1000, 3, 2}, 71, 0.1);
    for (ts::ChunkSpec spec : {ts::ChunkSpec(-1), ts::ChunkSpec({300, -1, 1})}) {
        ts::Array a = ts::from_array(data, spec);
        for (const auto& axes : {std::vector<std::int64_t>{0}, std::vector<std::int64_t>{0, 1}}) {
            INFO(a.chunks().str() << " axes " << ts::shape_str(axes));
            for (const auto& info : all_kinds()) {
                INFO(info.name);
                const ts::DType dtype = (info.kind == Kind::Any || info.kind == Kind::All) ? ts::bool_ : ts::float64;
                CHECK(compare(info.fn(a, ts::Axes(axes), {}).compute(), reference(info.kind, data, axes, false), dtype,
                              1e-13) == "");
            }
        }
    }
}

TEST_CASE("every reduction over every real dtype" * doctest::timeout(60)) {
    for (ts::DType dtype : kAllDTypes) {
        if (dtype.is_complex()) continue;
        NDArray data = make_data(dtype, {3, 8}, 81, 0.2);
        const bool exact_input = !dtype.is_floating();
        const ts::DType widened = dtype.is_bool() || dtype.is_signed_integer() ? ts::int64
                                  : dtype.is_unsigned_integer()              ? ts::uint64
                                                                             : dtype;
        const ts::DType floating = dtype.is_floating() ? dtype : ts::float64;
        for (const auto& [label, spec] : chunkings(data.shape())) {
            ts::Array a = ts::from_array(data, spec);
            for (const auto& axis : axis_choices(2)) {
                for (const auto& info : all_kinds()) {
                    // Products of more than 3 values would overflow the integer reference.
                    if (info.kind == Kind::Prod && axis.normalized != std::vector<std::int64_t>{0}) continue;
                    INFO(dtype << " " << info.name << " chunks " << label << " axis " << axis.label);
                    ts::DType expected = floating;
                    double rtol = dtype == ts::float32 ? 2e-7 : 1e-13;
                    switch (info.kind) {
                        case Kind::Sum:
                        case Kind::Prod:
                        case Kind::NanSum: expected = widened; break;
                        case Kind::Min:
                        case Kind::Max:
                        case Kind::NanMin:
                        case Kind::NanMax: expected = dtype; break;
                        case Kind::Any:
                        case Kind::All: expected = ts::bool_; break;
                        default: break;
                    }
                    if (exact_input && expected.kind() != 'f') rtol = 0;
                    CHECK(compare(info.fn(a, axis.axes, {}).compute(), reference(info.kind, data, axis.normalized, false),
                                  expected, rtol) == "");
                }
            }
        }
    }
}
