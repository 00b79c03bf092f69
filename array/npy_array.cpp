// load_npy / to_npy: Arrays over .npy files (src/io/npy.hpp).
//
// load_npy: node "load_npy", one "tessera.npy_load" task per block that memory-maps the file
// (private, copy-on-write) and copies its block out in native byte order. to_npy: node
// "npy_write" with one "tessera.npy_write" task per block writing its bytes in place (pwrite)
// into "<path>.partial-<token>", then node "npy_finish" whose single task writes the header,
// sets the size and renames the file over <path>.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <numeric>

#include "array/shape_ops.hpp"
#include "src/io/codec_pipeline.hpp"
#include "src/io/npy.hpp"
#include "tessera/error.hpp"
#include "tessera/io.hpp"

namespace tessera::detail {
namespace {

struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

std::string sys_error() { return std::strerror(errno); }

// ------------------------------------------------------------------------------ load

struct NpyLoadParams {
    std::string path;
    std::int64_t dtype = 0, data_offset = 0;
    bool big_endian = false, fortran = false;
    std::vector<std::int64_t> shape, start, stop;

    template <class Archive>
    void serialize(Archive& ar) {
        ar(path, dtype, data_offset, big_endian, fortran, shape, start, stop);
    }
};

Value npy_load_op(const TaskContext& ctx) {
    const auto p = decode_shape_params<NpyLoadParams>(ctx.task.params, "npy_load");
    const DType dtype(static_cast<DTypeId>(p.dtype));
    Shape bshape(p.shape.size());
    for (std::size_t axis = 0; axis < bshape.size(); ++axis) bshape[axis] = p.stop[axis] - p.start[axis];
    if (shape_size(bshape) == 0) return Value(NDArray::empty(dtype, bshape));
    Fd f{::open(p.path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (f.fd < 0) throw IOError("{}: cannot open: {}", p.path, sys_error());
    struct stat st {};
    if (::fstat(f.fd, &st) != 0) throw IOError("{}: cannot stat: {}", p.path, sys_error());
    const std::int64_t needed = p.data_offset + shape_size(p.shape) * dtype.itemsize();
    if (st.st_size < needed)
        throw IOError("{}: the file has {} bytes but the header needs {}", p.path, st.st_size, needed);
    const auto size = static_cast<std::size_t>(st.st_size);
    void* base = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, f.fd, 0);
    if (base == MAP_FAILED) throw IOError("{}: cannot map: {}", p.path, sys_error());
    std::shared_ptr<const void> mapping(base, [size](const void* q) { ::munmap(const_cast<void*>(q), size); });
    std::vector<std::int64_t> strides(p.shape.size());
    std::int64_t stride = 1;
    for (std::size_t k = 0; k < strides.size(); ++k) {
        const std::size_t axis = p.fortran ? k : strides.size() - 1 - k;
        strides[axis] = stride;
        stride *= std::max<std::int64_t>(p.shape[axis], 1);
    }
    NDArray view = NDArray::wrap(dtype, p.shape, static_cast<std::byte*>(base) + p.data_offset, mapping, strides);
    for (std::size_t axis = 0; axis < bshape.size(); ++axis)
        if (p.start[axis] != 0 || p.stop[axis] != p.shape[axis])
            view = view.slice(static_cast<std::int64_t>(axis), p.start[axis], p.stop[axis]);
    NDArray out = view.copy();  // the pages stay in the page cache; the task owns its block
    if (p.big_endian)
        io::byteswap_inplace(static_cast<std::byte*>(out.raw_data()), out.nbytes(), io::swap_unit(dtype));
    return Value(std::move(out));
}

OpId npy_load_id() {
    static const OpId id = register_op("tessera.npy_load", &npy_load_op);
    return id;
}
[[maybe_unused]] const OpId npy_load_registered = npy_load_id();

class NpyLoadNode final : public ArrayNode {
public:
    NpyLoadNode(std::string path, const io::NpyHeader& h, Chunks chunks, std::uint64_t token)
        : ArrayNode("load_npy", h.dtype, std::move(chunks), {}, token), path_(std::move(path)), header_(h) {}

protected:
    void lower_tasks(LowerContext& ctx) const override {
        const OpId op = npy_load_id();
        NpyLoadParams p{path_, static_cast<std::int64_t>(header_.dtype.id()), header_.data_offset,
                        header_.big_endian, header_.fortran_order, header_.shape, {}, {}};
        for_each_block(chunks().numblocks(), [&](std::span<const std::int64_t> block) {
            p.start.assign(block.size(), 0);
            p.stop.assign(block.size(), 0);
            for (std::size_t axis = 0; axis < block.size(); ++axis) {
                p.start[axis] = chunks().block_start(static_cast<std::int64_t>(axis), block[axis]);
                p.stop[axis] = p.start[axis] + chunks().sizes(static_cast<std::int64_t>(axis))[static_cast<std::size_t>(block[axis])];
            }
            Task task;
            task.key = block_key(block);
            task.op = op;
            task.params = encode_shape_params(p);
            task.nbytes_hint = shape_size(chunks().block_shape(block)) * dtype().itemsize();
            ctx.graph.add(std::move(task));
        });
    }

private:
    std::string path_;
    io::NpyHeader header_;
};

// ------------------------------------------------------------------------------ write

struct NpyWriteParams {
    std::string tmp;
    std::int64_t itemsize = 0, data_offset = 0;
    std::vector<std::int64_t> shape, start;

    template <class Archive>
    void serialize(Archive& ar) {
        ar(tmp, itemsize, data_offset, shape, start);
    }
};

void pwrite_all(int fd, const std::byte* data, std::int64_t n, std::int64_t offset, const std::string& path) {
    while (n > 0) {
        const ssize_t w = ::pwrite(fd, data, static_cast<std::size_t>(n), offset);
        if (w < 0) {
            if (errno == EINTR) continue;
            throw IOError("{}: cannot write: {}", path, sys_error());
        }
        data += w, n -= w, offset += w;
    }
}

Value npy_write_op(const TaskContext& ctx) {
    const auto p = decode_shape_params<NpyWriteParams>(ctx.task.params, "npy_write");
    const NDArray block = ctx.inputs[0]->array().contiguous();
    const std::size_t ndim = p.shape.size();
    const NDArray status = NDArray::full(int64, Shape(ndim, 1), std::int64_t{1});
    if (block.size() == 0) return Value(status);
    Fd f{::open(p.tmp.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644)};
    if (f.fd < 0) throw IOError("{}: cannot open: {}", p.tmp, sys_error());
    // Runs of consecutive bytes: the trailing axes the block spans completely, plus one more.
    std::size_t split = ndim;  // axes [split, ndim) form one run
    std::int64_t run = 1;
    while (split > 0) {
        --split;
        run *= block.shape(static_cast<std::int64_t>(split));
        if (block.shape(static_cast<std::int64_t>(split)) != p.shape[split]) break;
    }
    if (ndim == 0) run = 1;
    const auto* src = static_cast<const std::byte*>(block.raw_data());
    Shape outer(block.shape().begin(), block.shape().begin() + static_cast<std::ptrdiff_t>(split));
    std::int64_t flat_run = 0;
    for_each_block(outer, [&](std::span<const std::int64_t> idx) {
        std::int64_t elem = 0;  // flat C index of the run's first element in the whole array
        for (std::size_t axis = 0; axis < ndim; ++axis)
            elem = elem * p.shape[axis] + p.start[axis] + (axis < split ? idx[axis] : 0);
        pwrite_all(f.fd, src + flat_run * run * p.itemsize, run * p.itemsize, p.data_offset + elem * p.itemsize, p.tmp);
        ++flat_run;
    });
    return Value(status);
}

OpId npy_write_id() {
    static const OpId id = register_op("tessera.npy_write", &npy_write_op);
    return id;
}
[[maybe_unused]] const OpId npy_write_registered = npy_write_id();

class NpyWriteNode final : public ArrayNode {
public:
    NpyWriteNode(NodePtr input, std::string tmp, std::int64_t data_offset, std::uint64_t token)
        : ArrayNode("npy_write", int64, Chunks::regular(input->chunks().numblocks(), Shape(static_cast<std::size_t>(input->ndim()), 1)),
                    {input}, token),
          tmp_(std::move(tmp)),
          data_offset_(data_offset) {}

protected:
    void lower_tasks(LowerContext& ctx) const override {
        const ArrayNode& in = *inputs()[0];
        in.lower(ctx);
        const OpId op = npy_write_id();
        NpyWriteParams p{tmp_, in.dtype().itemsize(), data_offset_, in.shape(), {}};
        for_each_block(chunks().numblocks(), [&](std::span<const std::int64_t> block) {
            p.start.assign(block.size(), 0);
            for (std::size_t axis = 0; axis < block.size(); ++axis)
                p.start[axis] = in.chunks().block_start(static_cast<std::int64_t>(axis), block[axis]);
            Task task;
            task.key = block_key(block);
            task.op = op;
            task.params = encode_shape_params(p);
            task.deps = {in.block_key(block)};
            task.nbytes_hint = 8;
            ctx.graph.add(std::move(task));
        });
    }

private:
    std::string tmp_;
    std::int64_t data_offset_;
};

struct NpyFinishParams {
    std::string tmp, path, header;
    std::int64_t size = 0;

    template <class Archive>
    void serialize(Archive& ar) {
        ar(tmp, path, header, size);
    }
};

Value npy_finish_op(const TaskContext& ctx) {
    const auto p = decode_shape_params<NpyFinishParams>(ctx.task.params, "npy_finish");
    {
        Fd f{::open(p.tmp.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644)};
        if (f.fd < 0) throw IOError("{}: cannot open: {}", p.tmp, sys_error());
        pwrite_all(f.fd, reinterpret_cast<const std::byte*>(p.header.data()), static_cast<std::int64_t>(p.header.size()), 0,
                   p.tmp);
        if (::ftruncate(f.fd, p.size) != 0) throw IOError("{}: cannot set the size: {}", p.tmp, sys_error());
        if (::fsync(f.fd) != 0) throw IOError("{}: cannot sync: {}", p.tmp, sys_error());
    }
    if (std::rename(p.tmp.c_str(), p.path.c_str()) != 0)
        throw IOError("{}: cannot rename {} over it: {}", p.path, p.tmp, sys_error());
    return Value(NDArray::scalar(Scalar(std::int64_t{p.size}, int64)));
}

OpId npy_finish_id() {
    static const OpId id = register_op("tessera.npy_finish", &npy_finish_op);
    return id;
}
[[maybe_unused]] const OpId npy_finish_registered = npy_finish_id();

class NpyFinishNode final : public ArrayNode {
public:
    NpyFinishNode(NodePtr writes, NpyFinishParams params, std::uint64_t token)
        : ArrayNode("npy_finish", int64, Chunks(), {writes}, token), params_(std::move(params)) {}

protected:
    void lower_tasks(LowerContext& ctx) const override {
        const ArrayNode& in = *inputs()[0];
        in.lower(ctx);
        Task task;
        task.key = block_key({});
        task.op = npy_finish_id();
        task.params = encode_shape_params(params_);
        for_each_block(in.chunks().numblocks(), [&](std::span<const std::int64_t> b) { task.deps.push_back(in.block_key(b)); });
        ctx.graph.add(std::move(task));
    }

private:
    NpyFinishParams params_;
};

}  // namespace
}  // namespace tessera::detail

namespace tessera {

Array load_npy(const std::string& path, const ChunkSpec& chunks) {
    const io::NpyHeader h = io::read_npy_header(path);
    Chunks ch = normalize_chunks(chunks, h.shape, h.dtype);
    struct stat st {};
    ::stat(path.c_str(), &st);
    Tokenizer tok;
    tok.add(std::string_view(path)).add(static_cast<std::int64_t>(st.st_size));
    tok.add(static_cast<std::int64_t>(st.st_mtim.tv_sec)).add(static_cast<std::int64_t>(st.st_mtim.tv_nsec));
    tok.add(static_cast<std::int64_t>(st.st_ino));
    tok.add(std::string_view(ch.str()));
    return Array(std::make_shared<detail::NpyLoadNode>(path, h, std::move(ch), tok.digest()));
}

void to_npy(const Array& array, const std::string& path, const ComputeOptions& options) {
    const std::string header = io::npy_header(array.dtype(), array.shape());
    Tokenizer tok;
    tok.add(std::string_view(array.name())).add(std::string_view(path));
    const std::string tmp = fmt::format("{}.partial-{}", path, unique_token());
    auto writes = std::make_shared<detail::NpyWriteNode>(array.node(), tmp, static_cast<std::int64_t>(header.size()),
                                                         tok.digest());
    detail::NpyFinishParams params{tmp, path, header, static_cast<std::int64_t>(header.size()) + array.nbytes()};
    Array finish(std::make_shared<detail::NpyFinishNode>(writes, std::move(params), tok.digest()));
    try {
        finish.compute(options);
    } catch (...) {
        std::remove(tmp.c_str());
        throw;
    }
}

}  // namespace tessera
