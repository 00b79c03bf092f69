// to_zarr with Zarr v3 sharding (ZarrWriteOptions::shards) and F-order stores: round trips over
// dtypes, orders, compressors and ragged shards; shard files parsed byte by byte by an independent
// decoder written here (index at the end, crc32c, 2^64-1 for missing inner chunks); a shard built
// by hand read back; one write task per shard; errors.

#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <filesystem>

#include "src/io/zarr_store.hpp"
#include "tests/io/io_test_util.hpp"
#include "tessera/io.hpp"

namespace ts = tessera;
using iotest::TempDir;

namespace {

const ts::ComputeOptions kSync{.scheduler = "sync"};
constexpr std::uint64_t kMissing = ~std::uint64_t{0};

// CRC-32C (Castagnoli), bit by bit: independent of the library's table-driven one.
std::uint32_t crc32c_bitwise(const unsigned char* data, std::size_t size) {
    std::uint32_t crc = 0xFFFFFFFFu;
    for (std::size_t k = 0; k < size; ++k) {
        crc ^= data[k];
        for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    }
    return ~crc;
}

template <class T>
void append(std::string& out, T value) {
    out.append(reinterpret_cast<const char*>(&value), sizeof(T));
}

template <class T>
T load(const std::string& bytes, std::size_t at) {
    T value;
    std::memcpy(&value, bytes.data() + at, sizeof(T));
    return value;
}

// One inner chunk of `data` (int32, C order) as little-endian bytes, padded with `fill` past the
// array's edge.
std::string inner_bytes(const ts::NDArray& data, std::int64_t row0, std::int64_t col0, std::int64_t rows,
                        std::int64_t cols, std::int32_t fill) {
    std::string out;
    const ts::NDArray c = data.contiguous();
    const auto* p = c.data<std::int32_t>();
    for (std::int64_t r = row0; r < row0 + rows; ++r)
        for (std::int64_t col = col0; col < col0 + cols; ++col)
            append(out, r < data.shape(0) && col < data.shape(1) ? p[r * data.shape(1) + col] : fill);
    return out;
}

struct IndexEntry {
    std::uint64_t offset, nbytes;
};

// The index at the end of a shard of `count` inner chunks, checked against its crc32c.
std::vector<IndexEntry> parse_index(const std::string& shard, std::size_t count) {
    const std::size_t index_size = count * 16;
    REQUIRE(shard.size() >= index_size + 4);
    const std::size_t start = shard.size() - index_size - 4;
    CHECK(load<std::uint32_t>(shard, shard.size() - 4) ==
          crc32c_bitwise(reinterpret_cast<const unsigned char*>(shard.data() + start), index_size));
    std::vector<IndexEntry> out;
    for (std::size_t k = 0; k < count; ++k)
        out.push_back({load<std::uint64_t>(shard, start + 16 * k), load<std::uint64_t>(shard, start + 16 * k + 8)});
    return out;
}

}  // namespace

TEST_CASE("sharded v3 round trips: dtypes x orders x compressors x ragged shards") {
    TempDir dir;
    struct Case {
        ts::Shape shape;
        ts::ChunkSpec array_chunks;
        ts::Shape chunks, shards;
    };
    const std::vector<Case> cases = {
        {{10, 7}, ts::Shape{3, 4}, {2, 3}, {4, 6}},        // ragged shards and inner chunks
        {{10, 7}, ts::Shape{10, 7}, {2, 2}, {4, 4}},       // one array block, many shards
        {{10, 7}, ts::Shape{1, 1}, {5, 7}, {10, 7}},       // one shard from 70 blocks
        {{9}, ts::Shape{4}, {1}, {3}},                     // size-1 inner chunks
        {{1}, ts::Shape{1}, {1}, {1}},                     // size 1
        {{0, 3}, ts::Shape{2, 2}, {1, 1}, {2, 2}},         // empty
        {{5, 4, 3}, ts::Shape{2, 3, 2}, {2, 2, 3}, {4, 2, 3}},
    };
    const std::vector<const char*> compressors = {"", "none", R"({"id": "blosc", "cname": "zstd", "clevel": 3, "shuffle": 2})"};
    int n = 0;
    for (const auto& c : cases) {
        for (ts::DType dtype : {ts::float64, ts::int16, ts::uint8, ts::complex64, ts::bool_}) {
            for (char order : {'C', 'F'}) {
                const char* compressor = compressors[static_cast<std::size_t>(n) % compressors.size()];
                CAPTURE(ts::shape_str(c.shape));
                CAPTURE(dtype.name());
                CAPTURE(order);
                CAPTURE(compressor);
                const ts::NDArray data = iotest::test_values(dtype, c.shape, 5);
                const std::string path = dir / fmt::format("s{}.zarr", n++);
                const ts::Array written =
                    ts::to_zarr(ts::from_array(data, c.array_chunks), path,
                                {.compressor = compressor, .zarr_format = 3, .chunks = c.chunks, .shards = c.shards,
                                 .order = order, .compute_options = kSync});
                const auto store = ts::io::ZarrArrayStore::open(path);
                CHECK(store.chunk_shape() == c.shards);
                CHECK(written.compute().item<std::int64_t>() == store.num_chunks());
                CHECK(store.list_chunks().size() == static_cast<std::size_t>(store.num_chunks()));
                const ts::Array back = ts::from_zarr(path);
                CHECK(iotest::bit_equal(back.compute(kSync), data));
                CHECK(iotest::bit_equal(back.compute(), data));
                const auto meta = ts::io::json::parse(iotest::read_text(path + "/zarr.json"));
                const auto& codec = meta["codecs"][0];
                CHECK(codec["name"] == "sharding_indexed");
                CHECK(codec["configuration"]["chunk_shape"] == c.chunks);
                CHECK(codec["configuration"]["index_location"] == "end");
                CHECK(codec["configuration"]["codecs"][0]["name"] ==
                      (order == 'F' && c.shape.size() > 1 ? "transpose" : "bytes"));
            }
        }
    }
}

TEST_CASE("shard files: inner chunks, the index at the end with crc32c, missing inner chunks") {
    TempDir dir;
    const std::string path = dir / "s.zarr";
    // (6, 5) int32, inner chunks (2, 2), shards (4, 4): shard grid (2, 2), 2 x 2 inner chunks each.
    ts::NDArray data = iotest::test_values(ts::int32, {6, 5}, 3);
    // Inner chunk (0, 1) of shard (0, 0) (rows 0-1, columns 2-3) holds only the fill value 7.
    const std::int32_t fill = 7;
    data.assign_region(ts::Index{0, 2}, ts::NDArray::full(ts::int32, {2, 2}, fill));
    ts::to_zarr(ts::from_array(data, ts::Shape{3, 5}), path,
                {.compressor = "none", .zarr_format = 3, .chunks = {2, 2}, .shards = {4, 4}, .fill_value = fill});
    for (std::int64_t sr = 0; sr < 2; ++sr) {
        for (std::int64_t sc = 0; sc < 2; ++sc) {
            CAPTURE(sr);
            CAPTURE(sc);
            const std::string shard = iotest::read_text(fmt::format("{}/c/{}/{}", path, sr, sc));
            const auto index = parse_index(shard, 4);
            std::uint64_t expected_offset = 0;  // stored in C order of the inner chunks
            for (std::int64_t ir = 0; ir < 2; ++ir) {
                for (std::int64_t ic = 0; ic < 2; ++ic) {
                    const std::int64_t row0 = sr * 4 + ir * 2, col0 = sc * 4 + ic * 2;
                    const IndexEntry e = index[static_cast<std::size_t>(ir * 2 + ic)];
                    // Past the array's edge (shard (1, *) rows 6-7, shard (*, 1) columns 6-7) or
                    // all-fill: absent.
                    const bool outside = row0 >= 6 || col0 >= 5;
                    if (outside || (sr == 0 && sc == 0 && ir == 0 && ic == 1)) {
                        CHECK(e.offset == kMissing);
                        CHECK(e.nbytes == kMissing);
                        continue;
                    }
                    CHECK(e.offset == expected_offset);
                    REQUIRE(e.nbytes == 16);
                    CHECK(shard.substr(e.offset, e.nbytes) == inner_bytes(data, row0, col0, 2, 2, fill));
                    expected_offset += e.nbytes;
                }
            }
            CHECK(shard.size() == expected_offset + 4 * 16 + 4);
        }
    }
    // Removing a whole shard: it reads as the fill value.
    std::filesystem::remove(path + "/c/1/1");
    ts::NDArray expected = data.copy();
    expected.assign_region(ts::Index{4, 4}, ts::NDArray::full(ts::int32, {2, 1}, fill));
    CHECK(iotest::bit_equal(ts::from_zarr(path).compute(), expected));
}

TEST_CASE("a shard built by hand (inner chunks in reverse order, one missing) reads back") {
    TempDir dir;
    const std::string path = dir / "h.zarr";
    const ts::NDArray data = iotest::test_values(ts::int32, {4, 4}, 9);
    // The metadata from to_zarr, then shard (0, 0) replaced by hand-built bytes.
    ts::to_zarr(ts::from_array(data, 4), path,
                {.compressor = "none", .zarr_format = 3, .chunks = {2, 2}, .shards = {4, 4}, .fill_value = -1});
    std::string body, index_bytes;
    std::vector<IndexEntry> index(4, IndexEntry{kMissing, kMissing});
    for (std::int64_t k = 3; k >= 1; --k) {  // inner chunk 0 (rows 0-1, columns 0-1) left out
        const std::string piece = inner_bytes(data, (k / 2) * 2, (k % 2) * 2, 2, 2, -1);
        index[static_cast<std::size_t>(k)] = {body.size(), piece.size()};
        body += piece;
    }
    for (const IndexEntry& e : index) append(index_bytes, e.offset), append(index_bytes, e.nbytes);
    const std::uint32_t crc = crc32c_bitwise(reinterpret_cast<const unsigned char*>(index_bytes.data()), index_bytes.size());
    std::string shard = body + index_bytes;
    append(shard, crc);
    iotest::write_bytes(path + "/c/0/0", shard.data(), shard.size());
    ts::NDArray expected = data.copy();
    expected.assign_region(ts::Index{0, 0}, ts::NDArray::full(ts::int32, {2, 2}, std::int32_t{-1}));
    CHECK(iotest::bit_equal(ts::from_zarr(path).compute(), expected));

    // A flipped index byte fails the checksum.
    shard[body.size() + 3] = static_cast<char>(shard[body.size() + 3] ^ 1);
    iotest::write_bytes(path + "/c/0/0", shard.data(), shard.size());
    CHECK_THROWS_AS(ts::from_zarr(path).compute(), ts::IOError);
}

TEST_CASE("sharded to_zarr: one write task per shard; region writes align with shards") {
    TempDir dir;
    const std::string path = dir / "t.zarr";
    const ts::NDArray data = iotest::test_values(ts::float32, {10, 6}, 2);
    const ts::Array pending = ts::to_zarr(ts::from_array(data, ts::Shape{3, 6}), path,
                                          {.zarr_format = 3, .chunks = {2, 3}, .shards = {4, 6}, .compute = false});
    std::int64_t writes = 0;
    const ts::Graph g = pending.graph();
    for (const auto& t : g.tasks()) writes += ts::op_name(t.op) == "tessera.zarr_write";
    CHECK(writes == 3);  // shards of rows [0, 4), [4, 8), [8, 10)
    CHECK(pending.compute().item<std::int64_t>() == 3);
    CHECK(iotest::bit_equal(ts::from_zarr(path).compute(), data));

    // Rows [4, 8) are one whole shard: allowed. Rows [2, 6) would split two shards.
    const ts::NDArray part = ts::NDArray::full(ts::float32, {4, 6}, 2.5f);
    ts::to_zarr(ts::from_array(part, 2), path, {.mode = "r+", .region = {{4, 8}, {0, 6}}});
    ts::NDArray expected = data.copy();
    expected.assign_region(ts::Index{4, 0}, part);
    CHECK(iotest::bit_equal(ts::from_zarr(path).compute(), expected));
    CHECK_THROWS_WITH_AS(ts::to_zarr(ts::from_array(part, 2), path, {.mode = "r+", .region = {{2, 6}, {0, 6}}}),
                         fmt::format("region [2:6] along axis 0 is not aligned with the chunks (4) of {}", path).c_str(),
                         ts::ChunkError);
}

TEST_CASE("sharding and order options are checked") {
    TempDir dir;
    const ts::Array a = ts::from_array(iotest::test_values(ts::int32, {8, 6}, 1), ts::Shape{4, 3});
    CHECK_THROWS_WITH_AS(ts::to_zarr(a, dir / "a.zarr", {.chunks = {2, 3}, .shards = {4, 6}}),
                         "shards need zarr_format 3, got 2", ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::to_zarr(a, dir / "b.zarr", {.zarr_format = 3, .chunks = {2, 3}, .shards = {4, 4}}),
                         "shard shape (4, 4) is not a positive multiple of the chunk shape (2, 3) along axis 1",
                         ts::ChunkError);
    CHECK_THROWS_WITH_AS(ts::to_zarr(a, dir / "c.zarr", {.zarr_format = 3, .chunks = {2, 3}, .shards = {4}}),
                         "shards (4,) have 1 dimensions but the array has 2", ts::ChunkError);
    CHECK_THROWS_WITH_AS(ts::to_zarr(a, dir / "d.zarr", {.order = 'K'}), "order must be 'C' or 'F', got 'K'",
                         ts::ValueError);
    CHECK(!std::filesystem::exists(dir / "a.zarr"));
}

TEST_CASE("F-order v2 stores: .zarray says F and the chunk bytes are column-major") {
    TempDir dir;
    const std::string path = dir / "f.zarr";
    const ts::NDArray data = iotest::test_values(ts::int32, {5, 3}, 4);
    ts::to_zarr(ts::from_array(data, ts::Shape{2, 3}), path, {.compressor = "none", .order = 'F'});
    CHECK(ts::io::json::parse(iotest::read_text(path + "/.zarray"))["order"] == "F");
    // Chunk (2, 0): row 4 and two padding rows of zeros, column by column.
    const std::string chunk = iotest::read_text(path + "/2.0");
    const ts::NDArray c = data.contiguous();
    std::string expected;
    for (std::int64_t col = 0; col < 3; ++col)
        for (std::int64_t row = 4; row < 6; ++row) append(expected, row < 5 ? c.data<std::int32_t>()[row * 3 + col] : 0);
    CHECK(chunk == expected);
    CHECK(iotest::bit_equal(ts::from_zarr(path).compute(), data));
    for (std::int64_t ndim = 0; ndim <= 3; ++ndim) {
        const ts::Shape full{4, 3, 5};
        const ts::Shape shape(full.begin(), full.begin() + ndim);
        CAPTURE(ndim);
        const ts::NDArray d = iotest::test_values(ts::float64, shape, 6);
        const std::string p = dir / fmt::format("f{}.zarr", ndim);
        ts::to_zarr(ts::from_array(d, ts::Shape(shape.size(), 2)), p, {.chunks = ts::Shape(shape.size(), 3), .order = 'F'});
        CHECK(iotest::bit_equal(ts::from_zarr(p).compute(), d));
    }
}
