// Fused elementwise kernels: building the program of one output block from the expression
// nodes (inlining the fusable ones), its cereal encoding, and the "tessera.fused" operation.
// The evaluator is in array/fused_eval.cpp.
#include "array/fused.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <sstream>
#include <utility>

#include <cereal/archives/binary.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include "array/elementwise.hpp"
#include "array/fused_program.hpp"
#include "array/shape_ops.hpp"
#include "src/dispatch.hpp"
#include "tessera/error.hpp"

namespace tessera::detail {

// code_name is defined with the elementwise operations (array/ufuncs.cpp).

std::uint64_t scalar_bits(const Scalar& value, DType dtype) {
    return visit_real_dtype(dtype, "a fused constant", [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T v = from_scalar<T>(value);
        std::uint64_t bits = 0;
        std::memcpy(&bits, &v, sizeof(T));
        return bits;
    });
}

Program decode_program(std::string_view bytes) {
    Program program = read_program(bytes);
    const auto n = static_cast<std::int32_t>(program.instrs.size());
    if (program.result < 0 || program.result >= n)
        throw ProtocolError("malformed fused program: result register {} of {}", program.result, n);
    for (std::int32_t r = 0; r < n; ++r) {
        const Instr& ins = program.instrs[static_cast<std::size_t>(r)];
        for (std::int32_t operand : {ins.a, ins.b, ins.c})
            if (operand >= r)
                throw ProtocolError("malformed fused program: register {} reads register {}", r,
                                    operand);
    }
    return program;
}

namespace {

struct AxisView {
    std::int32_t out_axis;  // -1: broadcast (the node's extent is 1 there)
    std::int64_t start;     // global coordinate of the region's first element
    friend bool operator<(const AxisView& x, const AxisView& y) {
        return std::pair(x.out_axis, x.start) < std::pair(y.out_axis, y.start);
    }
    friend bool operator==(const AxisView&, const AxisView&) = default;
};
using View = std::vector<AxisView>;

/// Builds the program of one block. Iterative over the expression (chains of thousands of
/// operations must not exhaust the stack).
class Builder {
public:
    Builder(const ElementwiseNode& root, std::span<const std::int64_t> block, LowerContext& ctx)
        : root_(root), ctx_(ctx) {
        program_.shape = root.chunks().block_shape(block);
        for (std::int64_t axis = 0; axis < root.ndim(); ++axis)
            root_view_.push_back({static_cast<std::int32_t>(axis),
                                  root.bounds(axis)[static_cast<std::size_t>(block[axis])]});
    }

    Builder(const ElementwiseNode& root, std::span<const std::int64_t> start, const Shape& shape,
            LowerContext& ctx)
        : root_(root), ctx_(ctx) {
        program_.shape = shape;
        for (std::int64_t axis = 0; axis < root.ndim(); ++axis)
            root_view_.push_back({static_cast<std::int32_t>(axis), start[static_cast<std::size_t>(axis)]});
    }

    FusedKernel build() {
        program_.result = evaluate();
        return FusedKernel{encode_program(program_), std::move(deps_)};
    }

    /// A leaf of the program: what its instruction's position-dependent fields are made of.
    struct Leaf {
        std::int32_t reg = -1;
        const ArrayNode* node = nullptr;
        std::vector<std::int32_t> out_axis;                      // per axis of the node; -1 broadcast
        const std::vector<std::vector<std::int64_t>>* bounds = nullptr;  // loads: the node's blocks
        std::vector<std::int64_t> cstrides;                      // sources: C strides of the node
    };

    /// Builds the program and hands over what FusedKernelBuilder keeps to rebuild it elsewhere.
    Program build_template(std::vector<Leaf>& leaves, std::vector<Key>& deps) {
        program_.result = evaluate();
        leaves = std::move(leaves_);
        deps = std::move(deps_);
        return std::move(program_);
    }

private:
    struct Frame {
        const ElementwiseNode* node;
        View view;
        std::vector<std::int32_t> regs;
        std::size_t next = 0;
    };

    std::int32_t evaluate() {
        std::vector<Frame> stack;
        stack.push_back(Frame{&root_, root_view_, {}, 0});
        std::int32_t result = -1;
        while (!stack.empty()) {
            Frame& frame = stack.back();
            const auto& inputs = frame.node->inputs();
            if (frame.next < inputs.size()) {
                const std::size_t k = frame.next++;
                const ArrayNode* child_ptr = inputs[k].get();
                View view = child_view(*frame.node, frame.view, *child_ptr);
                const std::vector<std::vector<std::int64_t>>* child_bounds = &frame.node->input_bounds(k);
                // Read through transposes: the input's axis axes[j] is viewed as our axis j, and
                // the load's index map does the transposition (no transposed copy is made).
                const std::vector<std::int64_t>* axes = nullptr;
                while (ctx_.fuse && single_consumer(*child_ptr)) {
                    const ArrayNode* inner = transpose_input(*child_ptr, &axes);
                    if (inner == nullptr) break;
                    View permuted(view.size());
                    for (std::size_t j = 0; j < axes->size(); ++j)
                        permuted[static_cast<std::size_t>((*axes)[j])] = view[j];
                    view = std::move(permuted);
                    child_ptr = inner;
                    child_bounds = &bounds_of(*inner);
                }
                const ArrayNode& child = *child_ptr;
                auto memo = memo_.find({&child, view});
                if (memo != memo_.end()) {
                    frame.regs.push_back(memo->second);
                    continue;
                }
                const auto* elem = dynamic_cast<const ElementwiseNode*>(&child);
                if (elem != nullptr && ctx_.fusable(child)) {
                    stack.push_back(Frame{elem, std::move(view), {}, 0});  // invalidates frame
                } else {
                    std::int32_t reg = load(child, view, *child_bounds);
                    memo_.emplace(std::pair(&child, std::move(view)), reg);
                    frame.regs.push_back(reg);
                }
                continue;
            }
            std::int32_t reg = apply(*frame.node, frame.regs, frame.view);
            memo_.emplace(std::pair(static_cast<const ArrayNode*>(frame.node), std::move(frame.view)),
                          reg);
            stack.pop_back();
            if (stack.empty()) result = reg;
            else stack.back().regs.push_back(reg);
        }
        return result;
    }

    // The view of input `child` of `parent` (NumPy broadcasting: trailing axes aligned).
    static View child_view(const ArrayNode& parent, const View& view, const ArrayNode& child) {
        const std::int64_t offset = parent.ndim() - child.ndim();
        View out(static_cast<std::size_t>(child.ndim()));
        for (std::int64_t axis = 0; axis < child.ndim(); ++axis) {
            const auto pa = static_cast<std::size_t>(axis + offset);
            if (child.shape()[static_cast<std::size_t>(axis)] == 1 && parent.shape()[pa] != 1)
                out[static_cast<std::size_t>(axis)] = {-1, 0};
            else
                out[static_cast<std::size_t>(axis)] = view[pa];
        }
        return out;
    }

    bool single_consumer(const ArrayNode& node) const {
        auto it = ctx_.consumers.find(node.name());
        return it != ctx_.consumers.end() && it->second == 1;
    }

    const std::vector<std::vector<std::int64_t>>& bounds_of(const ArrayNode& node) {
        auto [it, inserted] = bounds_.try_emplace(&node);
        if (inserted) it->second = block_bounds(node.chunks());
        return it->second;
    }

    std::int32_t emit(Instr ins) {
        program_.instrs.push_back(std::move(ins));
        return static_cast<std::int32_t>(program_.instrs.size()) - 1;
    }

    DType dtype_of_reg(std::int32_t reg) const {
        return program_.instrs[static_cast<std::size_t>(reg)].type();
    }

    std::int32_t cast(std::int32_t reg, DType dtype) {
        if (dtype_of_reg(reg) == dtype) return reg;
        auto key = std::pair(reg, dtype.id());
        if (auto it = casts_.find(key); it != casts_.end()) return it->second;
        Instr ins;
        ins.code = Code::Cast;
        ins.dtype = dtype.id();
        ins.a = reg;
        return casts_[key] = emit(std::move(ins));
    }

    std::int32_t constant(const Scalar& value, DType dtype) {
        return constant_bits(scalar_bits(value, dtype), dtype);
    }

    std::int32_t constant_bits(std::uint64_t bits, DType dtype) {
        auto key = std::pair(bits, dtype.id());
        if (auto it = consts_.find(key); it != consts_.end()) return it->second;
        Instr ins;
        ins.code = Code::Const;
        ins.dtype = dtype.id();
        ins.u0 = bits;
        return consts_[key] = emit(std::move(ins));
    }

    // A materialized input: lower it and read the sub-region of its block holding our region.
    std::int32_t load(const ArrayNode& node, const View& view,
                      const std::vector<std::vector<std::int64_t>>& bounds) {
        node.lower(ctx_);
        std::vector<std::int64_t> block(view.size());
        Instr ins;
        ins.code = Code::Load;
        ins.dtype = node.dtype().id();
        ins.axis_of.assign(program_.shape.size(), -1);
        ins.start.resize(view.size());
        for (std::size_t axis = 0; axis < view.size(); ++axis) {
            const auto& b = bounds[axis];
            const auto nb = static_cast<std::int64_t>(b.size()) - 1;
            TESSERA_ASSERT(nb >= 1, "an input axis without blocks");
            auto pos = std::upper_bound(b.begin(), b.end(), view[axis].start) - b.begin() - 1;
            block[axis] = std::clamp<std::int64_t>(pos, 0, nb - 1);
            ins.start[axis] = view[axis].start - b[static_cast<std::size_t>(block[axis])];
            if (view[axis].out_axis >= 0)
                ins.axis_of[static_cast<std::size_t>(view[axis].out_axis)] =
                    static_cast<std::int32_t>(axis);
        }
        Key key = node.block_key(block);
        auto [it, inserted] = slots_.try_emplace(key, static_cast<std::int32_t>(deps_.size()));
        if (inserted) deps_.push_back(std::move(key));
        ins.slot = it->second;
        const std::int32_t reg = emit(std::move(ins));
        leaves_.push_back(Leaf{reg, &node, out_axes(view), &bounds, {}});
        return reg;
    }

    static std::vector<std::int32_t> out_axes(const View& view) {
        std::vector<std::int32_t> out(view.size());
        for (std::size_t axis = 0; axis < view.size(); ++axis) out[axis] = view[axis].out_axis;
        return out;
    }

    std::int32_t source(const ElementwiseNode& node, const View& view) {
        Instr ins = node.spec().source;
        const std::vector<std::int64_t> cstrides = c_strides(node.shape());
        ins.base = 0;
        ins.strides.assign(program_.shape.size(), 0);
        for (std::size_t axis = 0; axis < view.size(); ++axis) {
            ins.base += view[axis].start * cstrides[axis];
            if (view[axis].out_axis >= 0)
                ins.strides[static_cast<std::size_t>(view[axis].out_axis)] = cstrides[axis];
        }
        const std::int32_t reg = emit(std::move(ins));
        leaves_.push_back(Leaf{reg, &node, out_axes(view), nullptr, cstrides});
        return reg;
    }

    std::int32_t operand(const ElemOperand& op, std::span<const std::int32_t> regs, DType dtype) {
        if (op.input < 0) return constant(op.scalar, dtype);
        return cast(regs[static_cast<std::size_t>(op.input)], dtype);
    }

    std::int32_t apply(const ElementwiseNode& node, std::span<const std::int32_t> regs,
                       const View& view) {
        const ElemSpec& spec = node.spec();
        if (is_source(spec.code)) return source(node, view);
        if (spec.code == Code::Const) return constant_bits(spec.source.u0, node.dtype());
        if (spec.code == Code::Cast)
            return cast(operand(spec.operands.at(0), regs, spec.compute), node.dtype());
        Instr ins;
        ins.code = spec.code;
        ins.dtype = node.dtype().id();
        if (spec.code == Code::Where) {
            ins.a = operand(spec.operands.at(0), regs, bool_);
            ins.b = operand(spec.operands.at(1), regs, spec.compute);
            ins.c = operand(spec.operands.at(2), regs, spec.compute);
        } else {
            ins.a = operand(spec.operands.at(0), regs, spec.compute);
            if (is_binary(spec.code)) ins.b = operand(spec.operands.at(1), regs, spec.compute);
        }
        return emit(std::move(ins));
    }

    const ElementwiseNode& root_;
    LowerContext& ctx_;
    View root_view_;
    Program program_;
    std::vector<Key> deps_;
    std::unordered_map<Key, std::int32_t, KeyHash> slots_;
    std::map<std::pair<const ArrayNode*, View>, std::int32_t> memo_;
    std::map<const ArrayNode*, std::vector<std::vector<std::int64_t>>> bounds_;
    std::vector<Leaf> leaves_;
    std::map<std::pair<std::int32_t, DTypeId>, std::int32_t> casts_;
    std::map<std::pair<std::uint64_t, DTypeId>, std::int32_t> consts_;
};

Value fused_op(const TaskContext& ctx) {
    return Value(run_fused_kernel(ctx.task.params, ctx.inputs));
}

// Registered when the library loads, so a process that only runs shipped tasks knows it.
[[maybe_unused]] const OpId fused_op_registered = fused_op_id();

}  // namespace

OpId fused_op_id() {
    static const OpId id = register_op("tessera.fused", &fused_op);
    return id;
}

FusedKernel build_fused_kernel(const ArrayNode& root, std::span<const std::int64_t> block,
                               LowerContext& ctx) {
    const auto* elem = dynamic_cast<const ElementwiseNode*>(&root);
    TESSERA_ASSERT(elem != nullptr, "build_fused_kernel needs an elementwise root");
    return Builder(*elem, block, ctx).build();
}

// --------------------------------------------------------------------- many blocks of one root

struct FusedKernelBuilder::Impl {
    struct Template {
        std::unique_ptr<Builder> builder;  // keeps the bounds its leaves point to
        Program program;
        std::vector<Builder::Leaf> leaves;
    };
    const ElementwiseNode& root;
    LowerContext& ctx;
    std::map<Shape, Template> templates;
};

FusedKernelBuilder::FusedKernelBuilder(const ArrayNode& root, LowerContext& ctx) {
    const auto* elem = dynamic_cast<const ElementwiseNode*>(&root);
    TESSERA_ASSERT(elem != nullptr, "FusedKernelBuilder needs an elementwise root");
    impl_ = std::make_unique<Impl>(Impl{*elem, ctx, {}});
}

FusedKernelBuilder::~FusedKernelBuilder() = default;

FusedKernel FusedKernelBuilder::build(std::span<const std::int64_t> block) {
    const ElementwiseNode& root = impl_->root;
    Shape shape = root.chunks().block_shape(block);
    auto it = impl_->templates.find(shape);
    if (it == impl_->templates.end()) {
        // The first block of this shape walks the expression; its program is kept as the template.
        Impl::Template t;
        t.builder = std::make_unique<Builder>(root, block, impl_->ctx);
        FusedKernel kernel;
        t.program = t.builder->build_template(t.leaves, kernel.deps);
        kernel.program = encode_program(t.program);
        impl_->templates.emplace(std::move(shape), std::move(t));
        return kernel;
    }
    // Other blocks of the shape: the template with the position-dependent fields recomputed. A
    // leaf's view along its axis a starts where the root's block starts along out_axis[a] (views
    // only copy, drop or permute the root's axes), 0 where it is broadcast.
    const Impl::Template& t = it->second;
    auto root_start = [&](std::int32_t axis) {
        return root.bounds(axis)[static_cast<std::size_t>(block[static_cast<std::size_t>(axis)])];
    };
    Program program = t.program;
    FusedKernel kernel;
    for (const auto& leaf : t.leaves) {
        Instr& ins = program.instrs[static_cast<std::size_t>(leaf.reg)];
        const std::size_t ndim = leaf.out_axis.size();
        if (leaf.bounds == nullptr) {  // a source: its flat index offset
            ins.base = 0;
            for (std::size_t axis = 0; axis < ndim; ++axis)
                if (leaf.out_axis[axis] >= 0) ins.base += root_start(leaf.out_axis[axis]) * leaf.cstrides[axis];
            continue;
        }
        // A load: which block of the input holds the region, and where in it the region starts.
        std::vector<std::int64_t> in_block(ndim);
        for (std::size_t axis = 0; axis < ndim; ++axis) {
            const std::int64_t g = leaf.out_axis[axis] >= 0 ? root_start(leaf.out_axis[axis]) : 0;
            const auto& b = (*leaf.bounds)[axis];
            const auto nb = static_cast<std::int64_t>(b.size()) - 1;
            const auto pos = std::upper_bound(b.begin(), b.end(), g) - b.begin() - 1;
            in_block[axis] = std::clamp<std::int64_t>(pos, 0, nb - 1);
            ins.start[axis] = g - b[static_cast<std::size_t>(in_block[axis])];
        }
        Key key = leaf.node->block_key(in_block);
        auto found = std::find(kernel.deps.begin(), kernel.deps.end(), key);
        ins.slot = static_cast<std::int32_t>(found - kernel.deps.begin());
        if (found == kernel.deps.end()) kernel.deps.push_back(std::move(key));
    }
    kernel.program = encode_program(program);
    return kernel;
}

FusedKernel build_fused_region_kernel(const ArrayNode& root, std::span<const std::int64_t> start,
                                      const Shape& shape, LowerContext& ctx) {
    const auto* elem = dynamic_cast<const ElementwiseNode*>(&root);
    TESSERA_ASSERT(elem != nullptr, "build_fused_region_kernel needs an elementwise root");
    return Builder(*elem, start, shape, ctx).build();
}

NDArray run_fused_kernel(std::string_view program, std::span<const Value* const> inputs) {
    return run_program(decode_program(program), inputs);
}

}  // namespace tessera::detail
