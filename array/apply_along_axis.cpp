// apply_along_axis: the axis is rechunked to one block and every task calls the kernel once per
// 1-d slice of its block (CallMode::AlongAxis in array/custom_ops.cpp), placing each result
// where the axis was: the output has the slice result's dimensions instead of the axis.
#include <utility>

#include "array/custom_ops.hpp"
#include "tessera/array_shape.hpp"
#include "tessera/error.hpp"

namespace tessera::detail {

namespace {

class AlongAxisNode final : public CustomNode {
public:
    AlongAxisNode(std::string op, DType dtype, Chunks chunks, NodePtr input, std::uint64_t token, KernelRef kernel,
                  std::int64_t axis, Shape slice_shape, std::string params)
        : CustomNode(std::move(op), dtype, std::move(chunks), {std::move(input)}, token, std::move(kernel)),
          axis_(axis),
          slice_shape_(std::move(slice_shape)),
          params_(std::move(params)) {}

protected:
    CallSpec block_spec(std::span<const std::int64_t> block, std::vector<Key>& deps) const override {
        const ArrayNode& in = *inputs()[0];
        // Output block index -> input block index: the slice dimensions become the axis' 0.
        Shape in_block;
        for (std::int64_t d = 0; d < in.ndim(); ++d) {
            if (d < axis_) in_block.push_back(block[static_cast<std::size_t>(d)]);
            else if (d == axis_) in_block.push_back(0);
            else in_block.push_back(block[static_cast<std::size_t>(d - 1 + static_cast<std::int64_t>(slice_shape_.size()))]);
        }
        CallSpec spec;
        spec.kernel = kernel_.name;
        spec.what = "apply_along_axis";
        spec.params = params_;
        spec.mode = CallMode::AlongAxis;
        spec.info.output = block_location(in.chunks(), in_block);
        spec.info.inputs.push_back(spec.info.output);
        spec.info.chunk_shape = slice_shape_;
        spec.info.dtype = dtype();
        spec.info.axis = {axis_};
        spec.slice_shape = slice_shape_;
        OperandSpec op;
        op.grid.assign(static_cast<std::size_t>(in.ndim()), 1);
        op.parts.push_back(OperandPart{0, {}, {}, {}, {}});
        spec.operands.push_back(std::move(op));
        deps.push_back(in.block_key(in_block));
        return spec;
    }

private:
    std::int64_t axis_;
    Shape slice_shape_;
    std::string params_;
};

}  // namespace

}  // namespace tessera::detail

namespace tessera {

Array apply_along_axis(const BlockKernel& kernel, std::int64_t axis, const Array& x,
                       const ApplyAlongAxisOptions& options) {
    const detail::KernelRef ref = detail::resolve_kernel(kernel);
    const std::int64_t a = normalize_axis(axis, x.ndim());
    const Shape slice_shape = options.shape.value_or(Shape{x.shape(a)});
    for (auto n : slice_shape)
        if (n < 0) throw ValueError("apply_along_axis result shape {} has a negative extent", shape_str(slice_shape));
    std::vector<AxisChunks> spec;
    for (std::int64_t d = 0; d < x.ndim(); ++d)
        spec.push_back(d == a ? AxisChunks::whole() : AxisChunks(x.chunks().sizes(d)));
    const Array input = rechunk(x, ChunkSpec(spec));
    std::vector<BlockSizes> out_sizes;
    for (std::int64_t d = 0; d < x.ndim(); ++d) {
        if (d == a)
            for (auto n : slice_shape) out_sizes.push_back({n});
        else
            out_sizes.push_back(input.chunks().sizes(d));
    }
    const std::string params = detail::encode_value(options.params, "the params of apply_along_axis");
    Tokenizer tok;
    tok.add(a).add(std::span<const std::int64_t>(slice_shape));
    const DType dtype = options.dtype.value_or(x.dtype());
    return Array(std::make_shared<detail::AlongAxisNode>(
        detail::custom_prefix(options.name, ref, "apply_along_axis"), dtype, Chunks(std::move(out_sizes)),
        input.node(), detail::custom_token(ref, params, tok), ref, a, slice_shape, params));
}

}  // namespace tessera
