// Attribute, NetcdfDataset and open_netcdf: navigation over the metadata tree read at open.
#include <fmt/format.h>

#include "src/io/netcdf_file.hpp"
#include "tessera/error.hpp"
#include "tessera/netcdf.hpp"

namespace tessera {

Attribute::Attribute(NDArray values) {
    if (values.ndim() != 1) values = values.reshape({values.size()});
    value_ = values.contiguous();
}

const std::string& Attribute::text() const {
    if (!is_text()) throw DTypeError("attribute {} is numeric, not text", str());
    return std::get<std::string>(value_);
}

const NDArray& Attribute::values() const {
    if (is_text()) throw DTypeError("attribute {} is text, not numbers", str());
    return std::get<NDArray>(value_);
}

std::string Attribute::str() const {
    if (is_text()) return fmt::format("\"{}\"", std::get<std::string>(value_));
    const NDArray& v = std::get<NDArray>(value_);
    std::string out = "[";
    for (std::int64_t k = 0; k < v.size(); ++k) out += (k ? ", " : "") + v.get_scalar(std::span<const std::int64_t>(&k, 1)).repr();
    return out + "] " + std::string(v.dtype().name());
}

bool operator==(const Attribute& a, const Attribute& b) {
    if (a.is_text() != b.is_text()) return false;
    if (a.is_text()) return a.text() == b.text();
    return a.values().dtype() == b.values().dtype() && a.values().equals(b.values(), true);
}

namespace {

std::string where(const std::string& path, const detail::NetcdfGroupMeta& g) {
    return g.path == "/" ? path : fmt::format("{} group {}", path, g.path);
}

std::string list_or(const std::vector<std::string>& names, const char* none) {
    return names.empty() ? std::string(none) : fmt::format("{}", fmt::join(names, ", "));
}

}  // namespace

const std::string& NetcdfDataset::group_path() const {
    static const std::string empty;
    return group_ ? group_->path : empty;
}

std::vector<std::string> NetcdfDataset::variables() const {
    std::vector<std::string> out;
    if (group_)
        for (const auto& v : group_->variables) out.push_back(v.name);
    return out;
}

std::map<std::string, std::int64_t> NetcdfDataset::dims() const {
    std::map<std::string, std::int64_t> out;
    // Inner groups first: their dims hide same-named dims of ancestors.
    for (const detail::NetcdfGroupMeta* g = group_.get(); g != nullptr; g = g->parent)
        for (const auto& [name, length] : g->dims) out.emplace(name, length);
    return out;
}

const Attributes& NetcdfDataset::attrs() const {
    static const Attributes empty;
    return group_ ? group_->attrs : empty;
}

std::vector<std::string> NetcdfDataset::groups() const {
    std::vector<std::string> out;
    if (group_)
        for (const auto& g : group_->groups) out.push_back(g->name);
    return out;
}

NetcdfDataset NetcdfDataset::group(const std::string& name) const {
    if (!group_) throw IOError("no group '{}': the dataset is not open", name);
    const detail::NetcdfGroupMeta* g = group_.get();
    std::size_t pos = 0;
    while (pos <= name.size()) {
        const std::size_t slash = std::min(name.find('/', pos), name.size());
        const std::string part = name.substr(pos, slash - pos);
        pos = slash + 1;
        if (part.empty()) continue;
        const detail::NetcdfGroupMeta* next = nullptr;
        std::vector<std::string> names;
        for (const auto& child : g->groups) {
            names.push_back(child->name);
            if (child->name == part) next = child.get();
        }
        if (next == nullptr)
            throw IOError("no group '{}' in {} (groups: {})", part, where(path_, *g), list_or(names, "none"));
        g = next;
    }
    NetcdfDataset out = *this;
    out.group_ = std::shared_ptr<const detail::NetcdfGroupMeta>(group_, g);
    return out;
}

bool NetcdfDataset::has_variable(const std::string& name) const {
    if (!group_) return false;
    for (const auto& v : group_->variables)
        if (v.name == name) return true;
    return false;
}

const NetcdfVariableInfo& NetcdfDataset::info(const std::string& name) const {
    if (!group_) throw IOError("no variable '{}': the dataset is not open", name);
    for (const auto& v : group_->variables)
        if (v.name == name) return v;
    for (const auto& [var, type] : group_->unsupported)
        if (var == name)
            throw NotImplemented("variable '{}' in {} has type {}, which Tessera cannot read", name,
                                 where(path_, *group_), type);
    throw IOError("no variable '{}' in {} (variables: {})", name, where(path_, *group_),
                  list_or(variables(), "none"));
}

Array NetcdfDataset::variable(const std::string& name) const { return variable(name, options_); }

Array NetcdfDataset::variable(const std::string& name, const NetcdfOpenOptions& options) const {
    return detail::netcdf_variable_array(path_, info(name), options);
}

NetcdfDataset open_netcdf(const std::string& path, const NetcdfOpenOptions& options) {
    NetcdfDataset ds;
    ds.path_ = path;
    ds.options_ = options;
    ds.group_ = detail::read_netcdf_metadata(path);
    return ds;
}

}  // namespace tessera
