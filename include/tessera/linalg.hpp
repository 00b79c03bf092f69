#pragma once
/// \file linalg.hpp
/// Linear algebra on chunked arrays: matmul, dot, tensordot, einsum (OpenBLAS chunk kernels).

#include "tessera/array.hpp"

namespace tessera {}  // namespace tessera
