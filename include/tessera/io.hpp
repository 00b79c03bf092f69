#pragma once
/// \file io.hpp
/// Array storage: Zarr (v2, v3) and .npy, lazy reads and parallel, crash-safe writes.

#include "tessera/array.hpp"

namespace tessera {}  // namespace tessera
