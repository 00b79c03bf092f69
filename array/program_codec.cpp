// The binary encoding of fused programs (what a "tessera.fused" task carries in Task::params):
// little-endian fixed-size fields and length-prefixed vectors, written straight into one string.
// Lowering encodes one program per block (10^5 blocks: cereal through an ostringstream cost more
// than building the programs); decoding checks every length against the bytes left, so a
// truncated or hostile parameter string is a ProtocolError, never a huge allocation.
#include "array/byte_codec.hpp"
#include "array/fused_program.hpp"
#include <fmt/format.h>

#include "tessera/error.hpp"

namespace tessera::detail {
namespace {

constexpr std::uint32_t kMagic = 0x31505354;  // "TSP1"

}  // namespace

std::string encode_program(const Program& program) {
    std::string out;
    out.reserve(64 + program.instrs.size() * 112);
    ByteWriter w(out);
    w.put(kMagic);
    w.put_vector(program.shape);
    w.put(static_cast<std::uint32_t>(program.instrs.size()));
    for (const Instr& ins : program.instrs) {
        w.put(ins.code);
        w.put(ins.dtype);
        w.put(ins.flag);
        w.put(ins.a);
        w.put(ins.b);
        w.put(ins.c);
        w.put(ins.slot);
        w.put_vector(ins.axis_of);
        w.put_vector(ins.start);
        w.put(ins.base);
        w.put_vector(ins.strides);
        w.put(ins.u0);
        w.put(ins.u1);
        w.put(ins.f0);
        w.put(ins.f1);
        w.put(ins.f2);
        w.put(ins.f3);
        w.put(ins.i0);
        w.put(ins.i1);
    }
    w.put(program.result);
    return out;
}

Program read_program(std::string_view bytes) {
    ByteReader r(bytes, "malformed fused program");
    if (r.get<std::uint32_t>() != kMagic)
        r.fail("not a program");
    Program program;
    program.shape = r.get_vector<std::int64_t>();
    const auto n = r.get<std::uint32_t>();
    // Every instruction takes at least 80 bytes: a count beyond what is left is garbage.
    if (n > bytes.size() / 80)
        r.fail(fmt::format("{} instructions", n));
    program.instrs.resize(n);
    for (Instr& ins : program.instrs) {
        ins.code = r.get<Code>();
        ins.dtype = r.get<DTypeId>();
        ins.flag = r.get<std::uint8_t>();
        ins.a = r.get<std::int32_t>();
        ins.b = r.get<std::int32_t>();
        ins.c = r.get<std::int32_t>();
        ins.slot = r.get<std::int32_t>();
        ins.axis_of = r.get_vector<std::int32_t>();
        ins.start = r.get_vector<std::int64_t>();
        ins.base = r.get<std::int64_t>();
        ins.strides = r.get_vector<std::int64_t>();
        ins.u0 = r.get<std::uint64_t>();
        ins.u1 = r.get<std::uint64_t>();
        ins.f0 = r.get<double>();
        ins.f1 = r.get<double>();
        ins.f2 = r.get<double>();
        ins.f3 = r.get<double>();
        ins.i0 = r.get<std::int64_t>();
        ins.i1 = r.get<std::int64_t>();
    }
    program.result = r.get<std::int32_t>();
    if (!r.done()) r.fail("trailing bytes");
    return program;
}

}  // namespace tessera::detail
