#pragma once
// Internal: the .npy format (NumPy's NEP 1): header parsing (versions 1.0, 2.0 and 3.0, either
// byte order, C or Fortran order) and header writing, for load_npy / to_npy.
//
//     NpyHeader h = read_npy_header("/data/x.npy");   // dtype, shape, order, data offset
//     std::string head = npy_header(ts::float64, {3, 4});   // magic + length + dict + padding

#include <cstdint>
#include <string>
#include <string_view>

#include "tessera/dtype.hpp"
#include "tessera/shape.hpp"

namespace tessera::io {

struct NpyHeader {
    int major = 1, minor = 0;
    DType dtype = float64;
    /// The data on disk is big-endian (never for 1-byte dtypes).
    bool big_endian = false;
    bool fortran_order = false;
    Shape shape;
    /// Byte offset of the first element.
    std::int64_t data_offset = 0;

    friend bool operator==(const NpyHeader&, const NpyHeader&) = default;
};

/// Parses the start of a .npy file (`bytes` must hold at least the whole header). IOError
/// "<path>: not a .npy file (bad magic)", "<path>: truncated .npy header",
/// "<path>: unsupported .npy format version 4.0", "<path>: malformed .npy header: <why>";
/// NotImplemented "<path>: structured dtypes are not supported"; DTypeError for unknown dtypes.
NpyHeader parse_npy_header(std::string_view bytes, const std::string& path);
/// Reads and parses the header of the file at `path`, and checks that the file holds all the
/// data (IOError "<path>: the file has 100 bytes but the header needs 128"). IOError
/// "<path>: cannot open: <system error>".
NpyHeader read_npy_header(const std::string& path);
/// The header of a little-endian C-order array: version 1.0, or 2.0 when the dict does not fit
/// in 65535 bytes; padded with spaces and '\n' so the data starts at a multiple of 64.
std::string npy_header(DType dtype, const Shape& shape);

}  // namespace tessera::io
