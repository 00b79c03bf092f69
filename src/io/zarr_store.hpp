#pragma once
// Internal: a Zarr array (v2 or v3) in a directory, read and written one chunk at a time. This is
// what from_zarr / to_zarr call from their tasks, on many threads at once.
//
//     auto meta = ZarrArrayMetadata::v2(ts::float64, {100, 70}, {32, 32});
//     ZarrArrayStore out = ZarrArrayStore::create("/data/x.zarr", meta, "w");
//     out.write_chunk({3, 2}, block);          // block shape (4, 6): the ragged corner
//     out.flush_metadata();                    // last: the array exists only from now on
//
//     ZarrArrayStore in = ZarrArrayStore::open("/data/x.zarr");
//     NDArray b = in.read_chunk({3, 2});       // (4, 6), C-contiguous, native byte order
//
// Chunks are stored full-size like zarr-python (edge chunks padded with the fill value) and
// cropped on read; a missing chunk reads as the fill value. Every chunk write goes to a
// temporary file in the same directory which is then renamed, so readers and a killed writer
// only ever see complete chunks. read_chunk, write_chunk, erase_chunk and chunk_exists are
// thread-safe (concurrent writers of distinct chunks are safe; of the same chunk, the last
// rename wins); the metadata setters are not.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/io/codec_pipeline.hpp"
#include "src/io/zarr_metadata.hpp"
#include "tessera/ndarray.hpp"

namespace tessera::io {

class ZarrArrayStore {
public:
    /// Opens the array at `path` (zarr.json, else .zarray + .zattrs) with mode "r" (read-only)
    /// or "r+". IOError "<path>: no Zarr array found (neither zarr.json nor .zarray exists)",
    /// "<path>/.zarray: malformed JSON: ...", "<path>/.zarray: unsupported dtype \"<f2\"", ...
    static ZarrArrayStore open(const std::string& path, std::string_view mode = "r");
    /// Prepares a new array at `path`. Modes: "w" deletes whatever is at `path` first; "w-"
    /// fails when an array or group is there; "a" opens the existing array (whose shape, chunks,
    /// dtype and format must match) or creates one; "r+" opens an existing, matching array.
    /// Nothing but the directory is written until flush_metadata(). IOError for bad metadata
    /// ("<path>: chunk extents must be positive, got (0, 2)") and mode conflicts.
    static ZarrArrayStore create(const std::string& path, ZarrArrayMetadata metadata,
                                 std::string_view mode = "w-");
    /// An array whose metadata was read elsewhere (consolidated metadata); validates it.
    static ZarrArrayStore from_metadata(const std::string& path, ZarrArrayMetadata metadata,
                                        bool writable);

    const std::string& path() const { return path_; }
    const ZarrArrayMetadata& metadata() const { return metadata_; }
    int zarr_format() const { return metadata_.zarr_format; }
    const Shape& shape() const { return metadata_.shape; }
    /// The chunk (shard) shape: the block size of every block but the last along each axis.
    const Shape& chunk_shape() const { return metadata_.chunks; }
    DType dtype() const { return metadata_.dtype; }
    bool writable() const { return writable_; }

    /// Blocks per axis: ceil(shape / chunks).
    Shape grid_shape() const;
    std::int64_t num_chunks() const;
    /// The shape of block `block` (smaller than chunk_shape() at the ragged ends). IndexError
    /// "block (2, 0) is out of bounds for the chunk grid (2, 3) of <path>".
    Shape block_shape(const Index& block) const;
    /// The storage key of a block: "0.1", "0/1", "c/0/1", "c.0.1", "0" or "c" for 0-d arrays.
    std::string chunk_key(const Index& block) const;

    /// The block's data as a C-contiguous native-endian array of block_shape(block); the fill
    /// value (zeros for a null one) when the chunk is missing. IOError "chunk '0.1' of <path>:
    /// expected 4096 bytes after decompression, got 100" and others for corrupt chunks.
    NDArray read_chunk(const Index& block) const;
    /// Stores the block (any layout; shape block_shape(block), dtype dtype()) crash-safely.
    /// ShapeError "chunk (1, 0) of <path> must have shape (3, 4), got (4, 4)", DTypeError for
    /// another dtype, IOError when read-only ("<path>: the array was opened read-only") or on
    /// write failures.
    void write_chunk(const Index& block, const NDArray& data) const;
    /// Removes a stored chunk (it then reads as the fill value); false when it was missing.
    bool erase_chunk(const Index& block) const;
    bool chunk_exists(const Index& block) const;
    /// The blocks that have a chunk on disk, in C order (temporary files never count).
    std::vector<Index> list_chunks() const;

    /// Writes the metadata documents (.zattrs then .zarray, or zarr.json), each atomically.
    void flush_metadata() const;
    const json& attributes() const { return metadata_.attributes; }
    /// Replaces the user attributes (persisted by flush_metadata()).
    void set_attributes(json attributes);
    /// Dimension names: v2 _ARRAY_DIMENSIONS (xarray) or v3 dimension_names; empty when unset.
    std::vector<std::string> dims() const;
    /// Sets the dimension names (one per axis; ShapeError otherwise).
    void set_dims(std::vector<std::string> names);

    /// The whole array assembled from its chunks (for tests and small arrays).
    NDArray read_all() const;
    /// Writes every block of `data` (shape shape(), dtype dtype()).
    void write_all(const NDArray& data) const;

private:
    ZarrArrayStore(std::string path, ZarrArrayMetadata metadata, bool writable);
    void check_block(const Index& block) const;
    std::string chunk_file(const Index& block) const { return path_ + "/" + chunk_key(block); }

    std::string path_;
    ZarrArrayMetadata metadata_;
    std::shared_ptr<const CodecPipeline> pipeline_;
    bool writable_ = false;
};

/// Reads the metadata of the array at `path` (zarr.json, else .zarray/.zattrs); nullopt when
/// neither exists. IOError for malformed documents.
std::optional<ZarrArrayMetadata> read_array_metadata(const std::string& path);

}  // namespace tessera::io
