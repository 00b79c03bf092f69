// The core of the custom block-wise operations (array/custom_ops.hpp): parameter codecs, the
// block-kernel registry, the task runner and the node lowering.
#include "array/custom_ops.hpp"

#include <algorithm>
#include <mutex>
#include <set>
#include <sstream>
#include <utility>

#include <cereal/archives/binary.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include "tessera/error.hpp"

namespace tessera {

template <class Archive>
void serialize(Archive& ar, BlockLocation& loc) {
    ar(loc.shape, loc.num_chunks, loc.chunk_location, loc.start, loc.stop);
}

template <class Archive>
void save(Archive& ar, const DType& dtype) {
    ar(static_cast<std::uint8_t>(dtype.id()));
}
template <class Archive>
void load(Archive& ar, DType& dtype) {
    std::uint8_t id = 0;
    ar(id);
    dtype = DType(static_cast<DTypeId>(id));
}

template <class Archive>
void serialize(Archive& ar, BlockInfo& info) {
    ar(info.output, info.chunk_shape, info.dtype, info.inputs, info.axis, info.keepdims, info.halo_before,
       info.halo_after);
}

namespace detail {

template <class Archive>
void serialize(Archive& ar, OperandPart& part) {
    ar(part.dep, part.start, part.stop, part.flip, part.fill_shape);
}
template <class Archive>
void serialize(Archive& ar, OperandSpec& op) {
    ar(op.grid, op.parts, op.fill, op.fill_dtype);
}
template <class Archive>
void serialize(Archive& ar, CallSpec& spec) {
    std::uint8_t mode = static_cast<std::uint8_t>(spec.mode);
    ar(spec.kernel, spec.what, mode, spec.info, spec.operands, spec.check_dtype, spec.check_shape,
       spec.trim_before, spec.trim_after, spec.squeeze, spec.slice_shape, spec.params);
    spec.mode = static_cast<CallMode>(mode);
}

namespace {

template <class P>
std::string encode_cereal(const P& p) {
    std::ostringstream os(std::ios::binary);
    {
        cereal::BinaryOutputArchive ar(os);
        ar(p);
    }
    return std::move(os).str();
}

void save_value(cereal::BinaryOutputArchive& ar, const Value& v, std::string_view what) {
    ar(static_cast<std::uint8_t>(v.kind()));
    switch (v.kind()) {
        case Value::Kind::None:
            return;
        case Value::Kind::Array: {
            const NDArray a = v.array().contiguous();
            std::string bytes(static_cast<const char*>(a.raw_data()), static_cast<std::size_t>(a.nbytes()));
            ar(a.dtype(), a.shape(), bytes);
            return;
        }
        case Value::Kind::List:
            ar(static_cast<std::uint64_t>(v.list().size()));
            for (const Value& item : v.list()) save_value(ar, item, what);
            return;
        case Value::Kind::Object:
            throw ValueError("{} must hold only arrays, scalars and lists so it can be sent to workers, "
                             "not a C++ object",
                             what);
    }
}

Value load_value(cereal::BinaryInputArchive& ar) {
    std::uint8_t kind = 0;
    ar(kind);
    switch (static_cast<Value::Kind>(kind)) {
        case Value::Kind::None:
            return Value();
        case Value::Kind::Array: {
            DType dtype;
            Shape shape;
            std::string bytes;
            ar(dtype, shape, bytes);
            if (static_cast<std::int64_t>(bytes.size()) != shape_size(shape) * dtype.itemsize())
                throw ProtocolError("custom params: {} bytes for a {} array of shape {}", bytes.size(), dtype,
                                    shape_str(shape));
            return Value(NDArray::from_data(dtype, shape, bytes.data()));
        }
        case Value::Kind::List: {
            std::uint64_t n = 0;
            ar(n);
            ValueList list;
            for (std::uint64_t k = 0; k < n; ++k) list.push_back(load_value(ar));
            return Value(std::move(list));
        }
        default:
            throw ProtocolError("custom params: bad value kind {}", kind);
    }
}

std::mutex& registry_mutex() {
    static std::mutex m;
    return m;
}
std::set<std::string, std::less<>>& block_kernels() {
    static std::set<std::string, std::less<>> names;
    return names;
}

std::string describe_kernel(const CallSpec& spec) {
    return spec.kernel.empty() ? std::string("the block function") : fmt::format("block kernel '{}'", spec.kernel);
}

// One part of an operand as an array (a view when possible).
NDArray build_part(const OperandPart& part, const OperandSpec& op, std::span<const Value* const> inputs) {
    if (part.dep < 0) return NDArray::full(op.fill_dtype, part.fill_shape, Scalar(op.fill));
    if (part.dep >= static_cast<std::int32_t>(inputs.size()))
        throw ProtocolError("custom task: operand part reads input {} of {}", part.dep, inputs.size());
    NDArray a = inputs[static_cast<std::size_t>(part.dep)]->array();
    for (std::size_t axis = 0; axis < part.start.size(); ++axis)
        a = a.slice(static_cast<std::int64_t>(axis), part.start[axis], part.stop[axis]);
    for (auto axis : part.flip) a = a.slice(axis, -1, INT64_MIN, -1);
    return a;
}

NDArray build_operand(const OperandSpec& op, std::span<const Value* const> inputs) {
    std::vector<NDArray> parts;
    parts.reserve(op.parts.size());
    for (const auto& part : op.parts) parts.push_back(build_part(part, op, inputs));
    if (parts.size() == 1) return parts[0];
    const std::size_t ndim = op.grid.size();
    const Shape strides = c_strides(op.grid);
    // Extent of every grid row along each axis, read off the parts on that axis' own line.
    std::vector<std::vector<std::int64_t>> offsets(ndim);
    Shape shape(ndim);
    for (std::size_t axis = 0; axis < ndim; ++axis) {
        offsets[axis].push_back(0);
        for (std::int64_t g = 0; g < op.grid[axis]; ++g) {
            const NDArray& p = parts[static_cast<std::size_t>(g * strides[axis])];
            if (p.ndim() != static_cast<std::int64_t>(ndim))
                throw ShapeError("cannot concatenate a block of shape {} into a {}-d operand", shape_str(p.shape()),
                                 ndim);
            offsets[axis].push_back(offsets[axis].back() + p.shape(static_cast<std::int64_t>(axis)));
        }
        shape[axis] = offsets[axis].back();
    }
    NDArray out = NDArray::empty(parts[0].dtype(), shape);
    Shape at(ndim);
    for (std::size_t k = 0; k < parts.size(); ++k) {
        std::int64_t rest = static_cast<std::int64_t>(k);
        for (std::size_t axis = 0; axis < ndim; ++axis) {
            at[axis] = offsets[axis][static_cast<std::size_t>(rest / strides[axis])];
            rest %= strides[axis];
        }
        out.assign_region(at, parts[k]);
    }
    return out;
}

void check_result(const NDArray& result, const CallSpec& spec, const Shape& expected) {
    if (spec.check_dtype && result.dtype() != spec.info.dtype)
        throw ValueError("{} returned dtype {}, but {} declared dtype {}", describe_kernel(spec), result.dtype(),
                         spec.what, spec.info.dtype);
    if (spec.check_shape && result.shape() != expected)
        throw ValueError("{} returned shape {}, but {} expected shape {}", describe_kernel(spec),
                         shape_str(result.shape()), spec.what, shape_str(expected));
}

NDArray run_along_axis(const CallSpec& spec, const NDArray& block, const BlockFunction& fn, const Value& params) {
    const std::int64_t axis = spec.info.axis.at(0);
    const std::int64_t ndim = block.ndim();
    Shape outer = block.shape();
    outer.erase(outer.begin() + axis);
    Shape out_shape = outer;
    out_shape.insert(out_shape.begin() + axis, spec.slice_shape.begin(), spec.slice_shape.end());
    NDArray out = NDArray::zeros(spec.info.dtype, out_shape);
    const auto r = static_cast<std::int64_t>(spec.slice_shape.size());
    Shape placed(static_cast<std::size_t>(axis), 1);
    placed.insert(placed.end(), spec.slice_shape.begin(), spec.slice_shape.end());
    placed.resize(static_cast<std::size_t>(ndim - 1 + r), 1);
    BlockInfo info = spec.info;
    for_each_block(outer, [&](std::span<const std::int64_t> idx) {
        NDArray slice = block;
        Shape at;
        for (std::int64_t d = 0, k = 0; d < ndim; ++d) {
            if (d == axis) {
                for (std::int64_t e = 0; e < r; ++e) at.push_back(0);
                continue;
            }
            const std::int64_t i = idx[static_cast<std::size_t>(k++)];
            slice = slice.slice(d, i, i + 1);
            at.push_back(i);
        }
        slice = slice.reshape({block.shape(axis)});
        for (std::int64_t d = 0, k = 0; d < ndim; ++d) {
            if (d == axis) continue;
            const auto dd = static_cast<std::size_t>(d);
            info.output.start[dd] = spec.info.output.start[dd] + idx[static_cast<std::size_t>(k++)];
            info.output.stop[dd] = info.output.start[dd] + 1;
        }
        const NDArray arg[1] = {slice};
        const NDArray result = fn(std::span<const NDArray>(arg), info, params);
        check_result(result, spec, spec.slice_shape);
        out.assign_region(at, result.reshape(placed));
    });
    return out;
}

Value run_block_call(const TaskContext& ctx) {
    if (!ctx.task.local)
        throw GraphError("task {} of operation 'tessera.block_call' has no callable: block functions run only "
                         "in the process that built them",
                         ctx.task.key.str());
    return run_custom_task(ctx, *static_cast<const BlockFunction*>(ctx.task.local.get()));
}

OpId block_call_op() {
    static const OpId id = register_op("tessera.block_call", &run_block_call);
    return id;
}

[[maybe_unused]] const OpId block_call_registered = block_call_op();

}  // namespace

std::string encode_call(const CallSpec& spec) { return encode_cereal(spec); }

CallSpec decode_call(std::string_view bytes) {
    CallSpec spec;
    try {
        std::istringstream is(std::string(bytes), std::ios::binary);
        cereal::BinaryInputArchive ar(is);
        ar(spec);
    } catch (const cereal::Exception& e) {
        throw ProtocolError("malformed custom task parameters ({} bytes): {}", bytes.size(), e.what());
    }
    return spec;
}

std::string encode_value(const Value& value, std::string_view what) {
    std::ostringstream os(std::ios::binary);
    {
        cereal::BinaryOutputArchive ar(os);
        save_value(ar, value, what);
    }
    return std::move(os).str();
}

Value decode_value(std::string_view bytes) {
    try {
        std::istringstream is(std::string(bytes), std::ios::binary);
        cereal::BinaryInputArchive ar(is);
        return load_value(ar);
    } catch (const cereal::Exception& e) {
        throw ProtocolError("malformed custom params ({} bytes): {}", bytes.size(), e.what());
    }
}

Value run_custom_task(const TaskContext& ctx, const BlockFunction& fn) {
    const CallSpec spec = decode_call(ctx.task.params);
    const Value params = decode_value(spec.params);
    std::vector<NDArray> operands;
    operands.reserve(spec.operands.size());
    for (const auto& op : spec.operands) operands.push_back(build_operand(op, ctx.inputs));
    if (spec.mode == CallMode::AlongAxis) return Value(run_along_axis(spec, operands.at(0), fn, params));

    NDArray result = fn(std::span<const NDArray>(operands), spec.info, params);
    if (!spec.squeeze.empty() && result.ndim() == static_cast<std::int64_t>(spec.info.chunk_shape.size() + spec.squeeze.size())) {
        Shape kept;
        for (std::int64_t axis = 0; axis < result.ndim(); ++axis)
            if (std::find(spec.squeeze.begin(), spec.squeeze.end(), axis) == spec.squeeze.end())
                kept.push_back(result.shape(axis));
            else if (result.shape(axis) != 1)
                kept.push_back(-2);  // not squeezable: reported by the shape check below
        if (std::find(kept.begin(), kept.end(), -2) == kept.end()) result = result.reshape(kept);
    }
    check_result(result, spec, spec.info.chunk_shape);
    if (!spec.trim_before.empty()) {
        for (std::size_t axis = 0; axis < spec.trim_before.size(); ++axis) {
            const auto a = static_cast<std::int64_t>(axis);
            result = result.slice(a, spec.trim_before[axis], result.shape(a) - spec.trim_after[axis]);
        }
        result = result.contiguous();
    }
    return Value(std::move(result));
}

Value run_block_kernel(const TaskContext& ctx, BlockKernelFn fn) { return detail::run_custom_task(ctx, BlockFunction(fn)); }

KernelRef resolve_kernel(const BlockKernel& kernel) {
    KernelRef ref;
    if (!kernel.is_registered()) {
        ref.op = block_call_op();
        ref.local = std::make_shared<const BlockFunction>(kernel.function());
        return ref;
    }
    ref.name = kernel.name();
    if (!has_block_kernel(ref.name)) {
        if (has_op(ref.name))
            throw GraphError("operation '{}' is not a block kernel (register it with TESSERA_REGISTER_BLOCK_KERNEL)",
                             ref.name);
        throw GraphError("unknown block kernel '{}'", ref.name);
    }
    ref.op = op_id(ref.name);
    return ref;
}

std::string custom_prefix(const std::string& name, const KernelRef& kernel, std::string_view fallback) {
    if (!name.empty()) return name;
    if (kernel.name.empty()) return std::string(fallback);
    const auto dot = kernel.name.rfind('.');
    return dot == std::string::npos ? kernel.name : kernel.name.substr(dot + 1);
}

std::uint64_t custom_token(const KernelRef& kernel, const std::string& params, Tokenizer extra) {
    if (kernel.local) extra.add(std::string_view(unique_token()));
    extra.add(std::string_view(kernel.name)).add(std::string_view(params));
    return extra.digest();
}

Task make_custom_task(Key key, const KernelRef& kernel, const CallSpec& spec, std::vector<Key> deps,
                      std::int64_t nbytes_hint) {
    Task task;
    task.key = std::move(key);
    task.op = kernel.op;
    task.params = encode_call(spec);
    task.deps = std::move(deps);
    task.local = kernel.local;
    task.nbytes_hint = nbytes_hint;
    return task;
}

BlockLocation block_location(const Chunks& chunks, std::span<const std::int64_t> block) {
    BlockLocation loc;
    loc.shape = chunks.shape();
    loc.num_chunks = chunks.numblocks();
    loc.chunk_location.assign(block.begin(), block.end());
    const Shape bs = chunks.block_shape(block);
    for (std::int64_t axis = 0; axis < chunks.ndim(); ++axis) {
        loc.start.push_back(chunks.block_start(axis, block[static_cast<std::size_t>(axis)]));
        loc.stop.push_back(loc.start.back() + bs[static_cast<std::size_t>(axis)]);
    }
    return loc;
}

void CustomNode::lower_tasks(LowerContext& ctx) const {
    for (const auto& input : inputs()) input->lower(ctx);
    for_each_block(chunks().numblocks(), [&](std::span<const std::int64_t> block) {
        std::vector<Key> deps;
        const CallSpec spec = block_spec(block, deps);
        ctx.graph.add(make_custom_task(block_key(block), kernel_, spec, std::move(deps),
                                       shape_size(chunks().block_shape(block)) * dtype().itemsize()));
    });
}

BlockSizes refine_sizes(const std::vector<BlockSizes>& lists) {
    std::set<std::int64_t> bounds;
    for (const auto& sizes : lists) {
        std::int64_t at = 0;
        for (auto s : sizes) bounds.insert(at += s);
    }
    BlockSizes out;
    std::int64_t prev = 0;
    for (auto b : bounds) {
        if (b == prev) continue;
        out.push_back(b - prev);
        prev = b;
    }
    if (out.empty()) out.push_back(0);
    return out;
}

Chunks resolve_output_chunks(const std::vector<BlockSizes>& chunks, const Shape& numblocks) {
    if (chunks.size() != numblocks.size())
        throw ChunkError("chunks give {} axes but the output has {} dimensions", chunks.size(), numblocks.size());
    std::vector<BlockSizes> out;
    for (std::size_t axis = 0; axis < chunks.size(); ++axis) {
        const auto n = static_cast<std::size_t>(numblocks[axis]);
        if (chunks[axis].size() == n) {
            out.push_back(chunks[axis]);
        } else if (chunks[axis].size() == 1) {
            out.emplace_back(n, chunks[axis][0]);
        } else {
            throw ChunkError("chunks for axis {} give {} blocks but the output has {} blocks along it", axis,
                             chunks[axis].size(), n);
        }
    }
    return Chunks(std::move(out));
}

}  // namespace detail

OpId register_block_kernel(std::string_view name, OpFn adapter) {
    const OpId id = register_op(name, adapter);
    std::lock_guard lock(detail::registry_mutex());
    detail::block_kernels().emplace(name);
    return id;
}

bool has_block_kernel(std::string_view name) {
    std::lock_guard lock(detail::registry_mutex());
    return detail::block_kernels().find(name) != detail::block_kernels().end();
}

}  // namespace tessera
