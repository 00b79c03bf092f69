#pragma once
// Internal: xsimd for the elementwise kernels. GCC 12 reports a false -W(maybe-)uninitialized
// inside its own AVX-512 intrinsics (_mm512_undefined_*, GCC bug 105593) wherever they are
// inlined; the intrinsics headers are included here first, with that warning off for them.
// Include this header before any other that may include <immintrin.h>.

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#include <xsimd/xsimd.hpp>
#pragma GCC diagnostic pop
