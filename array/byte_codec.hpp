#pragma once
// Internal: the little binary codec of task parameters built once per block (fused programs,
// reduction parameters): fixed-size fields and length-prefixed vectors appended to one string.
// Lowering 10^5 blocks encodes 10^5 of them, where cereal through a string stream cost more than
// building them. The reader checks every length against the bytes left: truncated or hostile
// bytes are a ProtocolError "<what> (N bytes): K bytes needed at offset P", never a huge
// allocation.

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "tessera/error.hpp"

namespace tessera::detail {

class ByteWriter {
public:
    explicit ByteWriter(std::string& out) : out_(out) {}
    template <class T>
    void put(T value) {
        static_assert(std::is_trivially_copyable_v<T>);
        char bytes[sizeof(T)];
        std::memcpy(bytes, &value, sizeof(T));
        out_.append(bytes, sizeof(T));
    }
    template <class T>
    void put_vector(const std::vector<T>& v) {
        static_assert(std::is_trivially_copyable_v<T>);
        put(static_cast<std::uint32_t>(v.size()));
        if (!v.empty()) out_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
    }
    void put_string(std::string_view s) {
        put(static_cast<std::uint32_t>(s.size()));
        out_.append(s.data(), s.size());
    }

private:
    std::string& out_;
};

class ByteReader {
public:
    /// `what` names the parameters in errors ("malformed fused program").
    ByteReader(std::string_view bytes, const char* what) : bytes_(bytes), what_(what) {}
    template <class T>
    T get() {
        static_assert(std::is_trivially_copyable_v<T>);
        need(sizeof(T));
        T value;
        std::memcpy(&value, bytes_.data() + pos_, sizeof(T));
        pos_ += sizeof(T);
        return value;
    }
    template <class T>
    std::vector<T> get_vector() {
        const auto n = get<std::uint32_t>();
        need(static_cast<std::size_t>(n) * sizeof(T));
        std::vector<T> v(n);
        if (n > 0) std::memcpy(v.data(), bytes_.data() + pos_, n * sizeof(T));
        pos_ += n * sizeof(T);
        return v;
    }
    std::string get_string() {
        const auto n = get<std::uint32_t>();
        need(n);
        std::string s(bytes_.substr(pos_, n));
        pos_ += n;
        return s;
    }
    bool done() const { return pos_ == bytes_.size(); }
    /// ProtocolError "<what> (N bytes): <text>".
    [[noreturn]] void fail(std::string_view text) const {
        throw ProtocolError("{} ({} bytes): {}", what_, bytes_.size(), text);
    }

private:
    void need(std::size_t n) const {
        if (n > bytes_.size() - pos_)
            throw ProtocolError("{} ({} bytes): {} bytes needed at offset {}", what_, bytes_.size(), n, pos_);
    }
    std::string_view bytes_;
    const char* what_;
    std::size_t pos_ = 0;
};

}  // namespace tessera::detail
