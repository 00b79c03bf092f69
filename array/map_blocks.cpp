// map_blocks: blockwise with one letter per axis of the highest-rank input (lower-rank inputs
// take the trailing letters, as NumPy broadcasting aligns them), dropped axes contracted (their
// blocks concatenated) and new axes given fresh letters.
#include <algorithm>
#include <utility>

#include "array/custom_ops.hpp"
#include "tessera/error.hpp"

namespace tessera {

Array map_blocks(const BlockKernel& kernel, const std::vector<Array>& arrays, const MapBlocksOptions& options) {
    const detail::KernelRef ref = detail::resolve_kernel(kernel);
    if (arrays.empty()) throw ValueError("map_blocks needs at least one input array");
    std::int64_t ndim = 0;
    for (const auto& a : arrays) ndim = std::max(ndim, a.ndim());
    if (ndim > 26) throw NotImplemented("map_blocks of arrays with {} dimensions (at most 26)", ndim);
    std::string letters;
    for (std::int64_t axis = 0; axis < ndim; ++axis) letters += static_cast<char>('a' + axis);

    std::vector<BlockwiseArg> args;
    for (const auto& a : arrays) args.push_back({a, letters.substr(static_cast<std::size_t>(ndim - a.ndim()))});

    const std::vector<std::int64_t> drop = normalize_axes(options.drop_axis, ndim);
    std::string out;
    for (std::int64_t axis = 0; axis < ndim; ++axis)
        if (!std::binary_search(drop.begin(), drop.end(), axis)) out += letters[static_cast<std::size_t>(axis)];
    const auto out_ndim = static_cast<std::int64_t>(out.size() + options.new_axis.size());
    const std::vector<std::int64_t> added = normalize_axes(options.new_axis, out_ndim);

    BlockwiseOptions bw;
    bw.dtype = options.dtype;
    bw.chunks = options.chunks;
    bw.params = options.params;
    for (std::size_t k = 0; k < added.size(); ++k) {
        const char letter = static_cast<char>('A' + k);
        out.insert(out.begin() + added[k], letter);
        bw.new_axes[letter] = 1;
    }
    return detail::make_blockwise(ref, detail::custom_prefix(options.name, ref, "map_blocks"), "map_blocks", out, args,
                                  bw);
}

}  // namespace tessera
