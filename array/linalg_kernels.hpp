#pragma once
// Internal: the blocked contraction behind matmul, dot, tensordot and einsum (array/linalg.cpp),
// and the chunk-unification helper einsum's diagonal shares (array/einsum.cpp).
//
// contract(a, b, spec) computes, for the output axes (batch..., a_free..., b_free...),
//     out[batch, fa, fb] = sum over the contracted axes c of a[batch, fa, c] * b[batch, c, fb]
// where every output batch axis comes from an axis of a, of b, or of both (an operand without
// the axis, or with extent 1 there, is broadcast along it).

#include <cstdint>
#include <string_view>
#include <vector>

#include "tessera/array.hpp"

namespace tessera::detail {

struct ContractSpec {
    /// Per output batch axis: the axis of a / b it comes from, or -1 when that operand lacks it.
    std::vector<std::int64_t> a_batch, b_batch;
    /// Axes of a and of b kept in the output (in output order).
    std::vector<std::int64_t> a_free, b_free;
    /// Contracted axes, paired in order (equal extents).
    std::vector<std::int64_t> a_contract, b_contract;
};

/// The blocked contraction; the caller has checked extents (contracted pairs equal, batch pairs
/// equal or 1). Chunks of paired axes are unified with ts::rechunk first. The result dtype is
/// result_type(a, b); `op` names the node ("matmul") and messages. NotImplemented for unknown chunk sizes.
Array contract(const Array& a, const Array& b, const ContractSpec& spec, std::string_view op = "contract");

/// The chunks two paired axes of equal extent are unified to: the sizes with fewer blocks
/// (larger blocks, fewer tasks), `a`'s on a tie.
BlockSizes unified_sizes(const BlockSizes& a, const BlockSizes& b);

/// `x` rechunked so axis `axis` has `sizes` (the others unchanged); `x` itself when it has them.
Array rechunk_axis(const Array& x, std::int64_t axis, const BlockSizes& sizes);

}  // namespace tessera::detail
