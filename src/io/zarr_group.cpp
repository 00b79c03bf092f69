// Zarr groups and v2 consolidated metadata.

#include "src/io/zarr_group.hpp"

#include <algorithm>
#include <filesystem>

#include "src/io/file_io.hpp"
#include "tessera/error.hpp"

namespace tessera::io {
namespace fs = std::filesystem;

namespace {

std::string_view as_text(const Bytes& bytes) {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

bool is_regular(const fs::path& path) {
    std::error_code ec;
    return fs::is_regular_file(path, ec);
}

json read_json(const std::string& file) {
    auto bytes = read_file(file);
    if (!bytes) throw IOError("{}: no such file", file);
    return parse_json_text(as_text(*bytes), file);
}

json check_attributes(const json& attrs, const std::string& where) {
    if (attrs.is_null()) return json::object();
    if (!attrs.is_object()) throw IOError("{}: must be a JSON object, got {}", where, attrs.dump());
    return attrs;
}

void check_group_mode(std::string_view mode) {
    if (mode != "r" && mode != "r+")
        throw ValueError("invalid mode '{}' to open a Zarr group: use 'r' or 'r+'", mode);
}

// The node type of a v3 zarr.json ("" when absent or unreadable as a node).
std::string v3_node_type(const fs::path& dir) {
    const std::string file = (dir / "zarr.json").string();
    if (!is_regular(file)) return "";
    const json j = read_json(file);
    return j.is_object() && j.contains("node_type") && j["node_type"].is_string()
               ? j["node_type"].get<std::string>()
               : "";
}

}  // namespace

ZarrGroup ZarrGroup::open(const std::string& path, std::string_view mode) {
    check_group_mode(mode);
    ZarrGroup g;
    g.path_ = path;
    g.writable_ = mode == "r+";
    if (auto v3 = read_file(path + "/zarr.json")) {
        const std::string where = path + "/zarr.json";
        const json j = parse_json_text(as_text(*v3), where);
        if (!j.is_object() || j.value("zarr_format", json()) != 3)
            throw IOError("{}: 'zarr_format' must be 3, got {}", where,
                          j.is_object() ? j.value("zarr_format", json()).dump() : j.dump());
        if (j.value("node_type", json()) != "group")
            throw IOError("{}: 'node_type' must be \"group\", got {}", where,
                          j.value("node_type", json()).dump());
        g.zarr_format_ = 3;
        g.attributes_ = check_attributes(j.value("attributes", json()), where);
        return g;
    }
    auto zgroup = read_file(path + "/.zgroup");
    if (!zgroup) {
        if (is_regular(path + "/.zarray")) throw IOError("{}: is a Zarr array, not a group", path);
        throw IOError("{}: no Zarr group found (neither zarr.json nor .zgroup exists)", path);
    }
    const json j = parse_json_text(as_text(*zgroup), path + "/.zgroup");
    if (!j.is_object() || j.value("zarr_format", json()) != 2)
        throw IOError("{}/.zgroup: 'zarr_format' must be 2, got {}", path,
                      j.is_object() ? j.value("zarr_format", json()).dump() : j.dump());
    if (auto attrs = read_file(path + "/.zattrs"))
        g.attributes_ = check_attributes(parse_json_text(as_text(*attrs), path + "/.zattrs"),
                                         path + "/.zattrs");
    return g;
}

ZarrGroup ZarrGroup::open_consolidated(const std::string& path, std::string_view mode) {
    check_group_mode(mode);
    const std::string where = path + "/.zmetadata";
    const json j = read_json(where);
    if (!j.is_object() || !j.contains("metadata") || !j["metadata"].is_object())
        throw IOError("{}: missing key 'metadata'", where);
    if (j.value("zarr_consolidated_format", json()) != 1)
        throw IOError("{}: 'zarr_consolidated_format' must be 1, got {}", where,
                      j.value("zarr_consolidated_format", json()).dump());
    if (!j["metadata"].contains(".zgroup")) throw IOError("{}: no '.zgroup' entry", where);
    ZarrGroup g;
    g.path_ = path;
    g.root_ = path;
    g.writable_ = mode == "r+";
    g.consolidated_ = std::make_shared<const json>(j["metadata"]);
    g.attributes_ = check_attributes(g.consolidated_->value(".zattrs", json()), where + "['.zattrs']");
    return g;
}

ZarrGroup ZarrGroup::create(const std::string& path, int zarr_format, std::string_view mode) {
    if (mode != "w" && mode != "w-" && mode != "a")
        throw ValueError("invalid mode '{}' to create a Zarr group: use 'w', 'w-' or 'a'", mode);
    if (zarr_format != 2 && zarr_format != 3)
        throw ValueError("zarr_format must be 2 or 3, got {}", zarr_format);
    const bool exists = is_regular(path + "/zarr.json") || is_regular(path + "/.zgroup") ||
                        is_regular(path + "/.zarray");
    if (mode == "a" && exists) return open(path, "r+");
    if (mode == "w-" && exists) throw IOError("{}: an array or group already exists there", path);
    std::error_code ec;
    if (mode == "w") fs::remove_all(path, ec);
    if (ec) throw IOError("{}: cannot remove the old contents: {}", path, ec.message());
    fs::create_directories(path, ec);
    if (!fs::is_directory(path)) throw IOError("{}: cannot create the directory: {}", path, ec.message());
    ZarrGroup g;
    g.path_ = path;
    g.zarr_format_ = zarr_format;
    g.writable_ = true;
    g.flush_metadata();
    return g;
}

std::vector<std::string> ZarrGroup::member_names(bool arrays) const {
    std::vector<std::string> out;
    if (consolidated_) {
        const std::string suffix = arrays ? "/.zarray" : "/.zgroup";
        for (const auto& [key, value] : consolidated_->items()) {
            if (key.size() <= prefix_.size() + suffix.size() || !key.starts_with(prefix_) ||
                !key.ends_with(suffix))
                continue;
            const std::string name =
                key.substr(prefix_.size(), key.size() - prefix_.size() - suffix.size());
            if (!name.empty() && name.find('/') == std::string::npos) out.push_back(name);
        }
    } else {
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator(path_, ec)) {
            if (!entry.is_directory()) continue;
            bool member = false;
            if (zarr_format_ == 3)
                member = v3_node_type(entry.path()) == (arrays ? "array" : "group");
            else
                member = is_regular(entry.path() / (arrays ? ".zarray" : ".zgroup"));
            if (member) out.push_back(entry.path().filename().string());
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::string> ZarrGroup::array_names() const { return member_names(true); }
std::vector<std::string> ZarrGroup::group_names() const { return member_names(false); }

ZarrArrayStore ZarrGroup::open_array(const std::string& name, std::string_view mode) const {
    if (!consolidated_) return ZarrArrayStore::open(join_path(path_, name), mode);
    if (mode != "r" && mode != "r+")
        throw ValueError("invalid mode '{}' to open a Zarr array: use 'r' or 'r+'", mode);
    const std::string key = prefix_ + name + "/.zarray";
    const std::string attrs_key = prefix_ + name + "/.zattrs";
    if (!consolidated_->contains(key))
        throw IOError("{}/.zmetadata: no array '{}' in the consolidated metadata", root_,
                      prefix_ + name);
    ZarrArrayMetadata meta = metadata_from_v2(
        (*consolidated_)[key], consolidated_->value(attrs_key, json()),
        fmt::format("{}/.zmetadata['{}']", root_, key),
        fmt::format("{}/.zmetadata['{}']", root_, attrs_key));
    return ZarrArrayStore::from_metadata(join_path(path_, name), std::move(meta), mode == "r+");
}

ZarrGroup ZarrGroup::open_group(const std::string& name, std::string_view mode) const {
    if (!consolidated_) return open(join_path(path_, name), mode);
    check_group_mode(mode);
    const std::string key = prefix_ + name + "/.zgroup";
    if (!consolidated_->contains(key))
        throw IOError("{}/.zmetadata: no group '{}' in the consolidated metadata", root_,
                      prefix_ + name);
    ZarrGroup g = *this;
    g.path_ = join_path(path_, name);
    g.prefix_ = prefix_ + name + "/";
    g.writable_ = mode == "r+";
    const std::string attrs_key = g.prefix_ + ".zattrs";
    g.attributes_ = check_attributes(consolidated_->value(attrs_key, json()),
                                     fmt::format("{}/.zmetadata['{}']", root_, attrs_key));
    return g;
}

ZarrArrayStore ZarrGroup::create_array(const std::string& name, ZarrArrayMetadata metadata,
                                       std::string_view mode) const {
    if (!writable_) throw IOError("{}: the group was opened read-only", path_);
    if (metadata.zarr_format != zarr_format_)
        throw IOError("{}: cannot create a zarr_format {} array in a zarr_format {} group", path_,
                      metadata.zarr_format, zarr_format_);
    return ZarrArrayStore::create(join_path(path_, name), std::move(metadata), mode);
}

ZarrGroup ZarrGroup::create_group(const std::string& name, std::string_view mode) const {
    if (!writable_) throw IOError("{}: the group was opened read-only", path_);
    return create(join_path(path_, name), zarr_format_, mode);
}

void ZarrGroup::set_attributes(json attributes) {
    if (!attributes.is_object())
        throw ValueError("Zarr attributes must be a JSON object, got {}", attributes.dump());
    attributes_ = std::move(attributes);
}

void ZarrGroup::flush_metadata() const {
    if (!writable_) throw IOError("{}: the group was opened read-only", path_);
    if (zarr_format_ == 3) {
        const json j = {{"zarr_format", 3}, {"node_type", "group"}, {"attributes", attributes_}};
        write_file_atomic(path_ + "/zarr.json", j.dump(4));
        return;
    }
    write_file_atomic(path_ + "/.zattrs", attributes_.dump(4));
    write_file_atomic(path_ + "/.zgroup", json({{"zarr_format", 2}}).dump(4));
}

void consolidate_metadata(const std::string& path) {
    if (!is_regular(path + "/.zgroup"))
        throw IOError("{}: no .zgroup (consolidated metadata is for v2 groups)", path);
    json metadata = json::object();
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name != ".zgroup" && name != ".zarray" && name != ".zattrs") continue;
        if (!it->is_regular_file()) continue;
        const std::string key = fs::relative(it->path(), path).generic_string();
        metadata[key] = read_json(it->path().string());
    }
    if (ec) throw IOError("{}: cannot list the group: {}", path, ec.message());
    const json doc = {{"metadata", metadata}, {"zarr_consolidated_format", 1}};
    write_file_atomic(path + "/.zmetadata", doc.dump(4));
}

}  // namespace tessera::io
