#pragma once
// Internal: the verification mode (TESSERA_VERIFY=1). Array::compute() then also runs the
// unfused graph of the array with the sync scheduler and demands the same answer: bit for bit
// (NaNs of any payload count as equal), which also holds for reductions, whose fused and unfused
// runs sum in one order.

#include "tessera/array.hpp"
#include "tessera/ndarray.hpp"

namespace tessera::detail {

/// True when the environment variable TESSERA_VERIFY is "1" or "true" (read on every call).
bool verify_enabled();

/// Recomputes `array` unfused (no lowering-time fusion, no pushdown, no chain fusion) on the
/// sync scheduler and compares with `result`. Error "verification of array NAME failed: ..."
/// naming the first differing element (C order) and both values, or a shape/dtype mismatch.
void verify_array(const Array& array, const NDArray& result);

}  // namespace tessera::detail
