// Evaluation of fused programs (see array/fused_program.hpp): once per tile of kTileElems
// consecutive output elements, every instruction runs its kernel (array/fused_kernels.cpp) over
// cache-sized register buffers. Kernels are resolved to function pointers once per block,
// registers get buffers by liveness, contiguous loads are not copied (the register points into
// the input block) and the last instruction writes straight into the output block.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include "array/fused_kernels.hpp"
#include "tessera/error.hpp"

namespace tessera::detail {
namespace {

/// Frees what std::aligned_alloc returned.
struct AlignedFree {
    void operator()(std::byte* p) const { std::free(p); }
};
using TileBuffer = std::unique_ptr<std::byte[], AlignedFree>;

/// Bytes between consecutive register buffers: a tile plus 320 bytes, so two buffers never sit
/// a multiple of 4 KiB apart (loads from one and stores to another would alias in the store
/// buffer's 4 KiB address check and stall).
inline constexpr std::size_t kBufferStride = kTileElems * 8 + 320;

/// One 64-byte aligned arena holding `n` register buffers.
TileBuffer tile_arena(std::size_t n) {
    auto* p = static_cast<std::byte*>(std::aligned_alloc(64, std::max<std::size_t>(n, 1) * kBufferStride));
    if (p == nullptr) throw std::bad_alloc();
    return TileBuffer(p);
}

enum class Store : std::uint8_t { Alias, Const, Out, Slot };

}  // namespace

namespace {

/// Evaluates `program` tile by tile: into a new block (sink == nullptr), or handing each
/// result tile to `sink` (then no block is allocated).
NDArray evaluate(const Program& program, std::span<const Value* const> inputs, const TileSink* sink,
                 std::span<const std::pair<std::int64_t, std::int64_t>> tiles = {}) {
    const Shape& shape = program.shape;
    const auto nregs = static_cast<std::int32_t>(program.instrs.size());
    if (shape.size() > kMaxDims) throw ProtocolError("fused program of rank {}", shape.size());
    for (const Instr& ins : program.instrs)
        if (static_cast<int>(ins.dtype) >= kNumDTypes || DType(ins.dtype).is_complex())
            throw ProtocolError("fused program with dtype tag {}", static_cast<int>(ins.dtype));
    NDArray out = sink ? NDArray() : NDArray::empty(program.dtype(), shape);
    const std::int64_t total = shape_size(shape);
    if (total == 0) return out;

    std::vector<Step> steps(static_cast<std::size_t>(nregs));
    std::vector<Store> store(static_cast<std::size_t>(nregs), Store::Slot);
    std::vector<std::int32_t> last_use(static_cast<std::size_t>(nregs), -1);
    std::vector<std::int64_t> zero_strides(shape.size(), 0);
    for (std::int32_t reg = 0; reg < nregs; ++reg) {
        const Instr& ins = program.instrs[static_cast<std::size_t>(reg)];
        Step& step = steps[static_cast<std::size_t>(reg)];
        step.ins = &ins;
        step.fn = resolve_kernel(program, reg);
        for (std::int32_t r : {ins.a, ins.b, ins.c})
            if (r >= 0) last_use[static_cast<std::size_t>(r)] = reg;
        if (ins.code == Code::Const) {
            store[static_cast<std::size_t>(reg)] = Store::Const;
        } else if (ins.code == Code::Load) {
            if (ins.slot < 0 || static_cast<std::size_t>(ins.slot) >= inputs.size())
                bad_program("load slot", reg);
            const Value* value = inputs[static_cast<std::size_t>(ins.slot)];
            if (value == nullptr || !value->is_array())
                throw Error("fused kernel input {} is a {}, not an array", ins.slot,
                            value ? value->describe() : "null");
            const NDArray& a = value->array();
            if (a.dtype() != ins.type() || a.ndim() != static_cast<std::int64_t>(ins.start.size()) ||
                ins.axis_of.size() != shape.size())
                throw Error("fused kernel input {} is a {} but a {} array of rank {} was expected",
                            ins.slot, value->describe(), ins.type(), ins.start.size());
            std::vector<std::int64_t> strides(shape.size(), 0), extent(ins.start.size(), 1);
            for (std::size_t r = 0; r < shape.size(); ++r) {
                const std::int32_t axis = ins.axis_of[r];
                if (axis < 0) continue;
                if (axis >= a.ndim()) bad_program("load axis", reg);
                strides[r] = a.strides()[static_cast<std::size_t>(axis)];
                extent[static_cast<std::size_t>(axis)] = shape[r];
            }
            std::int64_t offset = 0;
            for (std::size_t axis = 0; axis < ins.start.size(); ++axis) {
                if (ins.start[axis] < 0 || ins.start[axis] + extent[axis] > a.shape()[axis])
                    throw Error("fused kernel input {} of shape {} does not hold the region read",
                                ins.slot, shape_str(a.shape()));
                offset += ins.start[axis] * a.strides()[axis];
            }
            step.src = static_cast<const std::byte*>(a.raw_data()) + offset * a.itemsize();
            step.map = collapse(shape, strides, 0);
            const bool contiguous = step.map.shape.empty() ||
                                    (step.map.shape.size() == 1 && step.map.strides[0] == 1);
            if (contiguous) store[static_cast<std::size_t>(reg)] = Store::Alias;
            // A transposed 2-d read: gather bands of one input cache line's worth of rows.
            if (step.map.shape.size() == 2 && step.map.strides[0] == 1 &&
                std::abs(step.map.strides[1]) > 1 && step.map.shape[0] > 1) {
                step.band_rows = std::max<std::int64_t>(1, 64 / a.itemsize());
                step.band.resize(static_cast<std::size_t>(step.band_rows * step.map.shape[1] * a.itemsize()));
            }
        } else if (is_source(ins.code)) {
            if (ins.strides.size() != shape.size()) bad_program("source strides", reg);
            step.map = collapse(shape, ins.strides, ins.base);
            // A transposed 2-d read of a random array: two rows at a time, one Philox call each.
            if (ins.code == Code::Random && step.map.shape.size() == 2 && step.map.strides[0] == 1 &&
                step.map.strides[1] % 2 == 0 && step.map.base % 2 == 0 && step.map.shape[0] > 1) {
                step.band_rows = 2;
                step.band.resize(static_cast<std::size_t>(2 * step.map.shape[1] * ins.type().itemsize()));
            }
            if (ins.code == Code::Random) {
                RandomParams& p = step.random;
                if (ins.i0 < 0 || ins.i0 > 2) bad_program("random kind", reg);
                p.kind = static_cast<RandomKind>(ins.i0);
                p.seed = ins.u0;
                p.loc = ins.f0;
                p.scale = ins.f1;
                p.bits = ins.flag;
                p.low = ins.i1;
                p.range = ins.u1;
            }
        }
    }
    last_use[static_cast<std::size_t>(program.result)] = nregs;
    if (store[static_cast<std::size_t>(program.result)] == Store::Slot && sink == nullptr)
        store[static_cast<std::size_t>(program.result)] = Store::Out;

    // Register allocation: a slot is reused once its register is dead (after the instruction
    // that read it last, so no instruction reads and writes the same buffer).
    std::int32_t n_buffers = 0;
    std::vector<std::int32_t> slot_of(static_cast<std::size_t>(nregs), -1), free_slots;
    for (std::int32_t reg = 0; reg < nregs; ++reg) {
        const auto r = static_cast<std::size_t>(reg);
        if (store[r] == Store::Const || store[r] == Store::Slot) {
            if (store[r] == Store::Slot && !free_slots.empty()) {
                slot_of[r] = free_slots.back();
                free_slots.pop_back();
            } else {
                slot_of[r] = n_buffers++;
            }
        }
        const Instr& ins = program.instrs[r];
        for (std::int32_t operand : {ins.a, ins.b, ins.c}) {
            if (operand < 0) continue;
            const auto o = static_cast<std::size_t>(operand);
            if (last_use[o] == reg && store[o] == Store::Slot) {
                free_slots.push_back(slot_of[o]);
                last_use[o] = -2;  // released once even when read twice
            }
        }
    }
    const TileBuffer arena = tile_arena(static_cast<std::size_t>(n_buffers));
    auto buffer = [&](std::size_t r) { return arena.get() + static_cast<std::size_t>(slot_of[r]) * kBufferStride; };
    std::vector<std::byte*> ptr(static_cast<std::size_t>(nregs), nullptr);
    for (std::int32_t reg = 0; reg < nregs; ++reg) {
        const auto r = static_cast<std::size_t>(reg);
        if (store[r] != Store::Const) continue;
        std::byte* buf = buffer(r);
        const std::int64_t size = program.instrs[r].type().itemsize();
        for (std::int64_t k = 0; k < kTileElems; ++k)
            std::memcpy(buf + k * size, &program.instrs[r].u0, static_cast<std::size_t>(size));
        ptr[r] = buf;
    }

    auto* out_bytes = sink ? nullptr : static_cast<std::byte*>(out.raw_data());
    const std::int64_t out_size = out.itemsize();
    const auto n_tiles = tiles.empty() ? (total + kTileElems - 1) / kTileElems : static_cast<std::int64_t>(tiles.size());
    for (std::int64_t tile = 0; tile < n_tiles; ++tile) {
        const std::int64_t t0 = tiles.empty() ? tile * kTileElems : tiles[static_cast<std::size_t>(tile)].first;
        const std::int64_t n = tiles.empty() ? std::min(kTileElems, total - t0) : tiles[static_cast<std::size_t>(tile)].second;
        if (t0 < 0 || n < 1 || n > kTileElems || t0 + n > total) throw ProtocolError("tile [{}, {}) outside a block of {} elements", t0, t0 + n, total);
        for (std::int32_t reg = 0; reg < nregs; ++reg) {
            const auto r = static_cast<std::size_t>(reg);
            Step& step = steps[r];
            switch (store[r]) {
                case Store::Const: continue;
                case Store::Alias:
                    ptr[r] = const_cast<std::byte*>(step.src) + t0 * program.instrs[r].type().itemsize();
                    continue;
                case Store::Out: ptr[r] = out_bytes + t0 * out_size; break;
                case Store::Slot: ptr[r] = buffer(r); break;
            }
            const Instr& ins = program.instrs[r];
            step.dst = ptr[r];
            step.a = ins.a >= 0 ? ptr[static_cast<std::size_t>(ins.a)] : nullptr;
            step.b = ins.b >= 0 ? ptr[static_cast<std::size_t>(ins.b)] : nullptr;
            step.c = ins.c >= 0 ? ptr[static_cast<std::size_t>(ins.c)] : nullptr;
            step.fn(step, t0, n);
        }
        const auto res = static_cast<std::size_t>(program.result);
        if (sink) (*sink)(t0, n, ptr[res]);
        else if (store[res] != Store::Out)
            std::memcpy(out_bytes + t0 * out_size, ptr[res], static_cast<std::size_t>(n * out_size));
    }
    return out;
}

}  // namespace

NDArray run_program(const Program& program, std::span<const Value* const> inputs) {
    return evaluate(program, inputs, nullptr);
}

void stream_program(const Program& program, std::span<const Value* const> inputs, const TileSink& sink,
                    std::span<const std::pair<std::int64_t, std::int64_t>> tiles) {
    evaluate(program, inputs, &sink, tiles);
}

}  // namespace tessera::detail