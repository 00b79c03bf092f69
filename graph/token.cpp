// Tokenizer: an order-sensitive 64-bit hash of a sequence of typed values. Every add() absorbs a
// type tag, then the value (byte runs with their length, hashed with XXH64 seeded by the current
// state), and ends with an avalanche mix, so digest() is always well mixed. Tokens depend only on
// the values added (never on interned ids or addresses), so they agree across processes.

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>

#include <fmt/format.h>

#include "graph/append_table.hpp"
#include "tessera/graph.hpp"

namespace tessera {
namespace {

constexpr std::uint64_t kPrime1 = 0x9E3779B185EBCA87ull;
constexpr std::uint64_t kPrime2 = 0xC2B2AE3D27D4EB4Full;
constexpr std::uint64_t kPrime3 = 0x165667B19E3779F9ull;
constexpr std::uint64_t kPrime4 = 0x85EBCA77C2B2AE63ull;
constexpr std::uint64_t kPrime5 = 0x27D4EB2F165667C5ull;

enum Tag : std::uint64_t { kString = 1, kInt = 2, kDouble = 3, kKey = 4, kInts = 5, kBytes = 6 };

std::uint64_t rotl(std::uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

std::uint64_t read64(const unsigned char* p) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}

std::uint32_t read32(const unsigned char* p) {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

std::uint64_t xxh_round(std::uint64_t acc, std::uint64_t input) {
    acc += input * kPrime2;
    acc = rotl(acc, 31);
    return acc * kPrime1;
}

std::uint64_t xxh_merge(std::uint64_t acc, std::uint64_t val) {
    acc ^= xxh_round(0, val);
    return acc * kPrime1 + kPrime4;
}

// XXH64 (little-endian reads; tokens are compared between machines of the same byte order).
std::uint64_t xxh64(const void* data, std::size_t len, std::uint64_t seed) {
    const auto* p = static_cast<const unsigned char*>(data);
    const unsigned char* const end = p + len;
    std::uint64_t h;
    if (len >= 32) {
        std::uint64_t v1 = seed + kPrime1 + kPrime2;
        std::uint64_t v2 = seed + kPrime2;
        std::uint64_t v3 = seed;
        std::uint64_t v4 = seed - kPrime1;
        const unsigned char* const limit = end - 32;
        do {
            v1 = xxh_round(v1, read64(p));
            v2 = xxh_round(v2, read64(p + 8));
            v3 = xxh_round(v3, read64(p + 16));
            v4 = xxh_round(v4, read64(p + 24));
            p += 32;
        } while (p <= limit);
        h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18);
        h = xxh_merge(h, v1);
        h = xxh_merge(h, v2);
        h = xxh_merge(h, v3);
        h = xxh_merge(h, v4);
    } else {
        h = seed + kPrime5;
    }
    h += static_cast<std::uint64_t>(len);
    while (p + 8 <= end) {
        h ^= xxh_round(0, read64(p));
        h = rotl(h, 27) * kPrime1 + kPrime4;
        p += 8;
    }
    if (p + 4 <= end) {
        h ^= static_cast<std::uint64_t>(read32(p)) * kPrime1;
        h = rotl(h, 23) * kPrime2 + kPrime3;
        p += 4;
    }
    while (p < end) {
        h ^= static_cast<std::uint64_t>(*p) * kPrime5;
        h = rotl(h, 11) * kPrime1;
        ++p;
    }
    h ^= h >> 33;
    h *= kPrime2;
    h ^= h >> 29;
    h *= kPrime3;
    h ^= h >> 32;
    return h;
}

// Order-sensitive absorption of one word; fmix64 is a bijection, so distinct words from the same
// state give distinct states.
std::uint64_t absorb(std::uint64_t state, std::uint64_t word) {
    return detail::fmix64(rotl(state, 23) ^ (word * kPrime1 + kPrime4));
}

std::uint64_t absorb_bytes(std::uint64_t state, std::uint64_t tag, const void* data, std::size_t n) {
    state = absorb(state, tag);
    state = absorb(state, static_cast<std::uint64_t>(n));
    return absorb(state, xxh64(data, n, state));
}

}  // namespace

Tokenizer& Tokenizer::add(std::string_view s) {
    state_ = absorb_bytes(state_, kString, s.data(), s.size());
    return *this;
}

Tokenizer& Tokenizer::add(std::int64_t v) {
    state_ = absorb(absorb(state_, kInt), static_cast<std::uint64_t>(v));
    return *this;
}

Tokenizer& Tokenizer::add(double v) {
    // Every NaN is the same value for tokenizing; -0.0 stays distinct from 0.0 (1/x differs).
    if (std::isnan(v)) v = std::numeric_limits<double>::quiet_NaN();
    std::uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    state_ = absorb(absorb(state_, kDouble), bits);
    return *this;
}

Tokenizer& Tokenizer::add(const Key& k) {
    // By name text, not by interned id: ids differ between processes.
    state_ = absorb(state_, kKey);
    add(k.name());
    return add(std::span<const std::int64_t>(k.index()));
}

Tokenizer& Tokenizer::add(std::span<const std::int64_t> v) {
    state_ = absorb_bytes(state_, kInts, v.data(), v.size_bytes());
    return *this;
}

Tokenizer& Tokenizer::add_bytes(const void* data, std::size_t n) {
    state_ = absorb_bytes(state_, kBytes, data, n);
    return *this;
}

std::string Tokenizer::hex() const { return fmt::format("{:016x}", state_); }

std::string unique_token() {
    static const std::uint64_t seed = [] {
        std::random_device device;
        return (static_cast<std::uint64_t>(device()) << 32) ^ device();
    }();
    static std::atomic<std::uint64_t> counter{0};
    // splitmix64 of seed + n * golden: a bijection of n, so unique within the process.
    std::uint64_t z = seed + (counter.fetch_add(1, std::memory_order_relaxed) + 1) * 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return fmt::format("{:016x}", z);
}

}  // namespace tessera
