#pragma once
/// \file reductions.hpp
/// Reductions beyond array.hpp's core set: arg*, scans, order statistics, moments.

#include "tessera/array.hpp"

namespace tessera {}  // namespace tessera
