#pragma once
// Internal: whole-file reads and crash-safe writes for the Zarr stores.
//
// A write goes to a temporary file in the destination's directory (".<name>.<unique>.partial",
// the same convention as zarr-python's DirectoryStore), which is then renamed over the
// destination: readers, and a process killed in the middle, see either the old or the new file.

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "src/io/codecs.hpp"
#include "tessera/shape.hpp"

namespace tessera::io {

/// Writes `data` to `path` atomically, creating missing parent directories. IOError naming the
/// path and the system error.
void write_file_atomic(const std::string& path, std::span<const std::byte> data);
void write_file_atomic(const std::string& path, std::string_view text);
/// Reads a whole file; nullopt when it does not exist; IOError naming the path otherwise.
std::optional<Bytes> read_file(const std::string& path);
/// Removes a file; false when it did not exist. IOError for other failures.
bool remove_file(const std::string& path);
/// True for names of temporary files made by write_file_atomic.
bool is_temp_name(std::string_view name);
/// `base` + "/" + `name` (just `name` when `base` is empty).
std::string join_path(const std::string& base, const std::string& name);

/// The C-order grid position of flat index `k` in a grid of `grid` blocks.
inline Index unravel(std::int64_t k, const Shape& grid) {
    Index out(grid.size());
    for (std::size_t axis = grid.size(); axis-- > 0;) {
        out[axis] = k % grid[axis];
        k /= grid[axis];
    }
    return out;
}

}  // namespace tessera::io
