#pragma once
// Internal: the libnetcdf layer. libnetcdf (Debian's build) is not thread-safe, so every call
// into it goes through one process-wide mutex (NetcdfLock). Files opened for reading stay open
// in a small LRU cache keyed by path and are reopened when the file changes on disk (inode,
// size or mtime); writers evict their path first. The metadata of a whole file is read once
// into a NetcdfGroupMeta tree.

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "tessera/netcdf.hpp"

namespace tessera::detail {

/// Holds the process-wide libnetcdf mutex.
class NetcdfLock {
public:
    NetcdfLock();
    ~NetcdfLock();
    NetcdfLock(const NetcdfLock&) = delete;
    NetcdfLock& operator=(const NetcdfLock&) = delete;

private:
    std::unique_lock<std::mutex> lock_;
};

/// libnetcdf's message for a status code (nc_strerror).
std::string netcdf_error_text(int status);

/// The ncid of `path` opened read-only, from the cache (opening it when absent or changed).
/// Caller holds a NetcdfLock. IOError "cannot open NetCDF file '<path>': <nc_strerror>".
int netcdf_open_cached(const std::string& path);
/// Closes `path` if it is cached (before writing it). Takes the lock.
void netcdf_evict(const std::string& path);
/// Number of cached open files (tests).
std::int64_t netcdf_cached_files();

/// NetCDF type of a dtype, and back; DTypeError / NotImplemented for types without a match.
int netcdf_type_of(DType dtype);
DType dtype_of_netcdf_type(int nc_type, const std::string& what);

struct NetcdfGroupMeta {
    std::string name;  // "" for the root
    std::string path;  // "/" or "/a/b"
    const NetcdfGroupMeta* parent = nullptr;
    std::vector<std::pair<std::string, std::int64_t>> dims;  // declared in this group
    Attributes attrs;
    std::vector<NetcdfVariableInfo> variables;
    // Variables of types Tessera cannot hold (char, string, compound): name → type description.
    std::vector<std::pair<std::string, std::string>> unsupported;
    std::vector<std::unique_ptr<NetcdfGroupMeta>> groups;
};

/// Reads the metadata of every group of `path`. IOError as netcdf_open_cached.
std::shared_ptr<const NetcdfGroupMeta> read_netcdf_metadata(const std::string& path);

/// Reads the hyperslab [start, start + count) of variable `var` of group `group` as `dtype`
/// (the stored type). IOError naming the path, variable and hyperslab.
NDArray netcdf_read_hyperslab(const std::string& path, const std::string& group, const std::string& var,
                              DType dtype, const std::vector<std::int64_t>& start,
                              const std::vector<std::int64_t>& count);

/// "[0:10, 0:5]" for messages.
std::string hyperslab_str(const std::vector<std::int64_t>& start, const std::vector<std::int64_t>& count);

}  // namespace tessera::detail

namespace tessera::detail {

/// The lazy Array of a variable (array/netcdf_array.cpp): one "tessera.netcdf_read" task per
/// block, chunked per `options` (see NetcdfOpenOptions::chunks).
Array netcdf_variable_array(const std::string& path, const NetcdfVariableInfo& info,
                            const NetcdfOpenOptions& options);

/// The block shape of `info` read with `options` (chunk planning, exposed for tests).
Chunks netcdf_read_chunks(const NetcdfVariableInfo& info, DType dtype, const NetcdfOpenOptions& options);

}  // namespace tessera::detail
