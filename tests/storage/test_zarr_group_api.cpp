// ts::zarr_create_group / ts::zarr_consolidate_metadata: the documents zarr-python 2 writes
// (.zgroup, .zattrs, .zmetadata), groups with members read back, modes and errors.

#include <doctest/doctest.h>

#include <filesystem>

#include "src/io/zarr_metadata.hpp"
#include "tests/io/io_test_util.hpp"
#include "tessera/io.hpp"

namespace ts = tessera;
using iotest::TempDir;
using ts::io::json;

namespace {

json read_json(const std::string& path) { return json::parse(iotest::read_text(path)); }

}  // namespace

TEST_CASE("zarr_create_group writes .zgroup/.zattrs; consolidation gathers every member") {
    TempDir dir;
    const std::string path = dir / "ds.zarr";
    ts::zarr_create_group(path, {.attrs = R"({"title": "run", "n": 3})"});
    CHECK(read_json(path + "/.zgroup") == json{{"zarr_format", 2}});
    CHECK(read_json(path + "/.zattrs") == json{{"title", "run"}, {"n", 3}});
    const ts::NDArray t = iotest::test_values(ts::float32, {4, 6}, 1);
    const ts::NDArray x = iotest::test_values(ts::int64, {6}, 2);
    ts::to_zarr(ts::from_array(t, 2), path + "/t2m", {.dims = {"time", "x"}, .attrs = R"({"units": "K"})"});
    ts::zarr_create_group(path + "/sub");
    ts::to_zarr(ts::from_array(x, 4), path + "/sub/x", {.dims = {"x"}});
    ts::zarr_consolidate_metadata(path);

    const json z = read_json(path + "/.zmetadata");
    CHECK(z["zarr_consolidated_format"] == 1);
    const json& m = z["metadata"];
    for (const char* key : {".zgroup", ".zattrs", "t2m/.zarray", "t2m/.zattrs", "sub/.zgroup", "sub/.zattrs",
                            "sub/x/.zarray", "sub/x/.zattrs"}) {
        CAPTURE(key);
        REQUIRE(m.contains(key));
        CHECK(m[key] == read_json(path + "/" + key));  // the same documents as the files
    }
    CHECK(m.size() == 8);
    CHECK(m["t2m/.zattrs"] == json{{"_ARRAY_DIMENSIONS", {"time", "x"}}, {"units", "K"}});
    // Read through the consolidated metadata.
    CHECK(iotest::bit_equal(ts::from_zarr(path, "t2m").compute(), t));
    CHECK(iotest::bit_equal(ts::from_zarr(path, "sub/x").compute(), x));
    CHECK(ts::from_zarr(path, "sub/x").dims() == std::vector<std::string>{"x"});
    CHECK(json::parse(ts::zarr_attrs(path)) == json{{"title", "run"}, {"n", 3}});
}

TEST_CASE("zarr_create_group modes, v3 and errors") {
    TempDir dir;
    const std::string path = dir / "g.zarr";
    ts::zarr_create_group(path, {.attrs = R"({"a": 1})"});
    CHECK_THROWS_WITH_AS(ts::zarr_create_group(path), fmt::format("{}: an array or group already exists there", path).c_str(),
                         ts::IOError);
    ts::zarr_create_group(path, {.mode = "a", .attrs = R"({"b": 2})"});  // merges
    CHECK(read_json(path + "/.zattrs") == json{{"a", 1}, {"b", 2}});
    ts::to_zarr(ts::from_array(iotest::test_values(ts::int8, {3}, 1), 3), path + "/v", {});
    ts::zarr_create_group(path, {.mode = "w"});  // replaces everything
    CHECK(!std::filesystem::exists(path + "/v"));
    CHECK(read_json(path + "/.zattrs") == json::object());

    const std::string v3 = dir / "g3.zarr";
    ts::zarr_create_group(v3, {.zarr_format = 3, .attrs = R"({"c": true})"});
    CHECK(read_json(v3 + "/zarr.json") ==
          json{{"zarr_format", 3}, {"node_type", "group"}, {"attributes", {{"c", true}}}});
    CHECK_THROWS_WITH_AS(ts::zarr_consolidate_metadata(v3),
                         fmt::format("{}: no .zgroup (consolidated metadata is for v2 groups)", v3).c_str(),
                         ts::IOError);
    CHECK_THROWS_WITH_AS(ts::zarr_create_group(dir / "x.zarr", {.mode = "r"}),
                         "invalid mode 'r' to create a Zarr group: use 'w', 'w-' or 'a'", ts::ValueError);
    CHECK_THROWS_WITH_AS(ts::zarr_create_group(dir / "y.zarr", {.attrs = "[1]"}), "attrs must be a JSON object, got [1]",
                         ts::ValueError);
    CHECK(!std::filesystem::exists(dir / "y.zarr"));
}
