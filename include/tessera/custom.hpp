#pragma once
/// \file custom.hpp
/// Custom block-wise work: map_blocks, map_overlap, blockwise, reduction, apply_along_axis.

#include "tessera/array.hpp"

namespace tessera {}  // namespace tessera
