// blockwise: Dask's index-notation block mapping. Every letter names a block axis shared by the
// operands that carry it; the output's letters select one block per task, the other letters are
// contracted: their blocks are concatenated into the kernel's argument. Axes under one letter
// are unified by the common refinement of their chunks (inputs rechunked when needed); an axis
// of extent 1 against a longer one broadcasts (its single block is used for every index).
#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "array/custom_ops.hpp"
#include "tessera/array_shape.hpp"
#include "tessera/error.hpp"

namespace tessera::detail {

namespace {

struct Operand {
    std::string index;
    std::vector<bool> broadcast;  // per axis: extent 1 against a longer letter
};

class BlockwiseNode final : public CustomNode {
public:
    BlockwiseNode(std::string op, DType dtype, Chunks chunks, std::vector<NodePtr> inputs, std::uint64_t token,
                  KernelRef kernel, std::string what, std::string out_index, std::vector<Operand> operands,
                  std::map<char, std::int64_t> letter_blocks, std::string params)
        : CustomNode(std::move(op), dtype, std::move(chunks), std::move(inputs), token, std::move(kernel)),
          what_(std::move(what)),
          out_index_(std::move(out_index)),
          operands_(std::move(operands)),
          letter_blocks_(std::move(letter_blocks)),
          params_(std::move(params)) {}

protected:
    CallSpec block_spec(std::span<const std::int64_t> block, std::vector<Key>& deps) const override {
        CallSpec spec;
        spec.kernel = kernel_.name;
        spec.what = what_;
        spec.params = params_;
        spec.info.output = block_location(chunks(), block);
        spec.info.chunk_shape = chunks().block_shape(block);
        spec.info.dtype = dtype();
        std::map<char, std::int64_t> at;
        for (std::size_t d = 0; d < out_index_.size(); ++d) at[out_index_[d]] = block[d];
        std::map<Key, std::int32_t> positions;
        for (std::size_t k = 0; k < operands_.size(); ++k) {
            const ArrayNode& in = *inputs()[k];
            const Operand& operand = operands_[k];
            const std::size_t ndim = operand.index.size();
            Shape lo(ndim), hi(ndim);
            for (std::size_t d = 0; d < ndim; ++d) {
                const char letter = operand.index[d];
                if (operand.broadcast[d]) {
                    lo[d] = 0;
                    hi[d] = 1;
                } else if (auto it = at.find(letter); it != at.end()) {
                    lo[d] = it->second;
                    hi[d] = it->second + 1;
                } else {
                    lo[d] = 0;
                    hi[d] = letter_blocks_.at(letter);
                }
            }
            OperandSpec op;
            for (std::size_t d = 0; d < ndim; ++d) op.grid.push_back(hi[d] - lo[d]);
            BlockLocation loc = block_location(in.chunks(), lo);
            for_each_block(op.grid, [&](std::span<const std::int64_t> offset) {
                Shape b(ndim);
                for (std::size_t d = 0; d < ndim; ++d) b[d] = lo[d] + offset[d];
                const Key key = in.block_key(b);
                auto [it, inserted] = positions.emplace(key, static_cast<std::int32_t>(deps.size()));
                if (inserted) deps.push_back(key);
                OperandPart part;
                part.dep = it->second;
                op.parts.push_back(std::move(part));
            });
            for (std::size_t d = 0; d < ndim; ++d) {
                if (at.find(operand.index[d]) == at.end() || operand.broadcast[d]) {
                    loc.start[d] = 0;
                    loc.stop[d] = in.shape()[d];
                }
            }
            spec.info.inputs.push_back(std::move(loc));
            spec.operands.push_back(std::move(op));
        }
        return spec;
    }

private:
    std::string what_;
    std::string out_index_;
    std::vector<Operand> operands_;
    std::map<char, std::int64_t> letter_blocks_;
    std::string params_;
};

}  // namespace

Array make_blockwise(const KernelRef& kernel, const std::string& prefix, std::string what, const std::string& out_index,
                     const std::vector<BlockwiseArg>& args, const BlockwiseOptions& options) {
    if (args.empty()) throw ValueError("{} needs at least one input array", what);
    const std::string params = encode_value(options.params, fmt::format("the params of {}", what));
    // Extents per letter (the longest; extent 1 broadcasts) and the chunkings to unify.
    std::map<char, std::int64_t> extent;
    for (std::size_t k = 0; k < args.size(); ++k) {
        const auto& arg = args[k];
        if (static_cast<std::int64_t>(arg.index.size()) != arg.array.ndim())
            throw ValueError("index '{}' of operand {} has {} letters but the array has {} dimensions", arg.index, k,
                             arg.index.size(), arg.array.ndim());
        std::set<char> seen;
        for (std::size_t d = 0; d < arg.index.size(); ++d) {
            const char letter = arg.index[d];
            if (!seen.insert(letter).second)
                throw ValueError("index '{}' of operand {} repeats the letter '{}'", arg.index, k, letter);
            const std::int64_t n = arg.array.shape(static_cast<std::int64_t>(d));
            auto [it, inserted] = extent.emplace(letter, n);
            if (!inserted && it->second != n) {
                if (it->second == 1) it->second = n;
                else if (n != 1)
                    throw ShapeError("operand {} has extent {} along index '{}' but an earlier operand has {}", k, n,
                                     letter, it->second);
            }
        }
    }
    std::map<char, std::vector<BlockSizes>> sizes;
    for (const auto& arg : args)
        for (std::size_t d = 0; d < arg.index.size(); ++d) {
            const std::int64_t n = arg.array.shape(static_cast<std::int64_t>(d));
            if (n == extent[arg.index[d]]) sizes[arg.index[d]].push_back(arg.array.chunks().sizes(static_cast<std::int64_t>(d)));
        }
    std::map<char, BlockSizes> unified;
    std::map<char, std::int64_t> letter_blocks;
    for (const auto& [letter, lists] : sizes) {
        unified[letter] = refine_sizes(lists);
        letter_blocks[letter] = static_cast<std::int64_t>(unified[letter].size());
    }

    std::vector<NodePtr> inputs;
    std::vector<Operand> operands;
    Tokenizer tok;
    tok.add(std::string_view(what)).add(std::string_view(out_index));
    for (const auto& arg : args) {
        Operand operand{arg.index, {}};
        std::vector<BlockSizes> target;
        for (std::size_t d = 0; d < arg.index.size(); ++d) {
            const auto axis = static_cast<std::int64_t>(d);
            const bool bcast = arg.array.shape(axis) != extent[arg.index[d]];
            operand.broadcast.push_back(bcast);
            target.push_back(bcast ? arg.array.chunks().sizes(axis) : unified[arg.index[d]]);
        }
        Chunks chunks(std::move(target));
        inputs.push_back(chunks == arg.array.chunks() ? arg.array.node() : rechunk(arg.array, chunks).node());
        operands.push_back(std::move(operand));
        tok.add(std::string_view(arg.index));
    }

    std::set<char> out_seen;
    std::vector<BlockSizes> out_sizes;
    for (const char letter : out_index) {
        if (!out_seen.insert(letter).second)
            throw ValueError("output index '{}' repeats the letter '{}'", out_index, letter);
        if (auto it = unified.find(letter); it != unified.end()) {
            out_sizes.push_back(it->second);
        } else if (auto nt = options.new_axes.find(letter); nt != options.new_axes.end()) {
            out_sizes.push_back({nt->second});
            letter_blocks[letter] = 1;
            tok.add(std::string_view(&letter, 1)).add(nt->second);
        } else {
            throw ValueError("output index '{}' has the letter '{}' that no input has and new_axes does not give",
                             out_index, letter);
        }
    }
    if (!options.concatenate)
        for (const auto& [letter, n] : letter_blocks)
            if (out_index.find(letter) == std::string::npos)
                throw NotImplemented("{} with contracted index '{}' needs concatenate=true", what, letter);
    Chunks out_chunks(out_sizes);
    if (!options.chunks.empty()) {
        out_chunks = resolve_output_chunks(options.chunks, out_chunks.numblocks());
        for (const auto& s : out_chunks.axes()) tok.add(std::span<const std::int64_t>(s));
    }
    const DType dtype = options.dtype.value_or(args[0].array.dtype());
    const std::uint64_t token = custom_token(kernel, params, tok);
    return Array(std::make_shared<BlockwiseNode>(prefix, dtype, std::move(out_chunks), std::move(inputs), token, kernel,
                                                 std::move(what), out_index, std::move(operands),
                                                 std::move(letter_blocks), params));
}

}  // namespace tessera::detail

namespace tessera {

Array blockwise(const BlockKernel& kernel, const std::string& out_index, const std::vector<BlockwiseArg>& args,
                const BlockwiseOptions& options) {
    const detail::KernelRef ref = detail::resolve_kernel(kernel);
    return detail::make_blockwise(ref, detail::custom_prefix(options.name, ref, "blockwise"), "blockwise", out_index,
                                  args, options);
}

Array blockwise(const BlockKernel& kernel, const std::string& signature, const std::vector<Array>& arrays,
                const BlockwiseOptions& options) {
    const auto arrow = signature.find("->");
    if (arrow == std::string::npos || signature.find("->", arrow + 2) != std::string::npos)
        throw ValueError("blockwise signature '{}' must have the form 'ij,jk->ik'", signature);
    std::vector<std::string> inputs;
    std::string current;
    for (std::size_t k = 0; k < arrow; ++k) {
        if (signature[k] == ',') {
            inputs.push_back(current);
            current.clear();
        } else if (signature[k] != ' ') {
            current += signature[k];
        }
    }
    inputs.push_back(current);
    if (inputs.size() != arrays.size())
        throw ValueError("blockwise signature '{}' has {} operands but {} arrays were given", signature,
                         inputs.size(), arrays.size());
    std::string out;
    for (std::size_t k = arrow + 2; k < signature.size(); ++k)
        if (signature[k] != ' ') out += signature[k];
    std::vector<BlockwiseArg> args;
    for (std::size_t k = 0; k < arrays.size(); ++k) args.push_back({arrays[k], inputs[k]});
    return blockwise(kernel, out, args, options);
}

}  // namespace tessera
