#pragma once
/// \file indexing.hpp
/// Advanced indexing and shape operations: masks, take, vindex, flip/roll/pad, tril/triu.

#include "tessera/array.hpp"

namespace tessera {}  // namespace tessera
