// Storage layer: codecs, Zarr metadata and chunk round trips over dtypes × byte orders × memory
// orders × compressors × chunkings (ragged edges, missing chunks, 0-d and empty arrays).
// Interop with zarr-python, v3 fixtures, broken stores and crash safety are in tests/io/.

#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "src/io/codecs.hpp"
#include "src/io/zarr_metadata.hpp"
#include "src/io/zarr_store.hpp"
#include "tests/io/io_test_util.hpp"

namespace ts = tessera;
using ts::io::Bytes;
using ts::io::json;
using iotest::TempDir;

namespace {

Bytes make_bytes(std::size_t n, bool compressible, std::uint64_t seed) {
    Bytes out(n);
    std::uint64_t state = seed;
    for (std::size_t k = 0; k < n; ++k)
        out[k] = static_cast<std::byte>(compressible ? (k / 7) % 13 : iotest::splitmix(state) & 0xff);
    return out;
}

std::shared_ptr<const ts::io::BytesCodec> v2_codec(const std::string& text, std::int64_t typesize = 4) {
    return ts::io::make_v2_compressor(json::parse(text), typesize);
}

const std::vector<std::string> kV2Compressors = {
    R"({"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0})",
    R"({"id": "blosc", "cname": "lz4hc", "clevel": 9, "shuffle": 2, "blocksize": 0})",
    R"({"id": "blosc", "cname": "blosclz", "clevel": 1, "shuffle": 0, "blocksize": 0})",
    R"({"id": "blosc", "cname": "zstd", "clevel": 3, "shuffle": -1, "blocksize": 256})",
    R"({"id": "blosc", "cname": "zlib", "clevel": 2, "shuffle": 1, "blocksize": 0})",
    R"({"id": "zstd", "level": 3})",
    R"({"id": "zstd", "level": -5})",
    R"({"id": "zlib", "level": 1})",
    R"({"id": "gzip", "level": 9})",
    R"({"id": "bz2", "level": 1})",
    R"({"id": "lz4", "acceleration": 1})",
    R"({"id": "lz4", "acceleration": 20})",
};

}  // namespace

TEST_CASE("crc32c matches the RFC 3720 test vectors") {
    const std::string digits = "123456789";
    CHECK(ts::io::crc32c(std::as_bytes(std::span(digits))) == 0xE3069283u);
    const std::vector<std::byte> zeros(32, std::byte{0}), ones(32, std::byte{0xff});
    CHECK(ts::io::crc32c(zeros) == 0x8A9136AAu);
    CHECK(ts::io::crc32c(ones) == 0x62A8AB43u);
    CHECK(ts::io::crc32c({}) == 0u);
}

TEST_CASE("every compressor round-trips empty, tiny, random and compressible bytes") {
    std::vector<std::shared_ptr<const ts::io::BytesCodec>> codecs;
    for (const auto& text : kV2Compressors) codecs.push_back(v2_codec(text));
    for (const char* name : {"crc32c", "gzip", "zstd", "blosc"})
        codecs.push_back(ts::io::make_v3_bytes_codec(name, json::object(), 8));
    codecs.push_back(ts::io::make_v3_bytes_codec(
        "zstd", json::parse(R"({"level": 5, "checksum": true})"), 8));
    for (const auto& codec : codecs) {
        REQUIRE(codec != nullptr);
        for (std::size_t n : {0, 1, 1000, 100000}) {
            for (bool compressible : {false, true}) {
                CAPTURE(codec->v2_json().dump());
                CAPTURE(n);
                const Bytes in = make_bytes(n, compressible, n + 1);
                const Bytes packed = codec->encode(in);
                if (compressible && n == 100000 && codec->v2_json()["id"] != "crc32c")
                    CHECK(packed.size() < n / 2);
                CHECK(codec->decode(packed, static_cast<std::int64_t>(n)) == in);
                CHECK(codec->decode(packed, -1) == in);
            }
        }
    }
}

TEST_CASE("codec configurations read back as they were given") {
    for (const auto& text : kV2Compressors) CHECK(v2_codec(text)->v2_json() == json::parse(text));
    const json v3 = json::parse(R"({"name": "blosc", "configuration": {"cname": "zstd",
        "clevel": 4, "shuffle": "bitshuffle", "typesize": 2, "blocksize": 0}})");
    CHECK(ts::io::make_v3_bytes_codec("blosc", v3["configuration"], 8)->v3_json() == v3);
    CHECK(ts::io::make_v2_compressor(nullptr, 4) == nullptr);
    CHECK(ts::io::make_v3_bytes_codec("bytes", json::object(), 4) == nullptr);
}

TEST_CASE("zstd frames record the content size (numcodecs needs it)") {
    const Bytes packed = v2_codec(R"({"id": "zstd", "level": 1})")->encode(make_bytes(5000, true, 1));
    // Frame header descriptor: bit 6-7 = Frame_Content_Size_flag, bit 5 = Single_Segment_flag;
    // one of them must be set for the content size to be present.
    const auto descriptor = static_cast<unsigned>(packed[4]);
    CHECK(((descriptor >> 6) != 0 || (descriptor & 0x20) != 0));
}

TEST_CASE("decoding checks the decompressed size and rejects corrupt data") {
    const Bytes hundred = make_bytes(100, true, 3);
    for (const auto& text : kV2Compressors) {
        const auto codec = v2_codec(text);
        CAPTURE(text);
        const Bytes packed = codec->encode(hundred);
        CHECK_THROWS_WITH_AS(codec->decode(packed, 4096),
                             "expected 4096 bytes after decompression, got 100", ts::IOError);
        CHECK_THROWS_WITH_AS(codec->decode(packed, 10),
                             "expected 10 bytes after decompression, got 100", ts::IOError);
    }
    const Bytes garbage = make_bytes(16, false, 9);
    CHECK_THROWS_WITH_AS(v2_codec(kV2Compressors[0])->decode(garbage, 100),
                         "blosc: corrupt or truncated data (16 bytes)", ts::IOError);
    CHECK_THROWS_WITH_AS(v2_codec(R"({"id": "zstd"})")->decode(garbage, 100),
                         "zstd: corrupt or truncated data (16 bytes)", ts::IOError);
    CHECK_THROWS_WITH_AS(v2_codec(R"({"id": "bz2"})")->decode(garbage, 100),
                         "bz2: corrupt data (error -5)", ts::IOError);
    CHECK_THROWS_WITH_AS(v2_codec(R"({"id": "lz4"})")->decode(Bytes(3), 100),
                         "lz4: truncated data (3 bytes)", ts::IOError);
    Bytes zlib = v2_codec(R"({"id": "zlib"})")->encode(make_bytes(1000, false, 4));
    zlib.resize(zlib.size() / 2);
    CHECK_THROWS_WITH_AS(v2_codec(R"({"id": "zlib"})")->decode(zlib, 1000),
                         fmt::format("zlib: truncated data ({} bytes)", zlib.size()).c_str(),
                         ts::IOError);
    const auto crc = ts::io::make_v3_bytes_codec("crc32c", json::object(), 1);
    Bytes sealed = crc->encode(hundred);
    sealed[5] ^= std::byte{1};
    const std::uint32_t actual = ts::io::crc32c(std::span(sealed).first(100));
    CHECK_THROWS_WITH_AS(crc->decode(sealed, 100),
                         fmt::format("crc32c: checksum mismatch (stored {:#010x}, computed {:#010x})",
                                     ts::io::crc32c(hundred), actual)
                             .c_str(),
                         ts::IOError);
}

TEST_CASE("bad compressor configurations name the codec and the value") {
    CHECK_THROWS_WITH_AS(v2_codec(R"({"id": "snappy2"})"), "unknown compressor 'snappy2'", ts::IOError);
    CHECK_THROWS_WITH_AS(v2_codec(R"({"id": "blosc", "cname": "lzma"})"),
                         "blosc: unknown cname 'lzma'", ts::IOError);
    CHECK_THROWS_WITH_AS(v2_codec(R"({"id": "zlib", "level": 12})"),
                         "zlib: 'level' must be in [-1, 9], got 12", ts::IOError);
    CHECK_THROWS_WITH_AS(v2_codec(R"({"id": "blosc", "shuffle": 3})"),
                         "blosc: 'shuffle' must be in [-1, 2], got 3", ts::IOError);
    CHECK_THROWS_WITH_AS(v2_codec(R"({"id": "zstd", "level": "high"})"),
                         "zstd: 'level' must be an integer, got \"high\"", ts::IOError);
    CHECK_THROWS_WITH_AS(v2_codec(R"({"level": 1})"),
                         "compressor must be null or an object with an 'id', got {\"level\":1}",
                         ts::IOError);
}

TEST_CASE("fill values parse and print like zarr-python") {
    using ts::io::fill_value_json;
    using ts::io::parse_fill_value;
    const auto round = [](ts::DType d, const char* text, int format) {
        return fill_value_json(parse_fill_value(json::parse(text), d, format), d, format).dump();
    };
    CHECK(round(ts::float64, R"("NaN")", 2) == R"("NaN")");
    CHECK(round(ts::float32, R"("Infinity")", 2) == R"("Infinity")");
    CHECK(round(ts::float64, R"("-Infinity")", 3) == R"("-Infinity")");
    CHECK(round(ts::float32, "0.1", 2) == "0.10000000149011612");
    CHECK(round(ts::float64, "3", 2) == "3.0");
    CHECK(round(ts::uint64, "18446744073709551615", 2) == "18446744073709551615");
    CHECK(round(ts::int64, "-9223372036854775808", 2) == "-9223372036854775808");
    CHECK(round(ts::int16, "7.0", 2) == "7");
    CHECK(round(ts::bool_, "true", 2) == "true");
    CHECK(round(ts::bool_, "0", 2) == "false");
    CHECK(round(ts::complex128, R"([1.5, "NaN"])", 2) == R"([1.5,"NaN"])");
    CHECK(round(ts::complex64, R"(["Infinity", -2])", 3) == R"(["Infinity",-2.0])");
    CHECK(round(ts::float64, "null", 2) == "null");
    CHECK(round(ts::float64, "null", 3) == "0.0");  // v3 has no null fill value
    // v3 bit patterns: a NaN with a payload stays a bit pattern, a plain one becomes "NaN".
    CHECK(round(ts::float32, R"("0x7fc00001")", 3) == R"("0x7fc00001")");
    CHECK(round(ts::float32, R"("0x7fc00000")", 3) == R"("NaN")");
    CHECK(round(ts::float64, R"("0x3ff0000000000000")", 3) == "1.0");
    const auto bits = parse_fill_value(json("0x7fc00001"), ts::float32, 3);
    std::uint32_t u = 0;
    std::memcpy(&u, bits.data(), 4);
    CHECK(u == 0x7fc00001u);

    CHECK_THROWS_WITH_AS(parse_fill_value(json("abc"), ts::int32, 2),
                         "invalid fill_value \"abc\" for dtype int32", ts::IOError);
    CHECK_THROWS_WITH_AS(parse_fill_value(json(300), ts::uint8, 2),
                         "fill_value 300 is out of range for dtype uint8", ts::IOError);
    CHECK_THROWS_WITH_AS(parse_fill_value(json(-1), ts::uint32, 2),
                         "fill_value -1 is out of range for dtype uint32", ts::IOError);
    CHECK_THROWS_WITH_AS(parse_fill_value(json(1.5), ts::int8, 2),
                         "invalid fill_value 1.5 for dtype int8", ts::IOError);
    CHECK_THROWS_WITH_AS(parse_fill_value(json("0x7fc00000"), ts::float32, 2),
                         "invalid fill_value \"0x7fc00000\" for dtype float32", ts::IOError);
    CHECK_THROWS_WITH_AS(parse_fill_value(json::parse("[1]"), ts::complex64, 2),
                         "invalid fill_value [1] for dtype complex64", ts::IOError);
    CHECK_THROWS_WITH_AS(parse_fill_value(json(2), ts::bool_, 2),
                         "invalid fill_value 2 for dtype bool", ts::IOError);
}

TEST_CASE("v2 metadata written and parsed back is unchanged") {
    auto m = ts::io::ZarrArrayMetadata::v2(ts::int16, {10, 7}, {4, 3});
    m.big_endian = true;
    m.order = 'F';
    m.separator = '/';
    m.fill_value = ts::io::fill_bytes(ts::int16, -3);
    m.attributes = {{"units", "m"}};
    m.dimension_names = std::vector<std::string>{"y", "x"};
    const json zarray = ts::io::to_v2_zarray(m);
    CHECK(zarray["dtype"] == ">i2");
    CHECK(zarray["fill_value"] == -3);
    CHECK(zarray["dimension_separator"] == "/");
    const json zattrs = ts::io::to_v2_zattrs(m);
    CHECK(zattrs == json::parse(R"({"units": "m", "_ARRAY_DIMENSIONS": ["y", "x"]})"));
    CHECK(ts::io::metadata_from_v2(zarray, zattrs, "a", "b") == m);

    auto m3 = ts::io::ZarrArrayMetadata::v3(ts::complex64, {5}, {2});
    m3.dimension_names = std::vector<std::string>{""};
    const json j = ts::io::to_v3_zarr_json(m3);
    CHECK(j["dimension_names"] == json::parse("[null]"));
    CHECK(j["fill_value"] == json::parse("[0.0, 0.0]"));
    CHECK(ts::io::metadata_from_v3(j, "a") == m3);
}

namespace {

struct Layout {
    ts::Shape shape;
    ts::Shape chunks;
};

const std::vector<Layout> kLayouts = {
    {{7}, {3}},       {{10, 7}, {4, 3}}, {{5, 4, 3}, {2, 3, 2}}, {{}, {}},
    {{0, 5}, {2, 2}}, {{1}, {1}},        {{6, 6}, {6, 6}},       {{9, 8}, {1, 8}},
};

const std::vector<ts::DType> kDTypes = {
    ts::bool_,  ts::int8,    ts::int16,   ts::int32,     ts::int64,     ts::uint8,  ts::uint16,
    ts::uint32, ts::uint64,  ts::float32, ts::float64,   ts::complex64, ts::complex128};

// The expected array: `data` with the blocks not written replaced by the fill value, built with
// NDArray::full (not the store's own filling code).
ts::NDArray with_missing(const ts::io::ZarrArrayStore& store, const ts::NDArray& data,
                         const std::vector<ts::Index>& missing) {
    ts::NDArray out = data.copy();
    const auto& fill = store.metadata().fill_value;
    const ts::Scalar value =
        fill.empty() ? ts::Scalar(0) : ts::NDArray::from_data(data.dtype(), {}, fill.data()).item_scalar();
    for (const auto& block : missing) {
        ts::Index origin(block.size());
        for (std::size_t axis = 0; axis < block.size(); ++axis)
            origin[axis] = block[axis] * store.chunk_shape()[axis];
        if (block.empty()) return ts::NDArray::full(data.dtype(), {}, value);
        out.assign_region(origin, ts::NDArray::full(data.dtype(), store.block_shape(block), value));
    }
    return out;
}

// Writes `data` block by block, skipping every `skip`-th block, flushes, reopens and compares.
void check_round_trip(const std::string& path, ts::io::ZarrArrayMetadata meta,
                      const ts::NDArray& data, int skip) {
    auto store = ts::io::ZarrArrayStore::create(path, meta, "w");
    std::vector<ts::Index> written, missing;
    const ts::Shape grid = store.grid_shape();
    for (std::int64_t k = 0; k < store.num_chunks(); ++k) {
        ts::Index block(grid.size());
        for (std::int64_t rest = k, axis = static_cast<std::int64_t>(grid.size()) - 1; axis >= 0; --axis) {
            block[axis] = rest % grid[axis];
            rest /= grid[axis];
        }
        if (skip > 0 && k % skip == 1) {
            missing.push_back(block);
            continue;
        }
        ts::NDArray view = data;
        for (std::size_t axis = 0; axis < block.size(); ++axis)
            view = view.slice(static_cast<std::int64_t>(axis), block[axis] * meta.chunks[axis],
                              (block[axis] + 1) * meta.chunks[axis]);
        store.write_chunk(block, view);
        written.push_back(block);
    }
    store.flush_metadata();
    const auto back = ts::io::ZarrArrayStore::open(path);
    CHECK(back.metadata() == store.metadata());
    CHECK(back.list_chunks() == written);
    const ts::NDArray expected = with_missing(back, data, missing);
    const ts::NDArray got = back.read_all();
    CHECK(iotest::bit_equal(got, expected));
    for (const auto& block : written) {
        const ts::NDArray chunk = back.read_chunk(block);
        CHECK(chunk.is_contiguous());
        CHECK(chunk.shape() == back.block_shape(block));
    }
}

}  // namespace

TEST_CASE("v2 round trips: dtypes x byte orders x orders x compressors x chunkings") {
    TempDir dir;
    int k = 0;
    for (ts::DType dtype : kDTypes) {
        for (bool big : {false, true}) {
            for (char order : {'C', 'F'}) {
                ++k;
                const Layout& layout = kLayouts[static_cast<std::size_t>(k) % kLayouts.size()];
                auto meta = ts::io::ZarrArrayMetadata::v2(dtype, layout.shape, layout.chunks);
                meta.big_endian = big;
                meta.order = order;
                meta.separator = k % 3 == 0 ? '/' : '.';
                const std::size_t c = static_cast<std::size_t>(k / 2) % (kV2Compressors.size() + 1);
                meta.compressor = c == kV2Compressors.size() ? json() : json::parse(kV2Compressors[c]);
                const ts::NDArray fill = iotest::test_values(dtype, {5}, k + 100);
                meta.fill_value = k % 5 == 0 ? std::vector<std::byte>{}
                                             : ts::io::fill_bytes(dtype, fill.get_scalar(std::array<std::int64_t, 1>{k % 5}));
                CAPTURE(dtype);
                CAPTURE(big);
                CAPTURE(order);
                CAPTURE(ts::io::to_v2_zarray(meta).dump());
                check_round_trip(dir / fmt::format("a{}", k), meta,
                                 iotest::test_values(dtype, layout.shape, k), 3);
            }
        }
    }
}

TEST_CASE("v2 round trips: every compressor x every chunking") {
    TempDir dir;
    int k = 0;
    for (std::size_t c = 0; c <= kV2Compressors.size(); ++c) {
        for (const Layout& layout : kLayouts) {
            ++k;
            const ts::DType dtype = k % 2 ? ts::float64 : ts::uint16;
            auto meta = ts::io::ZarrArrayMetadata::v2(dtype, layout.shape, layout.chunks);
            meta.compressor = c == kV2Compressors.size() ? json() : json::parse(kV2Compressors[c]);
            CAPTURE(ts::io::to_v2_zarray(meta).dump());
            check_round_trip(dir / fmt::format("b{}", k), meta,
                             iotest::test_values(dtype, layout.shape, k), k % 2 ? 0 : 2);
        }
    }
}

TEST_CASE("chunk keys, block shapes and the files on disk") {
    TempDir dir;
    auto meta = ts::io::ZarrArrayMetadata::v2(ts::int32, {10, 7}, {4, 3});
    auto dotted = ts::io::ZarrArrayStore::create(dir / "dot", meta, "w-");
    CHECK(dotted.grid_shape() == ts::Shape{3, 3});
    CHECK(dotted.num_chunks() == 9);
    CHECK(dotted.chunk_key({2, 1}) == "2.1");
    CHECK(dotted.block_shape({2, 2}) == ts::Shape{2, 1});
    CHECK_THROWS_WITH_AS(dotted.block_shape({3, 0}),
                         fmt::format("block (3, 0) is out of bounds for the chunk grid (3, 3) of {}",
                                     dir / "dot").c_str(),
                         ts::IndexError);
    CHECK_THROWS_WITH_AS(dotted.chunk_key({1}),
                         fmt::format("block (1,) is out of bounds for the chunk grid (3, 3) of {}",
                                     dir / "dot").c_str(),
                         ts::IndexError);
    dotted.write_chunk({2, 2}, ts::NDArray::from_vector<std::int32_t>({1, 2}, {2, 1}));
    CHECK(std::filesystem::file_size(dir / "dot/2.2") == 4 * 3 * 4 + 16);  // full-size, blosc
    meta.separator = '/';
    auto nested = ts::io::ZarrArrayStore::create(dir / "nest", meta, "w-");
    CHECK(nested.chunk_key({2, 1}) == "2/1");
    nested.write_chunk({2, 1}, ts::NDArray::zeros(ts::int32, {2, 3}));
    CHECK(std::filesystem::is_regular_file(dir / "nest/2/1"));
    CHECK(nested.chunk_exists({2, 1}));
    CHECK_FALSE(nested.chunk_exists({0, 0}));
    CHECK(nested.erase_chunk({2, 1}));
    CHECK_FALSE(nested.erase_chunk({2, 1}));
    auto scalar = ts::io::ZarrArrayStore::create(dir / "scalar",
                                                 ts::io::ZarrArrayMetadata::v2(ts::float32, {}, {}), "w-");
    CHECK(scalar.chunk_key({}) == "0");
    CHECK(scalar.num_chunks() == 1);
    auto empty = ts::io::ZarrArrayStore::create(dir / "empty",
                                                ts::io::ZarrArrayMetadata::v2(ts::float32, {0, 4}, {2, 2}), "w-");
    CHECK(empty.num_chunks() == 0);
    CHECK(empty.read_all().shape() == ts::Shape{0, 4});
    auto v3 = ts::io::ZarrArrayStore::create(dir / "v3",
                                             ts::io::ZarrArrayMetadata::v3(ts::int8, {4, 4}, {2, 2}), "w-");
    CHECK(v3.chunk_key({1, 0}) == "c/1/0");
    auto v3_scalar = ts::io::ZarrArrayStore::create(dir / "v3s",
                                                    ts::io::ZarrArrayMetadata::v3(ts::int8, {}, {}), "w-");
    CHECK(v3_scalar.chunk_key({}) == "c");
}

TEST_CASE("write_chunk checks the block's shape and dtype; read-only stores refuse writes") {
    TempDir dir;
    auto store = ts::io::ZarrArrayStore::create(dir / "a",
                                                ts::io::ZarrArrayMetadata::v2(ts::float64, {5, 4}, {3, 4}), "w");
    CHECK_THROWS_WITH_AS(store.write_chunk({1, 0}, ts::NDArray::zeros(ts::float64, {3, 4})),
                         fmt::format("chunk (1, 0) of {} must have shape (2, 4), got (3, 4)", dir / "a").c_str(),
                         ts::ShapeError);
    CHECK_THROWS_WITH_AS(store.write_chunk({0, 0}, ts::NDArray::zeros(ts::float32, {3, 4})),
                         fmt::format("chunk (0, 0) of {} must have dtype float64, got float32", dir / "a").c_str(),
                         ts::DTypeError);
    store.flush_metadata();
    const auto ro = ts::io::ZarrArrayStore::open(dir / "a");
    CHECK_FALSE(ro.writable());
    CHECK_THROWS_WITH_AS(ro.write_chunk({0, 0}, ts::NDArray::zeros(ts::float64, {3, 4})),
                         fmt::format("{}: the array was opened read-only", dir / "a").c_str(), ts::IOError);
    CHECK_THROWS_WITH_AS(ts::io::ZarrArrayStore::open(dir / "a", "w"),
                         "invalid mode 'w' to open a Zarr array: use 'r' or 'r+'", ts::ValueError);
}

TEST_CASE("create modes: w replaces, w- refuses, a and r+ reopen matching arrays") {
    TempDir dir;
    const std::string path = dir / "m";
    auto meta = ts::io::ZarrArrayMetadata::v2(ts::int64, {6}, {4});
    auto first = ts::io::ZarrArrayStore::create(path, meta, "w-");
    first.write_all(ts::NDArray::from_vector<std::int64_t>({1, 2, 3, 4, 5, 6}));
    first.flush_metadata();
    CHECK_THROWS_WITH_AS(ts::io::ZarrArrayStore::create(path, meta, "w-"),
                         fmt::format("{}: an array or group already exists there", path).c_str(),
                         ts::IOError);
    auto again = ts::io::ZarrArrayStore::create(path, meta, "a");
    CHECK(again.read_chunk({1}).at<std::int64_t>({1}) == 6);
    auto other = meta;
    other.shape = {7};
    CHECK_THROWS_WITH_AS(ts::io::ZarrArrayStore::create(path, other, "r+"),
                         fmt::format("{}: the existing array has shape (6,), not (7,)", path).c_str(),
                         ts::IOError);
    other = meta;
    other.dtype = ts::int32;
    other.fill_value = ts::io::fill_bytes(ts::int32, 0);
    CHECK_THROWS_WITH_AS(ts::io::ZarrArrayStore::create(path, other, "a"),
                         fmt::format("{}: the existing array has dtype int64, not int32", path).c_str(),
                         ts::IOError);
    auto replaced = ts::io::ZarrArrayStore::create(path, meta, "w");
    CHECK(replaced.list_chunks().empty());
    CHECK_THROWS_WITH_AS(ts::io::ZarrArrayStore::open(path),
                         fmt::format("{}: no Zarr array found (neither zarr.json nor .zarray exists)", path).c_str(),
                         ts::IOError);
    CHECK_THROWS_WITH_AS(ts::io::ZarrArrayStore::create(dir / "none", meta, "r+"),
                         fmt::format("{}: no Zarr array found (neither zarr.json nor .zarray exists)", dir / "none").c_str(),
                         ts::IOError);
    CHECK_THROWS_WITH_AS(ts::io::ZarrArrayStore::create(path, meta, "x"),
                         "invalid mode 'x' to create a Zarr array: use 'w', 'w-', 'a' or 'r+'",
                         ts::ValueError);
}

TEST_CASE("attributes and dimension names persist") {
    TempDir dir;
    for (int format : {2, 3}) {
        const std::string path = dir / fmt::format("v{}", format);
        auto meta = format == 2 ? ts::io::ZarrArrayMetadata::v2(ts::float32, {2, 3}, {2, 2})
                                : ts::io::ZarrArrayMetadata::v3(ts::float32, {2, 3}, {2, 2});
        auto store = ts::io::ZarrArrayStore::create(path, meta, "w");
        CHECK(store.dims().empty());
        store.set_attributes({{"long_name", "temperature"}, {"scale", 0.5}});
        store.set_dims({"lat", "lon"});
        CHECK_THROWS_WITH_AS(store.set_dims({"x"}), "1 dimension names given for an array of 2 dimensions",
                             ts::ShapeError);
        store.flush_metadata();
        const auto back = ts::io::ZarrArrayStore::open(path);
        CHECK(back.dims() == std::vector<std::string>{"lat", "lon"});
        CHECK(back.attributes() == json({{"long_name", "temperature"}, {"scale", 0.5}}));
    }
    const json zattrs = json::parse(iotest::read_text(dir / "v2/.zattrs"));
    CHECK(zattrs["_ARRAY_DIMENSIONS"] == json::parse(R"(["lat", "lon"])"));
    const json zarr_json = json::parse(iotest::read_text(dir / "v3/zarr.json"));
    CHECK(zarr_json["dimension_names"] == json::parse(R"(["lat", "lon"])"));
}

TEST_CASE("chunk buffers: large blocks are recycled, aligned, capped; small ones are not cached") {
    namespace io = ts::io;
    io::buffer_pool_clear();
    const io::BufferPoolStats start = io::buffer_pool_stats();
    CHECK(start.cached_blocks == 0);
    const std::size_t mib = std::size_t{1} << 20;
    void* a = io::allocate_chunk_bytes(2 * mib);
    CHECK(reinterpret_cast<std::uintptr_t>(a) % 64 == 0);
    std::memset(a, 0x5a, 2 * mib);  // the whole block is usable
    io::free_chunk_bytes(a, 2 * mib);
    CHECK(io::buffer_pool_stats().cached_blocks == 1);
    CHECK(io::buffer_pool_stats().cached_bytes == static_cast<std::int64_t>(2 * mib));
    // A request at most a quarter smaller reuses the block; a much smaller one does not.
    void* b = io::allocate_chunk_bytes(2 * mib - mib / 4);
    CHECK(b == a);
    CHECK(io::buffer_pool_stats().hits == start.hits + 1);
    void* c = io::allocate_chunk_bytes(mib);
    CHECK(c != a);
    // b is freed with its requested size but returns its full capacity.
    io::free_chunk_bytes(b, 2 * mib - mib / 4);
    io::free_chunk_bytes(c, mib);
    CHECK(io::buffer_pool_stats().cached_bytes == static_cast<std::int64_t>(3 * mib));
    void* d = io::allocate_chunk_bytes(2 * mib);
    CHECK(d == a);
    io::free_chunk_bytes(d, 2 * mib);
    // Small blocks bypass the cache; at most max(2, cores) large ones are kept.
    io::free_chunk_bytes(io::allocate_chunk_bytes(1000), 1000);
    CHECK(io::buffer_pool_stats().cached_blocks == 2);
    std::vector<void*> blocks;
    for (int k = 0; k < 12; ++k) blocks.push_back(io::allocate_chunk_bytes(3 * mib + static_cast<std::size_t>(k)));
    for (int k = 0; k < 12; ++k) io::free_chunk_bytes(blocks[static_cast<std::size_t>(k)], 3 * mib + static_cast<std::size_t>(k));
    CHECK(io::buffer_pool_stats().cached_blocks ==
          std::max<std::int64_t>(2, static_cast<std::int64_t>(std::thread::hardware_concurrency())));
    io::buffer_pool_clear();
    CHECK(io::buffer_pool_stats().cached_bytes == 0);
    // Bytes use it: a decoded chunk's buffer comes back for the next one.
    Bytes big(4 * mib);
    const void* first = big.data();
    big = Bytes();
    Bytes again(4 * mib);
    CHECK(again.data() == first);
}

TEST_CASE("blosc decodes identically with its own threads (a lone large chunk uses them)") {
    const Bytes raw = make_bytes(6 << 20, false, 3);
    const auto codec = v2_codec(R"({"id": "blosc", "cname": "zstd", "clevel": 1, "shuffle": 1})");
    const Bytes packed = codec->encode(raw);
    CHECK(codec->decode(packed, static_cast<std::int64_t>(raw.size())) == raw);
    // Compression is single-threaded: the same input always gives the same bytes.
    CHECK(codec->encode(raw) == packed);
}
