#pragma once
/// \file netcdf.hpp
/// NetCDF-4 / HDF5 datasets: lazy variables, CF decoding, writing.
///
///     auto ds = ts::open_netcdf("granule.nc");
///     ts::Array chl = ds.group("geophysical_data").variable("chlor_a");   // float32, NaN = fill
///     ts::Array lat = ds.group("navigation_data").variable("latitude");
///     double m = ts::nanmean(chl).compute().item<double>();
///
/// Reads run as registered tasks ("tessera.netcdf_read": path, group, variable, hyperslab), so
/// distributed workers run them too. libnetcdf is not thread-safe: every libnetcdf call in the
/// process is serialized by one mutex, and files stay open in a small per-process LRU cache
/// (reopened when the file changes on disk). CF decoding runs outside the lock.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "tessera/array.hpp"

namespace tessera {

/// A NetCDF attribute: text, or a 1-d array of numbers (NetCDF attributes are vectors).
/// Numbers written from C++ literals become 1-element arrays: `Attribute(0.5)` is float64,
/// `Attribute(std::int16_t{-32767})` is int16.
class Attribute {
public:
    Attribute() : value_(std::string()) {}
    Attribute(std::string text) : value_(std::move(text)) {}
    Attribute(const char* text) : value_(std::string(text)) {}
    Attribute(NDArray values);
    template <Element T>
    Attribute(T value) : Attribute(NDArray::from_vector(std::vector<T>{value})) {}
    template <Element T>
    Attribute(const std::vector<T>& values) : Attribute(NDArray::from_vector(values)) {}

    bool is_text() const { return std::holds_alternative<std::string>(value_); }
    /// The text; DTypeError when the attribute is numeric.
    const std::string& text() const;
    /// The numbers (1-d); DTypeError when the attribute is text.
    const NDArray& values() const;
    /// The single number converted to T; DTypeError for text, ValueError when not one number.
    template <class T>
    T item() const {
        return values().item<T>();
    }
    /// "text" in quotes, or the numbers with their dtype ("[0.5] float32").
    std::string str() const;
    friend bool operator==(const Attribute& a, const Attribute& b);

private:
    std::variant<std::string, NDArray> value_;
};

using Attributes = std::map<std::string, Attribute>;

/// What open_netcdf and variable() do.
struct NetcdfOpenOptions {
    /// Apply CF conventions like xarray.decode_cf (2023.01, the version the interop tests run):
    /// `_Unsigned`; `_FillValue`/`missing_value` → NaN (ints of <= 16 bits become float32,
    /// other ints float64); `scale_factor`/`add_offset` (float32 for float32 data and for
    /// <= 16-bit ints without add_offset, float64 otherwise), computed like NumPy's in-place
    /// `data *= scale; data += offset`, so values equal xarray's bit for bit; and
    /// valid_min/valid_max/valid_range → NaN (as netCDF4-python; xarray ignores them).
    bool decode_cf = true;
    /// With decode_cf, mask values outside valid_min/valid_max/valid_range (compared with the
    /// raw, packed values).
    bool mask_valid_range = true;
    /// Chunk override (ChunkSpec, Dask rules with the file's chunking as the preferred
    /// boundaries). Default: the file's chunks, multiplied along the first axis until a block
    /// holds about `target_block_bytes`; contiguous variables get "auto" blocks of that size.
    std::optional<ChunkSpec> chunks = std::nullopt;
    std::int64_t target_block_bytes = 16 << 20;
};

/// What a variable looks like on disk.
struct NetcdfVariableInfo {
    std::string name;
    /// Group path ("/" for the root group, "/navigation_data" for a child).
    std::string group;
    std::vector<std::string> dims;
    Shape shape;
    /// The stored dtype (before CF decoding).
    DType dtype;
    Attributes attrs;
    /// The file's chunk shape; empty for contiguous (or 0-d) variables.
    Shape file_chunks;
    /// Deflate level (0 = none).
    int deflate_level = 0;
};

namespace detail {
struct NetcdfGroupMeta;
}

/// One group of an open NetCDF file (the root group is the dataset itself). Cheap to copy; the
/// metadata of the whole file is read once by open_netcdf.
class NetcdfDataset {
public:
    NetcdfDataset() = default;

    const std::string& path() const { return path_; }
    /// Group path: "/" or "/navigation_data" or "/a/b".
    const std::string& group_path() const;
    /// Variable names of this group, in file order.
    std::vector<std::string> variables() const;
    /// Dimensions visible in this group (its own and its ancestors'), name → current length.
    std::map<std::string, std::int64_t> dims() const;
    /// Attributes of this group (the global attributes for the root).
    const Attributes& attrs() const;
    /// Child group names, in file order.
    std::vector<std::string> groups() const;
    /// A child group, or a nested one by path ("a/b"); IOError
    /// "no group 'nav' in /f.nc (groups: geophysical_data, navigation_data)".
    NetcdfDataset group(const std::string& name) const;
    bool has_variable(const std::string& name) const;
    /// On-disk description of a variable; IOError as variable().
    const NetcdfVariableInfo& info(const std::string& name) const;
    /// The variable as a lazy Array, decoded per the options given to open_netcdf.
    /// IOError "no variable 'chl' in /f.nc (variables: chlor_a, l2_flags)"; reads fail with
    /// IOError naming the path, variable and hyperslab and the libnetcdf message.
    Array variable(const std::string& name) const;
    /// The same with other options for this variable only.
    Array variable(const std::string& name, const NetcdfOpenOptions& options) const;
    const NetcdfOpenOptions& options() const { return options_; }

private:
    friend NetcdfDataset open_netcdf(const std::string& path, const NetcdfOpenOptions& options);
    std::string path_;
    NetcdfOpenOptions options_;
    // Aliases the whole metadata tree, so a child group keeps its file's metadata alive.
    std::shared_ptr<const detail::NetcdfGroupMeta> group_;
};

/// Opens a NetCDF (3 or 4) file and reads its metadata. IOError
/// "cannot open NetCDF file '/x.nc': No such file or directory" (libnetcdf's text).
NetcdfDataset open_netcdf(const std::string& path, const NetcdfOpenOptions& options = {});

// ------------------------------------------------------------------------------------ writing

/// One variable to write. `data` may be lazy: it is computed a band of blocks at a time, so
/// memory stays bounded.
struct NetcdfVariableSpec {
    std::string name;
    /// Dimension names (their lengths come from the data; declared in this group or an
    /// ancestor, or created here when new).
    std::vector<std::string> dims;
    std::variant<Array, NDArray> data;
    Attributes attrs = {};
    /// Stored dtype; default the data's (bool data: uint8). Floating data is encoded like
    /// xarray's CF encoder when attrs hold scale_factor/add_offset/_FillValue/missing_value:
    /// (x - add_offset) / scale_factor, NaN → _FillValue, rounded half to even for an integer
    /// dtype. Integer data is stored as it is (already packed).
    std::optional<DType> dtype = std::nullopt;
    /// File chunk shape; default: the Array's chunks (NDArray: whole array, at most ~4 MiB
    /// blocks along the first axis). Ignored for 0-d variables.
    std::optional<Shape> chunks = std::nullopt;
    /// Deflate level 0-9 (-1: the writer's default).
    int compression = -1;
};

/// One group to write: its dims (length 0 = unlimited), attributes, variables and children.
struct NetcdfGroupSpec {
    std::string name;  // ignored for the root
    std::vector<std::pair<std::string, std::int64_t>> dims = {};
    Attributes attrs = {};
    std::vector<NetcdfVariableSpec> variables = {};
    std::vector<NetcdfGroupSpec> groups = {};
};

struct NetcdfWriteOptions {
    /// Default deflate level (0 = no compression), with the shuffle filter when > 0.
    int compression = 4;
    /// false: IOError when the file exists.
    bool overwrite = true;
    /// How lazy data is computed.
    ComputeOptions compute = {};
};

/// Writes a NetCDF-4 file (HDF5) with the groups, dims, attributes and variables of `root`.
/// Throws IOError naming the path (and variable) on failure ("cannot create NetCDF file
/// '/d/f.nc': directory '/d' does not exist", "...: NetCDF: File exists && NC_NOCLOBBER"),
/// ShapeError when data does not match the dims ("variable '/v': 2 dims (y, x) for data of
/// shape (3,)", "variable '/v': dimension 'x' has length 4 but the data has 3 along axis 0").
/// A failed write removes the partial file.
///
///     ts::NetcdfGroupSpec root{.attrs = {{"title", "granule"}}};
///     root.groups.push_back({.name = "navigation_data", .variables = {{"latitude",
///         {"number_of_lines", "pixels_per_line"}, lat}}});
///     ts::to_netcdf("g.nc", root);
void to_netcdf(const std::string& path, const NetcdfGroupSpec& root,
               const NetcdfWriteOptions& options = {});

}  // namespace tessera
