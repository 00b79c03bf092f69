// from_zarr / to_zarr / zarr_attrs: Arrays over Zarr stores (src/io/zarr_store.hpp).
//
// Reading: node "from_zarr", one "tessera.zarr_load" task per array chunk (a block of
// chunk_multiple store chunks), without dependencies. Writing: node "to_zarr" with one
// "tessera.zarr_write" task per store chunk, whose inputs are the array blocks that overlap the
// chunk (so array chunks need not align with store chunks: the pieces are assembled in the write
// task), then node "zarr_metadata" whose single task depends on every write and writes the
// metadata last. Task parameters carry the path and the full metadata document, so a worker in
// another process needs nothing else.
#include <algorithm>
#include <filesystem>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "array/shape_ops.hpp"
#include "src/io/file_io.hpp"
#include "src/io/zarr_group.hpp"
#include "src/io/zarr_store.hpp"
#include "tessera/error.hpp"
#include "tessera/io.hpp"

namespace tessera {

std::vector<std::string> Array::dims() const { return node_->dims(); }

namespace detail {
namespace {

using io::json;
using io::ZarrArrayMetadata;
using io::ZarrArrayStore;

// ------------------------------------------------------------------------------ metadata text

std::string metadata_text(const ZarrArrayMetadata& m) {
    if (m.zarr_format == 3) return io::to_v3_zarr_json(m).dump();
    return json{{"zarray", io::to_v2_zarray(m)}, {"zattrs", io::to_v2_zattrs(m)}}.dump();
}

ZarrArrayMetadata parse_metadata_text(const std::string& path, const std::string& text) {
    const json j = io::parse_json_text(text, path);
    if (j.contains("zarray"))
        return io::metadata_from_v2(j["zarray"], j["zattrs"], path + "/.zarray", path + "/.zattrs");
    return io::metadata_from_v3(j, path + "/zarr.json");
}

// Tasks of one array share a store (its codec pipeline) instead of parsing the metadata again.
std::shared_ptr<const ZarrArrayStore> cached_store(const std::string& path, const std::string& meta,
                                                   bool writable) {
    static std::mutex mutex;
    static std::unordered_map<std::string, std::shared_ptr<const ZarrArrayStore>> cache;
    std::string key = path + '\n' + meta + (writable ? "\nw" : "\nr");
    {
        std::lock_guard lock(mutex);
        if (auto it = cache.find(key); it != cache.end()) return it->second;
    }
    auto store = std::make_shared<const ZarrArrayStore>(
        ZarrArrayStore::from_metadata(path, parse_metadata_text(path, meta), writable));
    std::lock_guard lock(mutex);
    if (cache.size() > 64) cache.clear();
    cache.emplace(std::move(key), store);
    return store;
}

// ------------------------------------------------------------------------------ load

struct LoadParams {
    std::string path, meta;
    std::vector<std::int64_t> first, count;  // store blocks [first, first + count) per axis

    template <class Archive>
    void serialize(Archive& ar) {
        ar(path, meta, first, count);
    }
};

Value zarr_load_op(const TaskContext& ctx) {
    const auto p = decode_shape_params<LoadParams>(ctx.task.params, "zarr_load");
    const auto store = cached_store(p.path, p.meta, false);
    const bool single = std::all_of(p.count.begin(), p.count.end(), [](auto c) { return c == 1; });
    if (single) return Value(store->read_chunk(p.first));
    const Shape& shape = store->shape();
    const Shape& chunk = store->chunk_shape();
    Shape out_shape(p.first.size());
    for (std::size_t axis = 0; axis < out_shape.size(); ++axis)
        out_shape[axis] = std::min(shape[axis], (p.first[axis] + p.count[axis]) * chunk[axis]) -
                          p.first[axis] * chunk[axis];
    NDArray out = NDArray::empty(store->dtype(), out_shape);
    Index block(p.first.size()), offset(p.first.size());
    for_each_block(p.count, [&](std::span<const std::int64_t> sub) {
        for (std::size_t axis = 0; axis < block.size(); ++axis) {
            block[axis] = p.first[axis] + sub[axis];
            offset[axis] = sub[axis] * chunk[axis];
        }
        out.assign_region(offset, store->read_chunk(block));
    });
    return Value(std::move(out));
}

OpId zarr_load_id() {
    static const OpId id = register_op("tessera.zarr_load", &zarr_load_op);
    return id;
}
[[maybe_unused]] const OpId zarr_load_registered = zarr_load_id();

class ZarrLoadNode final : public ArrayNode {
public:
    ZarrLoadNode(const ZarrArrayStore& store, Chunks chunks, Shape multiple, std::uint64_t token)
        : ArrayNode("from_zarr", store.dtype(), std::move(chunks), {}, token),
          path_(store.path()),
          meta_(metadata_text(store.metadata())),
          multiple_(std::move(multiple)),
          store_grid_(store.grid_shape()),
          dims_(store.dims()) {}

    std::vector<std::string> dims() const override { return dims_; }

protected:
    void lower_tasks(LowerContext& ctx) const override {
        const OpId op = zarr_load_id();
        const std::int64_t itemsize = dtype().itemsize();
        const Shape grid = chunks().numblocks();
        LoadParams p{path_, meta_, {}, {}};
        for_each_block(grid, [&](std::span<const std::int64_t> block) {
            p.first.assign(block.size(), 0);
            p.count.assign(block.size(), 0);
            for (std::size_t axis = 0; axis < block.size(); ++axis) {
                p.first[axis] = block[axis] * multiple_[axis];
                p.count[axis] = std::min(multiple_[axis], store_grid_[axis] - p.first[axis]);
            }
            Task task;
            task.key = block_key(block);
            task.op = op;
            task.params = encode_shape_params(p);
            task.nbytes_hint = shape_size(chunks().block_shape(block)) * itemsize;
            ctx.graph.add(std::move(task));
        });
    }

private:
    std::string path_, meta_;
    Shape multiple_, store_grid_;
    std::vector<std::string> dims_;
};

Array array_over_store(const ZarrArrayStore& store, const ZarrReadOptions& options) {
    const std::int64_t ndim = static_cast<std::int64_t>(store.shape().size());
    Shape multiple(static_cast<std::size_t>(ndim), 1);
    const auto& m = options.chunk_multiple;
    if (m.size() == 1 && ndim > 0) {
        multiple.assign(static_cast<std::size_t>(ndim), m[0]);
    } else if (!m.empty()) {
        if (static_cast<std::int64_t>(m.size()) != ndim)
            throw ChunkError("chunk_multiple {} has {} entries but {} has {} dimensions", shape_str(m),
                             m.size(), store.path(), ndim);
        multiple = m;
    }
    for (std::size_t axis = 0; axis < multiple.size(); ++axis)
        if (multiple[axis] < 1)
            throw ChunkError("chunk_multiple must be at least 1, got {} along axis {}", multiple[axis], axis);
    Shape block(multiple.size());
    for (std::size_t axis = 0; axis < block.size(); ++axis)
        block[axis] = std::max<std::int64_t>(1, store.chunk_shape()[axis] * multiple[axis]);
    Chunks chunks = Chunks::regular(store.shape(), block);
    // Chunks::regular gives a zero-length axis one block of 0; its store chunk count is 0.
    Tokenizer tok;
    tok.add(std::string_view(store.path())).add(std::string_view(metadata_text(store.metadata())));
    tok.add(std::span<const std::int64_t>(multiple));
    return Array(std::make_shared<ZarrLoadNode>(store, std::move(chunks), std::move(multiple), tok.digest()));
}

// ------------------------------------------------------------------------------ write

struct WriteParams {
    std::string path, meta;
    std::vector<std::int64_t> block;  // the store chunk
    // Per input: the region [src_start, src_stop) of the input block goes to dst_start of the
    // chunk, ndim entries each, concatenated.
    std::vector<std::int64_t> src_start, src_stop, dst_start;

    template <class Archive>
    void serialize(Archive& ar) {
        ar(path, meta, block, src_start, src_stop, dst_start);
    }
};

Value zarr_write_op(const TaskContext& ctx) {
    const auto p = decode_shape_params<WriteParams>(ctx.task.params, "zarr_write");
    const auto store = cached_store(p.path, p.meta, true);
    const std::size_t ndim = p.block.size();
    if (p.src_start.size() != ctx.inputs.size() * ndim)
        throw ProtocolError("zarr_write: {} inputs for {} pieces", ctx.inputs.size(), p.src_start.size() / std::max<std::size_t>(ndim, 1));
    const Shape bshape = store->block_shape(p.block);
    auto piece = [&](std::size_t k) {
        NDArray a = ctx.inputs[k]->array();
        for (std::size_t axis = 0; axis < ndim; ++axis) {
            const std::int64_t lo = p.src_start[k * ndim + axis], hi = p.src_stop[k * ndim + axis];
            if (lo != 0 || hi != a.shape(static_cast<std::int64_t>(axis))) a = a.slice(static_cast<std::int64_t>(axis), lo, hi);
        }
        return a;
    };
    if (ctx.inputs.size() == 1 && piece(0).shape() == bshape) {
        store->write_chunk(p.block, piece(0));
    } else {
        NDArray chunk = NDArray::empty(store->dtype(), bshape);
        for (std::size_t k = 0; k < ctx.inputs.size(); ++k)
            chunk.assign_region(std::span(p.dst_start).subspan(k * ndim, ndim), piece(k));
        store->write_chunk(p.block, chunk);
    }
    return Value(NDArray::full(int64, Shape(ndim, 1), std::int64_t{1}));
}

OpId zarr_write_id() {
    static const OpId id = register_op("tessera.zarr_write", &zarr_write_op);
    return id;
}
[[maybe_unused]] const OpId zarr_write_registered = zarr_write_id();

// One block per store chunk of the region (an int64 1 once written).
class ZarrWriteNode final : public ArrayNode {
public:
    ZarrWriteNode(NodePtr input, const ZarrArrayStore& store, Shape region_start, Shape region_grid,
                  std::uint64_t token)
        : ArrayNode("to_zarr", int64, Chunks::regular(region_grid, Shape(region_grid.size(), 1)), {input},
                    token),
          path_(store.path()),
          meta_(metadata_text(store.metadata())),
          chunk_(store.chunk_shape()),
          shape_(store.shape()),
          region_start_(std::move(region_start)) {}

protected:
    void lower_tasks(LowerContext& ctx) const override {
        const ArrayNode& in = *inputs()[0];
        in.lower(ctx);
        const std::size_t ndim = chunk_.size();
        std::vector<std::vector<std::int64_t>> offsets(ndim);  // input block boundaries
        for (std::size_t axis = 0; axis < ndim; ++axis)
            offsets[axis] = block_offsets(in.chunks().sizes(static_cast<std::int64_t>(axis)));
        const OpId op = zarr_write_id();
        WriteParams p{path_, meta_, {}, {}, {}, {}};
        // Per axis: the input blocks overlapping the chunk, with local ranges.
        std::vector<std::vector<std::array<std::int64_t, 4>>> axis_parts(ndim);  // in_block, lo, hi, dst
        for_each_block(chunks().numblocks(), [&](std::span<const std::int64_t> rblock) {
            p.block.assign(ndim, 0);
            for (std::size_t axis = 0; axis < ndim; ++axis) {
                const std::int64_t b = region_start_[axis] / chunk_[axis] + rblock[axis];
                p.block[axis] = b;
                // The chunk in the input's coordinates.
                const std::int64_t lo = b * chunk_[axis] - region_start_[axis];
                const std::int64_t hi = std::min((b + 1) * chunk_[axis], shape_[axis]) - region_start_[axis];
                const auto& off = offsets[axis];
                auto& parts = axis_parts[axis];
                parts.clear();
                std::int64_t k = std::upper_bound(off.begin(), off.end(), lo) - off.begin() - 1;
                for (; k + 1 < static_cast<std::int64_t>(off.size()) && off[static_cast<std::size_t>(k)] < hi; ++k) {
                    const std::int64_t s = std::max(lo, off[static_cast<std::size_t>(k)]);
                    const std::int64_t e = std::min(hi, off[static_cast<std::size_t>(k) + 1]);
                    if (e > s) parts.push_back({k, s - off[static_cast<std::size_t>(k)], e - off[static_cast<std::size_t>(k)], s - lo});
                }
            }
            Task task;
            task.key = block_key(rblock);
            task.op = op;
            p.src_start.clear(), p.src_stop.clear(), p.dst_start.clear();
            Shape counts(ndim);
            for (std::size_t axis = 0; axis < ndim; ++axis) counts[axis] = static_cast<std::int64_t>(axis_parts[axis].size());
            Index in_block(ndim);
            for_each_block(counts, [&](std::span<const std::int64_t> sel) {
                for (std::size_t axis = 0; axis < ndim; ++axis) {
                    const auto& part = axis_parts[axis][static_cast<std::size_t>(sel[axis])];
                    in_block[axis] = part[0];
                    p.src_start.push_back(part[1]);
                    p.src_stop.push_back(part[2]);
                    p.dst_start.push_back(part[3]);
                }
                task.deps.push_back(in.block_key(in_block));
            });
            task.params = encode_shape_params(p);
            task.nbytes_hint = 8;
            ctx.graph.add(std::move(task));
        });
    }

private:
    std::string path_, meta_;
    Shape chunk_, shape_, region_start_;
};

struct FinishParams {
    std::string path, meta;

    template <class Archive>
    void serialize(Archive& ar) {
        ar(path, meta);
    }
};

Value zarr_metadata_op(const TaskContext& ctx) {
    const auto p = decode_shape_params<FinishParams>(ctx.task.params, "zarr_metadata");
    cached_store(p.path, p.meta, true)->flush_metadata();
    return Value(NDArray::scalar(Scalar(static_cast<std::int64_t>(ctx.inputs.size()), int64)));
}

OpId zarr_metadata_id() {
    static const OpId id = register_op("tessera.zarr_metadata", &zarr_metadata_op);
    return id;
}
[[maybe_unused]] const OpId zarr_metadata_registered = zarr_metadata_id();

// 0-d: the number of chunks written, after the metadata.
class ZarrFinishNode final : public ArrayNode {
public:
    ZarrFinishNode(std::vector<NodePtr> writes, const ZarrArrayStore& store, std::uint64_t token)
        : ArrayNode("zarr_metadata", int64, Chunks(), std::move(writes), token),
          path_(store.path()),
          meta_(metadata_text(store.metadata())) {}

protected:
    void lower_tasks(LowerContext& ctx) const override {
        Task task;
        task.key = block_key({});
        task.op = zarr_metadata_id();
        task.params = encode_shape_params(FinishParams{path_, meta_});
        for (const auto& in : inputs()) {
            in->lower(ctx);
            for_each_block(in->chunks().numblocks(),
                           [&](std::span<const std::int64_t> b) { task.deps.push_back(in->block_key(b)); });
        }
        ctx.graph.add(std::move(task));
    }

private:
    std::string path_, meta_;
};

bool is_file(const std::string& path) {
    std::error_code ec;
    return std::filesystem::is_regular_file(path, ec);
}

}  // namespace
}  // namespace detail

Array from_zarr(const std::string& path, const ZarrReadOptions& options) {
    return detail::array_over_store(io::ZarrArrayStore::open(path), options);
}

Array from_zarr(const std::string& path, std::string_view name, const ZarrReadOptions& options) {
    if (name.empty()) return from_zarr(path, options);
    const bool consolidated = detail::is_file(path + "/.zmetadata");
    const auto group = consolidated ? io::ZarrGroup::open_consolidated(path) : io::ZarrGroup::open(path);
    return detail::array_over_store(group.open_array(std::string(name)), options);
}

std::string zarr_attrs(const std::string& path, const std::string& name) {
    const std::string full = name.empty() ? path : io::join_path(path, name);
    if (auto meta = io::read_array_metadata(full)) return meta->attributes.dump();
    return io::ZarrGroup::open(full).attributes().dump();
}

}  // namespace tessera

namespace tessera {
namespace {

using io::json;

// The store chunks to_zarr uses by default: the array's chunks, which must be regular.
Shape default_store_chunks(const Array& array) {
    Shape out;
    for (std::int64_t axis = 0; axis < array.ndim(); ++axis) {
        const BlockSizes& sizes = array.chunks().sizes(axis);
        for (std::size_t b = 0; b + 1 < sizes.size(); ++b)
            if (sizes[b] != sizes[0] || sizes.back() > sizes[0])
                throw ChunkError("cannot choose Zarr chunks: the array's chunks along axis {} are irregular {}; "
                                 "pass ZarrWriteOptions::chunks",
                                 axis, shape_str(sizes));
        out.push_back(std::max<std::int64_t>(1, sizes[0]));
    }
    return out;
}

// The v3 transpose codec that stores chunks in F order.
json f_order_transpose(std::int64_t ndim) {
    std::vector<std::int64_t> order;
    for (std::int64_t axis = ndim - 1; axis >= 0; --axis) order.push_back(axis);
    return {{"name", "transpose"}, {"configuration", {{"order", order}}}};
}

// The shard shape of ZarrWriteOptions::shards, checked against the inner chunks.
void check_shards(const Shape& shards, const Shape& chunks, const ZarrWriteOptions& o) {
    if (o.zarr_format != 3) throw ValueError("shards need zarr_format 3, got {}", o.zarr_format);
    if (shards.size() != chunks.size())
        throw ChunkError("shards {} have {} dimensions but the array has {}", shape_str(shards), shards.size(),
                         chunks.size());
    for (std::size_t axis = 0; axis < shards.size(); ++axis)
        if (shards[axis] < 1 || shards[axis] % chunks[axis] != 0)
            throw ChunkError("shard shape {} is not a positive multiple of the chunk shape {} along axis {}",
                             shape_str(shards), shape_str(chunks), axis);
}

io::ZarrArrayMetadata new_metadata(const Array& array, const std::string& path, const ZarrWriteOptions& o) {
    const std::int64_t ndim = array.ndim();
    Shape chunks = o.chunks.empty() ? default_store_chunks(array) : o.chunks;
    if (static_cast<std::int64_t>(chunks.size()) != ndim)
        throw ChunkError("Zarr chunks {} have {} dimensions but the array has {}", shape_str(chunks), chunks.size(), ndim);
    for (std::size_t axis = 0; axis < chunks.size(); ++axis)
        if (chunks[axis] < 1)
            throw ChunkError("Zarr chunks {} must be positive along axis {}", shape_str(chunks), axis);
    if (o.order != 'C' && o.order != 'F') throw ValueError("order must be 'C' or 'F', got '{}'", o.order);
    const bool sharded = !o.shards.empty();
    if (sharded) check_shards(o.shards, chunks, o);
    const Shape& grid_chunks = sharded ? o.shards : chunks;
    auto meta = o.zarr_format == 3 ? io::ZarrArrayMetadata::v3(array.dtype(), array.shape(), grid_chunks)
                                   : io::ZarrArrayMetadata::v2(array.dtype(), array.shape(), grid_chunks);
    if (o.compressor == "none") {
        meta.compressor = nullptr;
        if (o.zarr_format == 3) meta.codecs = json::array({meta.codecs[0]});
    } else if (!o.compressor.empty()) {
        const json cfg = o.compressor.front() == '{' ? io::parse_json_text(o.compressor, "compressor")
                                                     : json{{"id", o.compressor}};
        std::shared_ptr<const io::BytesCodec> codec;
        try {
            codec = io::make_v2_compressor(cfg, array.dtype().itemsize());
        } catch (const IOError& e) {
            throw IOError("{}: {}", path, e.what());
        }
        if (o.zarr_format == 3)
            meta.codecs = json::array({meta.codecs[0], codec->v3_json()});
        else
            meta.compressor = codec->v2_json();
    }
    if (o.zarr_format == 3) {
        // F order transposes every (inner) chunk before the bytes codec.
        if (o.order == 'F' && ndim > 1) meta.codecs.insert(meta.codecs.begin(), f_order_transpose(ndim));
        if (sharded)
            meta.codecs = json::array(
                {{{"name", "sharding_indexed"},
                  {"configuration",
                   {{"chunk_shape", chunks},
                    {"codecs", meta.codecs},
                    {"index_codecs", json::array({{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}},
                                                  {{"name", "crc32c"}}})},
                    {"index_location", "end"}}}}});
    } else {
        meta.order = o.order;
    }
    if (o.fill_value) meta.fill_value = io::fill_bytes(array.dtype(), Scalar(*o.fill_value));
    if (o.separator != '.' && o.separator != '/')
        throw ValueError("dimension separator must be '.' or '/', got '{}'", o.separator);
    if (o.zarr_format == 2) meta.separator = o.separator;
    return meta;
}

void check_existing(const std::string& path, const io::ZarrArrayMetadata& existing, const Shape& shape,
                    DType dtype) {
    if (existing.shape != shape)
        throw IOError("{}: the existing array has shape {}, not {}", path, shape_str(existing.shape), shape_str(shape));
    if (existing.dtype != dtype)
        throw IOError("{}: the existing array has dtype {}, not {}", path, existing.dtype.name(), dtype.name());
}

// The region's start per axis, after checking it against the existing array.
Shape check_region(const Array& array, const std::string& path, const io::ZarrArrayMetadata& meta,
                   const ZarrWriteOptions& o) {
    const std::int64_t ndim = array.ndim();
    if (static_cast<std::int64_t>(o.region.size()) != ndim)
        throw ValueError("region has {} axes but the array has {}", o.region.size(), ndim);
    if (static_cast<std::int64_t>(meta.shape.size()) != ndim)
        throw IOError("{}: the existing array has shape {}, which a region of {} axes cannot address", path,
                      shape_str(meta.shape), ndim);
    if (meta.dtype != array.dtype())
        throw IOError("{}: the existing array has dtype {}, not {}", path, meta.dtype.name(), array.dtype().name());
    Shape start(static_cast<std::size_t>(ndim));
    for (std::int64_t axis = 0; axis < ndim; ++axis) {
        const auto [lo, hi] = o.region[static_cast<std::size_t>(axis)];
        const std::int64_t extent = meta.shape[static_cast<std::size_t>(axis)];
        const std::int64_t chunk = meta.chunks[static_cast<std::size_t>(axis)];
        if (lo < 0 || hi < lo || hi > extent)
            throw ValueError("region [{}:{}] along axis {} is out of bounds for {} of shape {}", lo, hi, axis, path,
                             shape_str(meta.shape));
        if (hi - lo != array.shape(axis))
            throw ShapeError("region [{}:{}] along axis {} has length {} but the array has extent {}", lo, hi, axis,
                             hi - lo, array.shape(axis));
        if (lo % chunk != 0 || (hi % chunk != 0 && hi != extent))
            throw ChunkError("region [{}:{}] along axis {} is not aligned with the chunks ({}) of {}", lo, hi, axis,
                             chunk, path);
        start[static_cast<std::size_t>(axis)] = lo;
    }
    return start;
}

}  // namespace

Array to_zarr(const Array& array, const std::string& path, const ZarrWriteOptions& o) {
    const std::string& mode = o.mode;
    if (mode != "w" && mode != "w-" && mode != "a" && mode != "r+")
        throw ValueError("invalid mode '{}' for to_zarr: use 'w', 'w-', 'a' or 'r+'", mode);
    if (o.zarr_format != 2 && o.zarr_format != 3)
        throw ValueError("zarr_format must be 2 or 3, got {}", o.zarr_format);
    const std::int64_t ndim = array.ndim();
    std::optional<json> attrs;
    if (!o.attrs.empty()) {
        attrs = io::parse_json_text(o.attrs, "attrs");
        if (!attrs->is_object()) throw ValueError("attrs must be a JSON object, got {}", o.attrs);
    }
    std::vector<std::string> dims = o.dims.empty() ? array.dims() : o.dims;
    if (!dims.empty() && static_cast<std::int64_t>(dims.size()) != ndim)
        throw ShapeError("{} dimension names for an array of {} dimensions", dims.size(), ndim);

    std::optional<io::ZarrArrayMetadata> existing;
    if (mode == "a" || mode == "r+") existing = io::read_array_metadata(path);
    if (!existing && (mode == "r+" || !o.region.empty())) {
        if (mode == "w" || mode == "w-")
            throw ValueError("a region write needs mode 'a' or 'r+', got '{}'", mode);
        throw IOError("{}: no Zarr array found (neither zarr.json nor .zarray exists)", path);
    }
    Shape region_start(static_cast<std::size_t>(ndim), 0);
    io::ZarrArrayMetadata meta;
    if (existing) {
        if (o.region.empty())
            check_existing(path, *existing, array.shape(), array.dtype());
        else
            region_start = check_region(array, path, *existing, o);
        meta = std::move(*existing);
        if (attrs) meta.attributes.update(*attrs);
        if (!o.dims.empty()) meta.dimension_names = o.dims;
    } else {
        meta = new_metadata(array, path, o);
        if (attrs) meta.attributes = *attrs;
        if (!dims.empty()) meta.dimension_names = dims;
    }
    const io::ZarrArrayStore store = existing ? io::ZarrArrayStore::from_metadata(path, meta, true)
                                              : io::ZarrArrayStore::create(path, meta, mode);

    Shape grid(static_cast<std::size_t>(ndim));
    bool empty = false;
    for (std::size_t axis = 0; axis < grid.size(); ++axis) {
        const std::int64_t c = store.chunk_shape()[axis];
        const std::int64_t first = region_start[axis] / c;
        const std::int64_t last = (region_start[axis] + array.shape(static_cast<std::int64_t>(axis)) + c - 1) / c;
        grid[axis] = last - first;
        empty = empty || grid[axis] == 0;
    }
    Tokenizer tok;
    tok.add(std::string_view(array.name())).add(std::string_view(path));
    tok.add(std::string_view(detail::metadata_text(store.metadata())));
    tok.add(std::span<const std::int64_t>(region_start));
    std::vector<detail::NodePtr> writes;
    if (!empty)
        writes.push_back(std::make_shared<detail::ZarrWriteNode>(array.node(), store, region_start, grid, tok.digest()));
    Array finish(std::make_shared<detail::ZarrFinishNode>(std::move(writes), store, tok.digest()));
    if (!o.compute) return finish;
    return from_array(finish.compute(o.compute_options));
}

}  // namespace tessera
