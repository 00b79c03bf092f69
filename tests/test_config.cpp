// Tests of the global configuration: environment parsing, set/reset/Scoped and parse_bytes.

#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "tessera/config.hpp"
#include "tessera/error.hpp"

namespace ts = tessera;

namespace {

const char* const kVariables[] = {"TESSERA_NUM_THREADS", "TESSERA_SCHEDULER", "TESSERA_CHUNK_SIZE",
                                  "TESSERA_DASHBOARD",   "TESSERA_OPTIMIZE",  "TESSERA_PROGRESS",
                                  "TESSERA_TRACE",       "TESSERA_SPLIT_EVERY"};

// Clears every TESSERA_* variable and the configuration, before and after each test.
struct CleanEnvironment {
    CleanEnvironment() { clear(); }
    ~CleanEnvironment() { clear(); }
    static void clear() {
        for (const char* name : kVariables) ::unsetenv(name);
        ts::config::reset();
    }
};

// Sets one variable and re-reads the environment.
ts::Config with_env(const char* name, const char* value) {
    ::setenv(name, value, 1);
    ts::config::reset();
    return ts::config::get();
}

void check_defaults(const ts::Config& c) {
    CHECK(c.num_threads == 0);
    CHECK(c.scheduler == "threads");
    CHECK(c.chunk_size_bytes == 128 * 1024 * 1024);
    CHECK(c.dashboard.empty());
    CHECK(c.optimize);
    CHECK_FALSE(c.progress.has_value());
    CHECK(c.trace_file.empty());
    CHECK(c.split_every == 8);
}

}  // namespace

TEST_CASE_FIXTURE(CleanEnvironment, "defaults without environment") { check_defaults(ts::config::get()); }

TEST_CASE_FIXTURE(CleanEnvironment, "environment values are parsed") {
    CHECK(with_env("TESSERA_NUM_THREADS", "3").num_threads == 3);
    CHECK(with_env("TESSERA_NUM_THREADS", " 0 ").num_threads == 0);
    CHECK(with_env("TESSERA_SCHEDULER", "sync").scheduler == "sync");
    CHECK(with_env("TESSERA_SCHEDULER", "synchronous").scheduler == "sync");
    CHECK(with_env("TESSERA_SCHEDULER", "threads").scheduler == "threads");
    CHECK(with_env("TESSERA_SCHEDULER", "tcp://127.0.0.1:8786").scheduler == "tcp://127.0.0.1:8786");
    CHECK(with_env("TESSERA_CHUNK_SIZE", "64 MB").chunk_size_bytes == 64000000);
    CHECK(with_env("TESSERA_CHUNK_SIZE", "4096").chunk_size_bytes == 4096);
    CHECK(with_env("TESSERA_DASHBOARD", "localhost:8787").dashboard == "localhost:8787");
    CHECK(with_env("TESSERA_DASHBOARD", ":8787").dashboard == ":8787");
    CHECK_FALSE(with_env("TESSERA_OPTIMIZE", "0").optimize);
    CHECK(with_env("TESSERA_OPTIMIZE", "TRUE").optimize);
    CHECK_FALSE(with_env("TESSERA_OPTIMIZE", "false").optimize);
    CHECK(with_env("TESSERA_PROGRESS", "1").progress == std::optional<bool>(true));
    CHECK(with_env("TESSERA_PROGRESS", "0").progress == std::optional<bool>(false));
    CHECK_FALSE(with_env("TESSERA_PROGRESS", "auto").progress.has_value());
    CHECK(with_env("TESSERA_TRACE", "/tmp/trace.jsonl").trace_file == "/tmp/trace.jsonl");
    CHECK(with_env("TESSERA_SPLIT_EVERY", "2").split_every == 2);
    // All of them at once.
    const ts::Config c = ts::config::get();
    CHECK(c.num_threads == 0);
    CHECK(c.scheduler == "tcp://127.0.0.1:8786");
    CHECK(c.chunk_size_bytes == 4096);
    CHECK(c.dashboard == ":8787");
    CHECK_FALSE(c.optimize);
    CHECK_FALSE(c.progress.has_value());
    CHECK(c.split_every == 2);
}

TEST_CASE_FIXTURE(CleanEnvironment, "empty environment values count as unset") {
    for (const char* name : kVariables) ::setenv(name, "", 1);
    ts::config::reset();
    check_defaults(ts::config::get());
}

TEST_CASE_FIXTURE(CleanEnvironment, "malformed environment values raise ConfigError naming them") {
    struct Case {
        const char* name;
        const char* value;
        const char* message;
    };
    const Case cases[] = {
        {"TESSERA_NUM_THREADS", "abc", "TESSERA_NUM_THREADS='abc' is not a non-negative integer"},
        {"TESSERA_NUM_THREADS", "-1", "TESSERA_NUM_THREADS='-1' is not a non-negative integer"},
        {"TESSERA_NUM_THREADS", "2.5", "TESSERA_NUM_THREADS='2.5' is not a non-negative integer"},
        {"TESSERA_NUM_THREADS", "99999999999", "TESSERA_NUM_THREADS='99999999999' is not a non-negative integer"},
        {"TESSERA_SCHEDULER", "fast", "TESSERA_SCHEDULER='fast' is not sync, threads, synchronous or tcp://HOST:PORT"},
        {"TESSERA_SCHEDULER", "tcp://host", "TESSERA_SCHEDULER='tcp://host' is not sync, threads, synchronous or tcp://HOST:PORT"},
        {"TESSERA_SCHEDULER", "tcp://:80", "TESSERA_SCHEDULER='tcp://:80' is not sync, threads, synchronous or tcp://HOST:PORT"},
        {"TESSERA_SCHEDULER", "tcp://h:99999", "TESSERA_SCHEDULER='tcp://h:99999' is not sync, threads, synchronous or tcp://HOST:PORT"},
        {"TESSERA_CHUNK_SIZE", "lots", "TESSERA_CHUNK_SIZE='lots' is not a positive byte size such as 128MiB"},
        {"TESSERA_CHUNK_SIZE", "0", "TESSERA_CHUNK_SIZE='0' is not a positive byte size such as 128MiB"},
        {"TESSERA_DASHBOARD", "nowhere", "TESSERA_DASHBOARD='nowhere' is not HOST:PORT"},
        {"TESSERA_OPTIMIZE", "maybe", "TESSERA_OPTIMIZE='maybe' is not 0, 1, true or false"},
        {"TESSERA_PROGRESS", "sometimes", "TESSERA_PROGRESS='sometimes' is not 0, 1, true, false or auto"},
        {"TESSERA_SPLIT_EVERY", "1", "TESSERA_SPLIT_EVERY='1' is not an integer >= 2"},
        {"TESSERA_SPLIT_EVERY", "x", "TESSERA_SPLIT_EVERY='x' is not an integer >= 2"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.value);
        ::setenv(c.name, c.value, 1);
        ts::config::reset();
        CHECK_THROWS_WITH_AS(ts::config::get(), c.message, ts::ConfigError);
        // Still malformed on the next use, and set() cannot apply on top of it either.
        CHECK_THROWS_WITH_AS(ts::config::get(), c.message, ts::ConfigError);
        CHECK_THROWS_WITH_AS(ts::config::set({.split_every = 4}), c.message, ts::ConfigError);
        ::unsetenv(c.name);
        ts::config::reset();
        check_defaults(ts::config::get());
    }
}

TEST_CASE_FIXTURE(CleanEnvironment, "set changes only the given fields; reset drops code changes") {
    ts::config::set({.num_threads = 4, .scheduler = "synchronous"});
    ts::Config c = ts::config::get();
    CHECK(c.num_threads == 4);
    CHECK(c.scheduler == "sync");
    CHECK(c.split_every == 8);
    ts::config::set({.chunk_size_bytes = 1000, .progress = std::optional<bool>(true), .split_every = 3});
    c = ts::config::get();
    CHECK(c.num_threads == 4);
    CHECK(c.chunk_size_bytes == 1000);
    CHECK(c.progress == std::optional<bool>(true));
    CHECK(c.split_every == 3);
    ts::config::set({.progress = std::optional<bool>()});  // back to automatic
    CHECK_FALSE(ts::config::get().progress.has_value());
    c.num_threads = 99;  // get() returned a copy
    CHECK(ts::config::get().num_threads == 4);
    ::setenv("TESSERA_NUM_THREADS", "2", 1);
    ts::config::reset();
    c = ts::config::get();
    CHECK(c.num_threads == 2);
    CHECK(c.scheduler == "threads");
    CHECK(c.chunk_size_bytes == 128 * 1024 * 1024);
}

TEST_CASE_FIXTURE(CleanEnvironment, "set validates and leaves the configuration unchanged on error") {
    ts::config::set({.num_threads = 2});
    CHECK_THROWS_WITH_AS(ts::config::set({.num_threads = -1}), "num_threads must be >= 0, got -1",
                         ts::ConfigError);
    CHECK_THROWS_WITH_AS(ts::config::set({.num_threads = 6, .scheduler = "fast"}),
                         "scheduler must be 'sync', 'threads', 'synchronous' or 'tcp://HOST:PORT', got 'fast'",
                         ts::ConfigError);
    CHECK_THROWS_WITH_AS(ts::config::set({.chunk_size_bytes = 0}), "chunk_size_bytes must be > 0, got 0",
                         ts::ConfigError);
    CHECK_THROWS_WITH_AS(ts::config::set({.dashboard = "x"}), "dashboard must be 'HOST:PORT' or empty, got 'x'",
                         ts::ConfigError);
    CHECK_THROWS_WITH_AS(ts::config::set({.split_every = 1}), "split_every must be >= 2, got 1", ts::ConfigError);
    const ts::Config c = ts::config::get();
    CHECK(c.num_threads == 2);
    CHECK(c.scheduler == "threads");
    ts::config::set({.scheduler = "tcp://10.0.0.1:8786", .dashboard = ""});
    CHECK(ts::config::get().scheduler == "tcp://10.0.0.1:8786");
}

TEST_CASE_FIXTURE(CleanEnvironment, "Scoped applies an update and restores the previous configuration") {
    ts::config::set({.num_threads = 3});
    {
        ts::config::Scoped outer({.scheduler = "sync", .optimize = false});
        CHECK(ts::config::get().scheduler == "sync");
        CHECK_FALSE(ts::config::get().optimize);
        CHECK(ts::config::get().num_threads == 3);
        {
            ts::config::Scoped inner({.num_threads = 1, .trace_file = "t.jsonl"});
            CHECK(ts::config::get().num_threads == 1);
            CHECK(ts::config::get().scheduler == "sync");
            CHECK(ts::config::get().trace_file == "t.jsonl");
        }
        CHECK(ts::config::get().num_threads == 3);
        CHECK(ts::config::get().trace_file.empty());
        CHECK_THROWS_WITH_AS(ts::config::Scoped({.split_every = 0}), "split_every must be >= 2, got 0",
                             ts::ConfigError);
        CHECK(ts::config::get().scheduler == "sync");
    }
    const ts::Config c = ts::config::get();
    CHECK(c.scheduler == "threads");
    CHECK(c.optimize);
    CHECK(c.num_threads == 3);
}

TEST_CASE("parse_bytes") {
    struct Case {
        const char* text;
        std::int64_t bytes;
    };
    const Case cases[] = {
        {"128MiB", 134217728},       {"128 MiB", 134217728},    {"1.5GB", 1500000000},
        {"1.5 KiB", 1536},           {"1kB", 1000},             {"1KiB", 1024},
        {"4096", 4096},              {"0", 0},                  {"10B", 10},
        {"10 b", 10},                {" 7 mb ", 7000000},       {"3GiB", 3221225472},
        {"2TB", 2000000000000},      {"2TiB", 2199023255552},   {"1e3", 1000},
        {"2.5", 2},                  {"0.5MiB", 524288},
    };
    for (const Case& c : cases) {
        CAPTURE(c.text);
        CHECK(ts::config::parse_bytes(c.text) == c.bytes);
    }
    for (const char* bad : {"x", "", "  ", "-1MB", "+5", "12 parsecs", "1.5.2GB", "MB", "nan", "inf", "1e30",
                            "9223372036854775808", "8 EiB", "5 M B"}) {
        CAPTURE(bad);
        CHECK_THROWS_WITH_AS(ts::config::parse_bytes(bad), fmt::format("cannot parse '{}' as a byte size", bad).c_str(),
                             ts::ConfigError);
    }
    CHECK(ts::config::parse_bytes("9223372036854774784") == 9223372036854774784);  // largest double < 2^63
}

TEST_CASE_FIXTURE(CleanEnvironment, "concurrent get and set are safe" * doctest::timeout(60)) {
    ts::config::set({.num_threads = 1, .split_every = 2});
    std::vector<std::thread> threads;
    std::atomic<int> bad{0};
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([t, &bad] {
            for (int k = 0; k < 2000; ++k) {
                if (k % 2 == 0) {
                    ts::config::set({.num_threads = t + 1, .split_every = t + 2});
                } else {
                    const ts::Config c = ts::config::get();
                    // Updates are applied atomically: both fields come from the same set().
                    if (c.split_every != c.num_threads + 1) ++bad;
                }
            }
        });
    }
    for (auto& th : threads) th.join();
    CHECK(bad.load() == 0);
}
