// ts::load_npy / ts::to_npy: .npy files built byte by byte here (headers 1.0, 2.0, 3.0, both
// byte orders, C and Fortran order) against values computed from a formula, and NumPy's exact
// header bytes.

#include <doctest/doctest.h>

#include <algorithm>
#include <complex>
#include <cstring>
#include <filesystem>

#include "tests/io/io_test_util.hpp"
#include "tessera/io.hpp"

namespace ts = tessera;
using iotest::TempDir;

namespace {

// The value of logical element `flat` (C order).
double formula(std::int64_t flat) { return static_cast<double>(flat) * 1.5 - 3.0; }

// A .npy file: magic, version, length, dict padded with spaces to a multiple of `align`.
std::string npy_file(int major, const std::string& descr, bool fortran, const std::string& shape,
                     const std::string& data, std::size_t align = 64) {
    std::string dict = fmt::format("{{'descr': '{}', 'fortran_order': {}, 'shape': {}, }}", descr,
                                   fortran ? "True" : "False", shape);
    const std::size_t prefix = major == 1 ? 10 : 12;
    while ((prefix + dict.size() + 1) % align != 0) dict += ' ';
    dict += '\n';
    std::string out(prefix, '\0');
    std::memcpy(out.data(), "\x93NUMPY", 6);
    out[6] = static_cast<char>(major);
    for (std::size_t k = 0; k < prefix - 8; ++k) out[8 + k] = static_cast<char>((dict.size() >> (8 * k)) & 0xff);
    out.append(dict);
    out.append(data);
    return out;
}

// The bytes of `values` (already in file order) as `dtype`, byte-swapped when big.
std::string encode(ts::DType dtype, const std::vector<double>& values, bool big) {
    const ts::NDArray a = ts::NDArray::from_vector(values).astype(dtype);
    std::string bytes = iotest::raw_bytes(a);
    const std::size_t unit = dtype.is_complex() ? static_cast<std::size_t>(dtype.itemsize() / 2)
                                                : static_cast<std::size_t>(dtype.itemsize());
    if (big)
        for (std::size_t k = 0; k < bytes.size(); k += unit) std::reverse(bytes.begin() + k, bytes.begin() + k + unit);
    return bytes;
}

ts::NDArray expected(ts::DType dtype, const ts::Shape& shape) {
    std::vector<double> v(static_cast<std::size_t>(ts::shape_size(shape)));
    for (std::size_t k = 0; k < v.size(); ++k) v[k] = formula(static_cast<std::int64_t>(k));
    return ts::NDArray::from_vector(v, shape.empty() ? ts::Shape{1} : shape).reshape(shape).astype(dtype);
}

}  // namespace

TEST_CASE("load_npy reads every header version, byte order and memory order") {
    TempDir dir;
    const ts::Shape shape{5, 3, 4};
    int n = 0;
    for (int major : {1, 2, 3}) {
        for (const char* descr : {"<f8", ">f8", "<f4", ">i2", "<u4", ">i8", "<c8", ">c16", "|u1", "|i1", "|b1"}) {
            for (bool fortran : {false, true}) {
                const ts::DType dtype = ts::parse_typestr(descr).dtype;
                const bool big = descr[0] == '>';
                const ts::NDArray want = expected(dtype, shape);
                // File order: C, or Fortran (the first axis varies fastest).
                std::vector<double> file;
                const ts::NDArray order = fortran ? want.transpose({}).contiguous() : want;
                const ts::NDArray as_double = order.astype(dtype.is_complex() ? ts::complex128 : ts::float64);
                for (std::int64_t k = 0; k < as_double.size(); ++k) {
                    if (dtype.is_complex())
                        file.push_back(static_cast<const std::complex<double>*>(as_double.raw_data())[k].real());
                    else
                        file.push_back(static_cast<const double*>(as_double.raw_data())[k]);
                }
                const std::string path = dir / fmt::format("f{}.npy", n++);
                iotest::write_text(path, npy_file(major, descr, fortran, "(5, 3, 4)", encode(dtype, file, big),
                                                  major == 1 ? 16 : 64));
                CAPTURE(major);
                CAPTURE(descr);
                CAPTURE(fortran);
                for (const ts::ChunkSpec& chunks : {ts::ChunkSpec(ts::Shape{2, 3, 3}), ts::ChunkSpec(1), ts::ChunkSpec()}) {
                    const ts::Array a = ts::load_npy(path, chunks);
                    CHECK(a.dtype() == dtype);
                    CHECK(a.shape() == shape);
                    CHECK(iotest::bit_equal(a.compute(), want));
                }
            }
        }
    }
}

TEST_CASE("load_npy: one task per chunk, 0-d, empty and 1-d files") {
    TempDir dir;
    const std::string p1 = dir / "one.npy";
    iotest::write_text(p1, npy_file(1, "<f8", false, "(7,)", encode(ts::float64, {0, 1, 2, 3, 4, 5, 6}, false)));
    const ts::Array a = ts::load_npy(p1, 3);
    CHECK(a.chunks() == ts::Chunks({{3, 3, 1}}));
    const ts::Graph g = a.graph();
    CHECK(g.size() == 3);
    for (const auto& t : g.tasks()) {
        CHECK(ts::op_name(t.op) == "tessera.npy_load");
        CHECK(t.local == nullptr);
    }
    CHECK(a.compute().equals(ts::NDArray::from_vector<double>({0, 1, 2, 3, 4, 5, 6})));
    CHECK(a.sum().compute().item<double>() == 21.0);

    const std::string p0 = dir / "zero.npy";
    iotest::write_text(p0, npy_file(1, "<i4", false, "()", encode(ts::int32, {42}, false)));
    const ts::Array z = ts::load_npy(p0);
    CHECK(z.ndim() == 0);
    CHECK(z.compute().item<std::int32_t>() == 42);

    const std::string pe = dir / "empty.npy";
    iotest::write_text(pe, npy_file(1, "<f4", true, "(0, 3)", ""));
    const ts::Array e = ts::load_npy(pe, 2);
    CHECK(e.shape() == ts::Shape{0, 3});
    CHECK(e.compute().shape() == ts::Shape{0, 3});
}

TEST_CASE("load_npy errors name the file") {
    TempDir dir;
    const std::string missing = dir / "missing.npy";
    CHECK_THROWS_WITH_AS(ts::load_npy(missing), fmt::format("{}: cannot open: No such file or directory", missing).c_str(),
                         ts::IOError);
    const std::string bad = dir / "bad.npy";
    iotest::write_text(bad, "PK\x03\x04 not numpy at all");
    CHECK_THROWS_WITH_AS(ts::load_npy(bad), fmt::format("{}: not a .npy file (bad magic)", bad).c_str(), ts::IOError);
    const std::string v4 = dir / "v4.npy";
    iotest::write_text(v4, std::string("\x93NUMPY\x04\x00\x10\x00\x00\x00", 12) + std::string(16, ' '));
    CHECK_THROWS_WITH_AS(ts::load_npy(v4), fmt::format("{}: unsupported .npy format version 4.0", v4).c_str(),
                         ts::IOError);
    const std::string short_data = dir / "short.npy";
    iotest::write_text(short_data, npy_file(1, "<f8", false, "(4,)", std::string(24, '\0')));
    CHECK_THROWS_WITH_AS(ts::load_npy(short_data),
                         fmt::format("{}: the file has 152 bytes but the header needs 160", short_data).c_str(), ts::IOError);
    const std::string structured = dir / "rec.npy";
    iotest::write_text(structured, npy_file(1, "x", false, "(1,)", "").replace(20, 3, "[('a', '<f8')]"));
    CHECK_THROWS_WITH_AS(ts::load_npy(structured),
                         fmt::format("{}: structured dtypes are not supported", structured).c_str(), ts::NotImplemented);
    const std::string strings = dir / "str.npy";
    iotest::write_text(strings, npy_file(1, "<U5", false, "(1,)", std::string(20, '\0')));
    CHECK_THROWS_AS(ts::load_npy(strings), ts::DTypeError);
    const std::string garbled = dir / "garbled.npy";
    iotest::write_text(garbled, npy_file(1, "<f8", false, "(4, x)", ""));
    CHECK_THROWS_AS(ts::load_npy(garbled), ts::IOError);
}

TEST_CASE("to_npy writes NumPy's exact bytes, block by block") {
    TempDir dir;
    const std::string path = dir / "out.npy";
    const ts::NDArray data = expected(ts::float64, {3, 4});
    ts::to_npy(ts::from_array(data, ts::Shape{2, 3}), path);
    // What numpy 1.24 np.save writes for a float64 (3, 4) array: 118-byte dict, data at 128.
    std::string header = std::string("\x93NUMPY\x01\x00\x76\x00", 10) +
                         "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }";
    header += std::string(128 - header.size() - 1, ' ') + "\n";
    const std::string file = iotest::read_text(path);
    CHECK(file.substr(0, 128) == header);
    CHECK(file.substr(128) == iotest::raw_bytes(data));

    int n = 0;
    for (ts::DType dtype : {ts::float32, ts::int64, ts::uint16, ts::complex128, ts::bool_, ts::int8}) {
        for (const ts::Shape& shape : {ts::Shape{6, 5, 7}, ts::Shape{1}, ts::Shape{}, ts::Shape{0, 4}, ts::Shape{9}}) {
            for (const ts::ChunkSpec& chunks : {ts::ChunkSpec(ts::Shape(shape.size(), 2)), ts::ChunkSpec()}) {
                if (shape.empty() && chunks.per_axis().empty() && !chunks.is_default()) continue;
                CAPTURE(dtype.name());
                CAPTURE(ts::shape_str(shape));
                const ts::NDArray want = iotest::test_values(dtype, shape, 5);
                const std::string p = dir / fmt::format("r{}.npy", n++);
                ts::to_npy(ts::from_array(want, chunks), p);
                CHECK(iotest::bit_equal(ts::load_npy(p).compute(), want));
                CHECK(static_cast<std::int64_t>(iotest::read_text(p).size()) % 64 == want.nbytes() % 64);
            }
        }
    }
    // Overwrites, and leaves no temporary file behind.
    ts::to_npy(ts::from_array(ts::NDArray::from_vector<std::int32_t>({1, 2, 3})), path);
    CHECK(ts::load_npy(path).compute().equals(ts::NDArray::from_vector<std::int32_t>({1, 2, 3})));
    for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
        CHECK(entry.path().filename().string().find("partial") == std::string::npos);
    // Through the lazy pipeline: load, compute, store.
    ts::to_npy(ts::load_npy(path, 2) * 2, dir / "twice.npy");
    CHECK(ts::load_npy(dir / "twice.npy").compute().equals(ts::NDArray::from_vector<std::int32_t>({2, 4, 6})));
}
