// Zarr array metadata: v2 .zarray/.zattrs and v3 zarr.json, with zarr-python's conventions.

#include "src/io/zarr_metadata.hpp"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "src/dispatch.hpp"
#include "tessera/error.hpp"

namespace tessera::io {
namespace {

const json& require(const json& j, const char* key) {
    if (!j.contains(key)) throw IOError("missing key '{}'", key);
    return j[key];
}

Shape parse_extents(const json& v, const char* key, bool positive) {
    Shape out;
    bool ok = v.is_array();
    if (ok) {
        for (const json& e : v) {
            if (!e.is_number_integer() || e.get<std::int64_t>() < (positive ? 1 : 0)) {
                ok = false;
                break;
            }
            out.push_back(e.get<std::int64_t>());
        }
    }
    if (!ok)
        throw IOError("'{}' must be a list of {} integers, got {}", key,
                      positive ? "positive" : "non-negative", v.dump());
    return out;
}

char parse_separator(const json& v, const char* key) {
    if (v == ".") return '.';
    if (v == "/") return '/';
    throw IOError("'{}' must be \".\" or \"/\", got {}", key, v.dump());
}

template <class T>
std::vector<std::byte> to_bytes(T value) {
    std::vector<std::byte> out(sizeof(T));
    std::memcpy(out.data(), &value, sizeof(T));
    return out;
}

[[noreturn]] void invalid_fill(const json& v, DType dtype) {
    throw IOError("invalid fill_value {} for dtype {}", v.dump(), dtype.name());
}

template <class F>
using Bits = std::conditional_t<sizeof(F) == 4, std::uint32_t, std::uint64_t>;

// A float (or one complex component): a number, "NaN", "Infinity", "-Infinity" or, in v3, the
// bit pattern as "0x7fc00000".
template <class F>
std::optional<F> parse_float(const json& v, int zarr_format) {
    if (v.is_number()) return static_cast<F>(v.get<double>());
    if (!v.is_string()) return std::nullopt;
    const auto s = v.get<std::string>();
    if (s == "NaN") return std::numeric_limits<F>::quiet_NaN();
    if (s == "Infinity") return std::numeric_limits<F>::infinity();
    if (s == "-Infinity") return -std::numeric_limits<F>::infinity();
    if (zarr_format == 3 && s.size() == 2 + 2 * sizeof(F) && s.starts_with("0x")) {
        Bits<F> bits = 0;
        const auto [end, ec] = std::from_chars(s.data() + 2, s.data() + s.size(), bits, 16);
        if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
        F out;
        std::memcpy(&out, &bits, sizeof(F));
        return out;
    }
    return std::nullopt;
}

template <class F>
json float_json(F x, int zarr_format) {
    if (std::isnan(x)) {
        const F canonical = std::numeric_limits<F>::quiet_NaN();
        Bits<F> bits, canonical_bits;
        std::memcpy(&bits, &x, sizeof(F));
        std::memcpy(&canonical_bits, &canonical, sizeof(F));
        if (zarr_format == 3 && bits != canonical_bits)
            return fmt::format("{:#0{}x}", bits, 2 + 2 * sizeof(F));
        return "NaN";
    }
    if (std::isinf(x)) return x > 0 ? "Infinity" : "-Infinity";
    return static_cast<double>(x);
}

template <class T>
T parse_integer(const json& v, DType dtype) {
    using L = std::numeric_limits<T>;
    const auto out_of_range = [&]() -> T {
        throw IOError("fill_value {} is out of range for dtype {}", v.dump(), dtype.name());
    };
    if (v.is_number_unsigned()) {
        const auto u = v.get<std::uint64_t>();
        if (u > static_cast<std::uint64_t>(L::max())) return out_of_range();
        return static_cast<T>(u);
    }
    if (v.is_number_integer()) {
        const auto s = v.get<std::int64_t>();
        if (s < 0 && !L::is_signed) return out_of_range();
        if (s >= 0 && static_cast<std::uint64_t>(s) > static_cast<std::uint64_t>(L::max()))
            return out_of_range();
        if (s < 0 && s < static_cast<std::int64_t>(L::min())) return out_of_range();
        return static_cast<T>(s);
    }
    if (v.is_number_float()) {
        const double d = v.get<double>();
        if (!std::isfinite(d) || d != std::trunc(d)) invalid_fill(v, dtype);
        if (d < static_cast<double>(L::min()) || d >= static_cast<double>(L::max()) + 1.0)
            return out_of_range();
        return static_cast<T>(d);
    }
    invalid_fill(v, dtype);
}

std::optional<DType> v3_data_type(const std::string& name) {
    static constexpr std::array<DType, kNumDTypes> all{
        bool_, int8, int16, int32, int64, uint8, uint16, uint32, uint64,
        float32, float64, complex64, complex128};
    for (DType d : all)
        if (d.name() == name) return d;
    return std::nullopt;
}

json dimension_names_json(const std::vector<std::string>& names, bool null_for_empty) {
    json out = json::array();
    for (const auto& name : names) {
        if (null_for_empty && name.empty()) out.push_back(nullptr);
        else out.push_back(name);
    }
    return out;
}

}  // namespace

ZarrArrayMetadata ZarrArrayMetadata::v2(DType dtype, Shape shape, Shape chunks) {
    ZarrArrayMetadata m;
    m.zarr_format = 2;
    m.dtype = dtype;
    m.shape = std::move(shape);
    m.chunks = std::move(chunks);
    m.fill_value.assign(static_cast<std::size_t>(dtype.itemsize()), std::byte{0});
    m.compressor = {{"id", "blosc"}, {"cname", "lz4"}, {"clevel", 5}, {"shuffle", 1},
                    {"blocksize", 0}};
    return m;
}

ZarrArrayMetadata ZarrArrayMetadata::v3(DType dtype, Shape shape, Shape chunks) {
    ZarrArrayMetadata m;
    m.zarr_format = 3;
    m.dtype = dtype;
    m.shape = std::move(shape);
    m.chunks = std::move(chunks);
    m.fill_value.assign(static_cast<std::size_t>(dtype.itemsize()), std::byte{0});
    m.separator = '/';
    m.compressor = nullptr;
    m.codecs = json::array({{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}},
                            {{"name", "zstd"}, {"configuration", {{"level", 0}, {"checksum", false}}}}});
    return m;
}

json parse_json_text(std::string_view text, const std::string& where) {
    try {
        return json::parse(text);
    } catch (const json::parse_error& e) {
        // Drop nlohmann's "[json.exception.parse_error.101] " tag.
        std::string_view message = e.what();
        if (const auto pos = message.find("] "); message.starts_with("[json.") && pos != message.npos)
            message.remove_prefix(pos + 2);
        throw IOError("{}: malformed JSON: {}", where, message);
    }
}

std::string v2_typestr(DType dtype, bool big_endian) {
    std::string s = dtype.str();
    if (dtype.itemsize() > 1) s[0] = big_endian ? '>' : '<';
    return s;
}

std::vector<std::byte> fill_bytes(DType dtype, const Scalar& value) {
    return visit_dtype(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        return to_bytes<T>(value.as<T>());
    });
}

std::vector<std::byte> parse_fill_value(const json& v, DType dtype, int zarr_format) {
    if (v.is_null()) return {};
    return visit_dtype(dtype, [&](auto tag) -> std::vector<std::byte> {
        using T = typename decltype(tag)::type;
        if constexpr (std::is_same_v<T, bool>) {
            if (v.is_boolean()) return to_bytes<bool>(v.get<bool>());
            if (v.is_number_integer() && (v.get<std::int64_t>() == 0 || v.get<std::int64_t>() == 1))
                return to_bytes<bool>(v.get<std::int64_t>() == 1);
            invalid_fill(v, dtype);
        } else if constexpr (std::is_integral_v<T>) {
            return to_bytes<T>(parse_integer<T>(v, dtype));
        } else if constexpr (is_complex_v<T>) {
            using F = typename T::value_type;
            if (!v.is_array() || v.size() != 2) invalid_fill(v, dtype);
            const auto re = parse_float<F>(v[0], zarr_format);
            const auto im = parse_float<F>(v[1], zarr_format);
            if (!re || !im) invalid_fill(v, dtype);
            return to_bytes<T>(T(*re, *im));
        } else {
            const auto x = parse_float<T>(v, zarr_format);
            if (!x) invalid_fill(v, dtype);
            return to_bytes<T>(*x);
        }
    });
}

json fill_value_json(const std::vector<std::byte>& fill, DType dtype, int zarr_format) {
    if (fill.empty() && zarr_format == 2) return nullptr;
    std::vector<std::byte> bytes = fill;
    bytes.resize(static_cast<std::size_t>(dtype.itemsize()), std::byte{0});  // v3 has no null
    return visit_dtype(dtype, [&](auto tag) -> json {
        using T = typename decltype(tag)::type;
        T value;
        std::memcpy(&value, bytes.data(), sizeof(T));
        if constexpr (is_complex_v<T>)
            return json::array({float_json(value.real(), zarr_format),
                                float_json(value.imag(), zarr_format)});
        else if constexpr (std::is_floating_point_v<T>)
            return float_json(value, zarr_format);
        else
            return value;
    });
}

CodecPipeline make_pipeline(const ZarrArrayMetadata& m) {
    if (m.zarr_format != 2 && m.zarr_format != 3)
        throw IOError("unsupported zarr_format {}", m.zarr_format);
    if (m.shape.size() != m.chunks.size())
        throw IOError("'shape' has {} dimensions but 'chunks' has {}", m.shape.size(),
                      m.chunks.size());
    for (std::int64_t extent : m.shape)
        if (extent < 0) throw IOError("negative extent in shape {}", shape_str(m.shape));
    for (std::int64_t extent : m.chunks)
        if (extent <= 0) throw IOError("chunk extents must be positive, got {}", shape_str(m.chunks));
    if (!m.fill_value.empty() && static_cast<std::int64_t>(m.fill_value.size()) != m.dtype.itemsize())
        throw IOError("fill_value has {} bytes but dtype {} has {}", m.fill_value.size(),
                      m.dtype.name(), m.dtype.itemsize());
    if (m.separator != '.' && m.separator != '/')
        throw IOError("separator must be '.' or '/', got '{}'", m.separator);
    if (m.zarr_format == 3) return CodecPipeline::v3(m.codecs, m.dtype, m.chunks, m.fill_value);
    if (m.order != 'C' && m.order != 'F')
        throw IOError("'order' must be \"C\" or \"F\", got \"{}\"", m.order);
    return CodecPipeline::v2(m.dtype, m.chunks, m.order, m.big_endian,
                             make_v2_compressor(m.compressor, m.dtype.itemsize()));
}

ZarrArrayMetadata metadata_from_v2(const json& zarray, const json& zattrs, const std::string& where,
                                   const std::string& attrs_where) {
    ZarrArrayMetadata m;
    try {
        if (!zarray.is_object()) throw IOError("must be a JSON object, got {}", zarray.dump());
        const json& format = require(zarray, "zarr_format");
        if (format != 2) throw IOError("'zarr_format' must be 2, got {}", format.dump());
        m.shape = parse_extents(require(zarray, "shape"), "shape", false);
        m.chunks = parse_extents(require(zarray, "chunks"), "chunks", true);
        if (m.shape.size() != m.chunks.size())
            throw IOError("'shape' has {} dimensions but 'chunks' has {}", m.shape.size(),
                          m.chunks.size());
        const json& dtype = require(zarray, "dtype");
        try {
            if (!dtype.is_string()) throw DTypeError("not a string");
            const TypeStr t = parse_typestr(dtype.get<std::string>());
            m.dtype = t.dtype;
            m.big_endian = t.big_endian;
        } catch (const DTypeError&) {
            throw IOError("unsupported dtype {}", dtype.dump());
        }
        const json order = zarray.value("order", json("C"));
        if (order != "C" && order != "F")
            throw IOError("'order' must be \"C\" or \"F\", got {}", order.dump());
        m.order = order.get<std::string>()[0];
        if (zarray.contains("dimension_separator") && !zarray["dimension_separator"].is_null())
            m.separator = parse_separator(zarray["dimension_separator"], "dimension_separator");
        const json filters = zarray.value("filters", json());
        if (!filters.is_null() && filters != json::array())
            throw IOError("filters are not supported, got {}", filters.dump());
        m.compressor = zarray.value("compressor", json());
        m.fill_value = parse_fill_value(zarray.value("fill_value", json()), m.dtype, 2);
        make_pipeline(m);
    } catch (const IOError& e) {
        throw IOError("{}: {}", where, e.what());
    }
    try {
        if (!zattrs.is_null() && !zattrs.is_object())
            throw IOError("must be a JSON object, got {}", zattrs.dump());
        if (zattrs.is_object()) m.attributes = zattrs;
        if (m.attributes.contains("_ARRAY_DIMENSIONS")) {
            const json dims = m.attributes["_ARRAY_DIMENSIONS"];
            bool ok = dims.is_array() && dims.size() == m.shape.size();
            std::vector<std::string> names;
            for (const json& name : ok ? dims : json::array()) {
                if (!name.is_string()) ok = false;
                else names.push_back(name.get<std::string>());
            }
            if (!ok)
                throw IOError("'_ARRAY_DIMENSIONS' must be a list of {} strings, got {}",
                              m.shape.size(), dims.dump());
            m.dimension_names = names;
            m.attributes.erase("_ARRAY_DIMENSIONS");
        }
    } catch (const IOError& e) {
        throw IOError("{}: {}", attrs_where, e.what());
    }
    return m;
}

ZarrArrayMetadata metadata_from_v3(const json& j, const std::string& where) {
    ZarrArrayMetadata m;
    m.zarr_format = 3;
    m.compressor = nullptr;
    try {
        if (!j.is_object()) throw IOError("must be a JSON object, got {}", j.dump());
        const json& format = require(j, "zarr_format");
        if (format != 3) throw IOError("'zarr_format' must be 3, got {}", format.dump());
        const json& node_type = require(j, "node_type");
        if (node_type != "array")
            throw IOError("'node_type' must be \"array\", got {}", node_type.dump());
        m.shape = parse_extents(require(j, "shape"), "shape", false);
        const json& data_type = require(j, "data_type");
        const auto dtype = data_type.is_string() ? v3_data_type(data_type.get<std::string>())
                                                 : std::nullopt;
        if (!dtype) throw IOError("unsupported data_type {}", data_type.dump());
        m.dtype = *dtype;
        const json& grid = require(j, "chunk_grid");
        if (!grid.is_object() || grid.value("name", json()) != "regular" ||
            !grid.contains("configuration") || !grid["configuration"].is_object())
            throw IOError("unsupported chunk_grid {}", grid.dump());
        m.chunks = parse_extents(require(grid["configuration"], "chunk_shape"), "chunk_shape", true);
        if (m.shape.size() != m.chunks.size())
            throw IOError("'shape' has {} dimensions but 'chunk_shape' has {}", m.shape.size(),
                          m.chunks.size());
        const json& keys = require(j, "chunk_key_encoding");
        const json key_name = keys.is_object() ? keys.value("name", json()) : json();
        if (key_name != "default" && key_name != "v2")
            throw IOError("unsupported chunk_key_encoding {}", keys.dump());
        m.v2_chunk_keys = key_name == "v2";
        m.separator = m.v2_chunk_keys ? '.' : '/';
        if (keys.contains("configuration") && keys["configuration"].contains("separator"))
            m.separator = parse_separator(keys["configuration"]["separator"], "separator");
        m.fill_value = parse_fill_value(require(j, "fill_value"), m.dtype, 3);
        m.codecs = require(j, "codecs");
        if (j.contains("storage_transformers") && !j["storage_transformers"].empty())
            throw IOError("storage_transformers are not supported, got {}",
                          j["storage_transformers"].dump());
        if (j.contains("attributes")) {
            if (!j["attributes"].is_object())
                throw IOError("'attributes' must be an object, got {}", j["attributes"].dump());
            m.attributes = j["attributes"];
        }
        if (j.contains("dimension_names") && !j["dimension_names"].is_null()) {
            const json& dims = j["dimension_names"];
            bool ok = dims.is_array() && dims.size() == m.shape.size();
            std::vector<std::string> names;
            for (const json& name : ok ? dims : json::array()) {
                if (name.is_string()) names.push_back(name.get<std::string>());
                else if (name.is_null()) names.emplace_back();
                else ok = false;
            }
            if (!ok)
                throw IOError("'dimension_names' must be a list of {} strings or nulls, got {}",
                              m.shape.size(), dims.dump());
            m.dimension_names = names;
        }
        make_pipeline(m);
    } catch (const IOError& e) {
        throw IOError("{}: {}", where, e.what());
    }
    return m;
}

json to_v2_zarray(const ZarrArrayMetadata& m) {
    return {{"zarr_format", 2},
            {"shape", m.shape},
            {"chunks", m.chunks},
            {"dtype", v2_typestr(m.dtype, m.big_endian)},
            {"compressor", m.compressor},
            {"fill_value", fill_value_json(m.fill_value, m.dtype, 2)},
            {"order", std::string(1, m.order)},
            {"filters", nullptr},
            {"dimension_separator", std::string(1, m.separator)}};
}

json to_v2_zattrs(const ZarrArrayMetadata& m) {
    json attrs = m.attributes.is_object() ? m.attributes : json::object();
    if (m.dimension_names) attrs["_ARRAY_DIMENSIONS"] = dimension_names_json(*m.dimension_names, false);
    return attrs;
}

json to_v3_zarr_json(const ZarrArrayMetadata& m) {
    json j = {{"zarr_format", 3},
              {"node_type", "array"},
              {"shape", m.shape},
              {"data_type", std::string(m.dtype.name())},
              {"chunk_grid", {{"name", "regular"}, {"configuration", {{"chunk_shape", m.chunks}}}}},
              {"chunk_key_encoding",
               {{"name", m.v2_chunk_keys ? "v2" : "default"},
                {"configuration", {{"separator", std::string(1, m.separator)}}}}},
              {"fill_value", fill_value_json(m.fill_value, m.dtype, 3)},
              {"codecs", m.codecs},
              {"attributes", m.attributes.is_object() ? m.attributes : json::object()}};
    if (m.dimension_names) j["dimension_names"] = dimension_names_json(*m.dimension_names, true);
    return j;
}

}  // namespace tessera::io
