// The libnetcdf layer: the process-wide lock, the LRU cache of open files, metadata reading and
// hyperslab reads (see netcdf_file.hpp).
#include "src/io/netcdf_file.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <list>

#include <fmt/format.h>
#include <netcdf.h>

#include "tessera/error.hpp"

namespace tessera::detail {

namespace {

constexpr std::size_t kMaxOpenFiles = 32;

struct CachedFile {
    std::string path;
    int ncid = -1;
    ino_t inode = 0;
    off_t size = 0;
    std::int64_t mtime_ns = 0;
};

// The mutex and the cache live together. Never destroyed (threads may still read while the
// process exits); the files are closed by an atexit handler registered after the first
// nc_open, so it runs before libnetcdf's and HDF5's own exit handlers.
struct NetcdfState {
    std::mutex mutex;
    std::list<CachedFile> files;  // most recently used first
};

NetcdfState& state() {
    static NetcdfState* s = new NetcdfState;
    return *s;
}

void close_all_at_exit() {
    std::lock_guard<std::mutex> lock(state().mutex);
    for (auto& f : state().files) nc_close(f.ncid);
    state().files.clear();
}

bool stat_file(const std::string& path, CachedFile& out) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return false;
    out.inode = st.st_ino;
    out.size = st.st_size;
    out.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    return true;
}

std::string dim_name(int ncid, int dimid) {
    char name[NC_MAX_NAME + 1] = {};
    nc_inq_dimname(ncid, dimid, name);
    return name;
}

std::optional<Attribute> read_attribute(int ncid, int varid, const char* name) {
    nc_type type = 0;
    size_t len = 0;
    if (nc_inq_att(ncid, varid, name, &type, &len) != NC_NOERR) return std::nullopt;
    if (type == NC_CHAR) {
        std::string text(len, '\0');
        if (len > 0) nc_get_att_text(ncid, varid, name, text.data());
        while (!text.empty() && text.back() == '\0') text.pop_back();
        return Attribute(std::move(text));
    }
    if (type == NC_STRING) {
        std::vector<char*> strings(len, nullptr);
        if (len > 0) nc_get_att_string(ncid, varid, name, strings.data());
        std::string text;
        for (size_t k = 0; k < len; ++k) {
            if (k > 0) text += '\n';
            if (strings[k]) text += strings[k];
        }
        if (len > 0) nc_free_string(len, strings.data());
        return Attribute(std::move(text));
    }
    if (type < NC_BYTE || type > NC_UINT64) return std::nullopt;  // user-defined types
    NDArray values = NDArray::empty(dtype_of_netcdf_type(type, name), {static_cast<std::int64_t>(len)});
    if (len > 0) nc_get_att(ncid, varid, name, values.raw_data());
    return Attribute(std::move(values));
}

Attributes read_attributes(int ncid, int varid, int natts) {
    Attributes attrs;
    for (int k = 0; k < natts; ++k) {
        char name[NC_MAX_NAME + 1] = {};
        if (nc_inq_attname(ncid, varid, k, name) != NC_NOERR) continue;
        if (auto a = read_attribute(ncid, varid, name)) attrs.emplace(name, std::move(*a));
    }
    return attrs;
}

std::string type_description(int ncid, nc_type type) {
    if (type == NC_CHAR) return "char";
    if (type == NC_STRING) return "string";
    char name[NC_MAX_NAME + 1] = {};
    nc_inq_type(ncid, type, name, nullptr);
    return fmt::format("user type '{}'", name);
}

void read_group(int ncid, NetcdfGroupMeta& meta) {
    int ndims = 0;
    nc_inq_dimids(ncid, &ndims, nullptr, 0);
    std::vector<int> dimids(static_cast<size_t>(ndims));
    if (ndims > 0) nc_inq_dimids(ncid, &ndims, dimids.data(), 0);
    for (int id : dimids) {
        char name[NC_MAX_NAME + 1] = {};
        size_t len = 0;
        nc_inq_dim(ncid, id, name, &len);
        meta.dims.emplace_back(name, static_cast<std::int64_t>(len));
    }
    int natts = 0;
    nc_inq_natts(ncid, &natts);
    meta.attrs = read_attributes(ncid, NC_GLOBAL, natts);

    int nvars = 0;
    nc_inq_varids(ncid, &nvars, nullptr);
    std::vector<int> varids(static_cast<size_t>(nvars));
    if (nvars > 0) nc_inq_varids(ncid, &nvars, varids.data());
    for (int varid : varids) {
        char name[NC_MAX_NAME + 1] = {};
        nc_type type = 0;
        int var_ndims = 0, var_natts = 0;
        nc_inq_var(ncid, varid, name, &type, &var_ndims, nullptr, &var_natts);
        if (type < NC_BYTE || type > NC_UINT64 || type == NC_CHAR) {
            meta.unsupported.emplace_back(name, type_description(ncid, type));
            continue;
        }
        NetcdfVariableInfo info;
        info.name = name;
        info.group = meta.path;
        info.dtype = dtype_of_netcdf_type(type, name);
        std::vector<int> var_dims(static_cast<size_t>(var_ndims));
        if (var_ndims > 0) nc_inq_vardimid(ncid, varid, var_dims.data());
        for (int dimid : var_dims) {
            size_t len = 0;
            nc_inq_dimlen(ncid, dimid, &len);
            info.dims.push_back(dim_name(ncid, dimid));
            info.shape.push_back(static_cast<std::int64_t>(len));
        }
        info.attrs = read_attributes(ncid, varid, var_natts);
        int storage = NC_CONTIGUOUS;
        std::vector<size_t> chunk(static_cast<size_t>(var_ndims), 0);
        if (var_ndims > 0 && nc_inq_var_chunking(ncid, varid, &storage, chunk.data()) == NC_NOERR &&
            storage == NC_CHUNKED) {
            for (size_t c : chunk) info.file_chunks.push_back(static_cast<std::int64_t>(c));
        }
        int shuffle = 0, deflate = 0, level = 0;
        if (nc_inq_var_deflate(ncid, varid, &shuffle, &deflate, &level) == NC_NOERR && deflate)
            info.deflate_level = level;
        meta.variables.push_back(std::move(info));
    }

    int ngroups = 0;
    nc_inq_grps(ncid, &ngroups, nullptr);
    std::vector<int> groupids(static_cast<size_t>(ngroups));
    if (ngroups > 0) nc_inq_grps(ncid, &ngroups, groupids.data());
    for (int gid : groupids) {
        char name[NC_MAX_NAME + 1] = {};
        nc_inq_grpname(gid, name);
        auto child = std::make_unique<NetcdfGroupMeta>();
        child->name = name;
        child->path = (meta.path == "/" ? "" : meta.path) + "/" + name;
        child->parent = &meta;
        read_group(gid, *child);
        meta.groups.push_back(std::move(child));
    }
}

}  // namespace

NetcdfLock::NetcdfLock() : lock_(state().mutex) {}
NetcdfLock::~NetcdfLock() = default;

std::string netcdf_error_text(int status) { return nc_strerror(status); }

int netcdf_open_cached(const std::string& path) {
    auto& files = state().files;
    CachedFile now;
    const bool exists = stat_file(path, now);
    for (auto it = files.begin(); it != files.end(); ++it) {
        if (it->path != path) continue;
        if (exists && it->inode == now.inode && it->size == now.size && it->mtime_ns == now.mtime_ns) {
            files.splice(files.begin(), files, it);
            return it->ncid;
        }
        nc_close(it->ncid);  // changed or removed on disk
        files.erase(it);
        break;
    }
    int ncid = -1;
    const int status = nc_open(path.c_str(), NC_NOWRITE, &ncid);
    if (status != NC_NOERR)
        throw IOError("cannot open NetCDF file '{}': {}", path, netcdf_error_text(status));
    static const bool close_at_exit = (std::atexit(close_all_at_exit), true);
    (void)close_at_exit;
    now.path = path;
    now.ncid = ncid;
    files.push_front(now);
    while (files.size() > kMaxOpenFiles) {
        nc_close(files.back().ncid);
        files.pop_back();
    }
    return ncid;
}

void netcdf_evict(const std::string& path) {
    NetcdfLock lock;
    auto& files = state().files;
    for (auto it = files.begin(); it != files.end(); ++it) {
        if (it->path == path) {
            nc_close(it->ncid);
            files.erase(it);
            return;
        }
    }
}

std::int64_t netcdf_cached_files() {
    NetcdfLock lock;
    return static_cast<std::int64_t>(state().files.size());
}

int netcdf_type_of(DType dtype) {
    switch (dtype.id()) {
        case DTypeId::Int8: return NC_BYTE;
        case DTypeId::UInt8: return NC_UBYTE;
        case DTypeId::Int16: return NC_SHORT;
        case DTypeId::UInt16: return NC_USHORT;
        case DTypeId::Int32: return NC_INT;
        case DTypeId::UInt32: return NC_UINT;
        case DTypeId::Int64: return NC_INT64;
        case DTypeId::UInt64: return NC_UINT64;
        case DTypeId::Float32: return NC_FLOAT;
        case DTypeId::Float64: return NC_DOUBLE;
        default: throw DTypeError("NetCDF has no type for dtype {}", dtype);
    }
}

DType dtype_of_netcdf_type(int nc_type, const std::string& what) {
    switch (nc_type) {
        case NC_BYTE: return int8;
        case NC_UBYTE: return uint8;
        case NC_SHORT: return int16;
        case NC_USHORT: return uint16;
        case NC_INT: return int32;
        case NC_UINT: return uint32;
        case NC_INT64: return int64;
        case NC_UINT64: return uint64;
        case NC_FLOAT: return float32;
        case NC_DOUBLE: return float64;
        default: throw NotImplemented("'{}': NetCDF type {} is not supported", what, nc_type);
    }
}

std::shared_ptr<const NetcdfGroupMeta> read_netcdf_metadata(const std::string& path) {
    auto root = std::make_shared<NetcdfGroupMeta>();
    root->path.assign(1, '/');  // (operator=("/") trips a GCC 12 -Wrestrict false positive)
    NetcdfLock lock;
    const int ncid = netcdf_open_cached(path);
    read_group(ncid, *root);
    return root;
}

std::string hyperslab_str(const std::vector<std::int64_t>& start, const std::vector<std::int64_t>& count) {
    std::string out = "[";
    for (size_t axis = 0; axis < start.size(); ++axis)
        out += fmt::format("{}{}:{}", axis ? ", " : "", start[axis], start[axis] + count[axis]);
    return out + "]";
}

NDArray netcdf_read_hyperslab(const std::string& path, const std::string& group, const std::string& var,
                              DType dtype, const std::vector<std::int64_t>& start,
                              const std::vector<std::int64_t>& count) {
    NDArray out = NDArray::empty(dtype, Shape(count.begin(), count.end()));
    if (out.size() == 0) return out;
    const std::string full = (group == "/" ? "" : group) + "/" + var;
    auto fail = [&](int status) {
        throw IOError("cannot read variable '{}' {} of '{}': {}", full, hyperslab_str(start, count), path,
                      netcdf_error_text(status));
    };
    NetcdfLock lock;
    const int ncid = netcdf_open_cached(path);
    int grp = ncid, varid = -1;
    int status = NC_NOERR;
    if (group != "/") status = nc_inq_grp_full_ncid(ncid, group.c_str(), &grp);
    if (status == NC_NOERR) status = nc_inq_varid(grp, var.c_str(), &varid);
    if (status != NC_NOERR) fail(status);
    if (count.empty()) {
        status = nc_get_var(grp, varid, out.raw_data());
    } else {
        std::vector<size_t> s(start.begin(), start.end()), c(count.begin(), count.end());
        status = nc_get_vara(grp, varid, s.data(), c.data(), out.raw_data());
    }
    if (status != NC_NOERR) fail(status);
    return out;
}

}  // namespace tessera::detail
