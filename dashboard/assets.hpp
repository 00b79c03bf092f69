#pragma once
// Internal: the dashboard's web assets (dashboard/assets/*), embedded at build time by
// cmake/embed_assets.cmake into a generated source file.

#include <cstddef>
#include <span>
#include <string_view>

namespace tessera::dashboard {

struct Asset {
    std::string_view name;          // file name, e.g. "app.js"
    std::string_view content_type;  // e.g. "text/javascript; charset=utf-8"
    const unsigned char* data;
    std::size_t size;

    std::string_view text() const { return {reinterpret_cast<const char*>(data), size}; }
};

/// Every embedded asset (defined in the generated dashboard_assets.cpp).
std::span<const Asset> assets();

/// The asset called `name`, or nullptr.
inline const Asset* find_asset(std::string_view name) {
    for (const Asset& a : assets())
        if (a.name == name) return &a;
    return nullptr;
}

}  // namespace tessera::dashboard
