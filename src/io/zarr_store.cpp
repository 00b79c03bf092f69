// A Zarr array in a directory, read and written chunk by chunk.

#include "src/io/zarr_store.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <optional>

#include "src/io/file_io.hpp"
#include "tessera/error.hpp"

namespace tessera::io {
namespace fs = std::filesystem;

namespace {

std::string_view as_text(const Bytes& bytes) {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

bool is_regular(const std::string& path) {
    std::error_code ec;
    return fs::is_regular_file(path, ec);
}

// A chunk key component: decimal digits only, below `bound`.
std::optional<std::int64_t> parse_component(std::string_view s, std::int64_t bound) {
    if (s.empty() || s.size() > 18) return std::nullopt;
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || s.front() == '-' || v >= bound)
        return std::nullopt;
    return v;
}


void check_matches(const std::string& path, const ZarrArrayMetadata& existing,
                   const ZarrArrayMetadata& wanted) {
    if (existing.zarr_format != wanted.zarr_format)
        throw IOError("{}: the existing array has zarr_format {}, not {}", path,
                      existing.zarr_format, wanted.zarr_format);
    if (existing.shape != wanted.shape)
        throw IOError("{}: the existing array has shape {}, not {}", path,
                      shape_str(existing.shape), shape_str(wanted.shape));
    if (existing.chunks != wanted.chunks)
        throw IOError("{}: the existing array has chunks {}, not {}", path,
                      shape_str(existing.chunks), shape_str(wanted.chunks));
    if (existing.dtype != wanted.dtype)
        throw IOError("{}: the existing array has dtype {}, not {}", path, existing.dtype.name(),
                      wanted.dtype.name());
}

bool has_node(const std::string& path) {
    return is_regular(path + "/zarr.json") || is_regular(path + "/.zarray") ||
           is_regular(path + "/.zgroup");
}

}  // namespace

std::optional<ZarrArrayMetadata> read_array_metadata(const std::string& path) {
    if (auto v3 = read_file(path + "/zarr.json")) {
        const std::string where = path + "/zarr.json";
        return metadata_from_v3(parse_json_text(as_text(*v3), where), where);
    }
    auto zarray = read_file(path + "/.zarray");
    if (!zarray) return std::nullopt;
    json zattrs;
    if (auto attrs = read_file(path + "/.zattrs"))
        zattrs = parse_json_text(as_text(*attrs), path + "/.zattrs");
    return metadata_from_v2(parse_json_text(as_text(*zarray), path + "/.zarray"), zattrs,
                            path + "/.zarray", path + "/.zattrs");
}

ZarrArrayStore::ZarrArrayStore(std::string path, ZarrArrayMetadata metadata, bool writable)
    : path_(std::move(path)), metadata_(std::move(metadata)), writable_(writable) {
    if (metadata_.dtype.itemsize() == 1) metadata_.big_endian = false;  // "|u1" has no byte order
    try {
        pipeline_ = std::make_shared<const CodecPipeline>(make_pipeline(metadata_));
    } catch (const IOError& e) {
        throw IOError("{}: {}", path_, e.what());
    }
}

ZarrArrayStore ZarrArrayStore::open(const std::string& path, std::string_view mode) {
    if (mode != "r" && mode != "r+")
        throw ValueError("invalid mode '{}' to open a Zarr array: use 'r' or 'r+'", mode);
    auto metadata = read_array_metadata(path);
    if (!metadata) {
        if (is_regular(path + "/.zgroup")) throw IOError("{}: is a Zarr group, not an array", path);
        throw IOError("{}: no Zarr array found (neither zarr.json nor .zarray exists)", path);
    }
    return ZarrArrayStore(path, std::move(*metadata), mode == "r+");
}

ZarrArrayStore ZarrArrayStore::from_metadata(const std::string& path, ZarrArrayMetadata metadata,
                                             bool writable) {
    return ZarrArrayStore(path, std::move(metadata), writable);
}

ZarrArrayStore ZarrArrayStore::create(const std::string& path, ZarrArrayMetadata metadata,
                                      std::string_view mode) {
    if (mode != "w" && mode != "w-" && mode != "a" && mode != "r+")
        throw ValueError("invalid mode '{}' to create a Zarr array: use 'w', 'w-', 'a' or 'r+'",
                         mode);
    ZarrArrayStore store(path, std::move(metadata), true);  // validates the metadata
    if (mode == "r+" || mode == "a") {
        if (auto existing = read_array_metadata(path)) {
            check_matches(path, *existing, store.metadata_);
            return ZarrArrayStore(path, std::move(*existing), true);
        }
        if (mode == "r+")
            throw IOError("{}: no Zarr array found (neither zarr.json nor .zarray exists)", path);
    }
    if (mode == "w-" && has_node(path))
        throw IOError("{}: an array or group already exists there", path);
    std::error_code ec;
    if (mode == "w") fs::remove_all(path, ec);
    if (ec) throw IOError("{}: cannot remove the old contents: {}", path, ec.message());
    fs::create_directories(path, ec);
    if (!fs::is_directory(path)) throw IOError("{}: cannot create the directory: {}", path, ec.message());
    return store;
}

Shape ZarrArrayStore::grid_shape() const {
    Shape grid(shape().size());
    for (std::size_t axis = 0; axis < grid.size(); ++axis)
        grid[axis] = (shape()[axis] + chunk_shape()[axis] - 1) / chunk_shape()[axis];
    return grid;
}

std::int64_t ZarrArrayStore::num_chunks() const { return shape_size(grid_shape()); }

void ZarrArrayStore::check_block(const Index& block) const {
    const Shape grid = grid_shape();
    bool ok = block.size() == grid.size();
    for (std::size_t axis = 0; ok && axis < grid.size(); ++axis)
        ok = block[axis] >= 0 && block[axis] < grid[axis];
    if (!ok)
        throw IndexError("block {} is out of bounds for the chunk grid {} of {}", shape_str(block),
                         shape_str(grid), path_);
}

Shape ZarrArrayStore::block_shape(const Index& block) const {
    check_block(block);
    Shape out(block.size());
    for (std::size_t axis = 0; axis < block.size(); ++axis)
        out[axis] = std::min(chunk_shape()[axis], shape()[axis] - block[axis] * chunk_shape()[axis]);
    return out;
}

std::string ZarrArrayStore::chunk_key(const Index& block) const {
    check_block(block);
    const bool v3_default = metadata_.zarr_format == 3 && !metadata_.v2_chunk_keys;
    std::string key = v3_default ? "c" : "";
    for (std::size_t axis = 0; axis < block.size(); ++axis) {
        if (axis > 0 || v3_default) key += metadata_.separator;
        key += std::to_string(block[axis]);
    }
    if (key.empty()) key = "0";  // a 0-d array's only chunk
    return key;
}

NDArray ZarrArrayStore::read_chunk(const Index& block) const {
    const Shape bshape = block_shape(block);
    const std::string key = chunk_key(block);
    try {
        std::optional<Bytes> data = read_file(join_path(path_, key));
        if (!data) return filled_array(dtype(), bshape, metadata_.fill_value);
        NDArray a = pipeline_->decode(std::move(*data));
        for (std::size_t axis = 0; axis < bshape.size(); ++axis)
            if (bshape[axis] != chunk_shape()[axis])
                a = a.slice(static_cast<std::int64_t>(axis), 0, bshape[axis]);
        return a.contiguous();
    } catch (const IOError& e) {
        throw IOError("chunk '{}' of {}: {}", key, path_, e.what());
    }
}

void ZarrArrayStore::write_chunk(const Index& block, const NDArray& data) const {
    if (!writable_) throw IOError("{}: the array was opened read-only", path_);
    const Shape bshape = block_shape(block);
    if (data.shape() != bshape)
        throw ShapeError("chunk {} of {} must have shape {}, got {}", shape_str(block), path_,
                         shape_str(bshape), shape_str(data.shape()));
    if (data.dtype() != dtype())
        throw DTypeError("chunk {} of {} must have dtype {}, got {}", shape_str(block), path_,
                         dtype().name(), data.dtype().name());
    const std::string key = chunk_key(block);
    try {
        Bytes encoded;
        if (bshape == chunk_shape()) {
            encoded = pipeline_->encode(data);
        } else {
            // Edge chunks are stored full-size, padded with the fill value, like zarr-python.
            NDArray full = filled_array(dtype(), chunk_shape(), metadata_.fill_value);
            full.assign_region(Index(bshape.size(), 0), data);
            encoded = pipeline_->encode(full);
        }
        write_file_atomic(join_path(path_, key), encoded);
    } catch (const IOError& e) {
        throw IOError("chunk '{}' of {}: {}", key, path_, e.what());
    }
}

bool ZarrArrayStore::erase_chunk(const Index& block) const {
    if (!writable_) throw IOError("{}: the array was opened read-only", path_);
    return remove_file(chunk_file(block));
}

bool ZarrArrayStore::chunk_exists(const Index& block) const { return is_regular(chunk_file(block)); }

std::vector<Index> ZarrArrayStore::list_chunks() const {
    std::vector<Index> out;
    const Shape grid = grid_shape();
    const std::size_t ndim = grid.size();
    const bool v3_default = metadata_.zarr_format == 3 && !metadata_.v2_chunk_keys;
    std::error_code ec;
    if (ndim == 0) {
        if (chunk_exists({})) out.emplace_back();
        return out;
    }
    if (metadata_.separator == '.') {
        for (const auto& entry : fs::directory_iterator(path_, ec)) {
            if (!entry.is_regular_file()) continue;
            const std::string filename = entry.path().filename().string();
            std::string_view name = filename;
            if (v3_default) {
                if (!name.starts_with("c.")) continue;
                name.remove_prefix(2);
            }
            Index block;
            for (std::size_t axis = 0; axis < ndim; ++axis) {
                const std::size_t dot = axis + 1 < ndim ? name.find('.') : name.size();
                if (dot == std::string_view::npos) break;
                const auto v = parse_component(name.substr(0, dot), grid[axis]);
                if (!v) break;
                block.push_back(*v);
                name.remove_prefix(std::min(name.size(), dot + 1));
            }
            if (block.size() == ndim && name.empty()) out.push_back(block);
        }
    } else {
        // Nested keys: one directory level per axis but the last.
        const auto walk = [&](auto&& self, const fs::path& dir, Index prefix) -> void {
            std::error_code walk_ec;
            const std::size_t axis = prefix.size();
            for (const auto& entry : fs::directory_iterator(dir, walk_ec)) {
                const auto v = parse_component(entry.path().filename().native(), grid[axis]);
                if (!v) continue;
                Index block = prefix;
                block.push_back(*v);
                if (axis + 1 < ndim && entry.is_directory()) self(self, entry.path(), block);
                else if (axis + 1 == ndim && entry.is_regular_file()) out.push_back(block);
            }
        };
        walk(walk, v3_default ? fs::path(path_) / "c" : fs::path(path_), Index{});
    }
    std::sort(out.begin(), out.end());
    return out;
}

void ZarrArrayStore::flush_metadata() const {
    if (!writable_) throw IOError("{}: the array was opened read-only", path_);
    if (metadata_.zarr_format == 3) {
        write_file_atomic(path_ + "/zarr.json", to_v3_zarr_json(metadata_).dump(4));
        return;
    }
    write_file_atomic(path_ + "/.zattrs", to_v2_zattrs(metadata_).dump(4));
    write_file_atomic(path_ + "/.zarray", to_v2_zarray(metadata_).dump(4));
}

void ZarrArrayStore::set_attributes(json attributes) {
    if (!attributes.is_object())
        throw ValueError("Zarr attributes must be a JSON object, got {}", attributes.dump());
    metadata_.attributes = std::move(attributes);
}

std::vector<std::string> ZarrArrayStore::dims() const {
    return metadata_.dimension_names.value_or(std::vector<std::string>{});
}

void ZarrArrayStore::set_dims(std::vector<std::string> names) {
    if (names.size() != shape().size())
        throw ShapeError("{} dimension names given for an array of {} dimensions", names.size(),
                         shape().size());
    metadata_.dimension_names = std::move(names);
}

NDArray ZarrArrayStore::read_all() const {
    if (shape().empty()) return read_chunk({});
    NDArray out = NDArray::empty(dtype(), shape());
    const Shape grid = grid_shape();
    for (std::int64_t k = 0; k < num_chunks(); ++k) {
        const Index block = unravel(k, grid);
        Index origin(block.size());
        for (std::size_t axis = 0; axis < block.size(); ++axis)
            origin[axis] = block[axis] * chunk_shape()[axis];
        out.assign_region(origin, read_chunk(block));
    }
    return out;
}

void ZarrArrayStore::write_all(const NDArray& data) const {
    if (data.shape() != shape())
        throw ShapeError("cannot write an array of shape {} into {} of shape {}",
                         shape_str(data.shape()), path_, shape_str(shape()));
    const Shape grid = grid_shape();
    for (std::int64_t k = 0; k < num_chunks(); ++k) {
        const Index block = unravel(k, grid);
        NDArray view = data;
        for (std::size_t axis = 0; axis < block.size(); ++axis) {
            const std::int64_t start = block[axis] * chunk_shape()[axis];
            view = view.slice(static_cast<std::int64_t>(axis), start, start + chunk_shape()[axis]);
        }
        write_chunk(block, view);
    }
}

}  // namespace tessera::io
