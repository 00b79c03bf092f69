// The Tessera side of the Zarr / .npy interop tests (driven by interop_zarr.py next to this file).
//
//   zarr_interop_tool read DIR    for each case of DIR/manifest.json ({"cases": [{"name", "path",
//                                 "array", "multiple"}]}) reads the array with ts::from_zarr and
//                                 writes DIR/out/<name>.bin (native C-order bytes) and
//                                 DIR/out/<name>.json (dtype, shape, dims, attrs, chunks)
//   zarr_interop_tool write DIR   writes Zarr arrays with ts::to_zarr (and a dataset group) plus,
//                                 for each, the expected values as DIR/<name>.bin and a manifest
//   zarr_interop_tool npy-read DIR / npy-write DIR   the same for .npy files
// Exit status 1 with a message on any error.

#include <cmath>
#include <complex>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "src/dispatch.hpp"
#include "src/io/zarr_metadata.hpp"
#include "tessera/array_shape.hpp"
#include "tessera/io.hpp"

namespace ts = tessera;
using ts::io::json;

namespace {

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void write_text(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

void write_bin(const std::string& path, const ts::NDArray& a) {
    const ts::NDArray c = a.contiguous();
    std::ofstream(path, std::ios::binary)
        .write(static_cast<const char*>(c.raw_data()), static_cast<std::streamsize>(c.nbytes()));
}

void dump(const std::string& dir, const std::string& name, const ts::Array& a, const std::string& attrs) {
    write_bin(fmt::format("{}/out/{}.bin", dir, name), a.compute());
    json chunks = json::array();
    for (std::int64_t axis = 0; axis < a.ndim(); ++axis) chunks.push_back(a.chunks().sizes(axis)[0]);
    const json info = {{"dtype", std::string(a.dtype().name())}, {"shape", a.shape()}, {"dims", a.dims()},
                       {"attrs", json::parse(attrs.empty() ? "{}" : attrs)}, {"chunks", chunks}};
    write_text(fmt::format("{}/out/{}.json", dir, name), info.dump());
}

// Deterministic values for a dtype: i * 0.75 - 7 (wrapping for integers), every 5th NaN for floats.
ts::NDArray values(ts::DType dtype, const ts::Shape& shape) {
    ts::NDArray d = ts::NDArray::empty(ts::float64, shape);
    auto* p = static_cast<double*>(d.raw_data());
    for (std::int64_t k = 0; k < d.size(); ++k) p[k] = static_cast<double>(k) * 0.75 - 7.0;
    if (dtype.is_floating() || dtype.is_complex())
        for (std::int64_t k = 3; k < d.size(); k += 5) p[k] = std::nan("");
    if (dtype.is_integer()) {
        for (std::int64_t k = 0; k < d.size(); ++k) p[k] = std::floor(p[k] * 3);
    }
    return d.astype(dtype);
}

int write_cases(const std::string& dir) {
    json cases = json::array();
    auto add = [&](const std::string& name, const ts::NDArray& data, const ts::ChunkSpec& chunks,
                   ts::ZarrWriteOptions options, const std::string& note) {
        const std::string path = fmt::format("{}/{}.zarr", dir, name);
        ts::to_zarr(ts::from_array(data, chunks), path, options);
        write_bin(fmt::format("{}/{}.bin", dir, name), data);
        cases.push_back({{"name", name}, {"path", path}, {"dtype", std::string(data.dtype().name())}, {"shape", data.shape()},
                         {"format", options.zarr_format}, {"dims", options.dims}, {"note", note},
                         {"order", std::string(1, options.order)},
                         {"attrs", json::parse(options.attrs.empty() ? "{}" : options.attrs)}});
    };
    int n = 0;
    for (ts::DType dtype : {ts::bool_, ts::int8, ts::uint8, ts::int16, ts::uint16, ts::int32, ts::uint32, ts::int64,
                            ts::uint64, ts::float32, ts::float64, ts::complex64, ts::complex128}) {
        for (const char* compressor : {"", "none", R"({"id": "blosc", "cname": "zstd", "clevel": 3, "shuffle": 1})",
                                       R"({"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 2})",
                                       R"({"id": "blosc", "cname": "zlib", "clevel": 1, "shuffle": 0})", "zstd", "zlib",
                                       "gzip", "bz2", "lz4"}) {
            const char sep = n % 2 ? '/' : '.';
            add(fmt::format("w{}", n++), values(dtype, {13, 7}), ts::Shape{4, 3},
                {.compressor = compressor, .chunks = {5, 3}, .separator = sep},
                fmt::format("{} {} sep {}", std::string(dtype.name()), compressor, sep));
        }
    }
    // F order: every dtype, 1-3 dimensions, ragged chunks, several compressors.
    for (ts::DType dtype : {ts::bool_, ts::int8, ts::uint16, ts::int32, ts::uint64, ts::float32, ts::float64,
                            ts::complex64, ts::complex128}) {
        for (const ts::Shape& shape : {ts::Shape{13, 7}, ts::Shape{5, 4, 6}, ts::Shape{9}}) {
            const char* compressor = n % 3 == 0 ? "none" : n % 3 == 1 ? "zstd" : "";
            add(fmt::format("w{}", n++), values(dtype, shape), ts::Shape(shape.size(), 3),
                {.compressor = compressor, .chunks = ts::Shape(shape.size(), 4), .order = 'F'},
                fmt::format("F order {} {}", std::string(dtype.name()), ts::shape_str(shape)));
        }
    }
    add("nanfill", values(ts::float32, {9, 4}), ts::Shape{3, 4}, {.fill_value = std::nan("")}, "fill NaN");
    add("zerod", values(ts::float64, {}), ts::ChunkSpec(), {}, "0-d");
    add("empty", values(ts::int32, {0, 5}), ts::Shape{2, 2}, {}, "empty");
    add("named", values(ts::float64, {6, 8}), ts::Shape{3, 3},
        {.dims = {"lat", "lon"}, .attrs = R"({"units": "K", "scale": 2.5})"}, "dims + attrs");
    // A region write into an existing array: rows [4, 8) of a (12, 5) array with chunks (4, 5).
    {
        const ts::NDArray base = values(ts::float64, {12, 5});
        ts::NDArray expected = base.copy();
        const ts::NDArray part = ts::NDArray::full(ts::float64, {4, 5}, 99.0);
        expected.assign_region(ts::Index{4, 0}, part);
        add("region", base, ts::Shape{4, 5}, {}, "region write");
        ts::to_zarr(ts::from_array(part, 2), fmt::format("{}/region.zarr", dir), {.mode = "r+", .region = {{4, 8}, {0, 5}}});
        write_bin(fmt::format("{}/region.bin", dir), expected);
    }
    // A dataset for xarray: a group with two named variables sharing a dimension, consolidated.
    {
        const std::string ds = fmt::format("{}/dataset.zarr", dir);
        ts::zarr_create_group(ds, {.mode = "w", .attrs = R"({"title": "tessera"})"});
        ts::to_zarr(ts::from_array(values(ts::float32, {5, 6}), ts::Shape{2, 3}), fmt::format("{}/t2m", ds),
                    {.mode = "w", .dims = {"time", "x"}, .attrs = R"({"units": "K"})"});
        ts::to_zarr(ts::from_array(values(ts::int64, {6}), 4), fmt::format("{}/x", ds), {.mode = "w", .dims = {"x"}});
        ts::zarr_consolidate_metadata(ds);
        write_bin(fmt::format("{}/dataset_t2m.bin", dir), values(ts::float32, {5, 6}));
        write_bin(fmt::format("{}/dataset_x.bin", dir), values(ts::int64, {6}));
    }
    for (int format : {3}) {
        // v3 is written for Tessera's own round trip only (zarr-python 2.13 cannot read it).
        add("v3", values(ts::float64, {7, 5}), ts::Shape{3, 2}, {.zarr_format = format, .dims = {"a", "b"}}, "v3");
        add("v3_sharded", values(ts::int32, {11, 9}), ts::Shape{4, 4},
            {.zarr_format = format, .chunks = {2, 3}, .shards = {6, 6}, .dims = {"a", "b"}}, "v3 sharded");
        add("v3_sharded_f", values(ts::float32, {5, 4, 7}), ts::Shape{2, 2, 7},
            {.zarr_format = format, .chunks = {2, 2, 3}, .shards = {4, 4, 6}, .order = 'F'}, "v3 sharded F");
    }
    write_text(fmt::format("{}/manifest.json", dir), json{{"cases", cases}}.dump(1));
    return 0;
}

int read_cases(const std::string& dir) {
    const json manifest = json::parse(read_text(fmt::format("{}/manifest.json", dir)));
    std::filesystem::create_directories(fmt::format("{}/out", dir));
    for (const json& c : manifest["cases"]) {
        const std::string name = c["name"], path = c["path"], member = c.value("array", "");
        const ts::ZarrReadOptions options{.chunk_multiple = c.value("multiple", std::vector<std::int64_t>{})};
        const ts::Array a = member.empty() ? ts::from_zarr(path, options) : ts::from_zarr(path, member, options);
        dump(dir, name, a, ts::zarr_attrs(path, member));
    }
    return 0;
}

int npy_read(const std::string& dir) {
    const json manifest = json::parse(read_text(fmt::format("{}/manifest.json", dir)));
    std::filesystem::create_directories(fmt::format("{}/out", dir));
    for (const json& c : manifest["cases"]) {
        const std::string name = c["name"];
        dump(dir, name, ts::load_npy(c["path"].get<std::string>(), 3), "");
    }
    return 0;
}

int npy_write(const std::string& dir) {
    json cases = json::array();
    int n = 0;
    for (ts::DType dtype : {ts::bool_, ts::int8, ts::uint16, ts::int32, ts::uint64, ts::float32, ts::float64,
                            ts::complex64, ts::complex128}) {
        for (const ts::Shape& shape : {ts::Shape{}, ts::Shape{0}, ts::Shape{11}, ts::Shape{5, 4, 3}}) {
            const std::string name = fmt::format("n{}", n++);
            const ts::NDArray data = values(dtype, shape);
            ts::to_npy(ts::from_array(data, 2), fmt::format("{}/{}.npy", dir, name));
            write_bin(fmt::format("{}/{}.bin", dir, name), data);
            cases.push_back({{"name", name}, {"dtype", std::string(dtype.name())}, {"shape", shape}});
        }
    }
    write_text(fmt::format("{}/manifest.json", dir), json{{"cases", cases}}.dump(1));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: zarr_interop_tool read|write|npy-read|npy-write DIR\n";
        return 2;
    }
    const std::string verb = argv[1], dir = argv[2];
    try {
        if (verb == "read") return read_cases(dir);
        if (verb == "write") return write_cases(dir);
        if (verb == "npy-read") return npy_read(dir);
        if (verb == "npy-write") return npy_write(dir);
        std::cerr << "unknown verb " << verb << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "zarr_interop_tool " << verb << ": " << e.what() << "\n";
        return 1;
    }
}
