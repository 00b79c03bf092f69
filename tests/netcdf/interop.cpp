// Interop with Python's netCDF4/xarray, driven by tests/interop/netcdf/CMakeLists.txt:
//  - "interop: python writes": make_files.py wrote files and xarray's values (raw and decoded)
//    into $TESSERA_NC_INTEROP_DIR/manifest.txt; Tessera must read identical values.
//  - "interop: tessera writes": writes files and the values xarray must read into
//    $TESSERA_NC_INTEROP_DIR; check_files.py then compares.
// Without the variable (plain `test_netcdf` runs) both cases do nothing.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "tests/netcdf/nc_test_util.hpp"
#include "tessera/netcdf.hpp"

namespace ts = tessera;

namespace {

const char* interop_dir() { return std::getenv("TESSERA_NC_INTEROP_DIR"); }

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::string part;
    std::istringstream is(s);
    while (std::getline(is, part, sep)) out.push_back(part);
    if (!s.empty() && s.back() == sep) out.emplace_back();
    return out;
}

ts::NDArray read_binary(const std::string& path, ts::DType dtype, const ts::Shape& shape) {
    ts::NDArray out = ts::NDArray::empty(dtype, shape);
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in.good());
    in.read(static_cast<char*>(out.raw_data()), out.nbytes());
    REQUIRE(in.gcount() == out.nbytes());
    return out;
}

void write_binary(const std::string& path, const ts::NDArray& a) {
    const ts::NDArray c = a.contiguous();
    std::ofstream out(path, std::ios::binary);
    out.write(static_cast<const char*>(c.raw_data()), c.nbytes());
}

}  // namespace

TEST_CASE("interop: python writes, Tessera reads what xarray reads") {
    const char* dir = interop_dir();
    if (dir == nullptr) return;
    std::ifstream manifest(std::string(dir) + "/manifest.txt");
    REQUIRE(manifest.good());
    std::string line;
    int checked = 0;
    while (std::getline(manifest, line)) {
        if (line.empty()) continue;
        const auto f = split(line, '|');
        REQUIRE(f.size() == 7);
        CAPTURE(line);
        const std::string path = std::string(dir) + "/" + f[0];
        ts::Shape shape;
        for (const auto& s : split(f[5], ',')) shape.push_back(std::stoll(s));
        const ts::DType dtype = ts::DType::from_name(f[4]);
        const ts::NDArray expected = read_binary(std::string(dir) + "/" + f[6], dtype, shape);
        ts::NetcdfOpenOptions options{.decode_cf = f[3] != "raw", .mask_valid_range = f[3] == "cf_valid"};
        auto ds = ts::open_netcdf(path, options);
        if (f[1] != "/") ds = ds.group(f[1]);
        // Small blocks, so every variable is read as several tasks.
        const ts::Array v = ds.variable(f[2], {.decode_cf = options.decode_cf,
                                               .mask_valid_range = options.mask_valid_range,
                                               .target_block_bytes = 64});
        const ts::NDArray got = v.compute({.scheduler = "threads", .num_threads = 3});
        CHECK(got.dtype() == dtype);
        CHECK(got.shape() == shape);
        CHECK(got.equals(expected, true));
        ++checked;
    }
    CHECK(checked > 40);

    // Attributes, groups and dims as netCDF4 wrote them.
    const auto ds = ts::open_netcdf(std::string(dir) + "/granule.nc");
    CHECK(ds.attrs().at("title") == ts::Attribute("synthetic granule"));
    CHECK(ds.attrs().at("orbit") == ts::Attribute(std::int32_t{12345}));
    CHECK(ds.attrs().at("bounds") == ts::Attribute(std::vector<double>{1.5, -2.25, 3.0}));
    CHECK(ds.groups() == std::vector<std::string>{"navigation_data", "geophysical_data"});
    CHECK(ds.dims() == std::map<std::string, std::int64_t>{{"number_of_lines", 37}, {"pixels_per_line", 23}, {"strlen", 4}, {"time", 3}});
    const auto geo = ds.group("geophysical_data");
    CHECK(geo.info("chlor_a").file_chunks == ts::Shape{8, 23});
    CHECK(geo.info("chlor_a").deflate_level == 5);
    CHECK(geo.info("chlor_a").attrs.at("scale_factor") == ts::Attribute(0.001f));
    CHECK(geo.info("chlor_a").attrs.at("_FillValue") == ts::Attribute(std::int16_t{-32767}));
    CHECK(geo.info("quality").attrs.at("_Unsigned").text() == "true");
    const auto nav = ds.group("navigation_data");
    CHECK(nav.info("longitude").file_chunks.empty());  // contiguous
    CHECK(nav.info("latitude").attrs.at("units").text() == "degrees_north");
    // Default chunking: the file's chunks, stacked along the first axis (here: all lines).
    CHECK(nav.variable("latitude").chunks() == ts::Chunks({{37}, {16, 7}}));
    CHECK(nav.variable("latitude", {.target_block_bytes = 1}).chunks() == ts::Chunks({{10, 10, 10, 7}, {16, 7}}));
    CHECK(ds.variables() == std::vector<std::string>{"time_series", "scalar"});  // not the char "names"
    CHECK_THROWS_WITH_AS(ds.variable("names"),
                         ("variable 'names' in " + std::string(dir) + "/granule.nc has type char, which Tessera cannot read").c_str(),
                         ts::NotImplemented);
    const std::string bad = std::string(dir) + "/not_netcdf.nc";
    CHECK_THROWS_WITH_AS(ts::open_netcdf(bad), ("cannot open NetCDF file '" + bad + "': NetCDF: Unknown file format").c_str(),
                         ts::IOError);
}

TEST_CASE("interop: tessera writes files for xarray") {
    const char* dir_env = interop_dir();
    if (dir_env == nullptr) return;
    const std::string dir = dir_env;
    std::ofstream manifest(dir + "/manifest.txt");
    auto record = [&](const std::string& group, const std::string& var, const std::string& mode, const ts::NDArray& a) {
        std::string shape;
        for (std::size_t axis = 0; axis < a.shape().size(); ++axis) shape += fmt::format("{}{}", axis ? "," : "", a.shape()[axis]);
        const std::string bin = "granule." + (group == "/" ? std::string("root") : group.substr(1)) + "." + var + "." + mode + ".bin";
        write_binary(dir + "/" + bin, a);
        manifest << "granule.nc|" << group << "|" << var << "|" << mode << "|" << a.dtype().name() << "|" << shape << "|" << bin << "\n";
    };

    const std::int64_t lines = 45, pixels = 31;
    const ts::Array lat = ts::random::uniform(30, 35, {lines, pixels}, {.chunks = ts::ChunkSpec({10, 31}), .seed = 1, .dtype = ts::float32});
    const ts::Array lon = ts::random::uniform(-60, -55, {lines, pixels}, {.chunks = ts::ChunkSpec({10, 31}), .seed = 2, .dtype = ts::float32});
    const ts::Array u = ts::random::uniform(-0.5, 20, {lines, pixels}, {.chunks = ts::ChunkSpec({16, 16}), .seed = 3, .dtype = ts::float32});
    const ts::Array chl = ts::where(u < 0.0, ts::nan, u).astype(ts::float32);  // NaN = no retrieval
    const ts::NDArray chl_values = chl.compute();
    const ts::NDArray flags = nctest::pattern(ts::int32, {lines, pixels});
    const ts::NDArray bytes = nctest::pattern(ts::uint8, {pixels});
    const ts::NDArray big = nctest::pattern(ts::int64, {3});

    ts::NetcdfGroupSpec root;
    root.dims = {{"number_of_lines", lines}, {"pixels_per_line", pixels}, {"time", 0}};
    root.attrs = {{"title", "Tessera granule"}, {"orbit", std::int32_t{4242}}, {"bounds", std::vector<double>{1.5, -2.25}}};
    root.variables.push_back({.name = "scalar", .dims = {}, .data = ts::NDArray::scalar(ts::Scalar(42.5))});
    root.variables.push_back({.name = "series", .dims = {"time", "pixels_per_line"},
                              .data = ts::random::random({5, pixels}, {.chunks = ts::ChunkSpec({2, 31}), .seed = 9})});
    ts::NetcdfGroupSpec nav{.name = "navigation_data"};
    nav.variables.push_back({.name = "latitude", .dims = {"number_of_lines", "pixels_per_line"}, .data = lat,
                             .attrs = {{"units", "degrees_north"}}});
    nav.variables.push_back({.name = "longitude", .dims = {"number_of_lines", "pixels_per_line"}, .data = lon,
                             .attrs = {{"units", "degrees_east"}}, .compression = 0});
    ts::NetcdfGroupSpec geo{.name = "geophysical_data"};
    geo.attrs = {{"note", "packed"}};
    geo.variables.push_back({.name = "chlor_a", .dims = {"number_of_lines", "pixels_per_line"}, .data = chl,
                             .attrs = {{"scale_factor", 0.001f}, {"add_offset", 10.0f}, {"_FillValue", std::int16_t{-32767}},
                                       {"units", "mg m^-3"}},
                             .dtype = ts::int16});
    geo.variables.push_back({.name = "l2_flags", .dims = {"number_of_lines", "pixels_per_line"}, .data = flags});
    geo.variables.push_back({.name = "bytes", .dims = {"pixels_per_line"}, .data = bytes});
    geo.variables.push_back({.name = "big", .dims = {"three"}, .data = big});
    root.groups.push_back(nav);
    root.groups.push_back(geo);
    ts::to_netcdf(dir + "/granule.nc", root, {.compression = 4, .compute = {.scheduler = "threads", .num_threads = 2}});

    // What xarray must read: the source values for plain variables; for chlor_a, the packed
    // int16 computed here independently, and (decoded) what Tessera reads back.
    record("/", "scalar", "raw", ts::NDArray::scalar(ts::Scalar(42.5)));
    record("/", "series", "raw", ts::random::random({5, pixels}, {.chunks = ts::ChunkSpec({2, 31}), .seed = 9}).compute());
    record("/navigation_data", "latitude", "cf", lat.compute());
    record("/navigation_data", "longitude", "cf", lon.compute());
    ts::NDArray packed = ts::NDArray::empty(ts::int16, {lines, pixels});
    for (std::int64_t y = 0; y < lines; ++y)
        for (std::int64_t x = 0; x < pixels; ++x) {
            const float v = chl_values.at<float>({y, x});
            volatile float p = (v - 10.0f) / 0.001f;
            packed.set({y, x}, std::isnan(v) ? ts::Scalar(-32767) : ts::Scalar(std::nearbyint(static_cast<float>(p))));
        }
    record("/geophysical_data", "chlor_a", "raw", packed);
    const ts::NDArray decoded = ts::open_netcdf(dir + "/granule.nc").group("geophysical_data").variable("chlor_a").compute();
    CHECK(decoded.dtype() == ts::float32);
    CHECK(ts::open_netcdf(dir + "/granule.nc").group("geophysical_data").variable("chlor_a", {.decode_cf = false})
              .compute().equals(packed));
    record("/geophysical_data", "chlor_a", "cf", decoded);
    record("/geophysical_data", "l2_flags", "raw", flags);
    record("/geophysical_data", "bytes", "raw", bytes);
    record("/geophysical_data", "big", "raw", big);
}
