// Worker memory management: under a small managed-memory limit, results spill to the local
// directory and are read back transparently; results equal the closed forms and the threads
// scheduler's.

#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>

#include "helpers.hpp"
#include "scheduler/dist/data_store.hpp"
#include "tessera/array.hpp"
#include "tessera/distributed.hpp"
#include "tessera/error.hpp"
#include "tessera/futures.hpp"

namespace ts = tessera;
namespace fs = std::filesystem;
using namespace dist_test;

namespace {

std::int64_t count_files(const fs::path& dir) {
    std::int64_t n = 0;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
        n += it->is_regular_file(ec) ? 1 : 0;
    return n;
}

struct TempDir {
    fs::path path = fs::temp_directory_path() / fmt::format("tessera-test-spill-{}", ::getpid());
    TempDir() { fs::create_directories(path); }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

ts::NDArray ramp(std::int64_t n, double offset) {
    ts::NDArray a = ts::NDArray::empty(ts::float64, {n});
    for (std::int64_t k = 0; k < n; ++k) a.data<double>()[k] = offset + static_cast<double>(k);
    return a;
}

}  // namespace

TEST_CASE("data store: spills least recently used arrays past 70% and reads them back") {
    TempDir dir;
    ts::dist::DataStore store({.limit = 10000, .directory = dir.path.string()});
    // 8 arrays of 1600 bytes: at most 4 (6400 <= 7000) stay in memory.
    for (std::uint64_t k = 0; k < 8; ++k) store.put(k, ts::Value(ramp(200, static_cast<double>(k))));
    CHECK(store.memory_bytes() == 4 * 1600);
    CHECK(store.spilled_bytes() == 4 * 1600);
    CHECK(count_files(store.spill_directory()) == 4);
    CHECK_FALSE(store.paused());
    // The oldest went to disk; reading one back keeps the total and marks it recently used.
    for (std::uint64_t k = 0; k < 8; ++k) CHECK(store.get(k)->array().equals(ramp(200, static_cast<double>(k))));
    CHECK(store.memory_bytes() + store.spilled_bytes() == 8 * 1600);
    CHECK(store.memory_bytes() <= 7000);
    // Lists, 0-d and empty arrays; erase removes spilled files too.
    store.put(20, ts::Value(ts::ValueList{ts::Value::from(1.5)}));
    store.put(21, ts::Value(ts::NDArray::empty(ts::float64, {0})));
    CHECK(store.get(20)->list()[0].as<double>() == 1.5);
    CHECK(store.get(21)->array().size() == 0);
    for (std::uint64_t k = 0; k < 8; ++k) store.erase(k);
    CHECK(count_files(store.spill_directory()) == 0);
    CHECK_FALSE(store.get(3).has_value());
    // A value above the pause threshold that cannot spill (a list) pauses the worker.
    store.put(30, ts::Value(ts::ValueList{ts::Value(ramp(1200, 0))}));
    CHECK(store.paused());
    CHECK(store.must_terminate());
    const std::string spill_dir = store.spill_directory();
    CHECK(fs::exists(spill_dir));
}

TEST_CASE("spilling under a small memory limit gives correct results" * doctest::timeout(60)) {
    TempDir dir;
    ts::LocalClusterOptions options = self_workers(2);
    options.memory_limit = "1MB";
    options.local_directory = dir.path.string();
    ts::LocalCluster cluster(options);
    ts::Client client(cluster);

    // 16 held results of 400 kB (6.4 MB) on two workers limited to 1 MB each.
    std::vector<ts::Future> blocks;
    for (std::int64_t k = 0; k < 16; ++k) blocks.push_back(client.submit("dtest.fill", {50000, static_cast<double>(k)}));
    REQUIRE(ts::wait(blocks, {.timeout = 30}).not_done.empty());
    CHECK(count_files(dir.path) >= 8);
    std::vector<ts::Future> sums;
    for (const ts::Future& b : blocks) sums.push_back(client.submit("dtest.array_sum", {b}));
    const std::vector<ts::Value> got = client.gather(sums);
    for (std::int64_t k = 0; k < 16; ++k) CHECK(got[static_cast<std::size_t>(k)].as<double>() == 50000.0 * static_cast<double>(k));
    const std::vector<ts::Value> arrays = client.gather({blocks[0], blocks[15]});
    CHECK(arrays[0].array().equals(ts::NDArray::full(ts::float64, {50000}, ts::Scalar(0.0))));
    CHECK(arrays[1].array().equals(ts::NDArray::full(ts::float64, {50000}, ts::Scalar(15.0))));

    // A result that cannot spill (a list) above 95% of the limit: the worker exits and its
    // nanny starts another; after three such deaths the task fails with KilledWorker.
    ts::Future huge = client.submit("dtest.big_list", {200000}, {.key = "huge"});
    REQUIRE(huge.exception(30) != nullptr);
    CHECK_THROWS_AS(huge.result(), ts::KilledWorker);
    try {
        huge.result();
    } catch (const ts::KilledWorker& e) {
        CHECK(std::string(e.what()).starts_with("task 'huge' killed 3 workers; the last one was local-"));
    }
    CHECK(cluster.wait_for_workers(2, 20));
    CHECK(got[3].as<double>() == 150000.0);

    // An array graph whose chunks exceed the limit: the same answer as the threads scheduler.
    const ts::Array x = ts::random::uniform(0, 1, {400000}, {.chunks = 50000, .seed = 5});
    const ts::Array y = (x * 2.0 + 1.0);
    const ts::NDArray remote_sum = y.sum().compute(), remote_max = y.max().compute(), whole = y.compute();
    auto restore = ts::use_scheduler(ts::make_thread_scheduler(2));
    CHECK(remote_sum.equals(y.sum().compute()));
    CHECK(remote_max.equals(y.max().compute()));
    CHECK(whole.equals(y.compute()));
}
