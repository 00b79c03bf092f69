#pragma once
/// \file io.hpp
/// Array storage: Zarr (v2, v3) and .npy, lazy reads and parallel, crash-safe writes.
///
///     ts::Array t = ts::from_zarr("/data/era5.zarr", "t2m");      // lazy, one task per chunk
///     auto dims = t.dims();                                      // {"time", "lat", "lon"}
///     ts::to_zarr(t.mean(0), "/data/mean.zarr",
///                 {.mode = "w", .compressor = R"({"id": "zstd", "level": 3})"});
///     ts::Array x = ts::load_npy("/data/x.npy", {1000, -1});      // memory-mapped, lazy
///     ts::to_npy(x * 2, "/data/y.npy");
///
/// Every load and store runs in registered tasks ("tessera.zarr_load", "tessera.zarr_write",
/// "tessera.zarr_metadata", "tessera.npy_load", "tessera.npy_write", "tessera.npy_finish") whose
/// parameters carry the path and the array's metadata, so distributed workers run them too.
/// Errors are IOErrors naming the path (and the chunk key for chunk-level failures).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tessera/array.hpp"

namespace tessera {

// ------------------------------------------------------------------------------ Zarr

/// Options of from_zarr.
struct ZarrReadOptions {
    /// Array chunk = this many store chunks along each axis (one value for every axis, or one
    /// per axis); empty = the store's chunks. ChunkError for a count < 1 or the wrong length.
    std::vector<std::int64_t> chunk_multiple = {};
};

/// A lazy Array over the Zarr (v2 or v3) array at `path`: one load task per array chunk, array
/// chunks = store chunks (times options.chunk_multiple); missing chunks read as the fill value.
/// dims() are the v2 `_ARRAY_DIMENSIONS` / v3 `dimension_names` (empty when unset).
/// IOError "<path>: no Zarr array found (neither zarr.json nor .zarray exists)", for malformed
/// metadata, and at compute time "chunk '<key>' of <path>: ..." for corrupt chunks.
Array from_zarr(const std::string& path, const ZarrReadOptions& options = {});
/// The array `name` ("temp", "sub/x") of the group at `path`, through the v2 consolidated
/// metadata (.zmetadata) when the group has one. IOError as above, or "<path>: no Zarr group
/// found (neither zarr.json nor .zgroup exists)".
Array from_zarr(const std::string& path, std::string_view name, const ZarrReadOptions& options = {});

/// The user attributes of the Zarr array or group at `path` (or of its member `name`) as JSON
/// object text, without `_ARRAY_DIMENSIONS`. IOError when there is no array or group.
///
///     std::string units = ...;  // parse zarr_attrs("/data/x.zarr") with any JSON library
std::string zarr_attrs(const std::string& path, const std::string& name = "");

/// Options of to_zarr.
struct ZarrWriteOptions {
    /// "w" (replace whatever is at the path), "w-" (create; fail when something exists),
    /// "a" (write into the existing array, or create it), "r+" (write into the existing array).
    std::string mode = "w-";
    /// Part of an existing array to write, {start, stop} per axis (stop - start = the array's
    /// extent); empty = the whole array. Starts must be multiples of the store chunks and stops
    /// too unless they are the array's end (ChunkError naming the axis otherwise). Needs "a" or
    /// "r+" and an existing array.
    std::vector<std::pair<std::int64_t, std::int64_t>> region = {};
    /// The compressor as numcodecs JSON (`{"id": "blosc", "cname": "zstd", "clevel": 3,
    /// "shuffle": 1}`, "zstd", "zlib", "gzip", "bz2", "lz4"), "none", or "" for the default
    /// (v2: blosc lz4 level 5 with byte shuffle; v3: zstd level 0). For v3 it becomes the
    /// bytes-to-bytes codec after "bytes".
    std::string compressor = "";
    /// 2 or 3.
    int zarr_format = 2;
    /// Store chunk shape (with `shards`: the inner chunk shape); empty = the array's chunks
    /// (ChunkError naming the axis when they are irregular). Array chunks need not align: every
    /// store chunk (shard) is assembled from the array blocks it overlaps, in its own write task.
    Shape chunks = {};
    /// v3 only: the shard shape, a multiple of `chunks` (the inner chunks) along every axis; empty
    /// = no sharding. Each shard is one stored object written by one task (sharding_indexed codec:
    /// inner chunks encoded as without sharding, an index of (offset, nbytes) pairs encoded with
    /// bytes + crc32c at the end; inner chunks holding only the fill value are left out).
    /// ValueError for v2, ChunkError naming the axis when a shard is not a multiple of `chunks`.
    ///
    ///     ts::to_zarr(a, "/data/s.zarr", {.zarr_format = 3, .chunks = {64, 64}, .shards = {512, 512}});
    Shape shards = {};
    /// Dimension names (one per axis; ShapeError otherwise); empty = the array's dims().
    std::vector<std::string> dims = {};
    /// User attributes as JSON object text ("" = none; existing ones are kept in "a"/"r+").
    std::string attrs = "";
    /// Fill value (default 0; NaN allowed for floats).
    std::optional<double> fill_value = std::nullopt;
    /// v2 dimension separator ('.' or '/').
    char separator = '.';
    /// Memory order of the stored chunks: 'C' or 'F' (v2 "order", v3 a transpose codec).
    /// ValueError otherwise.
    char order = 'C';
    /// Run now (true) or return the lazy store operation (false).
    bool compute = true;
    /// Used when compute is true.
    ComputeOptions compute_options = {};
};

/// Stores `array` as a Zarr array at `path`: one crash-safe write task per store chunk (a
/// temporary file renamed over the chunk), then one task writing the metadata last. Returns a
/// 0-d int64 Array holding the number of chunks written: already computed when options.compute,
/// else lazy (compute() it later; nothing but the directory exists until then, and in mode "w"
/// the old contents are already gone). IOError "<path>: an array or group already exists there"
/// (w-), "<path>: no Zarr array found (neither zarr.json nor .zarray exists)" (r+ on a missing
/// path), "<path>: the existing array has shape (4, 5), not (4, 6)" / "... dtype int32, not
/// float64" (a, r+); ChunkError for misaligned regions or irregular chunks; ValueError for a bad
/// mode or region.
Array to_zarr(const Array& array, const std::string& path, const ZarrWriteOptions& options = {});

/// Options of zarr_create_group.
struct ZarrGroupOptions {
    /// "w" (replace whatever is at the path), "w-" (create; fail when something exists), "a"
    /// (keep an existing group, updating its attributes, or create one).
    std::string mode = "w-";
    /// 2 (.zgroup + .zattrs) or 3 (zarr.json with node_type "group").
    int zarr_format = 2;
    /// User attributes as JSON object text ("" = none; merged into existing ones in "a").
    std::string attrs = "";
};

/// Creates a Zarr group at `path` (parent directories too) and writes its metadata now, as
/// zarr.open_group(mode=...) does; arrays are then added with to_zarr(array, path + "/name").
/// IOError "<path>: an array or group already exists there" (w-), ValueError for a bad mode,
/// format or attrs.
///
///     ts::zarr_create_group("/data/ds.zarr", {.mode = "w", .attrs = R"({"title": "run 1"})"});
///     ts::to_zarr(t2m, "/data/ds.zarr/t2m", {.dims = {"time", "lat", "lon"}});
///     ts::zarr_consolidate_metadata("/data/ds.zarr");   // xr.open_zarr reads one file
void zarr_create_group(const std::string& path, const ZarrGroupOptions& options = {});

/// Gathers every .zgroup, .zarray and .zattrs below the v2 group at `path` into its .zmetadata,
/// like zarr.consolidate_metadata (call it again after adding members). IOError "<path>: no
/// .zgroup (consolidated metadata is for v2 groups)" or for unreadable members.
void zarr_consolidate_metadata(const std::string& path);

// ------------------------------------------------------------------------------ .npy

/// A lazy chunked view of the .npy file at `path` (format versions 1, 2 and 3, either byte
/// order, C or Fortran order): each task memory-maps the file and copies its block out.
/// IOError "<path>: not a .npy file (bad magic)", "<path>: cannot open: ...", DTypeError for
/// unsupported dtypes, NotImplemented for structured dtypes.
Array load_npy(const std::string& path, const ChunkSpec& chunks = {});

/// Writes `array` to the .npy file at `path` (format 1.0, or 2.0 for huge headers, native
/// little-endian, C order): each block is written in place into a temporary file by its own
/// task, and a last task writes the header and renames the file over `path`.
/// IOError naming the path on failure.
void to_npy(const Array& array, const std::string& path, const ComputeOptions& options = {});

}  // namespace tessera
