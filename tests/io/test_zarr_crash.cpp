// Crash safety and concurrency of chunk writes: a writer killed with SIGKILL mid-loop leaves
// every chunk either old or new (never torn) and no temporary file that looks like a chunk;
// threads writing distinct chunks (and readers racing a rewriter) see only complete chunks.

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "src/io/file_io.hpp"
#include "src/io/zarr_store.hpp"
#include "tests/io/io_test_util.hpp"

namespace ts = tessera;
using ts::io::json;
using iotest::TempDir;

namespace {

// Every element of generation `gen` of block `block` holds gen * 1000 + block.
ts::NDArray generation(const ts::io::ZarrArrayStore& store, std::int64_t block, std::int64_t gen) {
    return ts::NDArray::full(store.dtype(), store.block_shape({block, 0}),
                             static_cast<double>(gen * 1000 + block));
}

// The generation a chunk holds; fails the test when it is torn or belongs to another block.
std::int64_t generation_of(const ts::io::ZarrArrayStore& store, std::int64_t block) {
    const ts::NDArray chunk = store.read_chunk({block, 0});
    const double first = chunk.at<double>({0, 0});
    const double last = chunk.at<double>({chunk.shape(0) - 1, chunk.shape(1) - 1});
    CHECK(first == last);
    CHECK(iotest::bit_equal(chunk, ts::NDArray::full(store.dtype(), chunk.shape(), first)));
    const auto v = static_cast<std::int64_t>(first);
    CHECK(v % 1000 == block);
    return v / 1000;
}

}  // namespace

TEST_CASE("a writer killed with SIGKILL leaves only whole chunks" * doctest::timeout(60)) {
    TempDir dir;
    for (const char sep : {'.', '/'}) {
        const std::string path = dir / fmt::format("kill{}", sep == '.' ? "dot" : "slash");
        auto meta = ts::io::ZarrArrayMetadata::v2(ts::float64, {256, 256}, {16, 256});
        meta.compressor = nullptr;  // 32 KB raw chunks: a wide window for torn writes
        meta.separator = sep;
        auto store = ts::io::ZarrArrayStore::create(path, meta, "w");
        const std::int64_t blocks = store.grid_shape()[0];
        for (std::int64_t b = 0; b < blocks; ++b) store.write_chunk({b, 0}, generation(store, b, 0));
        store.flush_metadata();
        std::int64_t max_seen = 0;
        for (int round = 0; round < 4; ++round) {
            const pid_t child = ::fork();
            REQUIRE(child >= 0);
            if (child == 0) {
                try {
                    for (std::int64_t gen = 1;; ++gen)
                        for (std::int64_t b = 0; b < blocks; ++b)
                            store.write_chunk({b, 0}, generation(store, b, gen + 100 * round));
                } catch (const std::exception& e) {
                    iotest::write_text(dir / "child_error.txt", e.what());
                    ::_exit(3);
                }
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(40 + 23 * round));
            REQUIRE(::kill(child, SIGKILL) == 0);
            int status = 0;
            REQUIRE(::waitpid(child, &status, 0) == child);
            INFO("the writer exited by itself: " << iotest::read_text(dir / "child_error.txt"));
            REQUIRE(WIFSIGNALED(status));
            const auto reopened = ts::io::ZarrArrayStore::open(path);
            for (std::int64_t b = 0; b < blocks; ++b)
                max_seen = std::max(max_seen, generation_of(reopened, b));
            std::vector<ts::Index> expected;
            for (std::int64_t b = 0; b < blocks; ++b) expected.push_back({b, 0});
            CHECK(reopened.list_chunks() == expected);
            // Every other file is metadata or a temporary file whose name is no chunk key.
            for (const auto& entry : std::filesystem::recursive_directory_iterator(path)) {
                if (!entry.is_regular_file()) continue;
                const std::string name = entry.path().filename().string();
                const std::string key = std::filesystem::relative(entry.path(), path).generic_string();
                bool is_chunk = false;
                for (const auto& block : expected) is_chunk = is_chunk || reopened.chunk_key(block) == key;
                CAPTURE(key);
                CHECK((is_chunk || name == ".zarray" || name == ".zattrs" || ts::io::is_temp_name(name)));
                if (ts::io::is_temp_name(name)) CHECK(name.front() == '.');
            }
        }
        CHECK(max_seen > 0);  // the children did overwrite chunks before being killed
    }
}

TEST_CASE("concurrent writers of distinct chunks, readers racing a rewriter" * doctest::timeout(60)) {
    TempDir dir;
    for (int format : {2, 3}) {
        auto meta = format == 2 ? ts::io::ZarrArrayMetadata::v2(ts::int64, {64, 8}, {2, 8})
                                : ts::io::ZarrArrayMetadata::v3(ts::int64, {64, 8}, {2, 8});
        meta.separator = '/';  // nested directories created by many threads at once
        const std::string path = dir / fmt::format("v{}", format);
        auto store = ts::io::ZarrArrayStore::create(path, meta, "w");
        const std::int64_t blocks = store.grid_shape()[0];
        std::vector<std::thread> writers;
        for (int t = 0; t < 8; ++t) {
            writers.emplace_back([&, t] {
                for (std::int64_t b = t; b < blocks; b += 8) store.write_chunk({b, 0}, generation(store, b, 7));
            });
        }
        for (auto& w : writers) w.join();
        for (std::int64_t b = 0; b < blocks; ++b) CHECK(generation_of(store, b) == 7);

        // Two threads rewrite block 3 while two others read it: generations 7..46 only, whole.
        std::atomic<bool> done{false};
        std::atomic<int> torn{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < 2; ++t) {
            threads.emplace_back([&, t] {
                for (std::int64_t gen = 8 + 20 * t; gen < 28 + 20 * t; ++gen)
                    store.write_chunk({3, 0}, generation(store, 3, gen));
            });
        }
        for (int t = 0; t < 2; ++t) {
            threads.emplace_back([&] {
                while (!done.load()) {
                    const ts::NDArray chunk = store.read_chunk({3, 0});
                    if (!iotest::bit_equal(chunk, ts::NDArray::full(ts::int64, chunk.shape(), chunk.at<double>({0, 0}))))
                        ++torn;
                }
            });
        }
        threads[0].join();
        threads[1].join();
        done = true;
        threads[2].join();
        threads[3].join();
        CHECK(torn.load() == 0);
        const std::int64_t last = generation_of(store, 3);
        CHECK((last == 27 || last == 47));
    }
}
