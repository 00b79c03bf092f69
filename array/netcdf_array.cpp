// The lazy Array of a NetCDF variable: a source node whose every block is one
// "tessera.netcdf_read" task (path, group, variable, hyperslab and CF decoding as cereal
// parameters, so distributed workers run it too). The libnetcdf read holds the process-wide
// lock; CF decoding runs after it is released.
#include <sys/stat.h>

#include <algorithm>

#include "array/shape_ops.hpp"
#include "src/io/netcdf_cf.hpp"
#include "src/io/netcdf_file.hpp"
#include "tessera/netcdf.hpp"

namespace tessera::detail {

namespace {

struct NetcdfReadParams {
    std::string path, group, var;
    std::int32_t raw_dtype = 0;
    std::vector<std::int64_t> start, count;
    CfDecodePlan plan;

    template <class Archive>
    void serialize(Archive& ar) {
        ar(path, group, var, raw_dtype, start, count, plan);
    }
};

Value netcdf_read_op(const TaskContext& ctx) {
    const auto p = decode_shape_params<NetcdfReadParams>(ctx.task.params, "netcdf_read");
    NDArray raw = netcdf_read_hyperslab(p.path, p.group, p.var, DType(static_cast<DTypeId>(p.raw_dtype)),
                                        p.start, p.count);
    return Value(apply_cf_decode(raw, p.plan));
}

OpId netcdf_read_op_id() {
    static const OpId id = register_op("tessera.netcdf_read", &netcdf_read_op);
    return id;
}

[[maybe_unused]] const OpId netcdf_read_registered = netcdf_read_op_id();

class NetcdfReadNode final : public ArrayNode {
public:
    NetcdfReadNode(DType dtype, Chunks chunks, NetcdfReadParams base, std::uint64_t token)
        : ArrayNode("netcdf_read", dtype, std::move(chunks), {}, token), base_(std::move(base)) {}

protected:
    void lower_tasks(LowerContext& ctx) const override {
        const OpId op = netcdf_read_op_id();
        const Chunks& grid = chunks();
        NetcdfReadParams p = base_;
        p.start.assign(static_cast<std::size_t>(grid.ndim()), 0);
        p.count.assign(static_cast<std::size_t>(grid.ndim()), 0);
        for_each_block(grid.numblocks(), [&](std::span<const std::int64_t> block) {
            const Shape shape = grid.block_shape(block);
            for (std::int64_t axis = 0; axis < grid.ndim(); ++axis) {
                const auto a = static_cast<std::size_t>(axis);
                p.start[a] = grid.block_start(axis, block[a]);
                p.count[a] = shape[a];
            }
            Task task;
            task.key = block_key(block);
            task.op = op;
            task.params = encode_shape_params(p);
            task.nbytes_hint = shape_size(shape) * dtype().itemsize();
            ctx.graph.add(std::move(task));
        });
    }

private:
    NetcdfReadParams base_;
};

}  // namespace

Chunks netcdf_read_chunks(const NetcdfVariableInfo& info, DType dtype, const NetcdfOpenOptions& options) {
    const Shape& shape = info.shape;
    if (shape.empty()) return Chunks();
    const std::int64_t target = std::max<std::int64_t>(options.target_block_bytes, 1);
    std::optional<Chunks> file_grid;
    if (!info.file_chunks.empty()) file_grid = Chunks::regular(shape, info.file_chunks);
    if (options.chunks) return normalize_chunks(*options.chunks, shape, dtype, file_grid, target);
    if (!file_grid) return normalize_chunks(ChunkSpec(), shape, dtype, std::nullopt, target);
    // Whole file chunks, several of them along the first axis so a task reads about `target`.
    Shape block = info.file_chunks;
    for (std::size_t axis = 0; axis < block.size(); ++axis)
        block[axis] = std::max<std::int64_t>(1, std::min(block[axis], std::max<std::int64_t>(shape[axis], 1)));
    const std::int64_t bytes = shape_size(block) * dtype.itemsize();
    const std::int64_t factor = std::max<std::int64_t>(1, target / std::max<std::int64_t>(bytes, 1));
    block[0] = std::min(block[0] * factor, std::max<std::int64_t>(shape[0], 1));
    return Chunks::regular(shape, block);
}

Array netcdf_variable_array(const std::string& path, const NetcdfVariableInfo& info,
                            const NetcdfOpenOptions& options) {
    NetcdfReadParams base;
    base.path = path;
    base.group = info.group;
    base.var = info.name;
    base.raw_dtype = static_cast<std::int32_t>(info.dtype.id());
    base.plan = plan_cf_decode(info, options);
    const DType dtype = decoded_dtype(base.plan, info.dtype);
    Chunks chunks = netcdf_read_chunks(info, dtype, options);

    // The file's identity is part of the name, so a rewritten file never reuses cached keys.
    Tokenizer tok;
    tok.add(std::string_view(encode_shape_params(base)));
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
        tok.add(static_cast<std::int64_t>(st.st_ino));
        tok.add(static_cast<std::int64_t>(st.st_size));
        tok.add(static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec);
    }
    return Array(std::make_shared<NetcdfReadNode>(dtype, std::move(chunks), std::move(base), tok.digest()));
}

}  // namespace tessera::detail
