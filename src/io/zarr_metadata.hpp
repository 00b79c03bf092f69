#pragma once
// Internal: Zarr array metadata, v2 (.zarray + .zattrs) and v3 (zarr.json), parsed from and
// written to JSON with zarr-python's conventions.
//
//     ZarrArrayMetadata m = ZarrArrayMetadata::v2(ts::float32, {100, 80}, {30, 40});
//     m.compressor = {{"id", "zstd"}, {"level", 3}};
//     m.fill_value = fill_bytes(ts::float32, std::nan(""));
//     std::string text = to_v2_zarray(m).dump(4);

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/io/codec_pipeline.hpp"
#include "src/io/codecs.hpp"
#include "tessera/dtype.hpp"
#include "tessera/shape.hpp"

namespace tessera::io {

/// Everything a Zarr array's metadata says, for both formats.
struct ZarrArrayMetadata {
    int zarr_format = 2;
    Shape shape;
    /// The chunk shape of the chunk grid (with sharding: the shard shape).
    Shape chunks;
    DType dtype = float64;
    /// v2: the byte order of the typestr (">f4"). v3 keeps the byte order in `codecs`.
    bool big_endian = false;
    /// v2: 'C' or 'F'. v3 uses a transpose codec instead.
    char order = 'C';
    /// The fill value as the native bytes of one element; empty for null (zeros on read).
    std::vector<std::byte> fill_value;
    /// v2 dimension_separator, or the separator of v3's chunk_key_encoding: '.' or '/'.
    char separator = '.';
    /// v3 only: chunk_key_encoding "v2" ("0.1") instead of "default" ("c/0/1").
    bool v2_chunk_keys = false;
    /// v2: the numcodecs compressor configuration, or null.
    json compressor;
    /// v3: the "codecs" list.
    json codecs = json::array();
    /// User attributes (.zattrs, or "attributes" of zarr.json), without _ARRAY_DIMENSIONS.
    json attributes = json::object();
    /// v2 .zattrs _ARRAY_DIMENSIONS or v3 dimension_names (null names as "").
    std::optional<std::vector<std::string>> dimension_names;

    /// zarr-python 2's defaults: blosc (lz4, clevel 5, byte shuffle), fill value 0, C order, ".".
    static ZarrArrayMetadata v2(DType dtype, Shape shape, Shape chunks);
    /// v3 defaults: codecs bytes (little-endian) + zstd (level 0), fill value 0, keys "c/0/1".
    static ZarrArrayMetadata v3(DType dtype, Shape shape, Shape chunks);

    friend bool operator==(const ZarrArrayMetadata&, const ZarrArrayMetadata&) = default;
};

/// Parses JSON text; IOError "<where>: malformed JSON: <parser message>".
json parse_json_text(std::string_view text, const std::string& where);

/// Metadata from a parsed .zarray and .zattrs (null when absent). IOError "<where>: ..." naming
/// the bad key; `where` is "<path>/.zarray" and `attrs_where` "<path>/.zattrs".
ZarrArrayMetadata metadata_from_v2(const json& zarray, const json& zattrs, const std::string& where,
                                   const std::string& attrs_where);
/// Metadata from a parsed v3 zarr.json of node_type "array"; IOError "<where>: ...".
ZarrArrayMetadata metadata_from_v3(const json& zarr_json, const std::string& where);

/// Checks shapes, chunks, the fill value's size and the codecs, and returns the codec chain of
/// one chunk. IOError without a path ("'chunks' has 1 dimensions but 'shape' has 2").
CodecPipeline make_pipeline(const ZarrArrayMetadata& metadata);

/// The .zarray, .zattrs and v3 zarr.json documents.
json to_v2_zarray(const ZarrArrayMetadata& metadata);
json to_v2_zattrs(const ZarrArrayMetadata& metadata);
json to_v3_zarr_json(const ZarrArrayMetadata& metadata);

/// The native bytes of `value` converted to `dtype` (for ZarrArrayMetadata::fill_value).
std::vector<std::byte> fill_bytes(DType dtype, const Scalar& value);
/// Parses a JSON fill value; IOError "invalid fill_value \"abc\" for dtype int32" or
/// "fill_value 300 is out of range for dtype uint8". v3 also takes "0x..." bit patterns.
std::vector<std::byte> parse_fill_value(const json& value, DType dtype, int zarr_format);
/// The JSON spelling of a fill value: numbers, "NaN", "Infinity", "-Infinity", [re, im], null.
json fill_value_json(const std::vector<std::byte>& fill, DType dtype, int zarr_format);

/// The v2 typestr of a dtype and byte order ("<f8", ">i2", "|u1").
std::string v2_typestr(DType dtype, bool big_endian);

}  // namespace tessera::io
