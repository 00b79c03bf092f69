// to_netcdf: define every group, dim, attribute and variable (holding the libnetcdf lock), then
// write each variable: NDArrays at once, Arrays one band of blocks along the first axis at a
// time (computed without the lock, written with it), so memory stays bounded. A failure aborts
// the file (libnetcdf deletes a file it was creating).
#include <netcdf.h>

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>

#include "src/io/netcdf_cf.hpp"
#include "src/io/netcdf_file.hpp"
#include "tessera/error.hpp"
#include "tessera/netcdf.hpp"

namespace tessera {

namespace {

using detail::NetcdfLock;

struct DimScope {
    const DimScope* parent = nullptr;
    std::vector<std::tuple<std::string, int, std::int64_t>> dims;  // name, id, length (-1 unlimited)

    const std::tuple<std::string, int, std::int64_t>* find(const std::string& name) const {
        for (const DimScope* s = this; s != nullptr; s = s->parent)
            for (const auto& d : s->dims)
                if (std::get<0>(d) == name) return &d;
        return nullptr;
    }
};

struct PendingVar {
    int grp = 0, varid = 0;
    const NetcdfVariableSpec* spec = nullptr;
    DType storage;
    std::string full_name;
};

class Writer {
public:
    Writer(const std::string& path, const NetcdfWriteOptions& options) : path_(path), options_(options) {}

    void check(int status, const std::string& what) const {
        if (status != NC_NOERR)
            throw IOError("cannot write NetCDF file '{}': {}: {}", path_, what, detail::netcdf_error_text(status));
    }

    void put_attr(int ncid, int varid, const std::string& name, const Attribute& a,
                  std::optional<DType> as, const std::string& owner) const {
        const std::string what = fmt::format("attribute '{}' of {}", name, owner);
        if (a.is_text()) {
            const std::string& t = a.text();
            check(nc_put_att_text(ncid, varid, name.c_str(), t.size(), t.data()), what);
            return;
        }
        NDArray v = a.values();
        if (as) v = v.astype(*as);
        else if (v.dtype().is_bool()) v = v.astype(int8);
        v = v.contiguous();
        check(nc_put_att(ncid, varid, name.c_str(), detail::netcdf_type_of(v.dtype()),
                         static_cast<size_t>(v.size()), v.raw_data()),
              what);
    }

    void define_group(int grp, const NetcdfGroupSpec& g, DimScope& scope, const std::string& gpath) {
        for (const auto& [name, length] : g.dims) {
            int id = 0;
            check(nc_def_dim(grp, name.c_str(), length == 0 ? NC_UNLIMITED : static_cast<size_t>(length), &id),
                  fmt::format("dimension '{}' in group {}", name, gpath));
            scope.dims.emplace_back(name, id, length == 0 ? -1 : length);
        }
        for (const auto& [name, a] : g.attrs) put_attr(grp, NC_GLOBAL, name, a, std::nullopt, "group " + gpath);
        for (const auto& var : g.variables) define_variable(grp, var, scope, gpath);
        for (const auto& child : g.groups) {
            int cid = 0;
            check(nc_def_grp(grp, child.name.c_str(), &cid), fmt::format("group '{}' in group {}", child.name, gpath));
            DimScope child_scope;
            child_scope.parent = &scope;
            define_group(cid, child, child_scope, (gpath == "/" ? "" : gpath) + "/" + child.name);
        }
    }

    void define_variable(int grp, const NetcdfVariableSpec& var, DimScope& scope, const std::string& gpath) {
        const std::string full = (gpath == "/" ? "" : gpath) + "/" + var.name;
        const bool lazy = std::holds_alternative<Array>(var.data);
        const Shape shape = lazy ? std::get<Array>(var.data).shape() : std::get<NDArray>(var.data).shape();
        const DType data_dtype = lazy ? std::get<Array>(var.data).dtype() : std::get<NDArray>(var.data).dtype();
        if (var.dims.size() != shape.size())
            throw ShapeError("variable '{}': {} dims ({}) for data of shape {}", full, var.dims.size(),
                             fmt::join(var.dims, ", "), shape_str(shape));
        std::vector<int> dimids;
        for (std::size_t axis = 0; axis < shape.size(); ++axis) {
            const std::string& dim = var.dims[axis];
            if (const auto* d = scope.find(dim)) {
                if (std::get<2>(*d) >= 0 && std::get<2>(*d) != shape[axis])
                    throw ShapeError("variable '{}': dimension '{}' has length {} but the data has {} along axis {}",
                                     full, dim, std::get<2>(*d), shape[axis], axis);
                dimids.push_back(std::get<1>(*d));
                continue;
            }
            int id = 0;
            check(nc_def_dim(grp, dim.c_str(), static_cast<size_t>(shape[axis]), &id),
                  fmt::format("dimension '{}' of variable '{}'", dim, full));
            scope.dims.emplace_back(dim, id, shape[axis]);
            dimids.push_back(id);
        }
        DType storage = var.dtype.value_or(data_dtype.is_bool() ? uint8 : data_dtype);
        int varid = 0;
        check(nc_def_var(grp, var.name.c_str(), detail::netcdf_type_of(storage), static_cast<int>(dimids.size()),
                         dimids.data(), &varid),
              fmt::format("variable '{}'", full));
        if (!shape.empty()) {
            Shape chunk;
            if (var.chunks) {
                chunk = *var.chunks;
                if (chunk.size() != shape.size())
                    throw ChunkError("variable '{}': chunks {} do not match shape {}", full, shape_str(chunk),
                                     shape_str(shape));
            } else if (lazy) {
                chunk = std::get<Array>(var.data).chunks().max_block_shape();
            } else {
                chunk = shape;
                const std::int64_t row = std::max<std::int64_t>(1, shape_size(shape) / std::max<std::int64_t>(shape[0], 1));
                chunk[0] = std::max<std::int64_t>(1, std::min(shape[0], (4 << 20) / (row * storage.itemsize()) + 1));
            }
            std::vector<size_t> sizes;
            for (std::size_t axis = 0; axis < chunk.size(); ++axis)
                sizes.push_back(static_cast<size_t>(std::max<std::int64_t>(1, chunk[axis])));
            check(nc_def_var_chunking(grp, varid, NC_CHUNKED, sizes.data()), fmt::format("chunking of '{}'", full));
            const int level = var.compression >= 0 ? var.compression : options_.compression;
            if (level > 0)
                check(nc_def_var_deflate(grp, varid, 1, 1, std::min(level, 9)), fmt::format("deflate of '{}'", full));
        }
        for (const auto& [name, a] : var.attrs) {
            // The fill value must have the variable's type (libnetcdf refuses any other).
            const bool typed = name == "_FillValue" && !a.is_text();
            put_attr(grp, varid, name, a, typed ? std::optional<DType>(storage) : std::nullopt,
                     fmt::format("variable '{}'", full));
        }
        pending_.push_back(PendingVar{grp, varid, &var, storage, full});
    }

    void put_block(const PendingVar& v, const NDArray& block, const std::vector<std::int64_t>& start) {
        NDArray enc = detail::apply_cf_encode(block, v.storage, v.spec->attrs).contiguous();
        if (enc.size() == 0) return;
        NetcdfLock lock;
        if (enc.ndim() == 0) {
            check(nc_put_var(v.grp, v.varid, enc.raw_data()), fmt::format("data of '{}'", v.full_name));
            return;
        }
        std::vector<size_t> s(start.begin(), start.end()), c(enc.shape().begin(), enc.shape().end());
        check(nc_put_vara(v.grp, v.varid, s.data(), c.data(), enc.raw_data()),
              fmt::format("data of '{}' {}", v.full_name, detail::hyperslab_str(start, enc.shape())));
    }

    void write_variable(const PendingVar& v) {
        if (const NDArray* a = std::get_if<NDArray>(&v.spec->data)) {
            put_block(v, *a, std::vector<std::int64_t>(static_cast<std::size_t>(a->ndim()), 0));
            return;
        }
        const Array& arr = std::get<Array>(v.spec->data);
        if (arr.chunks().has_unknown())
            throw NotImplemented("variable '{}': cannot write an array with unknown chunk sizes", v.full_name);
        Graph graph;
        std::vector<Key> keys;
        arr.add_to_graph(graph, keys);
        if (keys.empty()) return;
        const Chunks& grid = arr.chunks();
        const Shape nb = grid.numblocks();
        const std::size_t band = nb.empty() ? 1 : keys.size() / static_cast<std::size_t>(nb[0]);
        std::vector<std::int64_t> start(nb.size(), 0);
        for (std::size_t first = 0; first < keys.size(); first += band) {
            std::span<const Key> band_keys(keys.data() + first, band);
            const std::vector<Value> values = compute_graph(graph, band_keys, options_.compute);
            for (std::size_t k = 0; k < band; ++k) {
                const std::vector<std::int64_t>& block = band_keys[k].index();
                for (std::size_t axis = 0; axis < nb.size(); ++axis)
                    start[axis] = grid.block_start(static_cast<std::int64_t>(axis), block[axis]);
                put_block(v, values[k].array(), start);
            }
        }
    }

    const std::vector<PendingVar>& pending() const { return pending_; }

private:
    std::string path_;
    const NetcdfWriteOptions& options_;
    std::vector<PendingVar> pending_;
};

}  // namespace

void to_netcdf(const std::string& path, const NetcdfGroupSpec& root, const NetcdfWriteOptions& options) {
    // HDF5 reports a missing directory as "Permission denied": say what is wrong instead.
    const std::filesystem::path parent = std::filesystem::path(path).parent_path();
    if (!parent.empty() && !std::filesystem::is_directory(parent))
        throw IOError("cannot create NetCDF file '{}': directory '{}' does not exist", path, parent.string());
    detail::netcdf_evict(path);
    Writer writer(path, options);
    int ncid = -1;
    {
        NetcdfLock lock;
        const int status = nc_create(path.c_str(), NC_NETCDF4 | (options.overwrite ? NC_CLOBBER : NC_NOCLOBBER), &ncid);
        if (status != NC_NOERR)
            throw IOError("cannot create NetCDF file '{}': {}", path, detail::netcdf_error_text(status));
    }
    try {
        {
            NetcdfLock lock;
            DimScope scope;
            writer.define_group(ncid, root, scope, "/");
            writer.check(nc_enddef(ncid), "end of definitions");
        }
        for (const auto& v : writer.pending()) writer.write_variable(v);
        NetcdfLock lock;
        writer.check(nc_close(ncid), "close");
    } catch (...) {
        NetcdfLock lock;
        nc_abort(ncid);
        throw;
    }
}

}  // namespace tessera
