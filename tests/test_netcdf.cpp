// NetCDF: round trips (Tessera writes, Tessera reads) over dtypes, groups, chunkings and
// compression; CF decoding rules; errors; the thread-safety of reads. Interop with Python's
// netCDF4/xarray is in tests/netcdf/interop.cpp (driven by tests/interop/netcdf).
#include <doctest/doctest.h>
#include <netcdf.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>

#include "tests/netcdf/nc_test_util.hpp"
#include "src/io/netcdf_file.hpp"
#include "tessera/netcdf.hpp"

namespace ts = tessera;
using nctest::pattern;
using nctest::TempDir;

namespace {

ts::NetcdfGroupSpec one_var(const std::string& name, std::vector<std::string> dims, ts::NDArray data,
                            std::optional<ts::Shape> chunks = std::nullopt, int compression = -1) {
    ts::NetcdfGroupSpec root;
    ts::NetcdfVariableSpec v{.name = name, .dims = std::move(dims), .data = std::move(data)};
    v.chunks = chunks;
    v.compression = compression;
    root.variables.push_back(std::move(v));
    return root;
}

std::vector<std::string> dims_for(std::size_t ndim) {
    std::vector<std::string> out;
    for (std::size_t axis = 0; axis < ndim; ++axis) out.push_back(fmt::format("d{}", axis));
    return out;
}

}  // namespace

TEST_CASE("every dtype round-trips through a file, for several shapes, chunkings and compressions") {
    TempDir dir;
    const std::vector<ts::DType> dtypes = {ts::int8,  ts::int16,  ts::int32,  ts::int64,   ts::uint8,
                                           ts::uint16, ts::uint32, ts::uint64, ts::float32, ts::float64};
    struct Case {
        ts::Shape shape;
        std::optional<ts::Shape> chunks;
        int compression;
    };
    const std::vector<Case> cases = {
        {{}, std::nullopt, 0},             // 0-d
        {{1}, std::nullopt, 4},            // size 1
        {{13}, ts::Shape{5}, 1},           // ragged file chunks
        {{6, 7}, ts::Shape{6, 7}, 0},      // one chunk
        {{6, 7}, ts::Shape{1, 1}, 9},      // single-element chunks
        {{4, 3, 5}, ts::Shape{3, 2, 4}, 4},
    };
    int file = 0;
    for (ts::DType dtype : dtypes) {
        for (const Case& c : cases) {
            CAPTURE(dtype);
            CAPTURE(ts::shape_str(c.shape));
            const ts::NDArray data = pattern(dtype, c.shape, static_cast<std::uint64_t>(file));
            const std::string path = dir / fmt::format("f{}.nc", file++);
            ts::to_netcdf(path, one_var("v", dims_for(c.shape.size()), data, c.chunks, c.compression));
            const auto ds = ts::open_netcdf(path);
            const auto& info = ds.info("v");
            CHECK(info.dtype == dtype);
            CHECK(info.shape == c.shape);
            CHECK(info.dims == dims_for(c.shape.size()));
            if (c.chunks) CHECK(info.file_chunks == *c.chunks);
            CHECK(info.deflate_level == (c.shape.empty() ? 0 : c.compression));
            const ts::NDArray back = ds.variable("v").compute({.scheduler = "sync"});
            CHECK(back.dtype() == dtype);
            CHECK(back.equals(data));
            // Raw reading (decode_cf off) is the same for variables without CF attributes.
            CHECK(ds.variable("v", {.decode_cf = false}).compute({.scheduler = "sync"}).equals(data));
        }
    }
}

TEST_CASE("an empty unlimited dimension reads as an empty array") {
    TempDir dir;
    ts::NetcdfGroupSpec root;
    root.dims = {{"time", 0}, {"x", 3}};
    root.variables.push_back({.name = "v", .dims = {"time", "x"}, .data = ts::NDArray::zeros(ts::float32, {0, 3})});
    ts::to_netcdf(dir / "e.nc", root);
    const auto ds = ts::open_netcdf(dir / "e.nc");
    CHECK(ds.dims() == std::map<std::string, std::int64_t>{{"time", 0}, {"x", 3}});
    const ts::Array v = ds.variable("v");
    CHECK(v.shape() == ts::Shape{0, 3});
    CHECK(v.compute().equals(ts::NDArray::zeros(ts::float32, {0, 3})));
}

TEST_CASE("a lazy Array is written block by block and read back with the file's chunks") {
    TempDir dir;
    const ts::Array x = ts::random::normal(0, 1, {50, 17}, {.chunks = ts::ChunkSpec({7, 5}), .seed = 3});
    const ts::NDArray expected = x.compute();
    ts::NetcdfGroupSpec root;
    root.variables.push_back({.name = "x", .dims = {"y", "x"}, .data = x});
    // An unlimited dimension grows as the bands are written.
    root.dims = {{"t", 0}};
    root.variables.push_back({.name = "series", .dims = {"t", "x"}, .data = (x + 1.0).astype(ts::float32)});
    ts::to_netcdf(dir / "a.nc", root, {.compression = 2, .compute = {.scheduler = "threads", .num_threads = 2}});

    const auto ds = ts::open_netcdf(dir / "a.nc");
    CHECK(ds.info("x").file_chunks == ts::Shape{7, 5});
    CHECK(ds.info("x").deflate_level == 2);
    CHECK(ds.dims().at("t") == 50);
    CHECK(ds.variable("x").compute().equals(expected));
    CHECK(ds.variable("series").compute().equals((x + 1.0).astype(ts::float32).compute()));

    // Default read chunks: whole file chunks, several along the first axis up to the target.
    const auto small = ts::open_netcdf(dir / "a.nc", {.target_block_bytes = 1});
    CHECK(small.variable("x").chunks() == ts::Chunks::regular({50, 17}, {7, 5}));
    const auto four = ts::open_netcdf(dir / "a.nc", {.target_block_bytes = 4 * 7 * 5 * 8});
    CHECK(four.variable("x").chunks() == ts::Chunks::regular({50, 17}, {28, 5}));
    CHECK(ds.variable("x").chunks() == ts::Chunks::regular({50, 17}, {50, 5}));
    // A chunk override, ragged and single-element blocks give the same values.
    for (const ts::ChunkSpec& spec : {ts::ChunkSpec({11, 4}), ts::ChunkSpec({1, 1}), ts::ChunkSpec({-1, -1})}) {
        const ts::Array v = ds.variable("x", {.chunks = spec});
        CHECK(v.compute().equals(expected));
    }
    CHECK(ds.variable("x", {.chunks = ts::ChunkSpec({11, 4})}).chunks() ==
          ts::Chunks({{11, 11, 11, 11, 6}, {4, 4, 4, 4, 1}}));
}

TEST_CASE("groups, dims and attributes round-trip") {
    TempDir dir;
    ts::NetcdfGroupSpec root;
    root.dims = {{"number_of_lines", 4}, {"pixels_per_line", 3}};
    root.attrs = {{"title", "granule"}, {"orbit", std::int32_t{12345}},
                  {"bounds", std::vector<double>{1.5, -2.25}}, {"empty", ""}};
    ts::NetcdfGroupSpec nav{.name = "navigation_data"};
    nav.attrs = {{"note", "lat/lon"}};
    nav.variables.push_back({.name = "latitude",
                             .dims = {"number_of_lines", "pixels_per_line"},
                             .data = pattern(ts::float32, {4, 3}),
                             .attrs = {{"units", "degrees_north"}, {"valid_max", 1e30f}}});
    ts::NetcdfGroupSpec deep{.name = "deep"};
    deep.dims = {{"pixels_per_line", 2}};  // hides the root's dim of the same name
    deep.variables.push_back({.name = "y", .dims = {"pixels_per_line"}, .data = pattern(ts::int16, {2})});
    nav.groups.push_back(deep);
    root.groups.push_back(nav);
    root.groups.push_back({.name = "geophysical_data"});
    ts::to_netcdf(dir / "g.nc", root);

    const auto ds = ts::open_netcdf(dir / "g.nc");
    CHECK(ds.group_path() == "/");
    CHECK(ds.groups() == std::vector<std::string>{"navigation_data", "geophysical_data"});
    CHECK(ds.variables().empty());
    CHECK(ds.attrs().at("title") == ts::Attribute("granule"));
    CHECK(ds.attrs().at("orbit") == ts::Attribute(std::int32_t{12345}));
    CHECK(ds.attrs().at("orbit").item<int>() == 12345);
    CHECK(ds.attrs().at("bounds") == ts::Attribute(std::vector<double>{1.5, -2.25}));
    CHECK(ds.attrs().at("empty").text().empty());
    CHECK(ds.attrs().at("bounds").str() == "[1.5, -2.25] float64");
    const auto nav_ds = ds.group("navigation_data");
    CHECK(nav_ds.group_path() == "/navigation_data");
    CHECK(nav_ds.attrs().at("note").text() == "lat/lon");
    CHECK(nav_ds.variables() == std::vector<std::string>{"latitude"});
    CHECK(nav_ds.info("latitude").attrs.at("valid_max") == ts::Attribute(1e30f));
    CHECK(nav_ds.info("latitude").group == "/navigation_data");
    CHECK(nav_ds.variable("latitude").compute().equals(pattern(ts::float32, {4, 3})));
    const auto deep_ds = ds.group("navigation_data/deep");
    CHECK(deep_ds.group_path() == "/navigation_data/deep");
    CHECK(deep_ds.dims() == std::map<std::string, std::int64_t>{{"number_of_lines", 4}, {"pixels_per_line", 2}});
    CHECK(deep_ds.variable("y").compute().equals(pattern(ts::int16, {2})));
    CHECK(nav_ds.group("deep").group_path() == "/navigation_data/deep");
    CHECK_THROWS_WITH_AS(ds.attrs().at("title").values(), "attribute \"granule\" is text, not numbers",
                         ts::DTypeError);
}

TEST_CASE("CF packing: floats are stored as int16 and decoded like xarray") {
    TempDir dir;
    const std::int64_t n = 40;
    ts::NDArray chl = ts::NDArray::empty(ts::float32, {n});
    for (std::int64_t k = 0; k < n; ++k) {
        const std::int64_t idx[1] = {k};
        chl.set(idx, k % 7 == 3 ? ts::Scalar(ts::nan) : ts::Scalar(0.01 + 0.731 * static_cast<double>(k)));
    }
    const float scale = 0.001f, offset = 12.5f;
    const std::int16_t fill = -32767;
    ts::NetcdfGroupSpec root;
    root.variables.push_back({.name = "chlor_a",
                              .dims = {"x"},
                              .data = ts::from_array(chl, 9),
                              .attrs = {{"scale_factor", scale}, {"add_offset", offset}, {"_FillValue", fill}},
                              .dtype = ts::int16});
    ts::to_netcdf(dir / "p.nc", root);

    const auto ds = ts::open_netcdf(dir / "p.nc");
    CHECK(ds.info("chlor_a").dtype == ts::int16);
    CHECK(ds.info("chlor_a").attrs.at("_FillValue") == ts::Attribute(fill));
    const ts::NDArray raw = ds.variable("chlor_a", {.decode_cf = false}).compute();
    const ts::NDArray dec = ds.variable("chlor_a").compute();
    REQUIRE(raw.dtype() == ts::int16);
    REQUIRE(dec.dtype() == ts::float32);  // masked int16 → float32, then float32 arithmetic
    for (std::int64_t k = 0; k < n; ++k) {
        CAPTURE(k);
        const float x = chl.at<float>({k});
        const auto r = raw.at<std::int16_t>({k});
        if (std::isnan(x)) {
            CHECK(r == fill);
            CHECK(std::isnan(dec.at<float>({k})));
            continue;
        }
        volatile float packed = (x - offset) / scale;  // float32 steps, as NumPy
        CHECK(r == static_cast<std::int16_t>(std::nearbyint(packed)));
        volatile float scaled = static_cast<float>(r) * scale;
        const float expected = scaled + offset;
        CHECK(dec.at<float>({k}) == expected);
        CHECK(std::fabs(dec.at<float>({k}) - x) <= 0.0005f + 1e-5f * std::fabs(x));
    }
}

TEST_CASE("CF decoding follows xarray's dtype rules and masks valid ranges") {
    TempDir dir;
    const ts::NDArray i16 = ts::NDArray::from_vector<std::int16_t>({-5, 0, 3, 200, -200, 7});
    const ts::NDArray i32 = ts::NDArray::from_vector<std::int32_t>({-5, 0, 3, 200, -200, 7});
    ts::NetcdfGroupSpec root;
    auto add = [&](const std::string& name, const ts::NDArray& data, ts::Attributes attrs) {
        root.variables.push_back({.name = name, .dims = {"x"}, .data = data, .attrs = std::move(attrs)});
    };
    add("scale_only", i16, {{"scale_factor", 0.5f}});
    add("offset_only", i16, {{"add_offset", 1.0f}});
    add("fill_offset", i16, {{"add_offset", 1.0f}, {"_FillValue", std::int16_t{7}}});
    add("int32_scale", i32, {{"scale_factor", 0.5f}});
    add("plain", i16, {{"units", "m"}});
    add("valid", i16, {{"valid_min", std::int16_t{-10}}, {"valid_max", std::int16_t{100}}});
    add("valid_range", i16, {{"valid_range", std::vector<std::int16_t>{0, 5}}, {"scale_factor", 2.0}});
    add("unsigned", ts::NDArray::from_vector<std::int8_t>({-1, 5, -128, 127}), {{"_Unsigned", "true"}});
    add("unsigned_fill", ts::NDArray::from_vector<std::int8_t>({-1, 5, -128}),
        {{"_Unsigned", "true"}, {"_FillValue", std::int8_t{-1}}});
    add("float_missing", ts::NDArray::from_vector<float>({1.5f, -9.f, 2.f}), {{"missing_value", -9.f}});
    // x is declared by the first variable; the unsigned ones have other lengths.
    root.variables[7].dims = {"u"};
    root.variables[8].dims = {"w"};
    root.variables[9].dims = {"w"};
    ts::to_netcdf(dir / "d.nc", root);
    const auto ds = ts::open_netcdf(dir / "d.nc");
    auto get = [&](const std::string& name, ts::NetcdfOpenOptions o = {}) {
        return ds.variable(name, o).compute();
    };
    const double nan = ts::nan;
    CHECK(get("scale_only").equals(ts::NDArray::from_vector<float>({-2.5f, 0, 1.5f, 100, -100, 3.5f})));
    CHECK(get("offset_only").equals(ts::NDArray::from_vector<double>({-4, 1, 4, 201, -199, 8})));
    CHECK(get("fill_offset").equals(ts::NDArray::from_vector<float>({-4, 1, 4, 201, -199, static_cast<float>(nan)})));
    CHECK(get("int32_scale").equals(ts::NDArray::from_vector<double>({-2.5, 0, 1.5, 100, -100, 3.5})));
    CHECK(get("plain").equals(i16));
    CHECK(get("valid").equals(ts::NDArray::from_vector<float>({-5, 0, 3, static_cast<float>(nan), static_cast<float>(nan), 7})));
    CHECK(get("valid", {.mask_valid_range = false}).equals(i16));
    CHECK(get("valid_range").equals(ts::NDArray::from_vector<float>(
        {static_cast<float>(nan), 0, 6, static_cast<float>(nan), static_cast<float>(nan), static_cast<float>(nan)})));
    CHECK(get("unsigned").equals(ts::NDArray::from_vector<std::uint8_t>({255, 5, 128, 127})));
    CHECK(get("unsigned_fill").equals(ts::NDArray::from_vector<float>({static_cast<float>(nan), 5, 128})));
    CHECK(get("float_missing").equals(ts::NDArray::from_vector<float>({1.5f, static_cast<float>(nan), 2.f})));
    CHECK(get("scale_only", {.decode_cf = false}).equals(i16));
}

TEST_CASE("bad files and names give IOErrors naming the path") {
    TempDir dir;
    const std::string missing = dir / "missing.nc";
    CHECK_THROWS_WITH_AS(ts::open_netcdf(missing),
                         ("cannot open NetCDF file '" + missing + "': No such file or directory").c_str(), ts::IOError);
    const std::string text = dir / "text.nc";
    std::ofstream(text) << "not a NetCDF file\n";
    CHECK_THROWS_WITH_AS(ts::open_netcdf(text),
                         ("cannot open NetCDF file '" + text + "': NetCDF: Unknown file format").c_str(), ts::IOError);

    const std::string path = dir / "f.nc";
    ts::NetcdfGroupSpec root = one_var("chlor_a", {"x"}, pattern(ts::float32, {3}));
    root.variables.push_back({.name = "l2_flags", .dims = {"x"}, .data = pattern(ts::int32, {3})});
    root.groups.push_back({.name = "geophysical_data"});
    root.groups.push_back({.name = "navigation_data"});
    root.groups[0].variables.push_back({.name = "sst", .dims = {"x"}, .data = pattern(ts::int16, {3})});
    ts::to_netcdf(path, root);
    const auto ds = ts::open_netcdf(path);
    CHECK_THROWS_WITH_AS(ds.variable("chl"), ("no variable 'chl' in " + path + " (variables: chlor_a, l2_flags)").c_str(),
                         ts::IOError);
    CHECK_THROWS_WITH_AS(ds.group("geophysical_data").variable("chl"),
                         ("no variable 'chl' in " + path + " group /geophysical_data (variables: sst)").c_str(),
                         ts::IOError);
    CHECK_THROWS_WITH_AS(ds.group("navigation_data").info("lat"),
                         ("no variable 'lat' in " + path + " group /navigation_data (variables: none)").c_str(),
                         ts::IOError);
    CHECK_THROWS_WITH_AS(ds.group("nav"),
                         ("no group 'nav' in " + path + " (groups: geophysical_data, navigation_data)").c_str(),
                         ts::IOError);
    CHECK_THROWS_WITH_AS(ds.group("geophysical_data/deep"),
                         ("no group 'deep' in " + path + " group /geophysical_data (groups: none)").c_str(),
                         ts::IOError);

    // Writing: an existing file without overwrite, a missing directory, mismatched dims.
    CHECK_THROWS_WITH_AS(ts::to_netcdf(path, root, {.overwrite = false}),
                         ("cannot create NetCDF file '" + path + "': NetCDF: File exists && NC_NOCLOBBER").c_str(),
                         ts::IOError);
    const std::string nodir = dir / "no/such/dir.nc";
    CHECK_THROWS_WITH_AS(ts::to_netcdf(nodir, root),
                         ("cannot create NetCDF file '" + nodir + "': directory '" + dir.path() + "/no/such' does not exist").c_str(),
                         ts::IOError);
    ts::NetcdfGroupSpec bad = one_var("v", {"y", "x"}, pattern(ts::float32, {3}));
    CHECK_THROWS_WITH_AS(ts::to_netcdf(dir / "bad.nc", bad), "variable '/v': 2 dims (y, x) for data of shape (3,)",
                         ts::ShapeError);
    bad.dims = {{"x", 4}};
    bad.variables[0].dims = {"x"};
    CHECK_THROWS_WITH_AS(ts::to_netcdf(dir / "bad.nc", bad),
                         "variable '/v': dimension 'x' has length 4 but the data has 3 along axis 0", ts::ShapeError);
    CHECK_FALSE(std::filesystem::exists(dir / "bad.nc"));  // aborted files are removed

    // A variable removed after open: the read task fails with the path, variable and slab.
    const auto stale = ts::open_netcdf(path).group("geophysical_data");
    const ts::Array sst = stale.variable("sst");
    ts::to_netcdf(path, one_var("other", {"x"}, pattern(ts::float32, {3})));
    CHECK_THROWS_WITH_AS(sst.compute({.scheduler = "sync"}),
                         doctest::Contains(("cannot read variable '/geophysical_data/sst' [0:3] of '" + path +
                                            "': NetCDF: No group found.").c_str()),
                         ts::IOError);
}

TEST_CASE("a file rewritten at the same path is reopened, not served from the handle cache") {
    TempDir dir;
    const std::string path = dir / "r.nc";
    ts::to_netcdf(path, one_var("v", {"x"}, pattern(ts::float64, {5}, 1)));
    CHECK(ts::open_netcdf(path).variable("v").compute().equals(pattern(ts::float64, {5}, 1)));
    ts::to_netcdf(path, one_var("v", {"x"}, pattern(ts::float64, {5}, 2)));
    const ts::Array v = ts::open_netcdf(path).variable("v");
    CHECK(v.compute().equals(pattern(ts::float64, {5}, 2)));
    CHECK(ts::detail::netcdf_cached_files() >= 1);
    // Same file, same options: the same keys (deterministic names).
    CHECK(ts::open_netcdf(path).variable("v").name() == v.name());
    CHECK(ts::open_netcdf(path).variable("v", {.decode_cf = false}).name() == v.name());  // nothing to decode
    const ts::Graph g = v.graph();
    REQUIRE(g.size() == 1);
    CHECK(ts::op_name(g.tasks()[0].op) == "tessera.netcdf_read");
    // Plain data (path, variable, hyperslab in the params): runnable by a distributed worker.
    CHECK(g.tasks()[0].local == nullptr);
    CHECK(g.tasks()[0].deps.empty());
    CHECK(g.tasks()[0].params.find(path) != std::string::npos);
}

TEST_CASE("the threads scheduler reading many chunks of many files gives the sync results" * doctest::timeout(60)) {
    TempDir dir;
    const ts::Shape shape{600, 500};
    std::vector<ts::Array> arrays;
    std::vector<ts::NDArray> expected;
    for (int f = 0; f < 4; ++f) {
        const std::string path = dir / fmt::format("t{}.nc", f);
        ts::NDArray data = pattern(ts::float32, shape, static_cast<std::uint64_t>(f));
        ts::NetcdfGroupSpec root = one_var("v", {"y", "x"}, data, ts::Shape{50, 100}, f % 2 ? 1 : 0);
        root.variables[0].attrs = {{"scale_factor", 0.5f}, {"_FillValue", 8.0f}};
        ts::to_netcdf(path, root);
        arrays.push_back(ts::open_netcdf(path, {.target_block_bytes = 1}).variable("v"));
        expected.push_back(arrays.back().compute({.scheduler = "sync"}));
    }
    CHECK(arrays[0].chunks().nblocks() == 60);
    for (int repeat = 0; repeat < 3; ++repeat)
        for (std::size_t f = 0; f < arrays.size(); ++f)
            CHECK(arrays[f].compute({.scheduler = "threads", .num_threads = 4}).equals(expected[f]));
    // A reduction over all files at once (tasks of different files interleave).
    ts::Array total = arrays[0].sum();
    for (std::size_t f = 1; f < arrays.size(); ++f) total = total + arrays[f].sum();
    CHECK(total.compute({.scheduler = "threads", .num_threads = 4}).item<double>() ==
          total.compute({.scheduler = "sync"}).item<double>());

    // Throughput, for the report (not asserted: the machine is shared): 4 files of 24 MB.
    std::vector<ts::Array> large;
    for (int f = 0; f < 4; ++f) {
        const std::string path = dir / fmt::format("big{}.nc", f);
        ts::NetcdfGroupSpec root;
        root.variables.push_back(
            {.name = "v",
             .dims = {"y", "x"},
             .data = ts::random::uniform(0, 100, {3000, 2000},
                                         {.chunks = ts::ChunkSpec({100, 2000}), .seed = 7, .dtype = ts::float32}),
             .attrs = {{"scale_factor", 0.5f}, {"_FillValue", 8.0f}},
             .compression = 0});
        ts::to_netcdf(path, root);
        large.push_back(ts::open_netcdf(path, {.target_block_bytes = 1}).variable("v"));
    }
    for (int repeat = 0; repeat < 2; ++repeat) {
        for (const std::string scheduler : {"sync", "threads"}) {
            const auto t0 = std::chrono::steady_clock::now();
            for (const auto& a : large) a.sum().compute({.scheduler = scheduler, .num_threads = 2});
            const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            MESSAGE(scheduler << ": " << 4 * 3000 * 2000 * 4 / s / 1e6 << " MB/s read + decoded + summed");
        }
    }
}
