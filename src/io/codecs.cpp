// Zarr bytes → bytes codecs over c-blosc, zstd, zlib, bzip2 and lz4, with numcodecs' framing.

#include "src/io/codecs.hpp"

#include <blosc.h>
#include <bzlib.h>
#include <lz4.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <climits>
#include <cstring>
#include <limits>
#include <thread>

#include "tessera/error.hpp"

namespace tessera::io {

void throw_size_mismatch(std::int64_t expected, std::int64_t got) {
    throw IOError("expected {} bytes after decompression, got {}", expected, got);
}

namespace {

// Collects a streaming decoder's output. With an expected size the output never grows past it:
// the excess goes to a scratch area and is only counted, for the error message.
class Sink {
public:
    Sink(std::int64_t expected, std::int64_t input_size) : expected_(expected) {
        if (expected_ >= 0)
            out_.resize(static_cast<std::size_t>(expected_));
        else
            out_.resize(static_cast<std::size_t>(std::max<std::int64_t>(4096, 4 * input_size)));
    }
    std::span<std::byte> next() {
        if (expected_ >= 0) {
            if (total_ < expected_)
                return {out_.data() + total_, static_cast<std::size_t>(expected_ - total_)};
            scratch_.resize(1 << 16);
            return scratch_;
        }
        if (static_cast<std::size_t>(total_) == out_.size()) out_.resize(out_.size() * 2);
        return {out_.data() + total_, out_.size() - static_cast<std::size_t>(total_)};
    }
    void commit(std::int64_t n) { total_ += n; }
    Bytes finish() {
        if (expected_ >= 0 && total_ != expected_) throw_size_mismatch(expected_, total_);
        out_.resize(static_cast<std::size_t>(total_));
        return std::move(out_);
    }

private:
    std::int64_t expected_;
    std::int64_t total_ = 0;
    Bytes out_;
    std::vector<std::byte> scratch_;
};

std::uint32_t clamp_uint(std::size_t n) {
    return static_cast<std::uint32_t>(std::min<std::size_t>(n, std::numeric_limits<unsigned>::max()));
}

// Reads an integer parameter of a codec configuration (absent → `fallback`).
std::int64_t int_param(const json& config, const char* key, std::int64_t fallback,
                       const std::string& codec) {
    if (!config.is_object() || !config.contains(key) || config[key].is_null()) return fallback;
    const json& v = config[key];
    if (!v.is_number_integer())
        throw IOError("{}: '{}' must be an integer, got {}", codec, key, v.dump());
    return v.get<std::int64_t>();
}

void check_range(const std::string& codec, const char* key, std::int64_t v, std::int64_t lo,
                 std::int64_t hi) {
    if (v < lo || v > hi)
        throw IOError("{}: '{}' must be in [{}, {}], got {}", codec, key, lo, hi, v);
}

// ---- blosc ----------------------------------------------------------------------------------

// Blosc's own threads for one decompression: the cores that no other decompression in this
// process is using (1 for small buffers). Many chunks in flight keep one thread each; a lone
// chunk (the sync scheduler, the tail of a computation) uses the idle cores. Decompressed bytes
// do not depend on the thread count. Compression stays single-threaded: with several threads
// blosc stores the blocks in completion order, so the same chunk would give different files.
class DecodeThreads {
public:
    explicit DecodeThreads(std::size_t nbytes) {
        static const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
        const int active = active_.fetch_add(1, std::memory_order_relaxed) + 1;
        threads_ = nbytes < (std::size_t{4} << 20) ? 1 : std::max(1, cores / active);
    }
    ~DecodeThreads() { active_.fetch_sub(1, std::memory_order_relaxed); }
    DecodeThreads(const DecodeThreads&) = delete;
    DecodeThreads& operator=(const DecodeThreads&) = delete;
    int threads() const { return threads_; }

private:
    static inline std::atomic<int> active_{0};
    int threads_ = 1;
};

class BloscCodec final : public BytesCodec {
public:
    BloscCodec(std::string cname, int clevel, int shuffle, std::int64_t typesize, int blocksize)
        : cname_(std::move(cname)), clevel_(clevel), shuffle_(shuffle), typesize_(typesize),
          blocksize_(blocksize) {}

    Bytes encode(std::span<const std::byte> in) const override {
        if (in.size() > static_cast<std::size_t>(BLOSC_MAX_BUFFERSIZE))
            throw IOError("blosc: cannot compress {} bytes (the limit is {})", in.size(),
                          BLOSC_MAX_BUFFERSIZE);
        int shuffle = shuffle_;
        if (shuffle < 0) shuffle = typesize_ == 1 ? BLOSC_BITSHUFFLE : BLOSC_SHUFFLE;
        Bytes out(in.size() + BLOSC_MAX_OVERHEAD);
        const int n = blosc_compress_ctx(clevel_, shuffle, static_cast<std::size_t>(typesize_),
                                         in.size(), in.data(), out.data(), out.size(),
                                         cname_.c_str(), static_cast<std::size_t>(blocksize_), 1);
        if (n <= 0) throw IOError("blosc: compression failed (error {})", n);
        out.resize(static_cast<std::size_t>(n));
        return out;
    }

    Bytes decode(std::span<const std::byte> in, std::int64_t expected) const override {
        std::size_t nbytes = 0;
        if (blosc_cbuffer_validate(in.data(), in.size(), &nbytes) < 0)
            throw IOError("blosc: corrupt or truncated data ({} bytes)", in.size());
        if (expected >= 0 && static_cast<std::int64_t>(nbytes) != expected)
            throw_size_mismatch(expected, static_cast<std::int64_t>(nbytes));
        Bytes out(nbytes);
        const DecodeThreads threads(nbytes);
        const int n = blosc_decompress_ctx(in.data(), out.data(), out.size(), threads.threads());
        if (n < 0 || static_cast<std::size_t>(n) != nbytes)
            throw IOError("blosc: corrupt or truncated data ({} bytes)", in.size());
        return out;
    }

    json v2_json() const override {
        return {{"id", "blosc"}, {"cname", cname_}, {"clevel", clevel_}, {"shuffle", shuffle_},
                {"blocksize", blocksize_}};
    }
    json v3_json() const override {
        static constexpr std::array<const char*, 3> names{"noshuffle", "shuffle", "bitshuffle"};
        int shuffle = shuffle_;
        if (shuffle < 0) shuffle = typesize_ == 1 ? BLOSC_BITSHUFFLE : BLOSC_SHUFFLE;
        return {{"name", "blosc"},
                {"configuration",
                 {{"cname", cname_}, {"clevel", clevel_}, {"shuffle", names[shuffle]},
                  {"typesize", typesize_}, {"blocksize", blocksize_}}}};
    }

private:
    std::string cname_;
    int clevel_;
    int shuffle_;  // -1 auto, 0 none, 1 byte, 2 bit (numcodecs values)
    std::int64_t typesize_;
    int blocksize_;
};

std::shared_ptr<const BytesCodec> make_blosc(const json& config, std::int64_t typesize, bool v3) {
    std::string cname = "lz4";
    if (config.contains("cname")) {
        if (!config["cname"].is_string())
            throw IOError("blosc: 'cname' must be a string, got {}", config["cname"].dump());
        cname = config["cname"].get<std::string>();
    }
    if (blosc_compname_to_compcode(cname.c_str()) < 0)
        throw IOError("blosc: unknown cname '{}'", cname);
    const std::int64_t clevel = int_param(config, "clevel", 5, "blosc");
    check_range("blosc", "clevel", clevel, 0, 9);
    std::int64_t shuffle = 1;
    if (v3 && config.contains("shuffle")) {
        const json& s = config["shuffle"];
        if (s == "noshuffle") shuffle = 0;
        else if (s == "shuffle") shuffle = 1;
        else if (s == "bitshuffle") shuffle = 2;
        else throw IOError("blosc: unknown shuffle {}", s.dump());
    } else if (!v3) {
        shuffle = int_param(config, "shuffle", 1, "blosc");
        check_range("blosc", "shuffle", shuffle, -1, 2);
    }
    if (v3) typesize = int_param(config, "typesize", typesize, "blosc");
    check_range("blosc", "typesize", typesize, 1, 255);
    const std::int64_t blocksize = int_param(config, "blocksize", 0, "blosc");
    check_range("blosc", "blocksize", blocksize, 0, INT_MAX);
    return std::make_shared<BloscCodec>(cname, static_cast<int>(clevel), static_cast<int>(shuffle),
                                        typesize, static_cast<int>(blocksize));
}

// ---- zstd -----------------------------------------------------------------------------------

class ZstdCodec final : public BytesCodec {
public:
    ZstdCodec(int level, bool checksum) : level_(level), checksum_(checksum) {}

    Bytes encode(std::span<const std::byte> in) const override {
        // One-shot compression records the content size in the frame header (numcodecs needs it).
        std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> ctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
        if (!ctx) throw std::bad_alloc();
        ZSTD_CCtx_setParameter(ctx.get(), ZSTD_c_compressionLevel, level_);
        ZSTD_CCtx_setParameter(ctx.get(), ZSTD_c_checksumFlag, checksum_ ? 1 : 0);
        Bytes out(ZSTD_compressBound(in.size()));
        const std::size_t n = ZSTD_compress2(ctx.get(), out.data(), out.size(), in.data(), in.size());
        if (ZSTD_isError(n)) throw IOError("zstd: compression failed: {}", ZSTD_getErrorName(n));
        out.resize(n);
        return out;
    }

    Bytes decode(std::span<const std::byte> in, std::int64_t expected) const override {
        unsigned long long size = ZSTD_getFrameContentSize(in.data(), in.size());
        if (size == ZSTD_CONTENTSIZE_ERROR)
            throw IOError("zstd: corrupt or truncated data ({} bytes)", in.size());
        // The header's size is the whole output only for a single frame.
        const std::size_t frame = ZSTD_findFrameCompressedSize(in.data(), in.size());
        if (ZSTD_isError(frame) || frame != in.size()) size = ZSTD_CONTENTSIZE_UNKNOWN;
        if (size != ZSTD_CONTENTSIZE_UNKNOWN && expected >= 0 &&
            size != static_cast<unsigned long long>(expected))
            throw_size_mismatch(expected, static_cast<std::int64_t>(size));
        std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
        if (!ctx) throw std::bad_alloc();
        Sink sink(size != ZSTD_CONTENTSIZE_UNKNOWN && expected < 0
                      ? static_cast<std::int64_t>(size) : expected,
                  static_cast<std::int64_t>(in.size()));
        ZSTD_inBuffer input{in.data(), in.size(), 0};
        std::size_t ret = 1;
        while (input.pos < input.size) {
            const std::span<std::byte> region = sink.next();
            ZSTD_outBuffer output{region.data(), region.size(), 0};
            ret = ZSTD_decompressStream(ctx.get(), &output, &input);
            if (ZSTD_isError(ret))
                throw IOError("zstd: corrupt data: {}", ZSTD_getErrorName(ret));
            sink.commit(static_cast<std::int64_t>(output.pos));
            if (output.pos == 0 && input.pos == input.size) break;
        }
        // Flush what the decoder still holds.
        while (ret != 0) {
            const std::span<std::byte> region = sink.next();
            ZSTD_outBuffer output{region.data(), region.size(), 0};
            ret = ZSTD_decompressStream(ctx.get(), &output, &input);
            if (ZSTD_isError(ret)) throw IOError("zstd: corrupt data: {}", ZSTD_getErrorName(ret));
            sink.commit(static_cast<std::int64_t>(output.pos));
            if (output.pos == 0 && ret != 0)
                throw IOError("zstd: corrupt or truncated data ({} bytes)", in.size());
        }
        return sink.finish();
    }

    json v2_json() const override { return {{"id", "zstd"}, {"level", level_}}; }
    json v3_json() const override {
        return {{"name", "zstd"}, {"configuration", {{"level", level_}, {"checksum", checksum_}}}};
    }

private:
    int level_;
    bool checksum_;
};

// ---- zlib and gzip --------------------------------------------------------------------------

class ZlibCodec final : public BytesCodec {
public:
    ZlibCodec(int level, bool gzip) : level_(level), gzip_(gzip) {}

    Bytes encode(std::span<const std::byte> in) const override {
        z_stream strm{};
        if (deflateInit2(&strm, level_, Z_DEFLATED, gzip_ ? 31 : 15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            throw IOError("{}: cannot initialize the compressor", name());
        Bytes out(deflateBound(&strm, static_cast<uLong>(in.size())));
        strm.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
        strm.avail_in = static_cast<uInt>(in.size());
        strm.next_out = reinterpret_cast<Bytef*>(out.data());
        strm.avail_out = static_cast<uInt>(out.size());
        const int ret = deflate(&strm, Z_FINISH);
        const std::size_t n = strm.total_out;
        deflateEnd(&strm);
        if (ret != Z_STREAM_END) throw IOError("{}: compression failed (error {})", name(), ret);
        out.resize(n);
        return out;
    }

    Bytes decode(std::span<const std::byte> in, std::int64_t expected) const override {
        Sink sink(expected, static_cast<std::int64_t>(in.size()));
        z_stream strm{};
        if (inflateInit2(&strm, gzip_ ? 31 : 15) != Z_OK)
            throw IOError("{}: cannot initialize the decompressor", name());
        std::unique_ptr<z_stream, decltype(&inflateEnd)> guard(&strm, inflateEnd);
        strm.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
        strm.avail_in = clamp_uint(in.size());
        while (true) {
            const std::span<std::byte> region = sink.next();
            strm.next_out = reinterpret_cast<Bytef*>(region.data());
            strm.avail_out = clamp_uint(region.size());
            const uInt before = strm.avail_out;
            const int ret = inflate(&strm, Z_NO_FLUSH);
            sink.commit(before - strm.avail_out);
            if (ret == Z_STREAM_END) {
                // gzip files may hold several members (Python's gzip reads them all).
                if (gzip_ && strm.avail_in > 0 && inflateReset(&strm) == Z_OK) continue;
                if (strm.avail_in > 0)
                    throw IOError("{}: {} unexpected bytes after the end of the stream", name(),
                                  strm.avail_in);
                break;
            }
            if (ret == Z_BUF_ERROR && strm.avail_in == 0)
                throw IOError("{}: truncated data ({} bytes)", name(), in.size());
            if (ret != Z_OK && ret != Z_BUF_ERROR)
                throw IOError("{}: corrupt data: {}", name(), strm.msg ? strm.msg : "error");
        }
        return sink.finish();
    }

    json v2_json() const override { return {{"id", name()}, {"level", level_}}; }
    json v3_json() const override {
        if (gzip_) return {{"name", "gzip"}, {"configuration", {{"level", level_}}}};
        return {{"name", "numcodecs.zlib"}, {"configuration", {{"level", level_}}}};
    }

private:
    std::string name() const { return gzip_ ? "gzip" : "zlib"; }
    int level_;
    bool gzip_;
};

// ---- bz2 ------------------------------------------------------------------------------------

class Bz2Codec final : public BytesCodec {
public:
    explicit Bz2Codec(int level) : level_(level) {}

    Bytes encode(std::span<const std::byte> in) const override {
        char empty[1] = {0};  // bzip2 rejects a null input pointer, even for 0 bytes
        unsigned dest = static_cast<unsigned>(in.size() + in.size() / 100 + 600);
        Bytes out(dest);
        const int ret = BZ2_bzBuffToBuffCompress(
            reinterpret_cast<char*>(out.data()), &dest,
            in.empty() ? empty : reinterpret_cast<char*>(const_cast<std::byte*>(in.data())),
            static_cast<unsigned>(in.size()), level_, 0, 0);
        if (ret != BZ_OK) throw IOError("bz2: compression failed (error {})", ret);
        out.resize(dest);
        return out;
    }

    Bytes decode(std::span<const std::byte> in, std::int64_t expected) const override {
        Sink sink(expected, static_cast<std::int64_t>(in.size()));
        bz_stream strm{};
        std::size_t pos = 0;
        while (pos < in.size()) {  // Python's bz2 reads concatenated streams
            if (BZ2_bzDecompressInit(&strm, 0, 0) != BZ_OK)
                throw IOError("bz2: cannot initialize the decompressor");
            std::unique_ptr<bz_stream, decltype(&BZ2_bzDecompressEnd)> guard(&strm,
                                                                           BZ2_bzDecompressEnd);
            strm.next_in = reinterpret_cast<char*>(const_cast<std::byte*>(in.data() + pos));
            strm.avail_in = clamp_uint(in.size() - pos);
            const unsigned start_in = strm.avail_in;
            while (true) {
                const std::span<std::byte> region = sink.next();
                strm.next_out = reinterpret_cast<char*>(region.data());
                strm.avail_out = clamp_uint(region.size());
                const unsigned before = strm.avail_out;
                const int ret = BZ2_bzDecompress(&strm);
                sink.commit(before - strm.avail_out);
                if (ret == BZ_STREAM_END) break;
                if (ret != BZ_OK) throw IOError("bz2: corrupt data (error {})", ret);
                if (strm.avail_in == 0 && strm.avail_out != 0)
                    throw IOError("bz2: truncated data ({} bytes)", in.size());
            }
            pos += start_in - strm.avail_in;
        }
        if (in.empty()) throw IOError("bz2: truncated data (0 bytes)");
        return sink.finish();
    }

    json v2_json() const override { return {{"id", "bz2"}, {"level", level_}}; }
    json v3_json() const override {
        return {{"name", "numcodecs.bz2"}, {"configuration", {{"level", level_}}}};
    }

private:
    int level_;
};

// ---- lz4 (numcodecs framing: little-endian uint32 size, then one LZ4 block) ------------------

class Lz4Codec final : public BytesCodec {
public:
    explicit Lz4Codec(int acceleration) : acceleration_(acceleration) {}

    Bytes encode(std::span<const std::byte> in) const override {
        if (in.size() > static_cast<std::size_t>(LZ4_MAX_INPUT_SIZE))
            throw IOError("lz4: cannot compress {} bytes (the limit is {})", in.size(),
                          LZ4_MAX_INPUT_SIZE);
        const int bound = LZ4_compressBound(static_cast<int>(in.size()));
        Bytes out(static_cast<std::size_t>(bound) + 4);
        const auto n32 = static_cast<std::uint32_t>(in.size());
        for (int b = 0; b < 4; ++b) out[b] = static_cast<std::byte>((n32 >> (8 * b)) & 0xff);
        const int n = LZ4_compress_fast(reinterpret_cast<const char*>(in.data()),
                                        reinterpret_cast<char*>(out.data() + 4),
                                        static_cast<int>(in.size()), bound, acceleration_);
        if (n <= 0 && !in.empty()) throw IOError("lz4: compression failed");
        out.resize(static_cast<std::size_t>(n) + 4);
        return out;
    }

    Bytes decode(std::span<const std::byte> in, std::int64_t expected) const override {
        if (in.size() < 4) throw IOError("lz4: truncated data ({} bytes)", in.size());
        std::uint32_t size = 0;
        for (int b = 0; b < 4; ++b) size |= static_cast<std::uint32_t>(in[b]) << (8 * b);
        if (expected >= 0 && size != expected) throw_size_mismatch(expected, size);
        if (size > static_cast<std::uint32_t>(LZ4_MAX_INPUT_SIZE))
            throw IOError("lz4: corrupt data (size {} in the header)", size);
        Bytes out(size);
        const int n = LZ4_decompress_safe(reinterpret_cast<const char*>(in.data() + 4),
                                          reinterpret_cast<char*>(out.data()),
                                          static_cast<int>(in.size() - 4), static_cast<int>(size));
        if (n < 0 || static_cast<std::uint32_t>(n) != size)
            throw IOError("lz4: corrupt or truncated data ({} bytes)", in.size());
        return out;
    }

    json v2_json() const override { return {{"id", "lz4"}, {"acceleration", acceleration_}}; }
    json v3_json() const override {
        return {{"name", "numcodecs.lz4"}, {"configuration", {{"acceleration", acceleration_}}}};
    }

private:
    int acceleration_;
};

// ---- crc32c ---------------------------------------------------------------------------------

class Crc32cCodec final : public BytesCodec {
public:
    Bytes encode(std::span<const std::byte> in) const override {
        Bytes out(in.size() + 4);
        std::memcpy(out.data(), in.data(), in.size());
        const std::uint32_t crc = crc32c(in);
        for (int b = 0; b < 4; ++b)
            out[in.size() + b] = static_cast<std::byte>((crc >> (8 * b)) & 0xff);
        return out;
    }
    Bytes decode(std::span<const std::byte> in, std::int64_t expected) const override {
        if (in.size() < 4) throw IOError("crc32c: truncated data ({} bytes)", in.size());
        const std::span<const std::byte> data = in.first(in.size() - 4);
        std::uint32_t stored = 0;
        for (int b = 0; b < 4; ++b)
            stored |= static_cast<std::uint32_t>(in[data.size() + b]) << (8 * b);
        const std::uint32_t actual = crc32c(data);
        if (stored != actual)
            throw IOError("crc32c: checksum mismatch (stored {:#010x}, computed {:#010x})", stored,
                          actual);
        if (expected >= 0 && static_cast<std::int64_t>(data.size()) != expected)
            throw_size_mismatch(expected, static_cast<std::int64_t>(data.size()));
        return Bytes(data.begin(), data.end());
    }
    std::optional<std::int64_t> fixed_encoded_size(std::int64_t nbytes) const override {
        return nbytes + 4;
    }
    json v2_json() const override { return {{"id", "crc32c"}}; }
    json v3_json() const override { return {{"name", "crc32c"}}; }
};

std::shared_ptr<const BytesCodec> make_simple(const std::string& id, const json& config,
                                              std::int64_t typesize, bool v3) {
    if (id == "blosc") return make_blosc(config, typesize, v3);
    if (id == "zstd") {
        const std::int64_t level = int_param(config, "level", 0, "zstd");
        check_range("zstd", "level", level, ZSTD_minCLevel(), ZSTD_maxCLevel());
        bool checksum = false;
        if (config.contains("checksum")) {
            if (!config["checksum"].is_boolean())
                throw IOError("zstd: 'checksum' must be a boolean, got {}", config["checksum"].dump());
            checksum = config["checksum"].get<bool>();
        }
        return std::make_shared<ZstdCodec>(static_cast<int>(level), checksum);
    }
    if (id == "zlib" || id == "gzip") {
        const std::int64_t level = int_param(config, "level", id == "zlib" ? 1 : 5, id);
        check_range(id, "level", level, -1, 9);
        return std::make_shared<ZlibCodec>(static_cast<int>(level), id == "gzip");
    }
    if (id == "bz2") {
        const std::int64_t level = int_param(config, "level", 1, "bz2");
        check_range("bz2", "level", level, 1, 9);
        return std::make_shared<Bz2Codec>(static_cast<int>(level));
    }
    if (id == "lz4") {
        const std::int64_t acceleration = int_param(config, "acceleration", 1, "lz4");
        check_range("lz4", "acceleration", acceleration, 1, 65537);
        return std::make_shared<Lz4Codec>(static_cast<int>(acceleration));
    }
    if (id == "crc32c") return std::make_shared<Crc32cCodec>();
    return nullptr;
}

}  // namespace

std::shared_ptr<const BytesCodec> make_v2_compressor(const json& config, std::int64_t typesize) {
    if (config.is_null()) return nullptr;
    if (!config.is_object() || !config.contains("id") || !config["id"].is_string())
        throw IOError("compressor must be null or an object with an 'id', got {}", config.dump());
    const std::string id = config["id"].get<std::string>();
    auto codec = id == "crc32c" ? nullptr : make_simple(id, config, typesize, false);
    if (!codec) throw IOError("unknown compressor '{}'", id);
    return codec;
}

std::shared_ptr<const BytesCodec> make_v3_bytes_codec(const std::string& name, const json& config,
                                                      std::int64_t typesize) {
    static const json empty = json::object();
    const json& cfg = config.is_object() ? config : empty;
    if (name == "blosc" || name == "gzip" || name == "zstd" || name == "crc32c")
        return make_simple(name, cfg, typesize, name == "blosc");
    // zarr-python 3 spells numcodecs' own compressors "numcodecs.<id>".
    if (name == "numcodecs.zlib" || name == "numcodecs.bz2" || name == "numcodecs.lz4")
        return make_simple(name.substr(10), cfg, typesize, false);
    return nullptr;
}

std::uint32_t crc32c(std::span<const std::byte> data) {
    static const std::array<std::uint32_t, 256> table = [] {
        std::array<std::uint32_t, 256> t{};
        for (std::uint32_t n = 0; n < 256; ++n) {
            std::uint32_t c = n;
            for (int k = 0; k < 8; ++k) c = (c & 1) ? 0x82F63B78u ^ (c >> 1) : c >> 1;
            t[n] = c;
        }
        return t;
    }();
    std::uint32_t crc = 0xFFFFFFFFu;
    for (const std::byte b : data)
        crc = table[(crc ^ static_cast<std::uint32_t>(b)) & 0xff] ^ (crc >> 8);
    return crc ^ 0xFFFFFFFFu;
}

}  // namespace tessera::io
