// A corpus of deliberately broken Zarr stores, generated here: each one must give an IOError
// naming the path and the key, with the exact message below (never a crash or garbage data).

#include <doctest/doctest.h>

#include <map>
#include <string>

#include "src/io/codecs.hpp"
#include "src/io/zarr_group.hpp"
#include "src/io/zarr_store.hpp"
#include "tests/io/io_test_util.hpp"

namespace ts = tessera;
using ts::io::json;
using iotest::TempDir;

namespace {

// Writes the files of a store named `name` under `dir` and returns its path.
std::string make_store(const TempDir& dir, const std::string& name,
                       const std::map<std::string, std::string>& files) {
    const std::string path = dir / name;
    std::filesystem::create_directories(path);
    for (const auto& [key, text] : files) iotest::write_text(path + "/" + key, text);
    return path;
}

std::string zarray(const std::string& overrides) {
    json j = json::parse(R"({"zarr_format": 2, "shape": [4, 6], "chunks": [2, 3], "dtype": "<i4",
        "compressor": null, "fill_value": 0, "order": "C", "filters": null})");
    j.merge_patch(json::parse(overrides));
    return j.dump();
}

std::string v3_array(const std::string& overrides) {
    json j = json::parse(R"({"zarr_format": 3, "node_type": "array", "shape": [4, 4],
        "data_type": "int32", "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [4, 4]}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": 0, "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}]})");
    j.merge_patch(json::parse(overrides));
    return j.dump();
}

std::string as_string(const ts::io::Bytes& b) {
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

#define CHECK_OPEN_FAILS(path, message)                                                         \
    CHECK_THROWS_WITH_AS(ts::io::ZarrArrayStore::open(path), std::string(message).c_str(),     \
                         ts::IOError)

}  // namespace

TEST_CASE("broken v2 metadata") {
    TempDir dir;
    const auto bad = [&](const char* name, const std::string& text) {
        return make_store(dir, name, {{".zarray", text}});
    };
    std::string p = dir / "nothing";
    CHECK_OPEN_FAILS(p, p + ": no Zarr array found (neither zarr.json nor .zarray exists)");
    p = bad("trunc", R"({"zarr_format": 2, "shape": )");
    CHECK_OPEN_FAILS(p, p + "/.zarray: malformed JSON: parse error at line 1, column 29: syntax "
                            "error while parsing value - unexpected end of input; expected '[', "
                            "'{', or a literal");
    p = bad("list", "[1, 2]");
    CHECK_OPEN_FAILS(p, p + "/.zarray: must be a JSON object, got [1,2]");
    p = bad("noshape", R"({"zarr_format": 2, "chunks": [1], "dtype": "<f8"})");
    CHECK_OPEN_FAILS(p, p + "/.zarray: missing key 'shape'");
    p = bad("format", zarray(R"({"zarr_format": 3})"));
    CHECK_OPEN_FAILS(p, p + "/.zarray: 'zarr_format' must be 2, got 3");
    p = bad("negshape", zarray(R"({"shape": [2, -1]})"));
    CHECK_OPEN_FAILS(p, p + "/.zarray: 'shape' must be a list of non-negative integers, got [2,-1]");
    p = bad("zerochunk", zarray(R"({"chunks": [0, 2]})"));
    CHECK_OPEN_FAILS(p, p + "/.zarray: 'chunks' must be a list of positive integers, got [0,2]");
    p = bad("strchunk", zarray(R"({"chunks": "auto"})"));
    CHECK_OPEN_FAILS(p, p + "/.zarray: 'chunks' must be a list of positive integers, got \"auto\"");
    p = bad("rank", zarray(R"({"chunks": [2]})"));
    CHECK_OPEN_FAILS(p, p + "/.zarray: 'shape' has 2 dimensions but 'chunks' has 1");
    p = bad("f2", zarray(R"({"dtype": "<f2"})"));
    CHECK_OPEN_FAILS(p, p + "/.zarray: unsupported dtype \"<f2\"");
    p = bad("object", zarray(R"({"dtype": "|O"})"));
    CHECK_OPEN_FAILS(p, p + "/.zarray: unsupported dtype \"|O\"");
    p = bad("struct", zarray(R"({"dtype": [["a", "<f4"]]})"));
    CHECK_OPEN_FAILS(p, p + "/.zarray: unsupported dtype [[\"a\",\"<f4\"]]");
    p = bad("order", zarray(R"({"order": "K"})"));
    CHECK_OPEN_FAILS(p, p + "/.zarray: 'order' must be \"C\" or \"F\", got \"K\"");
    p = bad("codec", zarray(R"({"compressor": {"id": "snappy2"}})"));
    CHECK_OPEN_FAILS(p, p + "/.zarray: unknown compressor 'snappy2'");
    p = bad("cname", zarray(R"({"compressor": {"id": "blosc", "cname": "lzma", "clevel": 5, "shuffle": 1}})"));
    CHECK_OPEN_FAILS(p, p + "/.zarray: blosc: unknown cname 'lzma'");
    p = bad("filters", zarray(R"({"filters": [{"id": "delta", "dtype": "<i4"}]})"));
    CHECK_OPEN_FAILS(p, p + "/.zarray: filters are not supported, got [{\"dtype\":\"<i4\",\"id\":\"delta\"}]");
    p = bad("fill", zarray(R"({"fill_value": "abc"})"));
    CHECK_OPEN_FAILS(p, p + "/.zarray: invalid fill_value \"abc\" for dtype int32");
    p = bad("fillrange", zarray(R"({"dtype": "|u1", "fill_value": 256})"));
    CHECK_OPEN_FAILS(p, p + "/.zarray: fill_value 256 is out of range for dtype uint8");
    p = bad("sep", zarray(R"({"dimension_separator": "-"})"));
    CHECK_OPEN_FAILS(p, p + "/.zarray: 'dimension_separator' must be \".\" or \"/\", got \"-\"");
    p = make_store(dir, "attrs", {{".zarray", zarray("{}")}, {".zattrs", "{\"a\": }"}});
    CHECK_OPEN_FAILS(p, p + "/.zattrs: malformed JSON: parse error at line 1, column 7: syntax "
                            "error while parsing value - unexpected '}'; expected '[', '{', or a literal");
    p = make_store(dir, "attrlist", {{".zarray", zarray("{}")}, {".zattrs", "[]"}});
    CHECK_OPEN_FAILS(p, p + "/.zattrs: must be a JSON object, got []");
    p = make_store(dir, "dims", {{".zarray", zarray("{}")}, {".zattrs", R"({"_ARRAY_DIMENSIONS": ["x"]})"}});
    CHECK_OPEN_FAILS(p, p + "/.zattrs: '_ARRAY_DIMENSIONS' must be a list of 2 strings, got [\"x\"]");
    p = make_store(dir, "group", {{".zgroup", R"({"zarr_format": 2})"}});
    CHECK_OPEN_FAILS(p, p + ": is a Zarr group, not an array");
    p = make_store(dir, "isdir", {{".zarray/x", ""}});
    CHECK_OPEN_FAILS(p, "cannot read " + p + "/.zarray: Is a directory");
}

TEST_CASE("corrupt, truncated and wrongly sized v2 chunks") {
    TempDir dir;
    // float32 chunks of 32 x 32 = 4096 bytes.
    const auto store_with = [&](const char* name, const std::string& compressor, const std::string& key,
                                const std::string& chunk) {
        const std::string p = make_store(dir, name, {{".zarray", zarray(R"({"shape": [32, 64], "chunks": [32, 32],
            "dtype": "<f4", "compressor": )" + compressor + "}")}});
        iotest::write_text(p + "/" + key, chunk);
        return p;
    };
    const ts::io::Bytes hundred(100, std::byte{1});
    const auto packed = [&](const char* config) {
        return as_string(ts::io::make_v2_compressor(json::parse(config), 4)->encode(hundred));
    };
    std::string p = store_with("zstd", R"({"id": "zstd", "level": 1})", "0.1", packed(R"({"id": "zstd"})"));
    CHECK_THROWS_WITH_AS(ts::io::ZarrArrayStore::open(p).read_chunk({0, 1}),
                         ("chunk '0.1' of " + p + ": expected 4096 bytes after decompression, got 100").c_str(),
                         ts::IOError);
    p = store_with("raw", "null", "0.0", std::string(4095, 'x'));
    CHECK_THROWS_WITH_AS(ts::io::ZarrArrayStore::open(p).read_chunk({0, 0}),
                         ("chunk '0.0' of " + p + ": expected 4096 bytes after decompression, got 4095").c_str(),
                         ts::IOError);
    p = store_with("blosc", R"({"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1})", "0.0",
                   packed(R"({"id": "blosc"})").substr(0, 10));
    CHECK_THROWS_WITH_AS(ts::io::ZarrArrayStore::open(p).read_chunk({0, 0}),
                         ("chunk '0.0' of " + p + ": blosc: corrupt or truncated data (10 bytes)").c_str(),
                         ts::IOError);
    p = store_with("bloscsize", R"({"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1})", "0.1",
                   packed(R"({"id": "blosc"})"));
    CHECK_THROWS_WITH_AS(ts::io::ZarrArrayStore::open(p).read_chunk({0, 1}),
                         ("chunk '0.1' of " + p + ": expected 4096 bytes after decompression, got 100").c_str(),
                         ts::IOError);
    p = store_with("zlib", R"({"id": "zlib", "level": 1})", "0.0", "not zlib at all");
    CHECK_THROWS_WITH_AS(ts::io::ZarrArrayStore::open(p).read_chunk({0, 0}),
                         ("chunk '0.0' of " + p + ": zlib: corrupt data: incorrect header check").c_str(),
                         ts::IOError);
    const std::string gz = packed(R"({"id": "gzip"})");
    p = store_with("gzip", R"({"id": "gzip", "level": 1})", "0.0", gz.substr(0, gz.size() - 6));
    CHECK_THROWS_WITH_AS(ts::io::ZarrArrayStore::open(p).read_chunk({0, 0}),
                         fmt::format("chunk '0.0' of {}: gzip: truncated data ({} bytes)", p, gz.size() - 6).c_str(),
                         ts::IOError);
    p = store_with("lz4", R"({"id": "lz4", "acceleration": 1})", "0.1", packed(R"({"id": "lz4"})"));
    CHECK_THROWS_WITH_AS(ts::io::ZarrArrayStore::open(p).read_chunk({0, 1}),
                         ("chunk '0.1' of " + p + ": expected 4096 bytes after decompression, got 100").c_str(),
                         ts::IOError);
    std::string lz4 = as_string(ts::io::make_v2_compressor(json::parse(R"({"id": "lz4"})"), 4)
                                    ->encode(ts::io::Bytes(4096, std::byte{7})));
    lz4.resize(lz4.size() - 3);
    p = store_with("lz4trunc", R"({"id": "lz4", "acceleration": 1})", "0.0", lz4);
    CHECK_THROWS_WITH_AS(ts::io::ZarrArrayStore::open(p).read_chunk({0, 0}),
                         fmt::format("chunk '0.0' of {}: lz4: corrupt or truncated data ({} bytes)", p, lz4.size()).c_str(),
                         ts::IOError);
    p = store_with("bz2", R"({"id": "bz2", "level": 1})", "0.0", "BZh9 garbage garbage");
    CHECK_THROWS_WITH_AS(ts::io::ZarrArrayStore::open(p).read_chunk({0, 0}),
                         ("chunk '0.0' of " + p + ": bz2: corrupt data (error -4)").c_str(), ts::IOError);
    p = store_with("dirchunk", "null", "0.0/x", "");
    CHECK_THROWS_WITH_AS(ts::io::ZarrArrayStore::open(p).read_chunk({0, 0}),
                         ("chunk '0.0' of " + p + ": cannot read " + p + "/0.0: Is a directory").c_str(),
                         ts::IOError);
}

TEST_CASE("broken v3 metadata") {
    TempDir dir;
    const auto bad = [&](const char* name, const std::string& text) {
        return make_store(dir, name, {{"zarr.json", text}});
    };
    std::string p = bad("json", "{\"zarr_format\": 3,}");
    CHECK_OPEN_FAILS(p, p + "/zarr.json: malformed JSON: parse error at line 1, column 19: syntax "
                            "error while parsing object key - unexpected '}'; expected string literal");
    p = bad("group", R"({"zarr_format": 3, "node_type": "group"})");
    CHECK_OPEN_FAILS(p, p + "/zarr.json: 'node_type' must be \"array\", got \"group\"");
    p = bad("f16", v3_array(R"({"data_type": "float16"})"));
    CHECK_OPEN_FAILS(p, p + "/zarr.json: unsupported data_type \"float16\"");
    p = bad("numpyname", v3_array(R"({"data_type": "<i4"})"));
    CHECK_OPEN_FAILS(p, p + "/zarr.json: unsupported data_type \"<i4\"");
    p = bad("grid", v3_array(R"({"chunk_grid": {"name": "rectilinear"}})"));
    CHECK_OPEN_FAILS(p, p + "/zarr.json: unsupported chunk_grid "
                            "{\"configuration\":{\"chunk_shape\":[4,4]},\"name\":\"rectilinear\"}");
    p = bad("keys", v3_array(R"({"chunk_key_encoding": {"name": "flat"}})"));
    CHECK_OPEN_FAILS(p, p + "/zarr.json: unsupported chunk_key_encoding "
                            "{\"configuration\":{\"separator\":\"/\"},\"name\":\"flat\"}");
    p = bad("nofill", v3_array(R"({"fill_value": null})"));
    CHECK_OPEN_FAILS(p, p + "/zarr.json: missing key 'fill_value'");
    p = bad("codec", v3_array(R"({"codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "lzma"}]})"));
    CHECK_OPEN_FAILS(p, p + "/zarr.json: unknown codec 'lzma'");
    p = bad("nocodec", v3_array(R"({"codecs": []})"));
    CHECK_OPEN_FAILS(p, p + "/zarr.json: 'codecs' has no array-to-bytes codec (bytes or sharding_indexed)");
    p = bad("order1", v3_array(R"({"codecs": [{"name": "bytes", "configuration": {"endian": "little"}},
        {"name": "transpose", "configuration": {"order": [1, 0]}}]})"));
    CHECK_OPEN_FAILS(p, p + "/zarr.json: codec 'transpose' cannot follow the array-to-bytes codec");
    p = bad("order2", v3_array(R"({"codecs": [{"name": "gzip", "configuration": {"level": 1}},
        {"name": "bytes", "configuration": {"endian": "little"}}]})"));
    CHECK_OPEN_FAILS(p, p + "/zarr.json: codec 'gzip' must follow the array-to-bytes codec");
    p = bad("endian", v3_array(R"({"codecs": [{"name": "bytes"}]})"));
    CHECK_OPEN_FAILS(p, p + "/zarr.json: bytes: 'endian' is required for data type int32");
    p = bad("perm", v3_array(R"({"codecs": [{"name": "transpose", "configuration": {"order": [0, 0]}},
        {"name": "bytes", "configuration": {"endian": "little"}}]})"));
    CHECK_OPEN_FAILS(p, p + "/zarr.json: transpose: order [0,0] is not a permutation of 2 axes");
    p = bad("divisible", v3_array(R"({"codecs": [{"name": "sharding_indexed", "configuration": {
        "chunk_shape": [3, 2], "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}]}}]})"));
    CHECK_OPEN_FAILS(p, p + "/zarr.json: sharding_indexed: shard shape (4, 4) is not divisible by the inner chunk shape (3, 2)");
    p = bad("index", v3_array(R"({"codecs": [{"name": "sharding_indexed", "configuration": {
        "chunk_shape": [2, 2], "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
        "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "gzip"}]}}]})"));
    CHECK_OPEN_FAILS(p, p + "/zarr.json: sharding_indexed: 'index_codecs' must not compress the index");
    p = bad("transformers", v3_array(R"({"storage_transformers": [{"name": "x"}]})"));
    CHECK_OPEN_FAILS(p, p + "/zarr.json: storage_transformers are not supported, got [{\"name\":\"x\"}]");
    p = bad("dimnames", v3_array(R"({"dimension_names": ["x", 3]})"));
    CHECK_OPEN_FAILS(p, p + "/zarr.json: 'dimension_names' must be a list of 2 strings or nulls, got [\"x\",3]");
    p = bad("hexfill", v3_array(R"({"data_type": "float32", "fill_value": "0x7fc0"})"));
    CHECK_OPEN_FAILS(p, p + "/zarr.json: invalid fill_value \"0x7fc0\" for dtype float32");
}

TEST_CASE("broken shards") {
    TempDir dir;
    const std::string meta = v3_array(R"({"codecs": [{"name": "sharding_indexed", "configuration": {
        "chunk_shape": [2, 2], "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
        "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}]}}]})");
    // A valid shard written by the store, then damaged in several ways.
    const std::string good_path = make_store(dir, "good", {{"zarr.json", meta}});
    auto good = ts::io::ZarrArrayStore::open(good_path, "r+");
    good.write_chunk({0, 0}, iotest::test_values(ts::int32, {4, 4}, 5));
    const std::string shard = iotest::read_text(good_path + "/c/0/0");
    REQUIRE(shard.size() == 4 * 16 + 68);
    const auto broken = [&](const char* name, const std::string& bytes) {
        const std::string p = make_store(dir, name, {{"zarr.json", meta}, {"c/0/0", bytes}});
        return std::make_pair(p, ts::io::ZarrArrayStore::open(p));
    };
    auto [p1, s1] = broken("short", shard.substr(0, 10));
    CHECK_THROWS_WITH_AS(s1.read_chunk({0, 0}),
                         ("chunk 'c/0/0' of " + p1 + ": sharding_indexed: shard of 10 bytes is smaller than its index (68 bytes)").c_str(),
                         ts::IOError);
    std::string flipped = shard;
    flipped[70] = static_cast<char>(flipped[70] ^ 0x10);  // inside the index
    const std::string index_part = flipped.substr(64, 64);
    const std::uint32_t actual = ts::io::crc32c(std::as_bytes(std::span(index_part.data(), index_part.size())));
    const std::uint32_t stored = ts::io::crc32c(std::as_bytes(std::span(shard.data() + 64, 64)));
    auto [p2, s2] = broken("crc", flipped);
    CHECK_THROWS_WITH_AS(s2.read_chunk({0, 0}),
                         fmt::format("chunk 'c/0/0' of {}: sharding_indexed: index: crc32c: checksum "
                                     "mismatch (stored {:#010x}, computed {:#010x})", p2, stored, actual).c_str(),
                         ts::IOError);
    // Rewrite the index so that inner chunk (0, 1) points past the end, or has the wrong size.
    const auto with_entry = [&](int entry, std::uint64_t offset, std::uint64_t nbytes) {
        std::string out = shard.substr(0, 64);
        std::string index = shard.substr(64, 64);
        std::memcpy(index.data() + 16 * entry, &offset, 8);
        std::memcpy(index.data() + 16 * entry + 8, &nbytes, 8);
        const std::uint32_t crc = ts::io::crc32c(std::as_bytes(std::span(index.data(), index.size())));
        out += index;
        out.append(reinterpret_cast<const char*>(&crc), 4);
        return out;
    };
    auto [p3, s3] = broken("offset", with_entry(1, 1000, 16));
    CHECK_THROWS_WITH_AS(s3.read_chunk({0, 0}),
                         ("chunk 'c/0/0' of " + p3 + ": sharding_indexed: inner chunk (0, 1) at bytes [1000, 1016) lies outside the shard of 132 bytes").c_str(),
                         ts::IOError);
    auto [p4, s4] = broken("size", with_entry(0, 0, 8));
    CHECK_THROWS_WITH_AS(s4.read_chunk({0, 0}),
                         ("chunk 'c/0/0' of " + p4 + ": sharding_indexed: inner chunk (0, 0): expected 16 bytes after decompression, got 8").c_str(),
                         ts::IOError);
}

TEST_CASE("broken groups and consolidated metadata") {
    TempDir dir;
    std::string p = dir / "none";
    CHECK_THROWS_WITH_AS(ts::io::ZarrGroup::open(p),
                         (p + ": no Zarr group found (neither zarr.json nor .zgroup exists)").c_str(), ts::IOError);
    p = make_store(dir, "arr", {{".zarray", zarray("{}")}});
    CHECK_THROWS_WITH_AS(ts::io::ZarrGroup::open(p), (p + ": is a Zarr array, not a group").c_str(), ts::IOError);
    p = make_store(dir, "v3arr", {{"zarr.json", v3_array("{}")}});
    CHECK_THROWS_WITH_AS(ts::io::ZarrGroup::open(p), (p + "/zarr.json: 'node_type' must be \"group\", got \"array\"").c_str(),
                         ts::IOError);
    p = make_store(dir, "g", {{".zgroup", R"({"zarr_format": 2})"}});
    CHECK_THROWS_WITH_AS(ts::io::ZarrGroup::open_consolidated(p), (p + "/.zmetadata: no such file").c_str(), ts::IOError);
    p = make_store(dir, "nometa", {{".zgroup", R"({"zarr_format": 2})"}, {".zmetadata", R"({"zarr_consolidated_format": 1})"}});
    CHECK_THROWS_WITH_AS(ts::io::ZarrGroup::open_consolidated(p), (p + "/.zmetadata: missing key 'metadata'").c_str(),
                         ts::IOError);
    p = make_store(dir, "cons", {{".zgroup", R"({"zarr_format": 2})"},
                                 {".zmetadata", R"({"zarr_consolidated_format": 1, "metadata": {
                                     ".zgroup": {"zarr_format": 2}, "a/.zarray": {"zarr_format": 2, "shape": [2], "chunks": [1]}}})"}});
    const auto g = ts::io::ZarrGroup::open_consolidated(p);
    CHECK(g.array_names() == std::vector<std::string>{"a"});
    CHECK_THROWS_WITH_AS(g.open_array("a"), (p + "/.zmetadata['a/.zarray']: missing key 'dtype'").c_str(), ts::IOError);
    CHECK_THROWS_WITH_AS(g.open_array("zz"), (p + "/.zmetadata: no array 'zz' in the consolidated metadata").c_str(),
                         ts::IOError);
    CHECK_THROWS_WITH_AS(g.create_group("x"), (p + ": the group was opened read-only").c_str(), ts::IOError);
}
