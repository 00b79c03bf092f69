#pragma once
/// \file futures.hpp
/// The futures API of a distributed Client: submit, map, gather, wait, as_completed, scatter.

#include "tessera/array.hpp"

namespace tessera {}  // namespace tessera
