#pragma once
/// \file config.hpp
/// Global configuration, read from the environment once and changeable from code.
///
///     ts::config::set({.num_threads = 4});                 // from now on
///     { ts::config::Scoped s({.scheduler = "sync"}); ... } // only inside this block
///
/// Environment (an empty value counts as unset): TESSERA_NUM_THREADS (integer >= 0),
/// TESSERA_SCHEDULER (sync | synchronous | threads | tcp://HOST:PORT), TESSERA_CHUNK_SIZE
/// ("128MiB", "64 MB", bytes), TESSERA_DASHBOARD (HOST:PORT or :PORT), TESSERA_OPTIMIZE
/// (0/1/true/false), TESSERA_PROGRESS (0/1/true/false/auto), TESSERA_TRACE (path of a JSON-lines
/// trace), TESSERA_SPLIT_EVERY (integer >= 2).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tessera {

/// The effective configuration (a snapshot: copying it is cheap).
struct Config {
    /// Threads of the `threads` scheduler; 0 = hardware concurrency.
    int num_threads = 0;
    /// "threads" (default), "sync", or a scheduler address "tcp://HOST:PORT" ("synchronous" is
    /// accepted and stored as "sync").
    std::string scheduler = "threads";
    /// Target bytes per chunk for chunks="auto".
    std::int64_t chunk_size_bytes = std::int64_t{128} << 20;
    /// "HOST:PORT" to serve the dashboard for local computations; empty = off.
    std::string dashboard;
    /// Run the graph optimizer before scheduling.
    bool optimize = true;
    /// Progress bar: std::nullopt = automatic (only on a terminal, never when CI is set).
    std::optional<bool> progress;
    /// Path of a JSON-lines trace of task events; empty = off.
    std::string trace_file;
    /// Default split_every of tree reductions.
    int split_every = 8;
};

/// A set of changes: only the fields given are changed.
// (The `{}` initializers keep -Wmissing-field-initializers quiet for `set({.num_threads = 4})`.)
struct ConfigUpdate {
    std::optional<int> num_threads{};
    std::optional<std::string> scheduler{};
    std::optional<std::int64_t> chunk_size_bytes{};
    std::optional<std::string> dashboard{};
    std::optional<bool> optimize{};
    std::optional<std::optional<bool>> progress{};
    std::optional<std::string> trace_file{};
    std::optional<int> split_every{};
};

namespace config {

/// The configuration now in effect (environment on first use, then code changes). Thread-safe.
/// Throws ConfigError naming the variable and value when an environment value is malformed
/// ("TESSERA_NUM_THREADS='abc' is not a non-negative integer"), on every call until fixed.
Config get();
/// Applies `update` for the rest of the process. ConfigError on bad values, changing nothing
/// ("num_threads must be >= 0, got -1").
void set(const ConfigUpdate& update);
/// Drops changes made from code; the environment is read again on the next get().
void reset();
/// Parses "128MiB", "1.5 GB", "4096" into bytes (B, kB/MB/GB/TB = powers of 1000, KiB/MiB/GiB/TiB
/// = powers of 1024, case-insensitive; fractions truncated). Throws ConfigError
/// "cannot parse 'x' as a byte size".
std::int64_t parse_bytes(std::string_view text);

/// Applies an update for its lifetime and restores the previous configuration after (dropping
/// set() calls made meanwhile). ConfigError as set().
class Scoped {
public:
    explicit Scoped(const ConfigUpdate& update);
    ~Scoped();
    Scoped(const Scoped&) = delete;
    Scoped& operator=(const Scoped&) = delete;

private:
    Config saved_;
};

}  // namespace config
}  // namespace tessera
