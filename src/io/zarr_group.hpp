#pragma once
// Internal: Zarr groups (v2 .zgroup, v3 zarr.json with node_type "group"), their member arrays
// and subgroups, and v2 consolidated metadata (.zmetadata).
//
//     ZarrGroup root = ZarrGroup::open_consolidated("/data/ds.zarr");
//     for (const auto& name : root.array_names()) {
//         ZarrArrayStore a = root.open_array(name);
//         auto dims = a.dims();   // from _ARRAY_DIMENSIONS (xarray) or dimension_names
//     }

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "src/io/zarr_store.hpp"

namespace tessera::io {

class ZarrGroup {
public:
    /// Opens the group at `path` ("r" or "r+"); IOError "<path>: no Zarr group found (neither
    /// zarr.json nor .zgroup exists)" or for malformed documents.
    static ZarrGroup open(const std::string& path, std::string_view mode = "r");
    /// Opens a v2 group through its .zmetadata: listing and opening members reads no other file.
    /// IOError "<path>/.zmetadata: ..." when missing or malformed.
    static ZarrGroup open_consolidated(const std::string& path, std::string_view mode = "r");
    /// Creates a group and writes its metadata now. Modes as ZarrArrayStore::create ("w", "w-",
    /// "a"). IOError "<path>: an array or group already exists there" for "w-".
    static ZarrGroup create(const std::string& path, int zarr_format = 2,
                            std::string_view mode = "w-");

    const std::string& path() const { return path_; }
    int zarr_format() const { return zarr_format_; }
    bool consolidated() const { return consolidated_ != nullptr; }

    /// Sorted names of the member arrays and subgroups (direct children).
    std::vector<std::string> array_names() const;
    std::vector<std::string> group_names() const;
    /// Opens a member array or subgroup; `name` may be a nested path ("sub/x").
    ZarrArrayStore open_array(const std::string& name, std::string_view mode = "r") const;
    ZarrGroup open_group(const std::string& name, std::string_view mode = "r") const;
    /// Creates a member (see ZarrArrayStore::create; its metadata format must match the group's).
    ZarrArrayStore create_array(const std::string& name, ZarrArrayMetadata metadata,
                                std::string_view mode = "w-") const;
    ZarrGroup create_group(const std::string& name, std::string_view mode = "w-") const;

    const json& attributes() const { return attributes_; }
    void set_attributes(json attributes);
    /// Writes .zgroup + .zattrs (v2) or zarr.json (v3).
    void flush_metadata() const;

private:
    ZarrGroup() = default;
    std::vector<std::string> member_names(bool arrays) const;

    std::string path_;
    int zarr_format_ = 2;
    json attributes_ = json::object();
    bool writable_ = false;
    // Consolidated: the "metadata" object of the root's .zmetadata and this group's key prefix.
    std::shared_ptr<const json> consolidated_;
    std::string root_;
    std::string prefix_;
};

/// Gathers every .zgroup, .zarray and .zattrs below the v2 group at `path` into
/// `path`/.zmetadata, like zarr.consolidate_metadata. IOError for unreadable members.
void consolidate_metadata(const std::string& path);

}  // namespace tessera::io
