// The .npy header: parsing (a small reader for the Python dict literal NumPy writes) and writing.

#include "src/io/npy.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <variant>

#include <fmt/ranges.h>

#include "tessera/error.hpp"

namespace tessera::io {

namespace {

constexpr std::string_view kMagic = "\x93NUMPY";

// A cursor over the header dict: {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }
class DictReader {
public:
    DictReader(std::string_view text, const std::string& path) : text_(text), path_(path) {}

    [[noreturn]] void fail(std::string_view why) const {
        throw IOError("{}: malformed .npy header: {} in {}", path_, why, text_);
    }
    void skip_space() {
        while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\t')) ++pos_;
    }
    bool peek(char c) {
        skip_space();
        return pos_ < text_.size() && text_[pos_] == c;
    }
    void expect(char c) {
        if (!peek(c)) fail(fmt::format("expected '{}' at offset {}", c, pos_));
        ++pos_;
    }
    std::string string() {
        skip_space();
        if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) fail("expected a string");
        const char quote = text_[pos_++];
        const std::size_t end = text_.find(quote, pos_);
        if (end == std::string_view::npos) fail("unterminated string");
        std::string out(text_.substr(pos_, end - pos_));
        pos_ = end + 1;
        return out;
    }
    bool boolean() {
        skip_space();
        for (auto [word, value] : {std::pair{std::string_view("True"), true}, {std::string_view("False"), false}}) {
            if (text_.substr(pos_, word.size()) == word) {
                pos_ += word.size();
                return value;
            }
        }
        fail("expected True or False");
    }
    Shape tuple() {
        expect('(');
        Shape out;
        while (!peek(')')) {
            std::int64_t v = 0;
            std::size_t digits = 0;
            while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
                v = v * 10 + (text_[pos_++] - '0');
                if (++digits > 18) fail("extent too large");
            }
            if (pos_ < text_.size() && text_[pos_] == 'L') ++pos_;  // Python 2 longs
            if (digits == 0) fail("expected a non-negative integer in the shape");
            out.push_back(v);
            if (!peek(')')) expect(',');
        }
        expect(')');
        return out;
    }

private:
    std::string_view text_;
    const std::string& path_;
    std::size_t pos_ = 0;
};

std::uint32_t little_u32(std::string_view s, std::size_t at, std::size_t n) {
    std::uint32_t v = 0;
    for (std::size_t k = 0; k < n; ++k) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + k])) << (8 * k);
    return v;
}

}  // namespace

NpyHeader parse_npy_header(std::string_view bytes, const std::string& path) {
    if (bytes.size() < 8 || bytes.substr(0, 6) != kMagic) throw IOError("{}: not a .npy file (bad magic)", path);
    NpyHeader h;
    h.major = static_cast<unsigned char>(bytes[6]);
    h.minor = static_cast<unsigned char>(bytes[7]);
    if (h.major < 1 || h.major > 3) throw IOError("{}: unsupported .npy format version {}.{}", path, h.major, h.minor);
    const std::size_t len_size = h.major == 1 ? 2 : 4;
    if (bytes.size() < 8 + len_size) throw IOError("{}: truncated .npy header", path);
    const std::size_t len = little_u32(bytes, 8, len_size);
    h.data_offset = static_cast<std::int64_t>(8 + len_size + len);
    if (bytes.size() < 8 + len_size + len) throw IOError("{}: truncated .npy header", path);
    DictReader r(bytes.substr(8 + len_size, len), path);
    std::optional<std::string> descr;
    std::optional<bool> fortran;
    std::optional<Shape> shape;
    r.expect('{');
    while (!r.peek('}')) {
        const std::string key = r.string();
        r.expect(':');
        if (key == "descr") {
            if (r.peek('[')) throw NotImplemented("{}: structured dtypes are not supported", path);
            descr = r.string();
        } else if (key == "fortran_order") {
            fortran = r.boolean();
        } else if (key == "shape") {
            shape = r.tuple();
        } else {
            r.fail(fmt::format("unexpected key '{}'", key));
        }
        if (!r.peek('}')) r.expect(',');
    }
    if (!descr || !fortran || !shape) r.fail("missing 'descr', 'fortran_order' or 'shape'");
    const TypeStr t = parse_typestr(*descr);
    h.dtype = t.dtype;
    h.big_endian = t.big_endian && t.dtype.itemsize() > 1;
    h.fortran_order = *fortran;
    h.shape = std::move(*shape);
    return h;
}

NpyHeader read_npy_header(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw IOError("{}: cannot open: {}", path, std::strerror(errno));
    std::string head(12, '\0');
    in.read(head.data(), 12);
    head.resize(static_cast<std::size_t>(in.gcount()));
    if (head.size() >= 10 && head.substr(0, 6) == kMagic) {
        const std::size_t len_size = head[6] == 1 ? 2 : 4;
        const std::size_t len = head.size() >= 8 + len_size ? little_u32(head, 8, len_size) : 0;
        if (len > (std::size_t{1} << 30)) throw IOError("{}: malformed .npy header: length {}", path, len);
        head.resize(8 + len_size + len);
        in.clear();
        in.seekg(0);
        in.read(head.data(), static_cast<std::streamsize>(head.size()));
        head.resize(static_cast<std::size_t>(in.gcount()));
    }
    NpyHeader h = parse_npy_header(head, path);
    in.clear();
    in.seekg(0, std::ios::end);
    const std::int64_t size = static_cast<std::int64_t>(in.tellg());
    const std::int64_t needed = h.data_offset + shape_size(h.shape) * h.dtype.itemsize();
    if (size < needed)
        throw IOError("{}: the file has {} bytes but the header needs {}", path, size, needed);
    return h;
}

std::string npy_header(DType dtype, const Shape& shape) {
    // Python's tuple repr: "()", "(5,)", "(3, 4)".
    const std::string shape_text = shape.size() == 1 ? fmt::format("({},)", shape[0])
                                                      : fmt::format("({})", fmt::join(shape, ", "));
    std::string dict = fmt::format("{{'descr': '{}{}{}', 'fortran_order': False, 'shape': {}, }}",
                                   dtype.itemsize() == 1 ? '|' : '<', dtype.kind(), dtype.itemsize(), shape_text);
    const bool v2 = dict.size() + 11 > 65535;
    const std::size_t prefix = v2 ? 12 : 10;
    const std::size_t total = (prefix + dict.size() + 1 + 63) / 64 * 64;
    dict.append(total - prefix - dict.size() - 1, ' ');
    dict += '\n';
    const std::size_t len = dict.size();
    std::string out(prefix + len, '\0');
    kMagic.copy(out.data(), kMagic.size());
    out[6] = static_cast<char>(v2 ? 2 : 1);
    for (std::size_t k = 0; k < prefix - 8; ++k) out[8 + k] = static_cast<char>((len >> (8 * k)) & 0xff);
    dict.copy(out.data() + prefix, len);
    return out;
}

}  // namespace tessera::io
