// ts::from_zarr / ts::to_zarr / ts::zarr_attrs: Arrays over Zarr stores, compared with the data
// they were made from (whole-array NDArrays) and with what the chunk-store layer reads and writes.

#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include "src/io/zarr_group.hpp"
#include "src/io/zarr_store.hpp"
#include "tests/io/io_test_util.hpp"
#include "tessera/array_shape.hpp"
#include "tessera/io.hpp"

namespace ts = tessera;
using iotest::TempDir;

namespace {

const ts::ComputeOptions kSync{.scheduler = "sync"};

bool exists(const std::string& path) { return std::filesystem::exists(path); }

// Every storage task of a graph is a registered operation without an in-process payload.
void check_shippable(const ts::Graph& g) {
    for (const auto& t : g.tasks()) {
        if (ts::op_name(t.op).rfind("tessera.zarr", 0) != 0) continue;  // from_array constants
        CAPTURE(t.key.str());
        CHECK(t.local == nullptr);
        CHECK(t.op != 0);
    }
}

}  // namespace

TEST_CASE("to_zarr then from_zarr gives the data back, for every chunking and both formats") {
    TempDir dir;
    struct Case {
        ts::Shape shape;
        ts::ChunkSpec array_chunks;
        ts::Shape store_chunks;  // empty: the array's
    };
    const std::vector<Case> cases = {
        {{10, 7}, ts::Shape{3, 4}, {}},           // ragged edges
        {{10, 7}, ts::Shape{3, 4}, {5, 5}},       // store chunks not aligned with the array's
        {{10, 7}, ts::Shape{10, 7}, {2, 3}},      // one array block, many store chunks
        {{10, 7}, ts::Shape{1, 1}, {4, 7}},       // many array blocks per store chunk
        {{1}, ts::Shape{1}, {}},                  // size 1
        {{}, ts::ChunkSpec{}, {}},                // 0-d
        {{0, 3}, ts::Shape{2, 2}, {}},            // empty
        {{5, 0}, ts::Shape{2, 2}, {}},            // empty along the last axis
        {{4, 3, 6}, ts::Shape{3, 2, 4}, {2, 3, 5}},
    };
    int n = 0;
    for (const auto& c : cases) {
        for (int format : {2, 3}) {
            for (ts::DType dtype : {ts::float64, ts::int16, ts::uint8, ts::complex64, ts::bool_}) {
                CAPTURE(ts::shape_str(c.shape));
                CAPTURE(format);
                CAPTURE(dtype.name());
                const ts::NDArray data = iotest::test_values(dtype, c.shape, 11);
                const ts::Array a = ts::from_array(data, c.array_chunks);
                const std::string path = dir / fmt::format("c{}.zarr", n++);
                ts::Array written = ts::to_zarr(a, path, {.zarr_format = format, .chunks = c.store_chunks,
                                                          .compute_options = kSync});
                const ts::Array back = ts::from_zarr(path);
                const auto store = ts::io::ZarrArrayStore::open(path);
                CHECK(written.compute().item<std::int64_t>() == store.num_chunks());
                CHECK(back.shape() == c.shape);
                CHECK(back.dtype() == dtype);
                CHECK(iotest::bit_equal(back.compute(kSync), data));
                CHECK(iotest::bit_equal(back.compute(), data));  // threads
                CHECK(iotest::bit_equal(store.read_all(), data));  // the store layer agrees
                // The array's chunks are the store's.
                for (std::int64_t axis = 0; axis < back.ndim(); ++axis)
                    if (c.shape[static_cast<std::size_t>(axis)] > 0)
                        CHECK(back.chunks().sizes(axis)[0] ==
                              std::min(store.chunk_shape()[static_cast<std::size_t>(axis)],
                                       c.shape[static_cast<std::size_t>(axis)]));
            }
        }
    }
}

TEST_CASE("from_zarr: one load task per chunk, chunk multiples, registered shippable tasks") {
    TempDir dir;
    const ts::NDArray data = iotest::test_values(ts::float32, {10, 9}, 3);
    const std::string path = dir / "x.zarr";
    ts::to_zarr(ts::from_array(data, ts::Shape{3, 4}), path, {.compressor = "zstd"});
    const ts::Array x = ts::from_zarr(path);
    CHECK(x.chunks() == ts::Chunks({{3, 3, 3, 1}, {4, 4, 1}}));
    const ts::Graph g = x.graph();
    CHECK(g.size() == 12);
    check_shippable(g);
    for (const auto& t : g.tasks()) {
        CHECK(ts::op_name(t.op) == "tessera.zarr_load");
        CHECK(t.deps.empty());
        CHECK(t.params.find(path) != std::string::npos);
    }
    using Multiple = std::pair<std::vector<std::int64_t>, ts::Chunks>;
    for (const auto& [multiple, expected] :
         std::vector<Multiple>{Multiple{{2}, ts::Chunks({{6, 4}, {8, 1}})}, Multiple{{1, 3}, ts::Chunks({{3, 3, 3, 1}, {9}})},
                               Multiple{{5, 5}, ts::Chunks({{10}, {9}})}}) {
        const ts::Array y = ts::from_zarr(path, {.chunk_multiple = multiple});
        CHECK(y.chunks() == expected);
        CHECK(y.graph().size() == expected.nblocks());
        CHECK(iotest::bit_equal(y.compute(), data));
    }
    CHECK_THROWS_WITH_AS(ts::from_zarr(path, {.chunk_multiple = {1, 2, 3}}),
                         fmt::format("chunk_multiple (1, 2, 3) has 3 entries but {} has 2 dimensions", path).c_str(),
                         ts::ChunkError);
    CHECK_THROWS_WITH_AS(ts::from_zarr(path, {.chunk_multiple = {0}}),
                         "chunk_multiple must be at least 1, got 0 along axis 0", ts::ChunkError);
    // Lazy: further operations run on the loaded blocks.
    const std::string clean = dir / "arange.zarr";
    ts::to_zarr(ts::reshape(ts::arange(90), {10, 9}), clean, {.chunks = {4, 4}});
    CHECK(ts::from_zarr(clean).sum().compute().item<std::int64_t>() == 89 * 90 / 2);
}

TEST_CASE("to_zarr: one write task per store chunk, the metadata task last") {
    TempDir dir;
    const std::string path = dir / "w.zarr";
    const ts::Array a = ts::from_array(iotest::test_values(ts::int32, {8, 6}, 1), ts::Shape{3, 6});
    const ts::Array pending = ts::to_zarr(a, path, {.chunks = {4, 3}, .compute = false});
    const ts::Graph g = pending.graph();
    check_shippable(g);
    std::vector<ts::Key> writes;
    const ts::Task* meta = nullptr;
    for (const auto& t : g.tasks()) {
        if (ts::op_name(t.op) == "tessera.zarr_write") writes.push_back(t.key);
        if (ts::op_name(t.op) == "tessera.zarr_metadata") meta = &t;
    }
    CHECK(writes.size() == 4);  // (2, 2) store chunks
    REQUIRE(meta != nullptr);
    CHECK(meta->deps == writes);
    // Store chunk rows [0, 4) come from array blocks 0 and 1 (rows [0, 3) and [3, 6)).
    for (const auto& t : g.tasks())
        if (ts::op_name(t.op) == "tessera.zarr_write") CHECK(t.deps.size() == 2);

    // compute = false: nothing but the directory until it runs.
    CHECK(!exists(path + "/.zarray"));
    CHECK(std::filesystem::is_empty(path));
    CHECK(pending.compute().item<std::int64_t>() == 4);
    CHECK(exists(path + "/.zarray"));
    CHECK(iotest::bit_equal(ts::from_zarr(path).compute(), a.compute()));
    CHECK(ts::io::ZarrArrayStore::open(path).list_chunks().size() == 4);
}

TEST_CASE("missing chunks read as the fill value") {
    TempDir dir;
    for (int format : {2, 3}) {
        const std::string path = dir / fmt::format("fill{}.zarr", format);
        const ts::NDArray data = ts::NDArray::full(ts::float64, {6, 4}, 2.5);
        ts::to_zarr(ts::from_array(data, ts::Shape{2, 2}), path,
                    {.zarr_format = format, .fill_value = ts::nan});
        const auto store = ts::io::ZarrArrayStore::open(path, "r+");
        CHECK(store.erase_chunk({1, 1}));
        CHECK(store.erase_chunk({2, 0}));
        const ts::NDArray got = ts::from_zarr(path).compute();
        for (std::int64_t r = 0; r < 6; ++r) {
            for (std::int64_t c = 0; c < 4; ++c) {
                const bool missing = (r / 2 == 1 && c / 2 == 1) || (r / 2 == 2 && c / 2 == 0);
                CAPTURE(r);
                CAPTURE(c);
                if (missing)
                    CHECK(std::isnan(got.at<double>({r, c})));
                else
                    CHECK(got.at<double>({r, c}) == 2.5);
            }
        }
    }
    // No fill value given: zeros.
    const std::string path = dir / "zeros.zarr";
    ts::to_zarr(ts::from_array(ts::NDArray::full(ts::int8, {4}, 7), 2), path);
    ts::io::ZarrArrayStore::open(path, "r+").erase_chunk({0});
    CHECK(ts::from_zarr(path).compute().equals(ts::NDArray::from_vector<std::int8_t>({0, 0, 7, 7})));
}

TEST_CASE("dimension names and attributes") {
    TempDir dir;
    const ts::Array a = ts::from_array(iotest::test_values(ts::float64, {3, 4}, 2), 2);
    CHECK(a.dims().empty());
    for (int format : {2, 3}) {
        const std::string path = dir / fmt::format("d{}.zarr", format);
        ts::to_zarr(a, path, {.zarr_format = format, .dims = {"y", "x"}, .attrs = R"({"units": "K", "n": 3})"});
        const ts::Array b = ts::from_zarr(path);
        CHECK(b.dims() == std::vector<std::string>{"y", "x"});
        CHECK(ts::zarr_attrs(path) == R"({"n":3,"units":"K"})");
        CHECK((b + 1).dims().empty());  // names belong to the source only
        // Copying a named array keeps its names.
        const std::string copy = dir / fmt::format("copy{}.zarr", format);
        ts::to_zarr(b, copy, {.zarr_format = format});
        CHECK(ts::from_zarr(copy).dims() == std::vector<std::string>{"y", "x"});
        CHECK(ts::zarr_attrs(copy) == "{}");
    }
    CHECK(iotest::read_text(dir / "d2.zarr/.zattrs").find("\"_ARRAY_DIMENSIONS\"") != std::string::npos);
    CHECK(iotest::read_text(dir / "d3.zarr/zarr.json").find("\"dimension_names\"") != std::string::npos);
    CHECK_THROWS_WITH_AS(ts::to_zarr(a, dir / "bad.zarr", {.dims = {"x"}}),
                         "1 dimension names for an array of 2 dimensions", ts::ShapeError);
    CHECK_THROWS_WITH_AS(ts::to_zarr(a, dir / "bad.zarr", {.attrs = "[1]"}), "attrs must be a JSON object, got [1]",
                         ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::zarr_attrs(dir / "nothing"),
                         fmt::format("{}: no Zarr group found (neither zarr.json nor .zgroup exists)",
                                     dir / "nothing").c_str(),
                         ts::IOError);
}

TEST_CASE("to_zarr modes fail with messages naming the path and both values") {
    TempDir dir;
    const ts::Array a = ts::from_array(iotest::test_values(ts::float64, {4, 6}, 4), 2);
    const std::string path = dir / "m.zarr";
    ts::to_zarr(a, path);  // "w-" on a fresh path
    CHECK_THROWS_WITH_AS(ts::to_zarr(a, path), fmt::format("{}: an array or group already exists there", path).c_str(),
                         ts::IOError);
    const std::string missing = dir / "missing.zarr";
    CHECK_THROWS_WITH_AS(ts::to_zarr(a, missing, {.mode = "r+"}),
                         fmt::format("{}: no Zarr array found (neither zarr.json nor .zarray exists)", missing).c_str(),
                         ts::IOError);
    CHECK(!exists(missing));
    const ts::Array wider = ts::from_array(iotest::test_values(ts::float64, {4, 7}, 4), 2);
    for (const char* mode : {"a", "r+"}) {
        CHECK_THROWS_WITH_AS(ts::to_zarr(wider, path, {.mode = mode}),
                             fmt::format("{}: the existing array has shape (4, 6), not (4, 7)", path).c_str(), ts::IOError);
        CHECK_THROWS_WITH_AS(ts::to_zarr(a.astype(ts::int32), path, {.mode = mode}),
                             fmt::format("{}: the existing array has dtype float64, not int32", path).c_str(), ts::IOError);
    }
    CHECK_THROWS_WITH_AS(ts::to_zarr(a, path, {.mode = "x"}), "invalid mode 'x' for to_zarr: use 'w', 'w-', 'a' or 'r+'",
                         ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::to_zarr(a, path, {.mode = "w", .zarr_format = 4}), "zarr_format must be 2 or 3, got 4",
                         ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::to_zarr(a, dir / "c.zarr", {.chunks = {2}}),
                         "Zarr chunks (2,) have 1 dimensions but the array has 2", ts::ChunkError);
    CHECK_THROWS_WITH_AS(ts::to_zarr(a, dir / "c.zarr", {.chunks = {2, 0}}),
                         "Zarr chunks (2, 0) must be positive along axis 1", ts::ChunkError);
    CHECK_THROWS_WITH_AS(ts::to_zarr(ts::from_array(ts::NDArray::zeros(ts::int8, {5}), ts::Chunks({{2, 3}})), dir / "c.zarr"),
                         "cannot choose Zarr chunks: the array's chunks along axis 0 are irregular (2, 3); pass "
                         "ZarrWriteOptions::chunks",
                         ts::ChunkError);
    CHECK_THROWS_WITH_AS(ts::to_zarr(a, dir / "c.zarr", {.compressor = "snappy"}),
                         fmt::format("{}: unknown compressor 'snappy'", dir / "c.zarr").c_str(), ts::IOError);

    // "w" replaces, "a" and "r+" rewrite in place (keeping attributes), "a" creates.
    const ts::Array b = a * 2;
    ts::to_zarr(b, path, {.mode = "w", .attrs = R"({"k": 1})"});
    CHECK(iotest::bit_equal(ts::from_zarr(path).compute(), b.compute()));
    ts::to_zarr(a, path, {.mode = "r+", .attrs = R"({"j": 2})"});
    CHECK(iotest::bit_equal(ts::from_zarr(path).compute(), a.compute()));
    CHECK(ts::zarr_attrs(path) == R"({"j":2,"k":1})");
    const std::string fresh = dir / "fresh.zarr";
    ts::to_zarr(b, fresh, {.mode = "a"});
    CHECK(iotest::bit_equal(ts::from_zarr(fresh).compute(), b.compute()));
}

TEST_CASE("to_zarr region writes into part of an existing array") {
    TempDir dir;
    const std::string path = dir / "r.zarr";
    const ts::NDArray base = iotest::test_values(ts::int32, {10, 7}, 6);
    ts::to_zarr(ts::from_array(base, 5), path, {.chunks = {4, 3}});
    ts::NDArray expected = base.copy();
    const ts::NDArray part = iotest::test_values(ts::int32, {4, 4}, 9);
    expected.assign_region(ts::Index{4, 3}, part);
    ts::to_zarr(ts::from_array(part, 3), path, {.mode = "r+", .region = {{4, 8}, {3, 7}}});
    CHECK(iotest::bit_equal(ts::from_zarr(path).compute(), expected));
    // The ragged end of the array is aligned too.
    const ts::NDArray tail = iotest::test_values(ts::int32, {2, 7}, 10);
    expected.assign_region(ts::Index{8, 0}, tail);
    const ts::Array pending = ts::to_zarr(ts::from_array(tail), path, {.mode = "a", .region = {{8, 10}, {0, 7}}, .compute = false});
    CHECK(pending.compute().item<std::int64_t>() == 3);
    CHECK(iotest::bit_equal(ts::from_zarr(path).compute(), expected));

    CHECK_THROWS_WITH_AS(ts::to_zarr(ts::from_array(part), path, {.mode = "r+", .region = {{5, 9}, {3, 7}}}),
                         fmt::format("region [5:9] along axis 0 is not aligned with the chunks (4) of {}", path).c_str(),
                         ts::ChunkError);
    CHECK_THROWS_WITH_AS(ts::to_zarr(ts::from_array(part), path, {.mode = "r+", .region = {{4, 8}, {2, 6}}}),
                         fmt::format("region [2:6] along axis 1 is not aligned with the chunks (3) of {}", path).c_str(),
                         ts::ChunkError);
    CHECK_THROWS_WITH_AS(ts::to_zarr(ts::from_array(part), path, {.mode = "r+", .region = {{4, 9}, {3, 7}}}),
                         "region [4:9] along axis 0 has length 5 but the array has extent 4", ts::ShapeError);
    CHECK_THROWS_WITH_AS(ts::to_zarr(ts::from_array(part), path, {.mode = "r+", .region = {{8, 12}, {3, 7}}}),
                         fmt::format("region [8:12] along axis 0 is out of bounds for {} of shape (10, 7)", path).c_str(),
                         ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::to_zarr(ts::from_array(part), path, {.mode = "r+", .region = {{4, 8}}}),
                         "region has 1 axes but the array has 2", ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::to_zarr(ts::from_array(part), path, {.mode = "w", .region = {{4, 8}, {3, 7}}}),
                         "a region write needs mode 'a' or 'r+', got 'w'", ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::to_zarr(ts::from_array(part).astype(ts::float32), path, {.mode = "r+", .region = {{4, 8}, {3, 7}}}),
                         fmt::format("{}: the existing array has dtype int32, not float32", path).c_str(), ts::IOError);
    CHECK_THROWS_WITH_AS(ts::to_zarr(ts::from_array(part), dir / "none.zarr", {.mode = "a", .region = {{4, 8}, {3, 7}}}),
                         fmt::format("{}: no Zarr array found (neither zarr.json nor .zarray exists)", dir / "none.zarr").c_str(),
                         ts::IOError);
}

TEST_CASE("from_zarr errors name the path and the chunk key") {
    TempDir dir;
    const std::string missing = dir / "none.zarr";
    CHECK_THROWS_WITH_AS(ts::from_zarr(missing),
                         fmt::format("{}: no Zarr array found (neither zarr.json nor .zarray exists)", missing).c_str(),
                         ts::IOError);
    const std::string path = dir / "corrupt.zarr";
    ts::to_zarr(ts::from_array(iotest::test_values(ts::float64, {4, 4}, 1), 2), path, {.compressor = "zlib"});
    iotest::write_text(path + "/1.0", "not zlib data");
    const ts::Array a = ts::from_zarr(path);
    const std::string key = a.block_key(std::vector<std::int64_t>{1, 0}).str();
    try {
        a.compute(kSync);
        FAIL("no error");
    } catch (const ts::IOError& e) {
        const std::string msg = e.what();
        CHECK(msg.rfind(fmt::format("task {}: chunk '1.0' of {}: ", key, path), 0) == 0);
    }
    // Groups: a member by name, plainly and through consolidated metadata.
    const std::string group = dir / "g.zarr";
    ts::io::ZarrGroup::create(group, 2, "w");
    ts::to_zarr(ts::from_array(iotest::test_values(ts::uint16, {5}, 2), 2), group + "/sub/v", {.mode = "w", .dims = {"t"}});
    CHECK(ts::from_zarr(group, "sub/v").dims() == std::vector<std::string>{"t"});
    CHECK_THROWS_AS(ts::from_zarr(group, "nope"), ts::IOError);
}
