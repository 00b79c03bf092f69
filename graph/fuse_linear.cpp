// Linear-chain fusion (Dask's optimization.fuse, linear part): a → b with b the only dependent of
// a and a the only dependency of b becomes one "tessera.chain" task under b's key. Fewer tasks
// mean less scheduling overhead and no hand-over of a's value between tasks or threads.
//
// The chain's params are plain bytes (little framing, no cereal: the pass runs on every
// compute, over graphs of 10^5 tasks): per sub-task its key, operation name, params and size
// hint. The first sub-task reads the chain's deps; each next one reads the previous result.
#include "graph/optimize.hpp"

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "tessera/error.hpp"

namespace tessera::detail {
namespace {

void put_u64(std::string& out, std::uint64_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }

void put_bytes(std::string& out, std::string_view bytes) {
    put_u64(out, bytes.size());
    out.append(bytes);
}

class Reader {
public:
    explicit Reader(std::string_view bytes) : bytes_(bytes) {}
    std::uint64_t u64() {
        need(sizeof(std::uint64_t));
        std::uint64_t v = 0;
        std::memcpy(&v, bytes_.data() + pos_, sizeof v);
        pos_ += sizeof v;
        return v;
    }
    std::string_view bytes() {
        const std::uint64_t n = u64();
        need(n);
        std::string_view v = bytes_.substr(pos_, n);
        pos_ += n;
        return v;
    }
    bool done() const { return pos_ == bytes_.size(); }

private:
    void need(std::uint64_t n) const {
        if (n > bytes_.size() - pos_)
            throw ProtocolError("malformed chain parameters: {} bytes needed at offset {} of {}", n, pos_,
                                bytes_.size());
    }
    std::string_view bytes_;
    std::size_t pos_ = 0;
};

void encode_sub_task(std::string& out, const Task& task) {
    put_bytes(out, task.key.name());
    put_u64(out, task.key.index().size());
    for (std::int64_t i : task.key.index()) put_u64(out, static_cast<std::uint64_t>(i));
    put_bytes(out, op_name(task.op));
    put_bytes(out, task.params);
    put_u64(out, static_cast<std::uint64_t>(task.nbytes_hint));
}

Value chain_op(const TaskContext& ctx) {
    Reader reader(ctx.task.params);
    const std::uint64_t n = reader.u64();
    if (n < 1) throw ProtocolError("malformed chain parameters: a chain of {} tasks", n);
    Value current;
    Task sub;
    for (std::uint64_t k = 0; k < n; ++k) {
        const std::string_view name = reader.bytes();
        const std::uint64_t rank = reader.u64();
        if (rank > 64) throw ProtocolError("malformed chain parameters: a key of rank {}", rank);
        std::vector<std::int64_t> index(rank);
        for (auto& i : index) i = static_cast<std::int64_t>(reader.u64());
        Key key(name, std::move(index));
        const OpId op = op_id(reader.bytes());  // GraphError for an operation unknown here
        const std::string_view params = reader.bytes();
        const auto nbytes = static_cast<std::int64_t>(reader.u64());
        if (k == 0) {
            sub.deps = ctx.task.deps;
        } else {
            sub.deps.assign(1, sub.key);
        }
        sub.key = std::move(key);
        sub.op = op;
        sub.params.assign(params);
        sub.nbytes_hint = nbytes;
        const Value* previous[1] = {&current};
        TaskContext sub_ctx{sub, k == 0 ? ctx.inputs : std::span<const Value* const>(previous), ctx.thread};
        if (k + 1 == n) {
            current = op_fn(op)(sub_ctx);  // the scheduler names the chain's key: the tail's own
        } else {
            try {
                current = op_fn(op)(sub_ctx);
            } catch (...) {
                // compute_graph drops the chain's prefix, so the message names the failing task.
                rethrow_with_context(std::current_exception(), "task " + sub.key.str());
            }
        }
    }
    if (!reader.done()) throw ProtocolError("malformed chain parameters: trailing bytes");
    return current;
}

[[maybe_unused]] const OpId chain_registered = chain_op_id();

}  // namespace

OpId chain_op_id() {
    static const OpId id = register_op("tessera.chain", &chain_op);
    return id;
}

std::int64_t fuse_linear(const Graph& graph, const GraphIndex& index, std::span<const Key> outputs, Graph& out,
                         std::string_view op_prefix) {
    const std::int64_t n = index.size();
    const auto& tasks = graph.tasks();
    auto n_deps = [&](std::int64_t t) {
        return index.dep_offsets[static_cast<std::size_t>(t) + 1] - index.dep_offsets[static_cast<std::size_t>(t)];
    };
    std::vector<std::uint8_t> output(static_cast<std::size_t>(n), 0);
    std::vector<std::int64_t> output_positions(outputs.size());
    graph.find_all(outputs, output_positions);
    for (const std::int64_t t : output_positions)
        if (t >= 0) output[static_cast<std::size_t>(t)] = 1;
    // Which operations may be fused (looked up once per operation, not per task).
    std::vector<std::int8_t> op_ok;  // by OpId: -1 unknown, 0 no, 1 yes
    auto fusable = [&](const Task& task) {
        if (task.local) return false;
        if (op_prefix.empty()) return true;
        if (task.op >= op_ok.size()) op_ok.resize(task.op + 1, -1);
        auto& ok = op_ok[task.op];
        if (ok < 0) ok = task.op != 0 && op_name(task.op).starts_with(op_prefix) ? 1 : 0;
        return ok == 1;
    };
    // absorbed[a]: a runs inside its single dependent's chain.
    std::vector<std::uint8_t> absorbed(static_cast<std::size_t>(n), 0);
    std::int64_t removed = 0;
    for (std::int64_t a = 0; a < n; ++a) {
        const auto first = index.dependent_offsets[static_cast<std::size_t>(a)];
        if (index.dependent_offsets[static_cast<std::size_t>(a) + 1] - first != 1) continue;
        const std::int64_t b = index.dependent_ids[static_cast<std::size_t>(first)];
        if (output[static_cast<std::size_t>(a)] || n_deps(b) != 1 || !fusable(tasks[static_cast<std::size_t>(a)]) ||
            !fusable(tasks[static_cast<std::size_t>(b)]))
            continue;
        absorbed[static_cast<std::size_t>(a)] = 1;
        ++removed;
    }
    if (removed == 0) return 0;

    out = Graph();
    out.reserve(n - removed);
    const OpId chain = chain_op_id();
    std::vector<std::int64_t> members;
    for (std::int64_t t = 0; t < n; ++t) {
        if (absorbed[static_cast<std::size_t>(t)]) continue;
        const Task& tail = tasks[static_cast<std::size_t>(t)];
        std::int64_t head = t;
        members.clear();
        members.push_back(t);
        while (n_deps(head) == 1) {
            const std::int64_t dep = index.dep_ids[static_cast<std::size_t>(index.dep_offsets[static_cast<std::size_t>(head)])];
            if (!absorbed[static_cast<std::size_t>(dep)]) break;
            head = dep;
            members.push_back(head);
        }
        if (members.size() == 1) {
            out.add(tail);
            continue;
        }
        Task fused;
        fused.key = tail.key;
        fused.op = chain;
        fused.deps = tasks[static_cast<std::size_t>(head)].deps;
        fused.nbytes_hint = tail.nbytes_hint;
        std::size_t size = sizeof(std::uint64_t);
        for (const std::int64_t m : members) {
            const Task& task = tasks[static_cast<std::size_t>(m)];
            size += 5 * sizeof(std::uint64_t) + task.key.name().size() + task.key.index().size() * sizeof(std::uint64_t) +
                    op_name(task.op).size() + task.params.size();
        }
        fused.params.reserve(size);
        put_u64(fused.params, members.size());
        for (auto it = members.rbegin(); it != members.rend(); ++it) encode_sub_task(fused.params, tasks[static_cast<std::size_t>(*it)]);
        out.add(std::move(fused));
    }
    return removed;
}

}  // namespace tessera::detail
