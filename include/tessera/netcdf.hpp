#pragma once
/// \file netcdf.hpp
/// NetCDF-4 / HDF5 datasets: lazy variables, CF decoding, writing.

#include "tessera/array.hpp"

namespace tessera {}  // namespace tessera
