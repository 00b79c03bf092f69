// zarr_create_group / zarr_consolidate_metadata: the public face of ZarrGroup.

#include "src/io/zarr_group.hpp"
#include "tessera/error.hpp"
#include "tessera/io.hpp"

namespace tessera {

void zarr_create_group(const std::string& path, const ZarrGroupOptions& options) {
    io::json attrs = io::json::object();
    if (!options.attrs.empty()) {
        attrs = io::parse_json_text(options.attrs, "attrs");
        if (!attrs.is_object()) throw ValueError("attrs must be a JSON object, got {}", options.attrs);
    }
    io::ZarrGroup group = io::ZarrGroup::create(path, options.zarr_format, options.mode);
    if (options.attrs.empty()) return;
    io::json merged = group.attributes();
    merged.update(attrs);
    group.set_attributes(std::move(merged));
    group.flush_metadata();
}

void zarr_consolidate_metadata(const std::string& path) { io::consolidate_metadata(path); }

}  // namespace tessera
