#pragma once
/// \file elementwise.hpp
/// Elementwise math beyond array.hpp's core operators (NumPy ufuncs).

#include "tessera/array.hpp"

namespace tessera {}  // namespace tessera
