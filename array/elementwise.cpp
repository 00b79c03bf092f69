// Elementwise operations: arithmetic, comparisons, math functions, where and astype, with NumPy
// broadcasting and dtype promotion; and ElementwiseNode, which lowers to one fused task per
// block (see array/fused.cpp).
#include "array/elementwise.hpp"

#include <algorithm>
#include <memory>
#include <utility>

#include "array/fused.hpp"
#include "tessera/error.hpp"

namespace tessera {
namespace detail {

namespace {

void add_scalar(Tokenizer& tok, const Scalar& s) {
    tok.add(static_cast<std::int64_t>(s.dtype().id()));
    tok.add(static_cast<std::int64_t>(s.is_weak()));
    std::visit(
        [&](auto v) {
            using V = decltype(v);
            if constexpr (std::is_same_v<V, bool>) tok.add(std::int64_t{v}).add(std::string_view("b"));
            else if constexpr (std::is_same_v<V, std::int64_t>) tok.add(v);
            else if constexpr (std::is_same_v<V, std::uint64_t>) tok.add_bytes(&v, sizeof v).add(std::string_view("u"));
            else if constexpr (std::is_same_v<V, double>) tok.add(v);
            else tok.add(v.real()).add(v.imag());
        },
        s.storage());
}

std::uint64_t spec_token(const ElemSpec& spec) {
    Tokenizer tok;
    tok.add(static_cast<std::int64_t>(spec.code));
    tok.add(static_cast<std::int64_t>(spec.compute.id()));
    for (const auto& op : spec.operands) {
        tok.add(static_cast<std::int64_t>(op.input));
        if (op.input < 0) add_scalar(tok, op.scalar);
    }
    const Instr& s = spec.source;
    tok.add(static_cast<std::int64_t>(s.code)).add(static_cast<std::int64_t>(s.dtype));
    tok.add_bytes(&s.u0, sizeof s.u0).add_bytes(&s.u1, sizeof s.u1);
    tok.add(s.f0).add(s.f1).add(s.f2).add(s.f3).add(s.i0).add(s.i1).add(std::int64_t{s.flag});
    return tok.digest();
}

void check_real(DType dtype, Code code) {
    if (dtype.is_complex())
        throw NotImplemented("{}: complex dtype {} is not supported by elementwise operations",
                             code_name(code), dtype);
}

}  // namespace

std::vector<std::vector<std::int64_t>> block_bounds(const Chunks& chunks) {
    std::vector<std::vector<std::int64_t>> out;
    out.reserve(static_cast<std::size_t>(chunks.ndim()));
    for (const auto& sizes : chunks.axes()) {
        std::vector<std::int64_t> b(sizes.size() + 1, 0);
        for (std::size_t k = 0; k < sizes.size(); ++k) b[k + 1] = b[k] + sizes[k];
        out.push_back(std::move(b));
    }
    return out;
}

ElementwiseNode::ElementwiseNode(std::string op, DType dtype, Chunks chunks,
                                 std::vector<NodePtr> inputs, ElemSpec spec)
    : ArrayNode(std::move(op), dtype, std::move(chunks), std::move(inputs), spec_token(spec)),
      spec_(std::move(spec)),
      bounds_(block_bounds(this->chunks())) {
    for (const auto& input : this->inputs()) input_bounds_.push_back(block_bounds(input->chunks()));
}

void ElementwiseNode::lower_tasks(LowerContext& ctx) const {
    const OpId op = fused_op_id();
    FusedKernelBuilder kernels(*this, ctx);
    for_each_block(chunks().numblocks(), [&](std::span<const std::int64_t> block) {
        FusedKernel kernel = kernels.build(block);
        Task task;
        task.key = block_key(block);
        task.op = op;
        task.params = std::move(kernel.program);
        task.deps = std::move(kernel.deps);
        task.nbytes_hint = shape_size(chunks().block_shape(block)) * dtype().itemsize();
        ctx.graph.add(std::move(task));
    });
}

Array make_elementwise(Code code, DType dtype, DType compute, const std::vector<Operand>& operands) {
    check_real(dtype, code);
    check_real(compute, code);
    std::vector<NodePtr> inputs;
    std::vector<Shape> shapes;
    ElemSpec spec;
    spec.code = code;
    spec.compute = compute;
    for (const auto& operand : operands) {
        ElemOperand op;
        if (const auto* array = std::get_if<Array>(&operand)) {
            check_real(array->dtype(), code);
            shapes.push_back(array->shape());
            auto it = std::find(inputs.begin(), inputs.end(), array->node());
            op.input = static_cast<std::int32_t>(it - inputs.begin());
            if (it == inputs.end()) inputs.push_back(array->node());
        } else {
            op.scalar = std::get<Scalar>(operand);
            check_real(op.scalar.dtype(), code);
        }
        spec.operands.push_back(std::move(op));
    }
    TESSERA_ASSERT(!inputs.empty(), "an elementwise operation needs an array operand");
    const Shape shape = broadcast_shapes(std::span<const Shape>(shapes));

    // Unify the chunks: the common refinement of the block boundaries of every input that spans
    // the axis (inputs broadcast along it do not constrain it).
    const auto ndim = static_cast<std::int64_t>(shape.size());
    std::vector<BlockSizes> sizes(shape.size());
    for (std::int64_t axis = 0; axis < ndim; ++axis) {
        std::vector<std::int64_t> cuts;
        const BlockSizes* first = nullptr;
        for (const auto& input : inputs) {
            const std::int64_t a = axis - (ndim - input->ndim());
            if (a < 0 || input->shape()[static_cast<std::size_t>(a)] != shape[static_cast<std::size_t>(axis)])
                continue;
            if (input->chunks().has_unknown())
                throw NotImplemented("{}: arrays with unknown chunk sizes are not supported",
                                     code_name(code));
            const BlockSizes& s = input->chunks().sizes(a);
            if (first == nullptr) first = &s;
            std::int64_t pos = 0;
            for (auto size : s) cuts.push_back(pos += size);
        }
        TESSERA_ASSERT(first != nullptr, "a broadcast axis spanned by no input");
        auto& out = sizes[static_cast<std::size_t>(axis)];
        if (shape[static_cast<std::size_t>(axis)] == 0) {
            out = *first;
            continue;
        }
        std::sort(cuts.begin(), cuts.end());
        cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
        std::int64_t prev = 0;
        for (auto cut : cuts) {
            if (cut > prev) out.push_back(cut - prev);
            prev = cut;
        }
    }
    auto node = std::make_shared<ElementwiseNode>(std::string(code_name(code)), dtype,
                                                  Chunks(std::move(sizes)), std::move(inputs),
                                                  std::move(spec));
    return Array(std::move(node));
}

Array make_source(std::string op, const Chunks& chunks, Instr source) {
    check_real(source.type(), source.code);
    ElemSpec spec;
    spec.code = source.code;
    spec.compute = source.type();
    const DType dtype = source.type();
    spec.source = std::move(source);
    return Array(std::make_shared<ElementwiseNode>(std::move(op), dtype, chunks,
                                                   std::vector<NodePtr>{}, std::move(spec)));
}

DType promote_operands(const std::vector<Operand>& ops) {
    std::vector<DType> arrays;
    for (const auto& op : ops)
        if (const auto* a = std::get_if<Array>(&op)) arrays.push_back(a->dtype());
    DType dtype = result_type(std::span<const DType>(arrays));
    for (const auto& op : ops)
        if (const auto* s = std::get_if<Scalar>(&op)) dtype = result_type(dtype, *s);
    return dtype;
}

DType float_loop_dtype(DType dtype) {
    if (dtype.is_floating() || dtype.is_complex()) return dtype;
    return dtype.itemsize() <= 2 ? float32 : float64;
}

namespace {

Array binary(Code code, Operand a, Operand b) {
    std::vector<Operand> ops{std::move(a), std::move(b)};
    const DType common = promote_operands(ops);
    check_real(common, code);
    if (code == Code::Sub && common.is_bool())
        throw DTypeError(
            "numpy boolean subtract, the `-` operator, is not supported, use the bitwise_xor, the "
            "`^` operator, or the logical_xor function instead");
    if (code == Code::Div) {
        const DType f = float_dtype(common);
        return make_elementwise(code, f, f, ops);
    }
    return make_elementwise(code, is_comparison(code) ? bool_ : common, common, ops);
}

Array unary(Code code, const Array& a) {
    check_real(a.dtype(), code);
    switch (code) {
        case Code::Neg:
            if (a.dtype().is_bool())
                throw DTypeError(
                    "The numpy boolean negative, the `-` operator, is not supported, use the `~` "
                    "operator or the logical_not function instead.");
            return make_elementwise(code, a.dtype(), a.dtype(), {a});
        case Code::Abs: return make_elementwise(code, a.dtype(), a.dtype(), {a});
        case Code::IsNan: return make_elementwise(code, bool_, a.dtype(), {a});
        default: {
            const DType f = float_loop_dtype(a.dtype());
            return make_elementwise(code, f, f, {a});
        }
    }
}

Array where_impl(const Array& cond, Operand a, Operand b) {
    std::vector<Operand> values{a, b};
    const DType dtype = promote_operands(values);
    return make_elementwise(Code::Where, dtype, dtype, {cond, std::move(a), std::move(b)});
}

}  // namespace
}  // namespace detail

using detail::binary;
using detail::Code;

Array operator+(const Array& a, const Array& b) { return binary(Code::Add, a, b); }
Array operator-(const Array& a, const Array& b) { return binary(Code::Sub, a, b); }
Array operator*(const Array& a, const Array& b) { return binary(Code::Mul, a, b); }
Array operator/(const Array& a, const Array& b) { return binary(Code::Div, a, b); }
Array operator+(const Array& a, const Scalar& b) { return binary(Code::Add, a, b); }
Array operator-(const Array& a, const Scalar& b) { return binary(Code::Sub, a, b); }
Array operator*(const Array& a, const Scalar& b) { return binary(Code::Mul, a, b); }
Array operator/(const Array& a, const Scalar& b) { return binary(Code::Div, a, b); }
Array operator+(const Scalar& a, const Array& b) { return binary(Code::Add, a, b); }
Array operator-(const Scalar& a, const Array& b) { return binary(Code::Sub, a, b); }
Array operator*(const Scalar& a, const Array& b) { return binary(Code::Mul, a, b); }
Array operator/(const Scalar& a, const Array& b) { return binary(Code::Div, a, b); }
Array operator-(const Array& a) { return detail::unary(Code::Neg, a); }
Array operator<(const Array& a, const Array& b) { return binary(Code::Lt, a, b); }
Array operator<=(const Array& a, const Array& b) { return binary(Code::Le, a, b); }
Array operator>(const Array& a, const Array& b) { return binary(Code::Gt, a, b); }
Array operator>=(const Array& a, const Array& b) { return binary(Code::Ge, a, b); }
Array operator==(const Array& a, const Array& b) { return binary(Code::Eq, a, b); }
Array operator!=(const Array& a, const Array& b) { return binary(Code::Ne, a, b); }
Array operator<(const Array& a, const Scalar& b) { return binary(Code::Lt, a, b); }
Array operator<=(const Array& a, const Scalar& b) { return binary(Code::Le, a, b); }
Array operator>(const Array& a, const Scalar& b) { return binary(Code::Gt, a, b); }
Array operator>=(const Array& a, const Scalar& b) { return binary(Code::Ge, a, b); }
Array operator==(const Array& a, const Scalar& b) { return binary(Code::Eq, a, b); }
Array operator!=(const Array& a, const Scalar& b) { return binary(Code::Ne, a, b); }

Array sqrt(const Array& a) { return detail::unary(Code::Sqrt, a); }
Array exp(const Array& a) { return detail::unary(Code::Exp, a); }
Array log(const Array& a) { return detail::unary(Code::Log, a); }
Array abs(const Array& a) { return detail::unary(Code::Abs, a); }
Array sin(const Array& a) { return detail::unary(Code::Sin, a); }
Array cos(const Array& a) { return detail::unary(Code::Cos, a); }
Array isnan(const Array& a) { return detail::unary(Code::IsNan, a); }

Array where(const Array& cond, const Array& a, const Array& b) { return detail::where_impl(cond, a, b); }
Array where(const Array& cond, const Scalar& a, const Array& b) { return detail::where_impl(cond, a, b); }
Array where(const Array& cond, const Array& a, const Scalar& b) { return detail::where_impl(cond, a, b); }

Array Array::astype(DType dtype) const {
    if (dtype == this->dtype()) return *this;
    if (dtype.is_complex() || this->dtype().is_complex())
        throw NotImplemented("astype from {} to {}: complex dtypes are not supported", this->dtype(),
                             dtype);
    return detail::make_elementwise(detail::Code::Cast, dtype, this->dtype(), {*this});
}

}  // namespace tessera
