// Core value types: dtypes and promotion (against NumPy 1.24 fixtures), scalars, shapes, errors.

#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <limits>
#include <new>
#include <sstream>
#include <string>
#include <vector>

#include "tessera/dtype.hpp"
#include "tessera/error.hpp"
#include "tessera/shape.hpp"
#include "tessera/version.hpp"

namespace ts = tessera;

namespace {

const ts::DType kAll[] = {ts::bool_,   ts::int8,    ts::int16,     ts::int32,     ts::int64,
                          ts::uint8,   ts::uint16,  ts::uint32,    ts::uint64,    ts::float32,
                          ts::float64, ts::complex64, ts::complex128};

// The non-comment lines of a fixture in tests/data, split on whitespace.
std::vector<std::vector<std::string>> read_fixture(const std::string& name) {
    std::ifstream in(std::string(TESSERA_TEST_DATA) + "/" + name);
    REQUIRE_MESSAGE(in.good(), "missing fixture ", name);
    std::vector<std::vector<std::string>> rows;
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line.front() == '#') continue;
        std::istringstream fields(line);
        std::vector<std::string> row;
        for (std::string field; fields >> field;) row.push_back(field);
        rows.push_back(row);
    }
    return rows;
}

// A Python scalar of the fixture ("int -300", "float 1e+300", "complex 0.0,1.0") as a weak Scalar.
ts::Scalar python_scalar(const std::string& kind, const std::string& text) {
    if (kind == "bool") return ts::Scalar(text == "1");
    if (kind == "int") {
        if (text.front() == '-') return ts::Scalar(std::stoll(text));
        return ts::Scalar(static_cast<unsigned long long>(std::stoull(text)));
    }
    if (kind == "float") return ts::Scalar(std::strtod(text.c_str(), nullptr));
    const size_t comma = text.find(',');
    return ts::Scalar(std::complex<double>(std::strtod(text.substr(0, comma).c_str(), nullptr),
                                           std::strtod(text.substr(comma + 1).c_str(), nullptr)));
}

}  // namespace

TEST_CASE("dtype names, typestrs, kinds and sizes") {
    const char* names[] = {"bool",   "int8",    "int16",   "int32",     "int64",
                           "uint8",  "uint16",  "uint32",  "uint64",    "float32",
                           "float64", "complex64", "complex128"};
    const char* strs[] = {"|b1", "|i1", "<i2", "<i4", "<i8", "|u1", "<u2",
                          "<u4", "<u8", "<f4", "<f8", "<c8", "<c16"};
    const char kinds[] = "biiiiuuuuffcc";
    const std::int64_t sizes[] = {1, 1, 2, 4, 8, 1, 2, 4, 8, 4, 8, 8, 16};
    for (int id = 0; id < ts::kNumDTypes; ++id) {
        const ts::DType dt = kAll[id];
        CHECK(static_cast<int>(dt.id()) == id);
        CHECK(dt.name() == names[id]);
        CHECK(dt.str() == strs[id]);
        CHECK(dt.kind() == kinds[id]);
        CHECK(dt.itemsize() == sizes[id]);
        CHECK(ts::DType::from_name(names[id]) == dt);
        CHECK(ts::DType::from_name(strs[id]) == dt);
        CHECK(ts::parse_typestr(strs[id]).dtype == dt);
        CHECK_FALSE(ts::parse_typestr(strs[id]).big_endian);
        std::ostringstream os;
        os << dt;
        CHECK(os.str() == names[id]);
        CHECK(fmt::format("{}", dt) == names[id]);
    }
    CHECK(ts::DType() == ts::float64);
    CHECK(ts::dtype_of<float>() == ts::float32);
    CHECK(ts::dtype_of<std::uint16_t>() == ts::uint16);
    CHECK(ts::uint8.is_unsigned_integer());
    CHECK(ts::int8.is_integer());
    CHECK_FALSE(ts::bool_.is_integer());
    CHECK(ts::complex64.is_complex());
    CHECK_FALSE(ts::complex64.is_real());
    CHECK(ts::float32.is_real());
}

TEST_CASE("DType::from_name accepts NumPy's spellings") {
    const std::pair<const char*, ts::DType> cases[] = {
        {"?", ts::bool_},         {"b1", ts::bool_},        {"bool_", ts::bool_},
        {"i1", ts::int8},         {"byte", ts::int8},       {"i2", ts::int16},
        {"short", ts::int16},     {"i4", ts::int32},        {"intc", ts::int32},
        {"i8", ts::int64},        {"int", ts::int64},       {"long", ts::int64},
        {"intp", ts::int64},      {"u1", ts::uint8},        {"ubyte", ts::uint8},
        {"u2", ts::uint16},       {"u4", ts::uint32},       {"u8", ts::uint64},
        {"uint", ts::uint64},     {"f4", ts::float32},      {"single", ts::float32},
        {"f", ts::float32},       {"f8", ts::float64},      {"float", ts::float64},
        {"double", ts::float64},  {"d", ts::float64},       {"c8", ts::complex64},
        {"csingle", ts::complex64}, {"c16", ts::complex128}, {"complex", ts::complex128},
        {"D", ts::complex128},    {"<f4", ts::float32},     {"|b1", ts::bool_},
        {"=i8", ts::int64},       {"<?", ts::bool_},        {"<d", ts::float64},
        {">u1", ts::uint8},       {"|i1", ts::int8},
    };
    for (const auto& [name, dtype] : cases) {
        INFO(name);
        CHECK(ts::DType::from_name(name) == dtype);
    }
    CHECK_THROWS_WITH_AS(ts::DType::from_name("xyz"), "unknown dtype 'xyz'", ts::DTypeError);
    CHECK_THROWS_WITH_AS(ts::DType::from_name(""), "unknown dtype ''", ts::DTypeError);
    CHECK_THROWS_WITH_AS(ts::DType::from_name("Int8"), "unknown dtype 'Int8'", ts::DTypeError);
    CHECK_THROWS_WITH_AS(ts::DType::from_name("i16"), "unknown dtype 'i16'", ts::DTypeError);
    CHECK_THROWS_WITH_AS(ts::DType::from_name("<bool"), "unknown dtype '<bool'", ts::DTypeError);
    CHECK_THROWS_WITH_AS(ts::DType::from_name(">f4"),
                         "big-endian dtype '>f4' is not a native dtype; use parse_typestr",
                         ts::DTypeError);
    CHECK_THROWS_WITH_AS(ts::DType::from_name("float16"),
                         "dtype 'float16' is not supported (Tessera has bool, int8-64, "
                         "uint8-64, float32, float64, complex64 and complex128)",
                         ts::DTypeError);
    CHECK_THROWS_AS(ts::DType::from_name("<f2"), ts::DTypeError);
}

TEST_CASE("parse_typestr reads byte order") {
    CHECK(ts::parse_typestr(">f4").dtype == ts::float32);
    CHECK(ts::parse_typestr(">f4").big_endian);
    CHECK(ts::parse_typestr(">i2").big_endian);
    CHECK(ts::parse_typestr(">c16").dtype == ts::complex128);
    CHECK_FALSE(ts::parse_typestr(">u1").big_endian);  // one byte: no order
    CHECK_FALSE(ts::parse_typestr("=i8").big_endian);
    CHECK(ts::parse_typestr("|b1").dtype == ts::bool_);
    for (const char* bad : {"xyz", "f4", "<f2", "<i3", "<f4 ", "<", "<f", "<q8", "<u16", "<f+4"}) {
        INFO(bad);
        const std::string message = fmt::format("unknown typestr '{}'", bad);
        CHECK_THROWS_WITH_AS(ts::parse_typestr(bad), message.c_str(), ts::DTypeError);
    }
}

TEST_CASE("Scalar repr follows Python and NumPy") {
    CHECK(ts::Scalar(2.5).repr() == "2.5");
    CHECK(ts::Scalar(3).repr() == "3");
    CHECK(ts::Scalar(true).repr() == "True");
    CHECK(ts::Scalar(false).repr() == "False");
    CHECK(ts::Scalar(std::complex<double>(1, 2)).repr() == "(1+2j)");
    CHECK(ts::Scalar(std::complex<double>(0, 1)).repr() == "1j");
    CHECK(ts::Scalar(std::complex<double>(0, 0)).repr() == "0j");
    CHECK(ts::Scalar(std::complex<double>(-0.0, 1)).repr() == "(-0+1j)");
    CHECK(ts::Scalar(std::complex<double>(1, -0.0)).repr() == "(1-0j)");
    CHECK(ts::Scalar(std::complex<double>(2.5, -1)).repr() == "(2.5-1j)");
    CHECK(ts::Scalar(2.0).repr() == "2.0");
    CHECK(ts::Scalar(-0.0).repr() == "-0.0");
    CHECK(ts::Scalar(1e16).repr() == "1e+16");
    CHECK(ts::Scalar(1e15).repr() == "1000000000000000.0");
    CHECK(ts::Scalar(1e-5).repr() == "1e-05");
    CHECK(ts::Scalar(0.0001).repr() == "0.0001");
    CHECK(ts::Scalar(0.1).repr() == "0.1");
    CHECK(ts::Scalar(1.5e300).repr() == "1.5e+300");
    CHECK(ts::Scalar(123.456).repr() == "123.456");
    CHECK(ts::Scalar(std::numeric_limits<double>::infinity()).repr() == "inf");
    CHECK(ts::Scalar(-std::numeric_limits<double>::infinity()).repr() == "-inf");
    CHECK(ts::Scalar(std::numeric_limits<double>::quiet_NaN()).repr() == "nan");
    CHECK(ts::Scalar(-7L).repr() == "-7");
    CHECK(ts::Scalar(18446744073709551615ULL).repr() == "18446744073709551615");
    // Strong scalars print like NumPy scalars of their dtype (np.float32(0.1) -> 0.1).
    CHECK(ts::Scalar(0.1, ts::float32).repr() == "0.1");
    CHECK(ts::Scalar(1e10, ts::float32).repr() == "10000000000.0");
    CHECK(ts::Scalar(1e-4, ts::float32).repr() == "1e-04");  // float32(1e-4) < 1e-4
    CHECK(ts::Scalar(3.4e38, ts::float32).repr() == "3.4e+38");
    CHECK(ts::Scalar(std::complex<double>(0.1, 0.2), ts::complex64).repr() == "(0.1+0.2j)");
    CHECK(ts::Scalar(std::int64_t{300}, ts::uint8).repr() == "44");
    CHECK(ts::Scalar(std::int64_t{-1}, ts::uint64).repr() == "18446744073709551615");
    CHECK(ts::Scalar(std::int64_t{1}, ts::bool_).repr() == "True");
    CHECK(ts::Scalar(2.0, ts::float64).repr() == "2.0");
    std::ostringstream os;
    os << ts::Scalar(2.5) << ' ' << ts::Scalar(std::int64_t{3}, ts::int16);
    CHECK(os.str() == "2.5 3");
    CHECK(ts::Scalar(3).as<double>() == 3.0);
    CHECK(ts::Scalar(std::complex<double>(1.5, 2)).as<float>() == 1.5f);
    CHECK(ts::Scalar(2.0) == ts::Scalar(2.0));
    CHECK_FALSE(ts::Scalar(2.0) == ts::Scalar(2.0, ts::float32));
}

TEST_CASE("result_type and can_cast of dtype pairs match NumPy 1.24") {
    const auto rows = read_fixture("promotion_numpy124.txt");
    REQUIRE(rows.size() == 169);
    for (const auto& row : rows) {
        INFO(row[0], " ", row[1]);
        const auto a = ts::DType::from_name(row[0]);
        const auto b = ts::DType::from_name(row[1]);
        CHECK(ts::result_type(a, b) == ts::DType::from_name(row[2]));
        CHECK(ts::can_cast_safely(a, b) == (row[3] == "1"));
    }
    // The cases called out in the design.
    CHECK(ts::result_type(ts::int64, ts::uint64) == ts::float64);
    CHECK(ts::result_type(ts::int8, ts::uint8) == ts::int16);
    CHECK(ts::result_type(ts::float32, ts::int32) == ts::float64);
}

TEST_CASE("result_type over several dtypes matches NumPy 1.24") {
    const auto rows = read_fixture("promotion3_numpy124.txt");
    REQUIRE(rows.size() == 13 * 13 * 13);
    for (const auto& row : rows) {
        INFO(row[0], " ", row[1], " ", row[2]);
        const ts::DType dtypes[] = {ts::DType::from_name(row[0]), ts::DType::from_name(row[1]),
                                    ts::DType::from_name(row[2])};
        CHECK(ts::result_type(dtypes) == ts::DType::from_name(row[3]));
    }
    const auto seqs = read_fixture("promotion_seq_numpy124.txt");
    REQUIRE(seqs.size() == 2000);
    for (const auto& row : seqs) {
        const size_t n = std::stoul(row[0]);
        REQUIRE(row.size() == n + 2);
        std::vector<ts::DType> dtypes;
        for (size_t pos = 1; pos <= n; ++pos) dtypes.push_back(ts::DType::from_name(row[pos]));
        INFO(fmt::format("{}", fmt::join(row, " ")));
        CHECK(ts::result_type(dtypes) == ts::DType::from_name(row[n + 1]));
    }
    const ts::DType one[] = {ts::uint16};
    CHECK(ts::result_type(one) == ts::uint16);
    CHECK_THROWS_WITH_AS(ts::result_type(std::span<const ts::DType>{}),
                         "at least one array or dtype is required", ts::ValueError);
}

TEST_CASE("result_type of an array with a Python-like scalar matches NumPy 1.24") {
    const auto rows = read_fixture("scalar_promotion_numpy124.txt");
    REQUIRE(rows.size() == 13 * 49);
    for (const auto& row : rows) {
        INFO(row[0], " ", row[1], " ", row[2]);
        const ts::Scalar scalar = python_scalar(row[1], row[2]);
        CHECK(scalar.is_weak());
        CHECK(ts::result_type(ts::DType::from_name(row[0]), scalar) ==
              ts::DType::from_name(row[3]));
    }
    // The rules spelled out in the design.
    CHECK(ts::result_type(ts::float32, ts::Scalar(2.0)) == ts::float32);
    CHECK(ts::result_type(ts::bool_, ts::Scalar(5)) == ts::int64);
    CHECK(ts::result_type(ts::uint8, ts::Scalar(300)) == ts::uint16);
    CHECK(ts::result_type(ts::uint8, ts::Scalar(-1)) == ts::int16);
    CHECK(ts::result_type(ts::int8, ts::Scalar(200)) == ts::int16);
    CHECK(ts::result_type(ts::float32, ts::Scalar(1e300)) == ts::float64);
    CHECK(ts::result_type(ts::float32, ts::Scalar(std::complex<double>(0, 1))) == ts::complex64);
    CHECK(ts::result_type(ts::int32, ts::Scalar(std::complex<double>(0, 1))) == ts::complex128);
    // C++ literal types that Python does not have behave like the same Python value.
    CHECK(ts::result_type(ts::uint8, ts::Scalar(5u)) == ts::uint8);
    CHECK(ts::result_type(ts::float32, ts::Scalar(2.0f)) == ts::float32);
    CHECK(ts::result_type(ts::complex64, ts::Scalar(std::complex<float>(1, 1))) == ts::complex64);
}

TEST_CASE("strong scalars promote like arrays") {
    using S = ts::Scalar;
    CHECK(ts::result_type(ts::int8, S(std::int64_t{3}, ts::uint8)) == ts::int16);
    CHECK(ts::result_type(ts::float32, S(2.0, ts::float64)) == ts::float64);
    CHECK(ts::result_type(ts::uint8, S(std::int64_t{1}, ts::bool_)) == ts::uint8);
    CHECK(ts::result_type(ts::bool_, S(std::int64_t{1}, ts::int8)) == ts::int8);
    for (ts::DType a : kAll)
        for (ts::DType b : kAll)
            CHECK(ts::result_type(a, S(std::int64_t{0}, b)) == ts::result_type(a, b));
}

TEST_CASE("sum_dtype and float_dtype match np.sum and np.mean") {
    const auto rows = read_fixture("reduction_dtypes_numpy124.txt");
    REQUIRE(rows.size() == 13);
    for (const auto& row : rows) {
        INFO(row[0]);
        const auto dt = ts::DType::from_name(row[0]);
        CHECK(ts::sum_dtype(dt) == ts::DType::from_name(row[1]));
        CHECK(ts::float_dtype(dt) == ts::DType::from_name(row[2]));
    }
}

TEST_CASE("shape helpers") {
    CHECK(ts::shape_str(ts::Shape{3, 4}) == "(3, 4)");
    CHECK(ts::shape_str(ts::Shape{5}) == "(5,)");
    CHECK(ts::shape_str(ts::Shape{}) == "()");
    CHECK(ts::shape_str(ts::Shape{0, 1, 2}) == "(0, 1, 2)");
    CHECK(ts::shape_size(ts::Shape{}) == 1);
    CHECK(ts::shape_size(ts::Shape{3, 4, 5}) == 60);
    CHECK(ts::shape_size(ts::Shape{3, 0, 5}) == 0);
    CHECK(ts::c_strides(ts::Shape{}).empty());
    CHECK(ts::c_strides(ts::Shape{7}) == std::vector<std::int64_t>{1});
    CHECK(ts::c_strides(ts::Shape{2, 3, 4}) == std::vector<std::int64_t>{12, 4, 1});
    CHECK(ts::c_strides(ts::Shape{2, 0, 4}) == std::vector<std::int64_t>{0, 4, 1});

    CHECK(ts::normalize_axis(-1, 2) == 1);
    CHECK(ts::normalize_axis(0, 1) == 0);
    CHECK(ts::normalize_axis(-2, 2) == 0);
    CHECK_THROWS_WITH_AS(ts::normalize_axis(3, 2),
                         "axis 3 is out of bounds for array of dimension 2", ts::AxisError);
    CHECK_THROWS_WITH_AS(ts::normalize_axis(-3, 2),
                         "axis -3 is out of bounds for array of dimension 2", ts::AxisError);
    CHECK_THROWS_WITH_AS(ts::normalize_axis(0, 0),
                         "axis 0 is out of bounds for array of dimension 0", ts::AxisError);

    CHECK(ts::normalize_axes(ts::Shape{2, -3}, 3) == std::vector<std::int64_t>{0, 2});
    CHECK(ts::normalize_axes(ts::Shape{}, 0).empty());
    CHECK_THROWS_WITH_AS(ts::normalize_axes(ts::Shape{1, -1}, 2), "repeated axis 1 in (1, -1)",
                         ts::AxisError);
    CHECK_THROWS_WITH_AS(ts::normalize_axes(ts::Shape{0, 5}, 2),
                         "axis 5 is out of bounds for array of dimension 2", ts::AxisError);
}

TEST_CASE("broadcast_shapes follows NumPy") {
    using ts::Shape;
    CHECK(ts::broadcast_shapes(Shape{3, 1}, Shape{4}) == Shape{3, 4});
    CHECK(ts::broadcast_shapes(Shape{}, Shape{2, 3}) == Shape{2, 3});
    CHECK(ts::broadcast_shapes(Shape{}, Shape{}) == Shape{});
    CHECK(ts::broadcast_shapes(Shape{0}, Shape{1}) == Shape{0});
    CHECK(ts::broadcast_shapes(Shape{5, 1, 0}, Shape{7, 1}) == Shape{5, 7, 0});
    // An unknown extent (-1) stays unknown.
    CHECK(ts::broadcast_shapes(Shape{-1, 3}, Shape{4, 1}) == Shape{-1, 3});
    CHECK_THROWS_WITH_AS(ts::broadcast_shapes(Shape{3, 4}, Shape{5}),
                         "operands could not be broadcast together with shapes (3, 4) (5,)",
                         ts::ShapeError);
    CHECK_THROWS_WITH_AS(ts::broadcast_shapes(Shape{0}, Shape{2}),
                         "operands could not be broadcast together with shapes (0,) (2,)",
                         ts::ShapeError);
    const std::vector<Shape> many = {{2, 1}, {1, 3}, {4, 2, 3}};
    CHECK(ts::broadcast_shapes(many) == Shape{4, 2, 3});
    CHECK(ts::broadcast_shapes(std::span<const Shape>{}) == Shape{});
    const std::vector<Shape> bad = {{2, 1}, {}, {3, 3}};
    CHECK_THROWS_WITH_AS(ts::broadcast_shapes(bad),
                         "operands could not be broadcast together with shapes (2, 1) () (3, 3)",
                         ts::ShapeError);
}

namespace {

// The exception rethrow_with_context(error, "task x") throws, caught as E, and its message.
template <class E>
std::string rethrown_as(std::exception_ptr error) {
    try {
        ts::rethrow_with_context(error, "task x");
    } catch (const E& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("errors: kinds, with_message, assertions") {
    const ts::ChunkError chunk_error("bad chunks {} and {}", 3, "x");
    CHECK(std::string(chunk_error.what()) == "bad chunks 3 and x");
    CHECK(std::string(chunk_error.kind()) == "ChunkError");
    CHECK(std::string(ts::Error("plain").kind()) == "Error");
    CHECK_THROWS_WITH_AS(std::rethrow_exception(chunk_error.with_message("other")), "other",
                         ts::ChunkError);
    const int line = __LINE__ + 1;
    const auto fail = [] { TESSERA_ASSERT(1 + 1 == 3, "arithmetic"); };
    CHECK_THROWS_WITH_AS(fail(),
                         fmt::format("internal assertion failed: 1 + 1 == 3 (arithmetic) at {}:{}",
                                     __FILE__, line)
                             .c_str(),
                         ts::Error);
    CHECK_NOTHROW(TESSERA_ASSERT(true, "fine"));
    CHECK(std::string(ts::version()) == "0.1.0");
    CHECK(fmt::format("{}.{}.{}", ts::kVersionMajor, ts::kVersionMinor, ts::kVersionPatch) ==
          ts::version());
}

TEST_CASE("rethrow_with_context keeps the dynamic type") {
    const auto ptr = [](auto e) { return std::make_exception_ptr(e); };
    CHECK(rethrown_as<ts::ShapeError>(ptr(ts::ShapeError("bad"))) == "task x: bad");
    CHECK(rethrown_as<ts::WorkerError>(ptr(ts::WorkerError("lost"))) == "task x: lost");
    CHECK(rethrown_as<ts::Error>(ptr(ts::Error("root"))) == "task x: root");
    CHECK(rethrown_as<std::invalid_argument>(ptr(std::invalid_argument("ia"))) == "task x: ia");
    CHECK(rethrown_as<std::out_of_range>(ptr(std::out_of_range("oor"))) == "task x: oor");
    CHECK(rethrown_as<std::domain_error>(ptr(std::domain_error("de"))) == "task x: de");
    CHECK(rethrown_as<std::length_error>(ptr(std::length_error("le"))) == "task x: le");
    CHECK(rethrown_as<std::logic_error>(ptr(std::logic_error("lo"))) == "task x: lo");
    CHECK(rethrown_as<std::range_error>(ptr(std::range_error("re"))) == "task x: re");
    CHECK(rethrown_as<std::overflow_error>(ptr(std::overflow_error("of"))) == "task x: of");
    CHECK(rethrown_as<std::underflow_error>(ptr(std::underflow_error("uf"))) == "task x: uf");
    CHECK(rethrown_as<std::runtime_error>(ptr(std::runtime_error("rt"))) == "task x: rt");
    // A tessera::Error is not mistaken for a plain runtime_error.
    bool exact = false;
    try {
        ts::rethrow_with_context(ptr(ts::IOError("disk")), "k");
    } catch (const ts::IOError& e) {
        exact = std::string(e.kind()) == "IOError" && std::string(e.what()) == "k: disk";
    }
    CHECK(exact);
    // Nested context accumulates.
    try {
        ts::rethrow_with_context(ptr(ts::ValueError("empty")), "inner");
    } catch (...) {
        CHECK(rethrown_as<ts::ValueError>(std::current_exception()) == "task x: inner: empty");
    }
    // bad_alloc and non-std exceptions come back unchanged.
    CHECK_THROWS_AS(ts::rethrow_with_context(ptr(std::bad_alloc()), "t"), std::bad_alloc);
    int thrown = 0;
    try {
        ts::rethrow_with_context(ptr(42), "t");
    } catch (int value) {
        thrown = value;
    }
    CHECK(thrown == 42);
}
