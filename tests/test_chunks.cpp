// Chunk grids and normalize_chunks, against dask.array.core.normalize_chunks (Dask 2022.12).

#include <doctest/doctest.h>

#include <sstream>
#include <utility>
#include <vector>

#include "tessera/chunks.hpp"
#include "tessera/config.hpp"
#include "tessera/error.hpp"

namespace ts = tessera;
using ts::AxisChunks;
using ts::Chunks;
using ts::Shape;

namespace {

using Runs = std::vector<std::pair<std::int64_t, std::int64_t>>;  // (size, count) runs

// Chunks from run-length axes, as printed by `gen_numpy_fixtures.py --dask`.
Chunks rle(const std::vector<Runs>& axes) {
    std::vector<ts::BlockSizes> out;
    for (const Runs& runs : axes) {
        ts::BlockSizes sizes;
        for (const auto& [size, count] : runs) sizes.insert(sizes.end(), count, size);
        out.push_back(sizes);
    }
    return Chunks(out);
}

struct DaskCase {
    const char* text;  // the Python call, for failure messages
    ts::ChunkSpec spec;
    Shape shape;
    ts::DType dtype;
    std::optional<Chunks> previous;
    std::optional<std::int64_t> limit;
    Chunks expected;
};

}  // namespace

TEST_CASE("Chunks accessors") {
    const Chunks c({{2, 2, 1}, {3}});
    CHECK(c.ndim() == 2);
    CHECK(c.numblocks() == Shape{3, 1});
    CHECK(c.nblocks() == 3);
    CHECK(c.shape() == Shape{5, 3});
    CHECK(c.block_shape(Shape{2, 0}) == Shape{1, 3});
    CHECK(c.block_shape(Shape{0, 0}) == Shape{2, 3});
    CHECK(c.block_start(0, 0) == 0);
    CHECK(c.block_start(0, 2) == 4);
    CHECK(c.block_start(0, 3) == 5);  // one past the last block: the length
    CHECK(c.block_start(1, 0) == 0);
    CHECK(c.max_block_shape() == Shape{2, 3});
    CHECK_FALSE(c.has_unknown());
    CHECK(c.str() == "((2, 2, 1), (3,))");
    std::ostringstream os;
    os << c;
    CHECK(os.str() == "((2, 2, 1), (3,))");
    CHECK(c == Chunks::regular({5, 3}, {2, 3}));
    CHECK_FALSE(c == Chunks({{2, 2, 1}, {1, 2}}));

    const Chunks scalar;  // 0-d
    CHECK(scalar.ndim() == 0);
    CHECK(scalar.nblocks() == 1);
    CHECK(scalar.shape() == Shape{});
    CHECK(scalar.block_shape(Shape{}) == Shape{});
    CHECK(scalar.str() == "()");

    const Chunks one({{5, 5}});
    CHECK(one.str() == "((5, 5),)");

    const Chunks empty({{0}, {4, 4}});
    CHECK(empty.shape() == Shape{0, 8});
    CHECK(empty.nblocks() == 2);
    CHECK(empty.block_shape(Shape{0, 1}) == Shape{0, 4});

    const Chunks unknown({{-1, -1, -1}, {4}});
    CHECK(unknown.has_unknown());
    CHECK(unknown.shape() == Shape{-1, 4});
    CHECK(unknown.numblocks() == Shape{3, 1});
    CHECK(unknown.block_start(0, 0) == 0);
    CHECK(unknown.block_start(0, 2) == -1);
    CHECK(unknown.block_shape(Shape{1, 0}) == Shape{-1, 4});
    CHECK(unknown.max_block_shape() == Shape{-1, 4});
    CHECK(unknown.str() == "((nan, nan, nan), (4,))");

    CHECK_THROWS_WITH_AS(c.block_shape(Shape{3, 0}),
                         "block index (3, 0) is out of range for numblocks (3, 1)", ts::IndexError);
    CHECK_THROWS_WITH_AS(c.block_shape(Shape{0}),
                         "block index (0,) has 1 dimensions but the chunks have 2", ts::IndexError);
    CHECK_THROWS_WITH_AS(c.block_start(0, 4), "block 4 is out of range for axis 0 with 3 blocks",
                         ts::IndexError);
    CHECK_THROWS_WITH_AS(c.block_start(2, 0),
                         "axis 2 is out of range for chunks with 2 dimensions", ts::IndexError);
}

TEST_CASE("Chunks validation") {
    CHECK_THROWS_WITH_AS(Chunks({{2, -2}}), "negative block size -2 for axis 0 in (2, -2)",
                         ts::ChunkError);
    CHECK_THROWS_WITH_AS(Chunks({{3}, {-1, 4}}), "negative block size -1 for axis 1 in (-1, 4)",
                         ts::ChunkError);
    CHECK_THROWS_WITH_AS(Chunks({{3}, {}}),
                         "axis 1 has no blocks (an axis of length 0 has one block of size 0)",
                         ts::ChunkError);
}

TEST_CASE("Chunks::regular") {
    CHECK(Chunks::regular({5, 6}, {2, 2}) == Chunks({{2, 2, 1}, {2, 2, 2}}));
    CHECK(Chunks::regular({7}, {100}) == Chunks({{7}}));  // larger than the axis: one block
    CHECK(Chunks::regular({0, 3}, {4, 1}) == Chunks({{0}, {1, 1, 1}}));
    CHECK(Chunks::regular({0}, {0}) == Chunks({{0}}));
    CHECK(Chunks::regular({}, {}) == Chunks());
    CHECK(Chunks::regular({1, 1}, {1, 1}) == Chunks({{1}, {1}}));
    CHECK_THROWS_WITH_AS(Chunks::regular({4, 4}, {2}),
                         "block shape (2,) has 1 dimensions but the shape (4, 4) has 2",
                         ts::ChunkError);
    CHECK_THROWS_WITH_AS(Chunks::regular({4, 5}, {2, 0}),
                         "chunk size 0 for axis 1 of length 5 must be positive", ts::ChunkError);
}

TEST_CASE("normalize_chunks matches Dask 2022.12") {
    // Expectations printed by `/usr/bin/python3 tests/data/gen_numpy_fixtures.py --dask`.
    const auto prev100 = rle({{{100, 10}}, {{100, 10}}});
    const DaskCase cases[] = {
        {"(2, 2), (5, 6)", {2, 2}, {5, 6}, ts::float64, {}, {}, rle({{{2, 2}, {1, 1}}, {{2, 3}}})},
        {"10, (30, 5)", 10, {30, 5}, ts::float64, {}, {}, rle({{{10, 3}}, {{5, 1}}})},
        {"(5, -1), (10, 10)", {5, -1}, {10, 10}, ts::float64, {}, {}, rle({{{5, 2}}, {{10, 1}}})},
        {"(5, None), (10, 10)", {5, AxisChunks::whole()}, {10, 10}, ts::float64, {}, {},
         rle({{{5, 2}}, {{10, 1}}})},
        {"((2, 2, 1), (2, 2, 2)), (5, 6)", {AxisChunks{2, 2, 1}, AxisChunks{2, 2, 2}}, {5, 6},
         ts::float64, {}, {}, rle({{{2, 2}, {1, 1}}, {{2, 3}}})},
        {"same as a Chunks", Chunks({{2, 2, 1}, {2, 2, 2}}), {5, 6}, ts::float64, {}, {},
         rle({{{2, 2}, {1, 1}}, {{2, 3}}})},
        {"(100,), (7,)", {100}, {7}, ts::float64, {}, {}, rle({{{7, 1}}})},
        {"3, (0, 4)", 3, {0, 4}, ts::float64, {}, {}, rle({{{0, 1}}, {{3, 1}, {1, 1}}})},
        {"((0,), 2), (0, 4)", {AxisChunks(ts::BlockSizes{0}), 2}, {0, 4}, ts::float64, {}, {},
         rle({{{0, 1}}, {{2, 2}}})},
        {"(), ()", std::vector<AxisChunks>{}, {}, ts::float64, {}, {}, Chunks()},
        {"'auto', ()", "auto", {}, ts::float64, {}, {}, Chunks()},
        {"(), (0, 0)", std::vector<AxisChunks>{}, {0, 0}, ts::float64, {}, {},
         rle({{{0, 1}}, {{0, 1}}})},
        {"'auto', (2500, 30)", "auto", {2500, 30}, ts::float64, {}, {},
         rle({{{2500, 1}}, {{30, 1}}})},
        {"(1000, -1), (2500, 30)", {1000, -1}, {2500, 30}, ts::float64, {}, {},
         rle({{{1000, 2}, {500, 1}}, {{30, 1}}})},
        {"('auto',), (20,), limit=5", {"auto"}, {20}, ts::uint8, {}, 5, rle({{{5, 4}}})},
        {"'auto', (2000,), float32, limit=1024", "auto", {2000}, ts::float32, {}, 1024,
         rle({{{256, 7}, {208, 1}}})},
        {"'auto', (10000, 10000), float32, limit=1e6", "auto", {10000, 10000}, ts::float32, {},
         1000000, rle({{{500, 20}}, {{500, 20}}})},
        {"'auto', (100, 200, 300), int16, limit=10000", "auto", {100, 200, 300}, ts::int16, {},
         10000, rle({{{17, 5}, {15, 1}}, {{17, 11}, {13, 1}}, {{17, 17}, {11, 1}}})},
        {"('auto', 10), (100000, 50), limit=1e5", {"auto", 10}, {100000, 50}, ts::float64, {},
         100000, rle({{{1250, 80}}, {{10, 5}}})},
        {"(-1, 'auto'), (1000, 100000), complex128, limit=1e6", {-1, "auto"}, {1000, 100000},
         ts::complex128, {}, 1000000, rle({{{1000, 1}}, {{62, 1612}, {56, 1}}})},
        {"('auto', 'auto'), (5, 100000), limit=80000", {"auto", "auto"}, {5, 100000}, ts::float64,
         {}, 80000, rle({{{5, 1}}, {{2000, 50}}})},
        {"(2, 3), (5,)", {2, 3}, {5}, ts::float64, {}, {}, rle({{{2, 1}, {3, 1}}})},
        {"'auto', (1, 1), bool, limit=1", "auto", {1, 1}, ts::bool_, {}, 1,
         rle({{{1, 1}}, {{1, 1}}})},
        {"'auto', (37, 1000), int8, limit=100", "auto", {37, 1000}, ts::int8, {}, 100,
         rle({{{10, 3}, {7, 1}}, {{10, 100}}})},
        {"previous 100s, limit=2e6", "auto", {1000, 1000}, ts::float64, prev100, 2000000,
         rle({{{500, 2}}, {{500, 2}}})},
        {"previous 100s, limit=320000", "auto", {1000, 1000}, ts::float64, prev100, 320000,
         rle({{{200, 5}}, {{200, 5}}})},
        {"previous 100s, limit=8000", "auto", {1000, 1000}, ts::float64, prev100, 8000,
         rle({{{31, 32}, {8, 1}}, {{31, 32}, {8, 1}}})},
        {"('auto', -1), previous ((10,)*100, (1000,))", {"auto", -1}, {1000, 1000}, ts::float64,
         rle({{{10, 100}}, {{1000, 1}}}), 800000, rle({{{100, 10}}, {{1000, 1}}})},
        {"('auto', 'auto'), (4000, 300), previous ((500,)*8, (7,)*42+(6,))", {"auto", "auto"},
         {4000, 300}, ts::float64, rle({{{500, 8}}, {{7, 42}, {6, 1}}}), 400000,
         rle({{{1500, 2}, {1000, 1}}, {{21, 14}, {6, 1}}})},
        {"('auto', 5), (10000, 5), float32, previous ((3,)*3333+(1,), (5,))", {"auto", 5},
         {10000, 5}, ts::float32, rle({{{3, 3333}, {1, 1}}, {{5, 1}}}), 20000,
         rle({{{999, 10}, {10, 1}}, {{5, 1}}})},
        {"'auto', (90, 90), previous ((25, 25, 25, 15), (30, 30, 30))", "auto", {90, 90},
         ts::float64, Chunks({{25, 25, 25, 15}, {30, 30, 30}}), 7200,
         rle({{{25, 3}, {15, 1}}, {{30, 3}}})},
        {"'auto', (1000,), previous ((1,)*1000,)", "auto", {1000}, ts::float64,
         rle({{{1, 1000}}}), 512, rle({{{64, 15}, {40, 1}}})},
    };
    for (const DaskCase& c : cases) {
        INFO(c.text);
        const Chunks got = ts::normalize_chunks(c.spec, c.shape, c.dtype, c.previous, c.limit);
        CHECK(got.str() == c.expected.str());
    }
}

TEST_CASE("normalize_chunks takes its default limit from the configuration") {
    {
        ts::config::Scoped scoped({.chunk_size_bytes = std::int64_t{128} << 20});
        // dask: normalize_chunks('auto', (10000, 10000), dtype='float64') with 128 MiB.
        CHECK(ts::normalize_chunks("auto", {10000, 10000}, ts::float64) ==
              rle({{{4096, 2}, {1808, 1}}, {{4096, 2}, {1808, 1}}}));
        CHECK(ts::normalize_chunks(ts::ChunkSpec(), {10000, 10000}, ts::float64) ==
              rle({{{4096, 2}, {1808, 1}}, {{4096, 2}, {1808, 1}}}));
    }
    ts::config::Scoped scoped({.chunk_size_bytes = 1000000});
    CHECK(ts::normalize_chunks("auto", {10000, 10000}, ts::float32) ==
          rle({{{500, 20}}, {{500, 20}}}));
}

TEST_CASE("normalize_chunks on empty axes") {
    // Dask divides by zero here; Tessera counts an empty axis as 1 element when sizing the rest:
    // 800 bytes of float64 = 100 elements, so 10 fits whole and 1000 is cut in 100s.
    CHECK(ts::normalize_chunks("auto", {0, 10}, ts::float64, std::nullopt, 800) ==
          Chunks({{0}, {10}}));
    CHECK(ts::normalize_chunks("auto", {0, 1000}, ts::float64, std::nullopt, 800) ==
          rle({{{0, 1}}, {{100, 10}}}));
    CHECK(ts::normalize_chunks({-1, "auto"}, {0, 1000}, ts::float64, std::nullopt, 800) ==
          rle({{{0, 1}}, {{100, 10}}}));
    CHECK(ts::normalize_chunks(0, {0}, ts::float64) == Chunks({{0}}));
    CHECK(ts::normalize_chunks({AxisChunks{0, 0}}, {0}, ts::float64) == Chunks({{0, 0}}));
}

TEST_CASE("normalize_chunks with unknown sizes") {
    const Chunks unknown({{-1, -1}, {4}});
    CHECK(ts::normalize_chunks(unknown, {-1, 4}, ts::float64) == unknown);
    CHECK_THROWS_WITH_AS(ts::normalize_chunks({2, 4}, {-1, 4}, ts::float64),
                         "axis 0 has unknown length: its chunks must be given explicitly",
                         ts::ChunkError);
    CHECK_THROWS_WITH_AS(ts::normalize_chunks(unknown, {8, 4}, ts::float64),
                         "chunks (nan, nan) for axis 0 do not match its length 8", ts::ChunkError);
    CHECK_THROWS_WITH_AS(
        ts::normalize_chunks("auto", {8, 4}, ts::float64, unknown, 100),
        "cannot choose automatic chunks from previous chunks ((nan, nan), (4,)) with unknown sizes",
        ts::ChunkError);
}

TEST_CASE("normalize_chunks errors") {
    CHECK_THROWS_WITH_AS(ts::normalize_chunks({1, 2}, {4, 4, 4}, ts::float64),
                         "chunks (1, 2) have 2 dimensions but the array has 3", ts::ChunkError);
    CHECK_THROWS_WITH_AS(ts::normalize_chunks({"auto", AxisChunks{3, 4}}, {4}, ts::float64),
                         "chunks ('auto', (3, 4)) have 2 dimensions but the array has 1",
                         ts::ChunkError);
    CHECK_THROWS_WITH_AS(ts::normalize_chunks({2}, {}, ts::float64),
                         "chunks (2,) have 1 dimensions but the array has 0", ts::ChunkError);
    CHECK_THROWS_WITH_AS(ts::normalize_chunks(Chunks({{4}}), {4, 4}, ts::float64),
                         "chunks ((4,),) have 1 dimensions but the array has 2", ts::ChunkError);
    CHECK_THROWS_WITH_AS(ts::normalize_chunks({AxisChunks{3, 4}, 2}, {8, 4}, ts::float64),
                         "chunks (3, 4) for axis 0 sum to 7 but the axis has length 8",
                         ts::ChunkError);
    CHECK_THROWS_WITH_AS(ts::normalize_chunks({2, AxisChunks{2, 3}}, {8, 4}, ts::float64),
                         "chunks (2, 3) for axis 1 sum to 5 but the axis has length 4",
                         ts::ChunkError);
    CHECK_THROWS_WITH_AS(ts::normalize_chunks({2, 3}, {4}, ts::float64),
                         "chunks (2, 3) for axis 0 sum to 5 but the axis has length 4",
                         ts::ChunkError);
    CHECK_THROWS_WITH_AS(ts::normalize_chunks({4, 0}, {8, 4}, ts::float64),
                         "chunk size 0 for axis 1 of length 4 must be positive", ts::ChunkError);
    CHECK_THROWS_WITH_AS(ts::normalize_chunks(-3, {8}, ts::float64),
                         "chunk size -3 for axis 0 of length 8 must be positive", ts::ChunkError);
    CHECK_THROWS_WITH_AS(ts::normalize_chunks({AxisChunks{4, 5, -1}}, {8}, ts::float64),
                         "negative chunk size -1 for axis 0 in (4, 5, -1)", ts::ChunkError);
    CHECK_THROWS_WITH_AS(ts::normalize_chunks({AxisChunks(ts::BlockSizes{})}, {0}, ts::float64),
                         "chunks () for axis 0 are empty (an axis of length 0 has chunks (0,))",
                         ts::ChunkError);
    CHECK_THROWS_WITH_AS(ts::normalize_chunks("big", {8}, ts::float64),
                         "unknown chunk specification 'big' for axis 0 (expected 'auto', a size "
                         "or -1)",
                         ts::ChunkError);
    CHECK_THROWS_WITH_AS(ts::normalize_chunks("auto", {8, 8}, ts::float64, Chunks({{8}}), 100),
                         "previous chunks ((8,),) have 1 dimensions but the array has 2",
                         ts::ChunkError);
    CHECK_THROWS_WITH_AS(ts::normalize_chunks(2, {8, -4}, ts::float64),
                         "negative extent -4 for axis 1 in shape (8, -4)", ts::ChunkError);
}
