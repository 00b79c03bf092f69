// Interop with zarr-python 2 (Debian's python3-zarr) both ways, through tests/io/zarr_interop.py.
// These cases FAIL (they never skip) when /usr/bin/python3 cannot import zarr and numcodecs.

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "src/io/zarr_group.hpp"
#include "src/io/zarr_store.hpp"
#include "tests/io/io_test_util.hpp"

namespace ts = tessera;
using ts::io::json;
using iotest::TempDir;

namespace {

constexpr const char* kNeedPython =
    "the Zarr interop tests need /usr/bin/python3 with zarr 2 and numcodecs "
    "(apt-get install python3-zarr python3-numcodecs)";

void run_helper(const std::string& verb, const TempDir& dir) {
    std::string output;
    const int status = iotest::run_python(verb + " '" + dir.path() + "'", output, dir / "python.log");
    INFO(kNeedPython);
    INFO("zarr_interop.py " << verb << " exited with " << status << ":\n" << output);
    REQUIRE(status == 0);
}

}  // namespace

TEST_CASE("arrays written by zarr-python read back bit for bit") {
    TempDir dir;
    run_helper("write", dir);
    const json manifest = json::parse(iotest::read_text(dir / "manifest.json"));
    REQUIRE(manifest["cases"].size() > 90);
    for (const json& c : manifest["cases"]) {
        const std::string name = c["name"];
        CAPTURE(c["note"].get<std::string>());
        const auto store = ts::io::ZarrArrayStore::open(dir / (name + ".zarr"));
        CHECK(store.dtype().name() == c["dtype"].get<std::string>());
        CHECK(store.shape() == c["shape"].get<ts::Shape>());
        const ts::NDArray got = store.read_all();
        CHECK(iotest::raw_bytes(got) == iotest::read_text(dir / (name + ".bin")));
    }

    // The group tree, plainly and through .zmetadata.
    for (bool consolidated : {false, true}) {
        CAPTURE(consolidated);
        const auto root = consolidated ? ts::io::ZarrGroup::open_consolidated(dir / "tree.zarr")
                                       : ts::io::ZarrGroup::open(dir / "tree.zarr");
        CHECK(root.consolidated() == consolidated);
        CHECK(root.attributes() == json({{"title", "interop"}}));
        CHECK(root.array_names() == std::vector<std::string>{"temp"});
        CHECK(root.group_names() == std::vector<std::string>{"sub"});
        const auto temp = root.open_array("temp");
        CHECK(temp.dims() == std::vector<std::string>{"y", "x"});
        CHECK(temp.attributes() == json({{"units", "K"}}));
        std::vector<float> expected(20);
        for (int k = 0; k < 20; ++k) expected[static_cast<std::size_t>(k)] = static_cast<float>(k);
        CHECK(iotest::bit_equal(temp.read_all(), ts::NDArray::from_vector(expected, {4, 5})));
        const auto sub = root.open_group("sub");
        CHECK(sub.attributes() == json({{"level", 2}}));
        CHECK(sub.array_names() == std::vector<std::string>{"b"});
        CHECK(sub.group_names() == std::vector<std::string>{"deeper"});
        CHECK(iotest::bit_equal(sub.open_array("b").read_all(),
                                ts::NDArray::from_vector<std::int32_t>({5, 6, -1})));
        CHECK(iotest::bit_equal(root.open_array("sub/b").read_all(),
                                ts::NDArray::from_vector<std::int32_t>({5, 6, -1})));
        CHECK(root.open_group("sub").open_group("deeper").array_names().empty());
    }
}

TEST_CASE("zarr-python reads what Tessera writes, and re-encodes identical chunk bytes") {
    TempDir dir;
    const std::vector<ts::DType> dtypes = {
        ts::bool_,  ts::int8,    ts::int16,   ts::int32,     ts::int64,     ts::uint8,  ts::uint16,
        ts::uint32, ts::uint64,  ts::float32, ts::float64,   ts::complex64, ts::complex128};
    const std::vector<json> compressors = {
        nullptr,
        {{"id", "blosc"}, {"cname", "lz4"}, {"clevel", 5}, {"shuffle", 1}, {"blocksize", 0}},
        {{"id", "blosc"}, {"cname", "zstd"}, {"clevel", 2}, {"shuffle", 2}, {"blocksize", 0}},
        {{"id", "blosc"}, {"cname", "blosclz"}, {"clevel", 9}, {"shuffle", 0}, {"blocksize", 0}},
        {{"id", "blosc"}, {"cname", "zlib"}, {"clevel", 1}, {"shuffle", -1}, {"blocksize", 0}},
        {{"id", "zstd"}, {"level", 3}},
        {{"id", "zlib"}, {"level", 6}},
        {{"id", "gzip"}, {"level", 5}},
        {{"id", "bz2"}, {"level", 2}},
        {{"id", "lz4"}, {"acceleration", 3}},
    };
    const std::vector<std::pair<ts::Shape, ts::Shape>> layouts = {
        {{11}, {4}}, {{7, 5}, {3, 2}}, {{4, 3, 5}, {2, 2, 2}}, {{}, {}}, {{0, 3}, {2, 2}}, {{3, 3}, {3, 3}}};
    json cases = json::array();
    int k = 0;
    for (ts::DType dtype : dtypes) {
        for (bool big : {false, true}) {
            if (big && dtype.itemsize() == 1) continue;
            for (int variant = 0; variant < 3; ++variant) {
                ++k;
                const auto& [shape, chunks] = layouts[static_cast<std::size_t>(k) % layouts.size()];
                auto meta = ts::io::ZarrArrayMetadata::v2(dtype, shape, chunks);
                meta.big_endian = big;
                meta.order = k % 2 ? 'F' : 'C';
                meta.separator = (k / 2) % 2 ? '/' : '.';
                meta.compressor = compressors[static_cast<std::size_t>(k) % compressors.size()];
                const ts::NDArray fill = iotest::test_values(dtype, {4}, k + 1000);
                meta.fill_value = ts::io::fill_bytes(dtype, fill.get_scalar(std::array<std::int64_t, 1>{k % 4}));
                const std::string name = fmt::format("t{:03d}", k);
                auto store = ts::io::ZarrArrayStore::create(dir / (name + ".zarr"), meta, "w-");
                const ts::NDArray data = iotest::test_values(dtype, shape, k);
                store.write_all(data);
                if (store.num_chunks() > 2) {
                    // A missing chunk: Python must read the fill value there.
                    const ts::Index last(store.grid_shape().size(), 0);
                    store.erase_chunk(last);
                    ts::NDArray expected = data.copy();
                    expected.assign_region(last, ts::NDArray::full(dtype, store.block_shape(last),
                                                                  fill.get_scalar(std::array<std::int64_t, 1>{k % 4})));
                    iotest::write_text(dir / (name + ".bin"), iotest::raw_bytes(expected));
                } else {
                    iotest::write_text(dir / (name + ".bin"), iotest::raw_bytes(data));
                }
                store.set_attributes({{"case", k}});
                store.flush_metadata();
                const bool gzip = meta.compressor.is_object() && meta.compressor["id"] == "gzip";
                cases.push_back({{"name", name},
                                 {"shape", shape},
                                 {"dtype", std::string(dtype.name())},
                                 {"typestr", ts::io::v2_typestr(dtype, big)},
                                 {"attrs", {{"case", k}}},
                                 // gzip headers carry a timestamp: values only.
                                 {"bitwise", !gzip},
                                 {"note", ts::io::to_v2_zarray(store.metadata()).dump()}});
            }
        }
    }
    // A group tree with consolidated metadata and xarray dimension names.
    auto root = ts::io::ZarrGroup::create(dir / "tree.zarr", 2, "w-");
    root.set_attributes({{"title", "from tessera"}});
    root.flush_metadata();
    auto x = root.create_array("x", ts::io::ZarrArrayMetadata::v2(ts::float64, {2, 2}, {1, 2}));
    x.set_dims({"row", "col"});
    x.write_all(ts::NDArray::from_vector<double>({1, 2, 3, 4}, {2, 2}));
    x.flush_metadata();
    auto sub = root.create_group("sub");
    auto y = sub.create_array("y", ts::io::ZarrArrayMetadata::v2(ts::int32, {3}, {2}));
    y.write_all(ts::NDArray::from_vector<std::int32_t>({1, 2, 3}));
    y.flush_metadata();
    ts::io::consolidate_metadata(dir / "tree.zarr");

    iotest::write_text(dir / "manifest.json", json({{"cases", cases}}).dump(1));
    run_helper("check", dir);
}
