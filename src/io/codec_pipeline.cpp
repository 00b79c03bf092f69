// The Zarr codec chain of one chunk: array → array, array → bytes and bytes → bytes codecs.

#include "src/io/codec_pipeline.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "src/io/sharding.hpp"
#include "tessera/error.hpp"

namespace tessera::io {

std::int64_t swap_unit(DType dtype) {
    return dtype.is_complex() ? dtype.itemsize() / 2 : dtype.itemsize();
}

void byteswap_inplace(std::byte* data, std::int64_t nbytes, std::int64_t unit) {
    if (unit <= 1) return;
    for (std::int64_t pos = 0; pos + unit <= nbytes; pos += unit)
        std::reverse(data + pos, data + pos + unit);
}

NDArray filled_array(DType dtype, const Shape& shape, std::span<const std::byte> fill) {
    if (fill.empty()) return NDArray::zeros(dtype, shape);
    NDArray out = NDArray::empty(dtype, shape);
    auto* p = static_cast<std::byte*>(out.raw_data());
    const std::int64_t item = dtype.itemsize();
    const std::int64_t n = out.size();
    if (n == 0) return out;
    std::memcpy(p, fill.data(), static_cast<std::size_t>(item));
    // Doubling copies: log2(n) memcpy calls.
    for (std::int64_t done = 1; done < n;) {
        const std::int64_t count = std::min(done, n - done);
        std::memcpy(p + done * item, p, static_cast<std::size_t>(count * item));
        done += count;
    }
    return out;
}

bool all_equal_bytes(const NDArray& a, std::span<const std::byte> fill) {
    if (fill.empty()) return false;
    const NDArray c = a.contiguous();
    const auto* p = static_cast<const std::byte*>(c.raw_data());
    const auto item = static_cast<std::size_t>(c.itemsize());
    for (std::int64_t elem = 0; elem < c.size(); ++elem)
        if (std::memcmp(p + static_cast<std::size_t>(elem) * item, fill.data(), item) != 0)
            return false;
    return true;
}

namespace {

Shape permuted(const Shape& shape, const std::vector<std::int64_t>& order) {
    Shape out(shape.size());
    for (std::size_t axis = 0; axis < order.size(); ++axis)
        out[axis] = shape[static_cast<std::size_t>(order[axis])];
    return out;
}

std::vector<std::int64_t> inverse(const std::vector<std::int64_t>& order) {
    std::vector<std::int64_t> inv(order.size());
    for (std::size_t axis = 0; axis < order.size(); ++axis)
        inv[static_cast<std::size_t>(order[axis])] = static_cast<std::int64_t>(axis);
    return inv;
}

std::vector<std::int64_t> reversed_axes(std::size_t ndim) {
    std::vector<std::int64_t> order(ndim);
    std::iota(order.rbegin(), order.rend(), 0);
    return order;
}

std::vector<std::int64_t> parse_transpose(const json& config, std::size_t ndim) {
    if (!config.is_object() || !config.contains("order"))
        throw IOError("transpose: missing 'order'");
    const json& order = config["order"];
    if (order == "C") {
        std::vector<std::int64_t> identity(ndim);
        std::iota(identity.begin(), identity.end(), 0);
        return identity;
    }
    if (order == "F") return reversed_axes(ndim);
    std::vector<std::int64_t> out;
    std::vector<bool> seen(ndim, false);
    bool ok = order.is_array() && order.size() == ndim;
    if (ok) {
        for (const json& v : order) {
            if (!v.is_number_integer() || v.get<std::int64_t>() < 0 ||
                v.get<std::int64_t>() >= static_cast<std::int64_t>(ndim) ||
                seen[v.get<std::size_t>()]) {
                ok = false;
                break;
            }
            seen[v.get<std::size_t>()] = true;
            out.push_back(v.get<std::int64_t>());
        }
    }
    if (!ok) throw IOError("transpose: order {} is not a permutation of {} axes", order.dump(), ndim);
    return out;
}

// Copies `a` (any layout) into C-ordered bytes.
Bytes to_c_bytes(const NDArray& a) {
    Bytes out(static_cast<std::size_t>(a.nbytes()));
    if (a.is_contiguous()) {
        std::memcpy(out.data(), a.raw_data(), out.size());
    } else {
        NDArray dst = NDArray::wrap(a.dtype(), a.shape(), out.data(), nullptr);
        dst.assign(a);
    }
    return out;
}

}  // namespace

CodecPipeline CodecPipeline::v2(DType dtype, const Shape& chunk_shape, char order, bool big_endian,
                                std::shared_ptr<const BytesCodec> compressor) {
    CodecPipeline p;
    p.dtype_ = dtype;
    p.chunk_shape_ = chunk_shape;
    if (order == 'F') p.transposes_.push_back(reversed_axes(chunk_shape.size()));
    p.encoded_shape_ = order == 'F' ? permuted(chunk_shape, p.transposes_[0]) : chunk_shape;
    p.big_endian_ = big_endian && dtype.itemsize() > 1;
    if (compressor) p.bytes_codecs_.push_back(std::move(compressor));
    return p;
}

CodecPipeline CodecPipeline::v3(const json& codecs, DType dtype, const Shape& chunk_shape,
                                std::vector<std::byte> fill) {
    if (!codecs.is_array()) throw IOError("'codecs' must be a list, got {}", codecs.dump());
    CodecPipeline p;
    p.dtype_ = dtype;
    p.chunk_shape_ = chunk_shape;
    p.encoded_shape_ = chunk_shape;
    bool have_array_to_bytes = false;
    for (const json& entry : codecs) {
        std::string name;
        json config = json::object();
        if (entry.is_string()) {
            name = entry.get<std::string>();
        } else if (entry.is_object() && entry.contains("name") && entry["name"].is_string()) {
            name = entry["name"].get<std::string>();
            if (entry.contains("configuration")) config = entry["configuration"];
            if (!config.is_object())
                throw IOError("codec '{}': 'configuration' must be an object, got {}", name,
                              config.dump());
        } else {
            throw IOError("codec entries must be objects with a 'name', got {}", entry.dump());
        }
        const bool array_to_array = name == "transpose";
        const bool array_to_bytes = name == "bytes" || name == "sharding_indexed";
        if ((array_to_array || array_to_bytes) && have_array_to_bytes)
            throw IOError("codec '{}' cannot follow the array-to-bytes codec", name);
        if (array_to_array) {
            p.transposes_.push_back(parse_transpose(config, chunk_shape.size()));
            p.encoded_shape_ = permuted(p.encoded_shape_, p.transposes_.back());
        } else if (name == "bytes") {
            have_array_to_bytes = true;
            p.bytes_has_config_ = config.contains("endian");
            if (!p.bytes_has_config_) {
                if (dtype.itemsize() > 1)
                    throw IOError("bytes: 'endian' is required for data type {}", dtype.name());
            } else if (config["endian"] == "big") {
                p.big_endian_ = dtype.itemsize() > 1;
            } else if (config["endian"] != "little") {
                throw IOError("bytes: 'endian' must be \"little\" or \"big\", got {}",
                              config["endian"].dump());
            }
        } else if (name == "sharding_indexed") {
            have_array_to_bytes = true;
            p.sharding_ = std::make_shared<const ShardingCodec>(config, dtype, p.encoded_shape_, fill);
        } else {
            auto codec = make_v3_bytes_codec(name, config, dtype.itemsize());
            if (!codec) throw IOError("unknown codec '{}'", name);
            if (!have_array_to_bytes)
                throw IOError("codec '{}' must follow the array-to-bytes codec", name);
            p.bytes_codecs_.push_back(std::move(codec));
        }
    }
    if (!have_array_to_bytes)
        throw IOError("'codecs' has no array-to-bytes codec (bytes or sharding_indexed)");
    return p;
}

Bytes CodecPipeline::encode(const NDArray& chunk) const {
    TESSERA_ASSERT(chunk.shape() == chunk_shape_ && chunk.dtype() == dtype_,
                   "chunk shape and dtype checked by the caller");
    NDArray a = chunk;
    for (const auto& order : transposes_) a = a.transpose(order);
    Bytes data;
    if (sharding_) {
        data = sharding_->encode(a);
    } else if (!big_endian_ && !bytes_codecs_.empty() && a.is_contiguous()) {
        // The first compressor reads the chunk's memory directly (no C-order copy).
        const auto* raw = static_cast<const std::byte*>(a.raw_data());
        data = bytes_codecs_[0]->encode(std::span(raw, static_cast<std::size_t>(a.nbytes())));
        for (std::size_t k = 1; k < bytes_codecs_.size(); ++k) data = bytes_codecs_[k]->encode(data);
        return data;
    } else {
        data = to_c_bytes(a);
        if (big_endian_)
            byteswap_inplace(data.data(), static_cast<std::int64_t>(data.size()), swap_unit(dtype_));
    }
    for (const auto& codec : bytes_codecs_) data = codec->encode(data);
    return data;
}

NDArray CodecPipeline::decode(Bytes data) const {
    const std::int64_t raw_size = shape_size(encoded_shape_) * dtype_.itemsize();
    for (std::size_t k = bytes_codecs_.size(); k-- > 0;) {
        // The codec next to the bytes codec knows the exact size to expect.
        const std::int64_t expected = (k == 0 && !sharding_) ? raw_size : -1;
        data = bytes_codecs_[k]->decode(data, expected);
    }
    NDArray a;
    if (sharding_) {
        a = sharding_->decode(data);
    } else {
        if (static_cast<std::int64_t>(data.size()) != raw_size)
            throw_size_mismatch(raw_size, static_cast<std::int64_t>(data.size()));
        if (big_endian_) byteswap_inplace(data.data(), raw_size, swap_unit(dtype_));
        auto owner = std::make_shared<Bytes>(std::move(data));
        a = NDArray::wrap(dtype_, encoded_shape_, owner->data(), owner);
    }
    for (std::size_t k = transposes_.size(); k-- > 0;) a = a.transpose(inverse(transposes_[k]));
    return a;
}

json CodecPipeline::v3_json() const {
    json out = json::array();
    for (const auto& order : transposes_)
        out.push_back({{"name", "transpose"}, {"configuration", {{"order", order}}}});
    if (sharding_) {
        out.push_back(sharding_->v3_json());
    } else if (bytes_has_config_ || dtype_.itemsize() > 1) {
        out.push_back({{"name", "bytes"},
                       {"configuration", {{"endian", big_endian_ ? "big" : "little"}}}});
    } else {
        out.push_back({{"name", "bytes"}});
    }
    for (const auto& codec : bytes_codecs_) out.push_back(codec->v3_json());
    return out;
}

std::optional<std::int64_t> CodecPipeline::fixed_encoded_size() const {
    if (sharding_) return std::nullopt;
    std::optional<std::int64_t> size = shape_size(encoded_shape_) * dtype_.itemsize();
    for (const auto& codec : bytes_codecs_) {
        size = codec->fixed_encoded_size(*size);
        if (!size) return std::nullopt;
    }
    return size;
}

}  // namespace tessera::io
