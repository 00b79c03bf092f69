// Global configuration: read from the environment on first use, changed from code under a mutex.

#include "tessera/config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <mutex>

#include "tessera/error.hpp"

namespace tessera {
namespace {

std::mutex g_mutex;
std::optional<Config> g_config;  // empty until first use and after reset()

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

// A whole-string decimal integer in [lo, hi], or nullopt.
std::optional<std::int64_t> parse_int(std::string_view text, std::int64_t lo, std::int64_t hi) {
    text = trim(text);
    if (!text.empty() && text.front() == '+') text.remove_prefix(1);
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v < lo || v > hi)
        return std::nullopt;
    return v;
}

std::optional<bool> parse_bool(std::string_view text) {
    const std::string t = lower(trim(text));
    if (t == "1" || t == "true") return true;
    if (t == "0" || t == "false") return false;
    return std::nullopt;
}

bool valid_port(std::string_view port) { return parse_int(port, 1, 65535) && trim(port) == port; }

// "sync", "threads", "synchronous" (→ "sync") or "tcp://HOST:PORT"; nullopt otherwise.
std::optional<std::string> normalize_scheduler(std::string_view text) {
    if (text == "sync" || text == "synchronous") return std::string("sync");
    if (text == "threads") return std::string("threads");
    constexpr std::string_view tcp = "tcp://";
    if (text.substr(0, tcp.size()) == tcp) {
        const std::string_view rest = text.substr(tcp.size());
        const auto colon = rest.rfind(':');
        if (colon != std::string_view::npos && colon > 0 && valid_port(rest.substr(colon + 1)))
            return std::string(text);
    }
    return std::nullopt;
}

// "HOST:PORT" or ":PORT" (all interfaces); empty means off.
bool valid_dashboard(std::string_view text) {
    if (text.empty()) return true;
    const auto colon = text.rfind(':');
    return colon != std::string_view::npos && valid_port(text.substr(colon + 1));
}

void validate(const ConfigUpdate& u) {
    if (u.num_threads && *u.num_threads < 0)
        throw ConfigError("num_threads must be >= 0, got {}", *u.num_threads);
    if (u.scheduler && !normalize_scheduler(*u.scheduler))
        throw ConfigError("scheduler must be 'sync', 'threads', 'synchronous' or 'tcp://HOST:PORT', got '{}'",
                          *u.scheduler);
    if (u.chunk_size_bytes && *u.chunk_size_bytes <= 0)
        throw ConfigError("chunk_size_bytes must be > 0, got {}", *u.chunk_size_bytes);
    if (u.dashboard && !valid_dashboard(*u.dashboard))
        throw ConfigError("dashboard must be 'HOST:PORT' or empty, got '{}'", *u.dashboard);
    if (u.split_every && *u.split_every < 2)
        throw ConfigError("split_every must be >= 2, got {}", *u.split_every);
}

void apply(Config& c, const ConfigUpdate& u) {
    if (u.num_threads) c.num_threads = *u.num_threads;
    if (u.scheduler) c.scheduler = *normalize_scheduler(*u.scheduler);
    if (u.chunk_size_bytes) c.chunk_size_bytes = *u.chunk_size_bytes;
    if (u.dashboard) c.dashboard = *u.dashboard;
    if (u.optimize) c.optimize = *u.optimize;
    if (u.progress) c.progress = *u.progress;
    if (u.trace_file) c.trace_file = *u.trace_file;
    if (u.split_every) c.split_every = *u.split_every;
}

// The variable's value; nullopt when unset or empty (an empty value counts as unset).
std::optional<std::string> env(const char* name) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0') return std::nullopt;
    return std::string(v);
}

Config from_environment() {
    Config c;
    if (auto v = env("TESSERA_NUM_THREADS")) {
        auto n = parse_int(*v, 0, std::numeric_limits<int>::max());
        if (!n) throw ConfigError("TESSERA_NUM_THREADS='{}' is not a non-negative integer", *v);
        c.num_threads = static_cast<int>(*n);
    }
    if (auto v = env("TESSERA_SCHEDULER")) {
        auto s = normalize_scheduler(trim(*v));
        if (!s) throw ConfigError("TESSERA_SCHEDULER='{}' is not sync, threads, synchronous or tcp://HOST:PORT", *v);
        c.scheduler = *s;
    }
    if (auto v = env("TESSERA_CHUNK_SIZE")) {
        std::int64_t bytes = 0;
        try {
            bytes = config::parse_bytes(*v);
        } catch (const ConfigError&) {
            bytes = 0;
        }
        if (bytes <= 0) throw ConfigError("TESSERA_CHUNK_SIZE='{}' is not a positive byte size such as 128MiB", *v);
        c.chunk_size_bytes = bytes;
    }
    if (auto v = env("TESSERA_DASHBOARD")) {
        if (!valid_dashboard(trim(*v))) throw ConfigError("TESSERA_DASHBOARD='{}' is not HOST:PORT", *v);
        c.dashboard = std::string(trim(*v));
    }
    if (auto v = env("TESSERA_OPTIMIZE")) {
        auto b = parse_bool(*v);
        if (!b) throw ConfigError("TESSERA_OPTIMIZE='{}' is not 0, 1, true or false", *v);
        c.optimize = *b;
    }
    if (auto v = env("TESSERA_PROGRESS")) {
        auto b = parse_bool(*v);
        if (!b && lower(trim(*v)) != "auto")
            throw ConfigError("TESSERA_PROGRESS='{}' is not 0, 1, true, false or auto", *v);
        c.progress = b;
    }
    if (auto v = env("TESSERA_TRACE")) c.trace_file = *v;
    if (auto v = env("TESSERA_SPLIT_EVERY")) {
        auto n = parse_int(*v, 2, std::numeric_limits<int>::max());
        if (!n) throw ConfigError("TESSERA_SPLIT_EVERY='{}' is not an integer >= 2", *v);
        c.split_every = static_cast<int>(*n);
    }
    return c;
}

// The current configuration, loading it from the environment first if needed (lock held).
Config& current() {
    if (!g_config) g_config = from_environment();
    return *g_config;
}

}  // namespace

namespace config {

Config get() {
    std::lock_guard lock(g_mutex);
    return current();
}

void set(const ConfigUpdate& update) {
    validate(update);
    std::lock_guard lock(g_mutex);
    apply(current(), update);
}

void reset() {
    std::lock_guard lock(g_mutex);
    g_config.reset();
}

std::int64_t parse_bytes(std::string_view text) {
    const std::string_view s = trim(text);
    double number = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), number);
    const std::string unit = lower(trim(std::string_view(end, static_cast<std::size_t>(s.data() + s.size() - end))));
    double scale = 0;
    static constexpr std::pair<std::string_view, double> kUnits[] = {
        {"", 1.0},         {"b", 1.0},
        {"kb", 1e3},       {"kib", 1024.0},
        {"mb", 1e6},       {"mib", 1048576.0},
        {"gb", 1e9},       {"gib", 1073741824.0},
        {"tb", 1e12},      {"tib", 1099511627776.0},
    };
    for (const auto& [name, factor] : kUnits)
        if (unit == name) scale = factor;
    const double bytes = number * scale;
    // 2^63 is the first double that does not fit in int64.
    if (s.empty() || ec != std::errc() || scale == 0 || !(bytes >= 0) || bytes >= 9223372036854775808.0 ||
        s.front() == '-' || s.front() == '+')
        throw ConfigError("cannot parse '{}' as a byte size", text);
    return static_cast<std::int64_t>(bytes);
}

Scoped::Scoped(const ConfigUpdate& update) {
    validate(update);
    std::lock_guard lock(g_mutex);
    saved_ = current();
    apply(*g_config, update);
}

Scoped::~Scoped() {
    std::lock_guard lock(g_mutex);
    g_config = saved_;
}

}  // namespace config
}  // namespace tessera
