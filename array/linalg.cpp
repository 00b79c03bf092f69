// matmul / dot / tensordot on one blocked contraction (see array/linalg_kernels.hpp):
//   "tessera.contract"      one task per output block and group of up to split_every
//                           contracted block pairs: the products are accumulated into ONE
//                           output buffer (gemm with beta = 1, or a plain loop for integers/bool);
//   "tessera.contract_sum"  the tree sum of the groups' partial blocks when there are several.
#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <complex>
#include <limits>
#include <string>
#include <utility>

#include <tbb/task_arena.h>

#include "array/linalg_kernels.hpp"
#include "array/shape_ops.hpp"
#include "scheduler/parallel_tasks.hpp"
#include "src/dispatch.hpp"
#include "tessera/config.hpp"
#include "tessera/linalg.hpp"

namespace tessera::detail {

namespace {

// ------------------------------------------------------------------------------ chunk kernels

struct ContractParams {
    /// Block axis order for the kernel: a → (its batch axes, free, contracted),
    /// b → (its batch axes, contracted, free).
    std::vector<std::int64_t> a_perm, b_perm;
    /// Per output batch axis: 1 when the operand has the axis.
    std::vector<std::uint8_t> a_has, b_has;
    std::int64_t n_a_free = 0, n_b_free = 0, n_contract = 0;
    std::uint8_t dtype = 0;

    template <class Archive>
    void serialize(Archive& ar) {
        ar(a_perm, b_perm, a_has, b_has, n_a_free, n_b_free, n_contract, dtype);
    }
};

// OpenBLAS threads: a product running on any thread of the `threads` scheduler (its calling
// thread included: it runs tasks too), on a TBB worker thread (a distributed worker's pool) or
// while another product runs makes single-threaded BLAS calls, so the scheduler's threads are
// not oversubscribed; a product running alone on a non-worker thread (the `sync` scheduler) gets
// OpenBLAS's default (OPENBLAS_NUM_THREADS, else all cores). openblas_set_num_threads is
// process-wide; it only changes the thread count of calls that start afterwards.
std::atomic<int> active_products{0};

int default_blas_threads() {
    static const int n = std::max(1, openblas_get_num_threads());
    return n;
}

class BlasSession {
public:
    BlasSession() {
        default_blas_threads();
        active_products.fetch_add(1);
    }
    ~BlasSession() { active_products.fetch_sub(1); }
    BlasSession(const BlasSession&) = delete;
    BlasSession& operator=(const BlasSession&) = delete;
    static void configure() {
        const int slot = tbb::this_task_arena::current_thread_index();
        const bool worker = in_parallel_tasks() || (slot != tbb::task_arena::not_initialized && slot > 0);
        const int want = worker || active_products.load() > 1 ? 1 : default_blas_threads();
        if (openblas_get_num_threads() != want) openblas_set_num_threads(want);
    }
};

// Products of at most this many multiply-adds skip BLAS.
constexpr std::int64_t kSmallProduct = 64;

// C (m x n) += A (m x k) · B (k x n), all C-contiguous.
template <class T>
void gemm_accumulate(std::int64_t m, std::int64_t n, std::int64_t k, const T* a, const T* b, T* c) {
    if (m == 0 || n == 0 || k == 0) return;
    constexpr std::int64_t kBlasMax = std::numeric_limits<blasint>::max();
    if (m > kBlasMax || n > kBlasMax || k > kBlasMax)
        throw NotImplemented("contract: a block product of {} x {} x {} exceeds the BLAS integer range", m, k, n);
    const auto M = static_cast<blasint>(m), N = static_cast<blasint>(n), K = static_cast<blasint>(k);
    constexpr bool blas_type = std::is_floating_point_v<T> || is_complex_v<T>;
    if (blas_type && m * n * k <= kSmallProduct) {
        // Tiny products (batched einsum over small matrices): a loop beats a BLAS call.
        if constexpr (blas_type)
            for (std::int64_t row = 0; row < m; ++row)
                for (std::int64_t inner = 0; inner < k; ++inner) {
                    const T av = a[row * k + inner];
                    for (std::int64_t col = 0; col < n; ++col) c[row * n + col] += av * b[inner * n + col];
                }
        return;
    }
    if constexpr (std::is_same_v<T, double>) {
        BlasSession::configure();
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0, a, K, b, N, 1.0, c, N);
    } else if constexpr (std::is_same_v<T, float>) {
        BlasSession::configure();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, a, K, b, N, 1.0f, c, N);
    } else if constexpr (is_complex_v<T>) {
        BlasSession::configure();
        const T one(1);
        if constexpr (std::is_same_v<T, std::complex<double>>)
            cblas_zgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, &one, a, K, b, N, &one, c, N);
        else
            cblas_cgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, &one, a, K, b, N, &one, c, N);
    } else if constexpr (std::is_same_v<T, bool>) {
        for (std::int64_t row = 0; row < m; ++row)
            for (std::int64_t inner = 0; inner < k; ++inner) {
                if (!a[row * k + inner]) continue;
                const bool* brow = b + inner * n;
                bool* crow = c + row * n;
                for (std::int64_t col = 0; col < n; ++col) crow[col] = crow[col] || brow[col];
            }
    } else {
        // Integers wrap modulo 2^N as in NumPy: multiply and add in uint64 (defined overflow).
        for (std::int64_t row = 0; row < m; ++row)
            for (std::int64_t inner = 0; inner < k; ++inner) {
                const auto av = static_cast<std::uint64_t>(a[row * k + inner]);
                const T* brow = b + inner * n;
                T* crow = c + row * n;
                for (std::int64_t col = 0; col < n; ++col)
                    crow[col] = static_cast<T>(static_cast<std::uint64_t>(crow[col]) +
                                               av * static_cast<std::uint64_t>(brow[col]));
            }
    }
}

// The kernel's view of one block pair: operands permuted contiguous in the result dtype.
struct BlockPair {
    NDArray a, b;
};

BlockPair prepare(const ContractParams& p, DType dtype, const NDArray& a, const NDArray& b) {
    auto one = [&](const NDArray& x, const std::vector<std::int64_t>& perm) {
        const NDArray cast = x.dtype() == dtype ? x : x.astype(dtype);
        return cast.transpose(perm).contiguous();
    };
    return {one(a, p.a_perm), one(b, p.b_perm)};
}

Shape output_block_shape(const ContractParams& p, const BlockPair& pair) {
    Shape out;
    std::size_t ia = 0, ib = 0;
    for (std::size_t t = 0; t < p.a_has.size(); ++t) {
        const std::int64_t ea = p.a_has[t] ? pair.a.shape()[ia++] : 1;
        const std::int64_t eb = p.b_has[t] ? pair.b.shape()[ib++] : 1;
        out.push_back(ea == 1 ? eb : ea);
    }
    for (std::int64_t f = 0; f < p.n_a_free; ++f) out.push_back(pair.a.shape()[ia + static_cast<std::size_t>(f)]);
    const std::size_t b_free_start = ib + static_cast<std::size_t>(p.n_contract);
    for (std::int64_t f = 0; f < p.n_b_free; ++f)
        out.push_back(pair.b.shape()[b_free_start + static_cast<std::size_t>(f)]);
    return out;
}

// out += the product of one block pair, one gemm per batch element.
void accumulate_pair(const ContractParams& p, const BlockPair& pair, NDArray& out) {
    const std::size_t nbatch = p.a_has.size();
    const std::size_t nab = static_cast<std::size_t>(std::count(p.a_has.begin(), p.a_has.end(), 1));
    const std::size_t nbb = static_cast<std::size_t>(std::count(p.b_has.begin(), p.b_has.end(), 1));
    const Shape& as = pair.a.shape();
    const Shape& bs = pair.b.shape();
    const std::int64_t m = shape_size(std::span(as).subspan(nab, static_cast<std::size_t>(p.n_a_free)));
    const std::int64_t k = shape_size(std::span(as).subspan(nab + static_cast<std::size_t>(p.n_a_free)));
    const std::int64_t n = shape_size(std::span(bs).subspan(nbb + static_cast<std::size_t>(p.n_contract)));
    // Matrix strides of every output batch axis in a and b (0 where broadcast).
    std::vector<std::int64_t> a_step(nbatch, 0), b_step(nbatch, 0), extent(nbatch, 0);
    std::int64_t a_stride = m * k, b_stride = k * n;
    std::size_t ia = nab, ib = nbb;
    for (std::size_t t = nbatch; t-- > 0;) {
        extent[t] = out.shape()[t];
        if (p.a_has[t]) {
            --ia;
            if (as[ia] != 1) a_step[t] = a_stride;
            a_stride *= as[ia];
        }
        if (p.b_has[t]) {
            --ib;
            if (bs[ib] != 1) b_step[t] = b_stride;
            b_stride *= bs[ib];
        }
    }
    const std::int64_t count = shape_size(extent);
    visit_dtype(out.dtype(), [&](auto tag) {
        using T = typename decltype(tag)::type;
        const T* a = pair.a.data<T>();
        const T* b = pair.b.data<T>();
        T* c = out.data<T>();
        std::vector<std::int64_t> idx(nbatch, 0);
        std::int64_t a_off = 0, b_off = 0;
        for (std::int64_t flat = 0; flat < count; ++flat) {
            gemm_accumulate<T>(m, n, k, a + a_off, b + b_off, c + flat * m * n);
            for (std::size_t t = nbatch; t-- > 0;) {
                a_off += a_step[t];
                b_off += b_step[t];
                if (++idx[t] < extent[t]) break;
                a_off -= a_step[t] * extent[t];
                b_off -= b_step[t] * extent[t];
                idx[t] = 0;
            }
        }
    });
}

Value contract_op(const TaskContext& ctx) {
    const auto p = decode_shape_params<ContractParams>(ctx.task.params, "contract");
    if (ctx.inputs.empty() || ctx.inputs.size() % 2 != 0)
        throw ProtocolError("contract: {} inputs instead of pairs of blocks", ctx.inputs.size());
    const DType dtype{static_cast<DTypeId>(p.dtype)};
    BlasSession session;
    NDArray out;
    for (std::size_t pos = 0; pos < ctx.inputs.size(); pos += 2) {
        const BlockPair pair = prepare(p, dtype, ctx.inputs[pos]->array(), ctx.inputs[pos + 1]->array());
        if (pos == 0) out = NDArray::zeros(dtype, output_block_shape(p, pair));
        accumulate_pair(p, pair, out);
    }
    return Value(std::move(out));
}

Value contract_sum_op(const TaskContext& ctx) {
    if (ctx.inputs.empty()) throw ProtocolError("contract_sum: no inputs");
    NDArray out = ctx.inputs[0]->array().copy();
    visit_dtype(out.dtype(), [&](auto tag) {
        using T = typename decltype(tag)::type;
        T* c = out.data<T>();
        const std::int64_t n = out.size();
        for (std::size_t pos = 1; pos < ctx.inputs.size(); ++pos) {
            const NDArray part = ctx.inputs[pos]->array().contiguous();
            if (part.shape() != out.shape() || part.dtype() != out.dtype())
                throw ProtocolError("contract_sum: partial {} {} does not match {} {}", part.dtype(),
                                    shape_str(part.shape()), out.dtype(), shape_str(out.shape()));
            const T* x = part.data<T>();
            for (std::int64_t e = 0; e < n; ++e) {
                if constexpr (std::is_same_v<T, bool>) c[e] = c[e] || x[e];
                else if constexpr (std::is_integral_v<T>)
                    c[e] = static_cast<T>(static_cast<std::uint64_t>(c[e]) + static_cast<std::uint64_t>(x[e]));
                else c[e] += x[e];
            }
        }
    });
    return Value(std::move(out));
}

struct ContractOps {
    OpId contract, sum;
};

const ContractOps& contract_ops() {
    static const ContractOps ops{register_op("tessera.contract", &contract_op),
                                 register_op("tessera.contract_sum", &contract_sum_op)};
    return ops;
}

[[maybe_unused]] const ContractOps& contract_ops_registered = contract_ops();

// ------------------------------------------------------------------------------ the node

class ContractNode final : public ArrayNode {
public:
    ContractNode(std::string op, DType dtype, Chunks chunks, NodePtr a, NodePtr b, ContractSpec spec,
                 ContractParams params, std::int64_t split_every, std::uint64_t token)
        : ArrayNode(std::move(op), dtype, std::move(chunks), {std::move(a), std::move(b)}, token),
          spec_(std::move(spec)),
          params_(std::move(params)),
          split_every_(split_every) {}

protected:
    void lower_tasks(LowerContext& ctx) const override;

private:
    ContractSpec spec_;
    ContractParams params_;
    std::int64_t split_every_;
};

void ContractNode::lower_tasks(LowerContext& ctx) const {
    const ArrayNode& a = *inputs()[0];
    const ArrayNode& b = *inputs()[1];
    a.lower(ctx);
    b.lower(ctx);
    const ContractOps& ops = contract_ops();
    const std::string params = encode_shape_params(params_);
    const std::string token = name().substr(op().size() + 1);
    const std::string partial_name = op() + "_partial-" + token, sum_name = op() + "_sum-" + token;
    const Shape a_grid = a.chunks().numblocks(), b_grid = b.chunks().numblocks();
    Shape contract_grid;
    for (auto axis : spec_.a_contract) contract_grid.push_back(a_grid[static_cast<std::size_t>(axis)]);
    const std::size_t nbatch = spec_.a_batch.size(), nfa = spec_.a_free.size();
    const std::int64_t nbytes_of_element = dtype().itemsize();

    Shape a_idx(static_cast<std::size_t>(a.ndim())), b_idx(static_cast<std::size_t>(b.ndim()));
    for_each_block(chunks().numblocks(), [&](std::span<const std::int64_t> out) {
        for (std::size_t t = 0; t < nbatch; ++t) {
            if (const auto axis = spec_.a_batch[t]; axis >= 0)
                a_idx[static_cast<std::size_t>(axis)] = a_grid[static_cast<std::size_t>(axis)] == 1 ? 0 : out[t];
            if (const auto axis = spec_.b_batch[t]; axis >= 0)
                b_idx[static_cast<std::size_t>(axis)] = b_grid[static_cast<std::size_t>(axis)] == 1 ? 0 : out[t];
        }
        for (std::size_t f = 0; f < nfa; ++f) a_idx[static_cast<std::size_t>(spec_.a_free[f])] = out[nbatch + f];
        for (std::size_t f = 0; f < spec_.b_free.size(); ++f)
            b_idx[static_cast<std::size_t>(spec_.b_free[f])] = out[nbatch + nfa + f];
        std::vector<Key> pairs;
        for_each_block(contract_grid, [&](std::span<const std::int64_t> inner) {
            for (std::size_t c = 0; c < inner.size(); ++c) {
                a_idx[static_cast<std::size_t>(spec_.a_contract[c])] = inner[c];
                b_idx[static_cast<std::size_t>(spec_.b_contract[c])] = inner[c];
            }
            pairs.push_back(a.block_key(a_idx));
            pairs.push_back(b.block_key(b_idx));
        });
        const std::int64_t bytes = shape_size(chunks().block_shape(out)) * nbytes_of_element;
        const auto n_pairs = static_cast<std::int64_t>(pairs.size() / 2);
        std::vector<std::int64_t> out_index(out.begin(), out.end());
        auto add_task = [&](Key key, OpId op_id, std::vector<Key> deps) {
            Task task;
            task.key = std::move(key);
            task.op = op_id;
            task.params = params;
            task.deps = std::move(deps);
            task.nbytes_hint = bytes;
            ctx.graph.add(std::move(task));
        };
        if (n_pairs <= split_every_) {
            add_task(block_key(out), ops.contract, std::move(pairs));
            return;
        }
        // Groups of split_every products, then a tree sum with fan-in split_every.
        std::vector<Key> level;
        for (std::int64_t start = 0, group = 0; start < n_pairs; start += split_every_, ++group) {
            const std::int64_t stop = std::min(n_pairs, start + split_every_);
            std::vector<std::int64_t> index = out_index;
            index.push_back(group);
            Key key(partial_name, std::move(index));
            add_task(key, ops.contract, std::vector<Key>(pairs.begin() + 2 * start, pairs.begin() + 2 * stop));
            level.push_back(std::move(key));
        }
        for (std::int64_t depth = 0; level.size() > 1; ++depth) {
            const bool last = static_cast<std::int64_t>(level.size()) <= split_every_;
            std::vector<Key> next;
            for (std::size_t start = 0, group = 0; start < level.size();
                 start += static_cast<std::size_t>(split_every_), ++group) {
                const std::size_t stop = std::min(level.size(), start + static_cast<std::size_t>(split_every_));
                std::vector<std::int64_t> index{depth};
                index.insert(index.end(), out_index.begin(), out_index.end());
                index.push_back(static_cast<std::int64_t>(group));
                Key key = last ? block_key(out) : Key(sum_name, std::move(index));
                add_task(key, ops.sum, std::vector<Key>(level.begin() + static_cast<std::ptrdiff_t>(start),
                                                        level.begin() + static_cast<std::ptrdiff_t>(stop)));
                next.push_back(std::move(key));
            }
            level = std::move(next);
        }
    });
}

std::vector<std::int64_t> present_axes(const std::vector<std::int64_t>& batch) {
    std::vector<std::int64_t> out;
    for (auto axis : batch)
        if (axis >= 0) out.push_back(axis);
    return out;
}

}  // namespace

BlockSizes unified_sizes(const BlockSizes& a, const BlockSizes& b) { return b.size() < a.size() ? b : a; }

Array rechunk_axis(const Array& x, std::int64_t axis, const BlockSizes& sizes) {
    if (x.chunks().sizes(axis) == sizes) return x;
    std::vector<BlockSizes> all = x.chunks().axes();
    all[static_cast<std::size_t>(axis)] = sizes;
    return rechunk(x, ChunkSpec(Chunks(std::move(all))));
}

Array contract(const Array& a_in, const Array& b_in, const ContractSpec& spec, std::string_view op) {
    if (a_in.chunks().has_unknown() || b_in.chunks().has_unknown())
        throw NotImplemented("{}: arrays with unknown chunk sizes are not supported", op);
    Array a = a_in, b = b_in;
    // Unify the chunks of paired axes: contracted pairs, and batch axes both operands span.
    for (std::size_t c = 0; c < spec.a_contract.size(); ++c) {
        const std::int64_t pa = spec.a_contract[c], pb = spec.b_contract[c];
        TESSERA_ASSERT(a.shape(pa) == b.shape(pb), "contracted extents differ");
        const BlockSizes sizes = unified_sizes(a.chunks().sizes(pa), b.chunks().sizes(pb));
        a = rechunk_axis(a, pa, sizes);
        b = rechunk_axis(b, pb, sizes);
    }
    std::vector<BlockSizes> out_sizes;
    for (std::size_t t = 0; t < spec.a_batch.size(); ++t) {
        const std::int64_t pa = spec.a_batch[t], pb = spec.b_batch[t];
        const std::int64_t ea = pa >= 0 ? a.shape(pa) : 1, eb = pb >= 0 ? b.shape(pb) : 1;
        TESSERA_ASSERT(ea == eb || ea == 1 || eb == 1, "batch extents do not broadcast");
        if (pa >= 0 && pb >= 0 && ea == eb) {
            const BlockSizes sizes = unified_sizes(a.chunks().sizes(pa), b.chunks().sizes(pb));
            a = rechunk_axis(a, pa, sizes);
            b = rechunk_axis(b, pb, sizes);
        }
        out_sizes.push_back(pa >= 0 && (ea != 1 || eb == 1) ? a.chunks().sizes(pa) : b.chunks().sizes(pb));
    }
    for (auto axis : spec.a_free) out_sizes.push_back(a.chunks().sizes(axis));
    for (auto axis : spec.b_free) out_sizes.push_back(b.chunks().sizes(axis));

    const DType dtype = result_type(a.dtype(), b.dtype());
    ContractParams p;
    p.a_perm = present_axes(spec.a_batch);
    p.a_perm.insert(p.a_perm.end(), spec.a_free.begin(), spec.a_free.end());
    p.a_perm.insert(p.a_perm.end(), spec.a_contract.begin(), spec.a_contract.end());
    p.b_perm = present_axes(spec.b_batch);
    p.b_perm.insert(p.b_perm.end(), spec.b_contract.begin(), spec.b_contract.end());
    p.b_perm.insert(p.b_perm.end(), spec.b_free.begin(), spec.b_free.end());
    for (auto axis : spec.a_batch) p.a_has.push_back(axis >= 0 ? 1 : 0);
    for (auto axis : spec.b_batch) p.b_has.push_back(axis >= 0 ? 1 : 0);
    p.n_a_free = static_cast<std::int64_t>(spec.a_free.size());
    p.n_b_free = static_cast<std::int64_t>(spec.b_free.size());
    p.n_contract = static_cast<std::int64_t>(spec.a_contract.size());
    p.dtype = static_cast<std::uint8_t>(dtype.id());
    const std::int64_t split_every = std::max(2, config::get().split_every);

    Tokenizer tok;
    for (const auto* v : {&spec.a_batch, &spec.b_batch, &spec.a_free, &spec.b_free, &spec.a_contract,
                          &spec.b_contract})
        tok.add(std::span<const std::int64_t>(*v)).add(std::string_view("|"));
    tok.add(split_every);
    return Array(std::make_shared<ContractNode>(std::string(op), dtype, Chunks(std::move(out_sizes)), a.node(),
                                                b.node(), spec, std::move(p), split_every, tok.digest()));
}

}  // namespace tessera::detail

namespace tessera {

namespace {

std::vector<std::int64_t> other_axes(std::int64_t ndim, const std::vector<std::int64_t>& used) {
    std::vector<std::int64_t> out;
    for (std::int64_t axis = 0; axis < ndim; ++axis)
        if (std::find(used.begin(), used.end(), axis) == used.end()) out.push_back(axis);
    return out;
}

}  // namespace

Array matmul(const Array& a, const Array& b) {
    for (const auto& [x, operand] : {std::pair{&a, 0}, std::pair{&b, 1}})
        if (x->ndim() == 0)
            throw ValueError("matmul: Input operand {} does not have enough dimensions (has 0, gufunc core with "
                             "signature (n?,k),(k,m?)->(n?,m?) requires 1)",
                             operand);
    const bool a_vec = a.ndim() == 1, b_vec = b.ndim() == 1;
    const std::int64_t k_a = a.shape(a.ndim() - 1), k_b = b.shape(b_vec ? 0 : b.ndim() - 2);
    if (k_a != k_b)
        throw ShapeError("matmul: Input operand 1 has a mismatch in its core dimension 0, with gufunc signature "
                         "(n?,k),(k,m?)->(n?,m?) (size {} is different from {})",
                         k_b, k_a);
    const std::int64_t a_nb = a.ndim() - (a_vec ? 1 : 2), b_nb = b.ndim() - (b_vec ? 1 : 2);
    broadcast_shapes(std::span(a.shape()).first(static_cast<std::size_t>(a_nb)),
                     std::span(b.shape()).first(static_cast<std::size_t>(b_nb)));
    const std::int64_t nbatch = std::max(a_nb, b_nb);
    detail::ContractSpec spec;
    for (std::int64_t t = 0; t < nbatch; ++t) {
        const std::int64_t pa = t - (nbatch - a_nb), pb = t - (nbatch - b_nb);
        spec.a_batch.push_back(pa >= 0 ? pa : -1);
        spec.b_batch.push_back(pb >= 0 ? pb : -1);
    }
    if (!a_vec) spec.a_free = {a.ndim() - 2};
    spec.a_contract = {a.ndim() - 1};
    spec.b_contract = {b_vec ? 0 : b.ndim() - 2};
    if (!b_vec) spec.b_free = {b.ndim() - 1};
    return detail::contract(a, b, spec, "matmul");
}

Array dot(const Array& a, const Array& b) {
    if (a.ndim() == 0 || b.ndim() == 0) return a * b;
    const std::int64_t pa = a.ndim() - 1, pb = b.ndim() >= 2 ? b.ndim() - 2 : 0;
    if (a.shape(pa) != b.shape(pb))
        throw ShapeError("shapes {} and {} not aligned: {} (dim {}) != {} (dim {})", shape_str(a.shape()),
                         shape_str(b.shape()), a.shape(pa), pa, b.shape(pb), pb);
    detail::ContractSpec spec;
    spec.a_contract = {pa};
    spec.b_contract = {pb};
    spec.a_free = other_axes(a.ndim(), spec.a_contract);
    spec.b_free = other_axes(b.ndim(), spec.b_contract);
    return detail::contract(a, b, spec, "dot");
}

Array tensordot(const Array& a, const Array& b, const TensordotAxes& axes) {
    std::vector<std::int64_t> a_axes, b_axes;
    if (!axes.is_pair()) {
        const std::int64_t n = axes.n();
        if (n < 0) throw ValueError("tensordot: axes must be a non-negative integer, got {}", n);
        if (n > a.ndim() || n > b.ndim())
            throw ValueError("tensordot: axes {} exceeds the dimensions of a ({}) or b ({})", n, a.ndim(), b.ndim());
        for (std::int64_t k = 0; k < n; ++k) {
            a_axes.push_back(a.ndim() - n + k);
            b_axes.push_back(k);
        }
    } else {
        if (axes.a_axes().size() != axes.b_axes().size())
            throw ShapeError("shape-mismatch for sum: {} axes of a but {} axes of b", axes.a_axes().size(),
                             axes.b_axes().size());
        normalize_axes(axes.a_axes(), a.ndim());  // AxisError for bad or repeated axes
        normalize_axes(axes.b_axes(), b.ndim());
        for (auto axis : axes.a_axes()) a_axes.push_back(normalize_axis(axis, a.ndim()));
        for (auto axis : axes.b_axes()) b_axes.push_back(normalize_axis(axis, b.ndim()));
    }
    for (std::size_t k = 0; k < a_axes.size(); ++k)
        if (a.shape(a_axes[k]) != b.shape(b_axes[k]))
            throw ShapeError("shape-mismatch for sum: axis {} of a has size {} but axis {} of b has size {}",
                             a_axes[k], a.shape(a_axes[k]), b_axes[k], b.shape(b_axes[k]));
    detail::ContractSpec spec;
    spec.a_contract = a_axes;
    spec.b_contract = b_axes;
    spec.a_free = other_axes(a.ndim(), a_axes);
    spec.b_free = other_axes(b.ndim(), b_axes);
    return detail::contract(a, b, spec, "tensordot");
}

}  // namespace tessera
