// Zarr v3: hand-written fixtures following the v3 core spec (zarr.json, chunk key encodings,
// bytes/transpose/gzip/zstd/crc32c codecs, sharding_indexed with the index at either end), built
// byte by byte here with the compression libraries called directly; and v3 round trips.

#include <doctest/doctest.h>
#include <zlib.h>
#include <zstd.h>

#include <limits>
#include <string>
#include <vector>

#include "src/io/codecs.hpp"
#include "src/io/zarr_group.hpp"
#include "src/io/zarr_store.hpp"
#include "tests/io/io_test_util.hpp"

namespace ts = tessera;
using ts::io::json;
using iotest::TempDir;

namespace {

using ByteVec = std::vector<unsigned char>;

void put_uint(ByteVec& out, std::uint64_t v, int nbytes, bool big) {
    for (int b = 0; b < nbytes; ++b) {
        const int shift = 8 * (big ? nbytes - 1 - b : b);
        out.push_back(static_cast<unsigned char>((v >> shift) & 0xff));
    }
}

void append_crc32c(ByteVec& data) {
    const std::uint32_t crc = ts::io::crc32c(std::as_bytes(std::span(data)));
    put_uint(data, crc, 4, false);
}

ByteVec gzip(const ByteVec& in) {
    z_stream strm{};
    REQUIRE(deflateInit2(&strm, 1, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    ByteVec out(deflateBound(&strm, in.size()));
    strm.next_in = const_cast<unsigned char*>(in.data());
    strm.avail_in = static_cast<uInt>(in.size());
    strm.next_out = out.data();
    strm.avail_out = static_cast<uInt>(out.size());
    REQUIRE(deflate(&strm, Z_FINISH) == Z_STREAM_END);
    out.resize(strm.total_out);
    deflateEnd(&strm);
    return out;
}

ByteVec zstd(const ByteVec& in) {
    ByteVec out(ZSTD_compressBound(in.size()));
    const std::size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
    REQUIRE_FALSE(ZSTD_isError(n));
    out.resize(n);
    return out;
}

void write_file(const std::string& path, const ByteVec& bytes) {
    iotest::write_bytes(path, bytes.data(), bytes.size());
}

// value(r, c) for the fixtures, and the chunk of `rows` x `cols` starting at (r0, c0), padded
// with `fill` outside `shape`, in C (or transposed) order.
template <class F>
std::vector<double> block_values(std::int64_t r0, std::int64_t c0, std::int64_t rows, std::int64_t cols,
                                 const ts::Shape& shape, double fill, bool transposed, F value) {
    std::vector<double> out;
    for (std::int64_t a = 0; a < (transposed ? cols : rows); ++a) {
        for (std::int64_t b = 0; b < (transposed ? rows : cols); ++b) {
            const std::int64_t r = r0 + (transposed ? b : a), c = c0 + (transposed ? a : b);
            out.push_back(r < shape[0] && c < shape[1] ? value(r, c) : fill);
        }
    }
    return out;
}

ts::NDArray expected_2d(ts::DType dtype, const ts::Shape& shape, auto value) {
    ts::NDArray out = ts::NDArray::empty(dtype, shape);
    for (std::int64_t r = 0; r < shape[0]; ++r)
        for (std::int64_t c = 0; c < shape[1]; ++c) out.set({r, c}, value(r, c));
    return out;
}

std::string sharding_json(const char* location, const char* inner_codecs) {
    return fmt::format(R"({{"name": "sharding_indexed", "configuration": {{
        "chunk_shape": [2, 2], "codecs": {},
        "index_codecs": [{{"name": "bytes", "configuration": {{"endian": "little"}}}},
                         {{"name": "crc32c"}}],
        "index_location": "{}"}}}})",
                       inner_codecs, location);
}

std::string zarr_json(const char* shape, const char* dtype, const char* chunks, const char* keys,
                      const std::string& fill, const std::string& codecs, const char* extra = "") {
    return fmt::format(R"({{"zarr_format": 3, "node_type": "array", "shape": {}, "data_type": "{}",
        "chunk_grid": {{"name": "regular", "configuration": {{"chunk_shape": {}}}}},
        "chunk_key_encoding": {}, "fill_value": {}, "codecs": {}{}}})",
                       shape, dtype, chunks, keys, fill, codecs, extra);
}

constexpr const char* kDefaultKeys = R"({"name": "default", "configuration": {"separator": "/"}})";

}  // namespace

TEST_CASE("v3 fixture: big-endian bytes, default keys, missing chunk, dimension_names") {
    TempDir dir;
    const std::string path = dir / "a";
    iotest::write_text(path + "/zarr.json",
                       zarr_json("[5, 4]", "int16", "[2, 3]", kDefaultKeys, "-1",
                                 R"([{"name": "bytes", "configuration": {"endian": "big"}}])",
                                 R"(, "attributes": {"a": 1}, "dimension_names": ["y", null])"));
    const ts::Shape shape{5, 4};
    const auto value = [](std::int64_t r, std::int64_t c) { return static_cast<double>(10 * r - c); };
    for (std::int64_t br = 0; br < 3; ++br) {
        for (std::int64_t bc = 0; bc < 2; ++bc) {
            if (br == 1 && bc == 1) continue;  // missing: reads as the fill value
            ByteVec bytes;
            for (double v : block_values(2 * br, 3 * bc, 2, 3, shape, -1, false, value))
                put_uint(bytes, static_cast<std::uint16_t>(static_cast<std::int16_t>(v)), 2, true);
            write_file(fmt::format("{}/c/{}/{}", path, br, bc), bytes);
        }
    }
    const auto store = ts::io::ZarrArrayStore::open(path);
    CHECK(store.zarr_format() == 3);
    CHECK(store.dims() == std::vector<std::string>{"y", ""});
    CHECK(store.attributes() == json({{"a", 1}}));
    CHECK(store.list_chunks().size() == 5);
    const ts::NDArray expected = expected_2d(ts::int16, shape, [&](std::int64_t r, std::int64_t c) {
        return (r == 2 || r == 3) && c == 3 ? -1.0 : value(r, c);
    });
    CHECK(iotest::bit_equal(store.read_all(), expected));
    CHECK(store.read_chunk({2, 1}).shape() == ts::Shape{1, 1});
}

TEST_CASE("v3 fixture: transpose + little-endian bytes + gzip + crc32c, '.' keys") {
    TempDir dir;
    const std::string path = dir / "b";
    iotest::write_text(path + "/zarr.json",
                       zarr_json("[3, 7]", "float32", "[2, 3]",
                                 R"({"name": "default", "configuration": {"separator": "."}})", "\"NaN\"",
                                 R"([{"name": "transpose", "configuration": {"order": [1, 0]}},
                                     {"name": "bytes", "configuration": {"endian": "little"}},
                                     {"name": "gzip", "configuration": {"level": 1}},
                                     {"name": "crc32c"}])"));
    const ts::Shape shape{3, 7};
    const auto value = [](std::int64_t r, std::int64_t c) { return 0.5 * static_cast<double>(r) - c; };
    for (std::int64_t br = 0; br < 2; ++br) {
        for (std::int64_t bc = 0; bc < 3; ++bc) {
            ByteVec raw;
            for (double v : block_values(2 * br, 3 * bc, 2, 3, shape, 0, true, value)) {
                const float f = static_cast<float>(v);
                std::uint32_t bits;
                std::memcpy(&bits, &f, 4);
                put_uint(raw, bits, 4, false);
            }
            ByteVec stored = gzip(raw);
            append_crc32c(stored);
            write_file(fmt::format("{}/c.{}.{}", path, br, bc), stored);
        }
    }
    const auto store = ts::io::ZarrArrayStore::open(path);
    CHECK(store.chunk_key({1, 2}) == "c.1.2");
    CHECK(store.list_chunks().size() == 6);
    CHECK(iotest::bit_equal(store.read_all(), expected_2d(ts::float32, shape, value)));
}

TEST_CASE("v3 fixture: sharding_indexed with the index at the end and at the start") {
    for (const char* location : {"end", "start"}) {
        CAPTURE(location);
        TempDir dir;
        const std::string path = dir / "s";
        const bool at_end = std::string(location) == "end";
        // Inner chunks: little-endian bytes (index at the end) or big-endian bytes + zstd.
        const char* inner = at_end ? R"([{"name": "bytes", "configuration": {"endian": "little"}}])"
                                   : R"([{"name": "bytes", "configuration": {"endian": "big"}},
                                         {"name": "zstd", "configuration": {"level": 3, "checksum": false}}])";
        iotest::write_text(path + "/zarr.json",
                           zarr_json("[6, 4]", "uint16", "[4, 4]", kDefaultKeys, "9",
                                     fmt::format("[{}]", sharding_json(location, inner))));
        const ts::Shape shape{6, 4};
        const auto value = [](std::int64_t r, std::int64_t c) { return static_cast<double>(100 * r + c); };
        const auto inner_chunk = [&](std::int64_t r0, std::int64_t c0) {
            ByteVec raw;
            for (double v : block_values(r0, c0, 2, 2, shape, 9, false, value))
                put_uint(raw, static_cast<std::uint16_t>(v), 2, !at_end);
            return at_end ? raw : zstd(raw);
        };
        // Shard (0, 0): inner chunk (0, 1) missing; the others stored in the order (1,1), (0,0),
        // (1,0) so that the offsets matter. Shard (1, 0): rows 4..7, only its first row of inner
        // chunks lies inside the array.
        const std::vector<std::vector<std::pair<std::int64_t, std::int64_t>>> shards = {
            {{1, 1}, {0, 0}, {1, 0}}, {{0, 1}, {0, 0}}};
        for (std::int64_t s = 0; s < 2; ++s) {
            std::vector<std::uint64_t> index(8, std::numeric_limits<std::uint64_t>::max());
            ByteVec body;
            const std::uint64_t base = at_end ? 0 : 4 * 16 + 4;
            for (const auto& [ir, ic] : shards[static_cast<std::size_t>(s)]) {
                const ByteVec piece = inner_chunk(4 * s + 2 * ir, 2 * ic);
                index[static_cast<std::size_t>(2 * (2 * ir + ic))] = base + body.size();
                index[static_cast<std::size_t>(2 * (2 * ir + ic) + 1)] = piece.size();
                body.insert(body.end(), piece.begin(), piece.end());
            }
            ByteVec index_bytes;
            for (std::uint64_t v : index) put_uint(index_bytes, v, 8, false);
            append_crc32c(index_bytes);
            ByteVec shard = at_end ? body : index_bytes;
            const ByteVec& tail = at_end ? index_bytes : body;
            shard.insert(shard.end(), tail.begin(), tail.end());
            write_file(fmt::format("{}/c/{}/0", path, s), shard);
        }
        const auto store = ts::io::ZarrArrayStore::open(path);
        CHECK(store.grid_shape() == ts::Shape{2, 1});
        const ts::NDArray expected = expected_2d(ts::uint16, shape, [&](std::int64_t r, std::int64_t c) {
            return r < 2 && c >= 2 ? 9.0 : value(r, c);
        });
        CHECK(iotest::bit_equal(store.read_all(), expected));
        CHECK(store.read_chunk({1, 0}).shape() == ts::Shape{2, 4});
    }
}

TEST_CASE("v3 fixture: fill values as bit patterns, special strings, complex pairs") {
    TempDir dir;
    const auto fill_of = [&](const char* name, const char* dtype, const std::string& fill) {
        const std::string path = dir / name;
        iotest::write_text(path + "/zarr.json",
                           zarr_json("[3]", dtype, "[2]", kDefaultKeys, fill,
                                     R"([{"name": "bytes", "configuration": {"endian": "little"}}])"));
        return ts::io::ZarrArrayStore::open(path).read_all();
    };
    const ts::NDArray nan_payload = fill_of("f", "float32", "\"0x7fc00001\"");
    std::uint32_t bits = 0;
    std::memcpy(&bits, static_cast<const char*>(nan_payload.raw_data()) + 8, 4);
    CHECK(bits == 0x7fc00001u);
    const ts::NDArray c = fill_of("c", "complex128", R"(["NaN", "-Infinity"])");
    const auto z = c.at<std::complex<double>>({2});
    CHECK(std::isnan(z.real()));
    CHECK(z.imag() == -std::numeric_limits<double>::infinity());
    CHECK(iotest::bit_equal(fill_of("b", "bool", "true"), ts::NDArray::from_vector<bool>({true, true, true})));
    CHECK(fill_of("u", "uint64", "18446744073709551615").at<std::uint64_t>({0}) ==
          std::numeric_limits<std::uint64_t>::max());
    CHECK(fill_of("d", "float64", "\"Infinity\"").at<double>({1}) == std::numeric_limits<double>::infinity());
}

TEST_CASE("v3 fixture: groups with nested groups and arrays; v2 chunk key encoding") {
    TempDir dir;
    iotest::write_text(dir / "root/zarr.json",
                       R"({"zarr_format": 3, "node_type": "group", "attributes": {"x": 1}})");
    iotest::write_text(dir / "root/g/zarr.json", R"({"zarr_format": 3, "node_type": "group"})");
    iotest::write_text(dir / "root/g/arr/zarr.json",
                       zarr_json("[4]", "int8", "[3]", R"({"name": "v2", "configuration": {"separator": "."}})",
                                 "5", R"([{"name": "bytes"}])"));
    write_file(dir / "root/g/arr/1", ByteVec{7, 8, 9});
    iotest::write_text(dir / "root/notes/readme.txt", "not a node");
    const auto root = ts::io::ZarrGroup::open(dir / "root");
    CHECK(root.zarr_format() == 3);
    CHECK(root.attributes() == json({{"x", 1}}));
    CHECK(root.group_names() == std::vector<std::string>{"g"});
    CHECK(root.array_names().empty());
    const auto g = root.open_group("g");
    CHECK(g.array_names() == std::vector<std::string>{"arr"});
    const auto arr = g.open_array("arr");
    CHECK(arr.chunk_key({1}) == "1");
    CHECK(iotest::bit_equal(arr.read_all(), ts::NDArray::from_vector<std::int8_t>({5, 5, 5, 7})));
}

TEST_CASE("v3 round trips: codec chains x dtypes, sharding included") {
    TempDir dir;
    const std::vector<std::string> chains = {
        R"([{"name": "bytes", "configuration": {"endian": "little"}}])",
        R"([{"name": "bytes", "configuration": {"endian": "big"}}, {"name": "gzip", "configuration": {"level": 5}}])",
        R"([{"name": "transpose", "configuration": {"order": [1, 0, 2]}},
            {"name": "bytes", "configuration": {"endian": "little"}},
            {"name": "blosc", "configuration": {"cname": "zstd", "clevel": 5, "shuffle": "bitshuffle", "typesize": 4, "blocksize": 0}}])",
        R"([{"name": "transpose", "configuration": {"order": [2, 0, 1]}},
            {"name": "transpose", "configuration": {"order": [0, 2, 1]}},
            {"name": "bytes", "configuration": {"endian": "big"}},
            {"name": "zstd", "configuration": {"level": 1, "checksum": true}}, {"name": "crc32c"}])",
        R"([{"name": "sharding_indexed", "configuration": {"chunk_shape": [2, 1, 3],
            "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "zstd", "configuration": {"level": 0, "checksum": false}}],
            "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}],
            "index_location": "end"}}])",
        R"([{"name": "transpose", "configuration": {"order": [2, 1, 0]}},
            {"name": "sharding_indexed", "configuration": {"chunk_shape": [3, 2, 1],
            "codecs": [{"name": "transpose", "configuration": {"order": [1, 0, 2]}}, {"name": "bytes", "configuration": {"endian": "big"}}],
            "index_codecs": [{"name": "bytes", "configuration": {"endian": "big"}}],
            "index_location": "start"}}, {"name": "crc32c"}])",
    };
    const std::vector<ts::DType> dtypes = {ts::bool_, ts::int8, ts::uint16, ts::int32, ts::uint64,
                                           ts::float32, ts::float64, ts::complex64, ts::complex128};
    int k = 0;
    for (const auto& chain : chains) {
        for (ts::DType dtype : dtypes) {
            ++k;
            auto meta = ts::io::ZarrArrayMetadata::v3(dtype, {5, 3, 7}, {4, 2, 6});
            meta.codecs = json::parse(chain);
            meta.separator = k % 2 ? '/' : '.';
            meta.v2_chunk_keys = k % 3 == 0;
            meta.fill_value = ts::io::fill_bytes(dtype, iotest::test_values(dtype, {1}, k).item_scalar());
            CAPTURE(chain);
            CAPTURE(dtype);
            const std::string path = dir / fmt::format("r{}", k);
            auto store = ts::io::ZarrArrayStore::create(path, meta, "w-");
            const ts::NDArray data = iotest::test_values(dtype, meta.shape, k);
            store.write_all(data);
            CHECK(store.erase_chunk({1, 1, 1}));
            store.flush_metadata();
            const auto back = ts::io::ZarrArrayStore::open(path);
            CHECK(back.metadata() == store.metadata());
            CHECK(back.list_chunks().size() == 7);
            ts::NDArray expected = data.copy();
            const auto fill = ts::NDArray::from_data(dtype, {}, meta.fill_value.data()).item_scalar();
            expected.assign_region(ts::Index{4, 2, 6}, ts::NDArray::full(dtype, {1, 1, 1}, fill));
            CHECK(iotest::bit_equal(back.read_all(), expected));
        }
    }
}

TEST_CASE("sharding leaves out inner chunks that hold only the fill value") {
    TempDir dir;
    auto meta = ts::io::ZarrArrayMetadata::v3(ts::int32, {4, 4}, {4, 4});
    meta.codecs = json::parse(fmt::format(
        "[{}]", sharding_json("end", R"([{"name": "bytes", "configuration": {"endian": "little"}}])")));
    meta.fill_value = ts::io::fill_bytes(ts::int32, 3);
    auto store = ts::io::ZarrArrayStore::create(dir / "s", meta, "w-");
    ts::NDArray data = ts::NDArray::full(ts::int32, {4, 4}, 3);
    data.set({3, 3}, 1);
    store.write_chunk({0, 0}, data);
    // One inner chunk of 2x2 int32 (16 bytes) + the index (4 x 16 bytes + crc32c).
    CHECK(std::filesystem::file_size(dir / "s/c/0/0") == 16 + 64 + 4);
    CHECK(iotest::bit_equal(store.read_chunk({0, 0}), data));
}
