// Crash safety of ts::to_zarr: a child process rewriting a whole array generation after
// generation is SIGKILLed mid-way; afterwards every chunk decodes as one complete generation of
// its own block (old or new, never torn) and from_zarr reads the array without error.

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "src/io/zarr_store.hpp"
#include "tests/io/io_test_util.hpp"
#include "tessera/io.hpp"

namespace ts = tessera;
using iotest::TempDir;

namespace {

constexpr std::int64_t kRows = 512, kCols = 256, kChunkRows = 8;

// Generation `gen`: every element of row block b holds gen * 1000 + b.
ts::NDArray generation(std::int64_t gen) {
    ts::NDArray a = ts::NDArray::empty(ts::float64, {kRows, kCols});
    auto* p = static_cast<double*>(a.raw_data());
    for (std::int64_t r = 0; r < kRows; ++r)
        for (std::int64_t c = 0; c < kCols; ++c) p[r * kCols + c] = static_cast<double>(gen * 1000 + r / kChunkRows);
    return a;
}

}  // namespace

TEST_CASE("to_zarr killed with SIGKILL leaves every chunk whole" * doctest::timeout(60)) {
    TempDir dir;
    for (const char* compressor : {"none", ""}) {
        for (int format : {2, 3}) {
            CAPTURE(compressor);
            CAPTURE(format);
            const std::string path = dir / fmt::format("kill{}{}.zarr", format, compressor);
            const ts::ZarrWriteOptions first{.mode = "w", .compressor = compressor, .zarr_format = format,
                                             .chunks = {kChunkRows, kCols}, .compute_options = {.scheduler = "sync"}};
            ts::to_zarr(ts::from_array(generation(0), ts::Shape{64, kCols}), path, first);
            const std::int64_t blocks = kRows / kChunkRows;
            std::int64_t max_seen = 0;
            for (int round = 0; round < 3; ++round) {
                const pid_t child = ::fork();
                REQUIRE(child >= 0);
                if (child == 0) {
                    try {
                        ts::ZarrWriteOptions again = first;
                        again.mode = "r+";
                        for (std::int64_t gen = 1;; ++gen)
                            ts::to_zarr(ts::from_array(generation(gen + 100 * round), ts::Shape{64, kCols}), path, again);
                    } catch (const std::exception& e) {
                        iotest::write_text(dir / "child_error.txt", e.what());
                        ::_exit(3);
                    }
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(60 + 37 * round));
                REQUIRE(::kill(child, SIGKILL) == 0);
                int status = 0;
                REQUIRE(::waitpid(child, &status, 0) == child);
                INFO("the writer exited by itself: " << iotest::read_text(dir / "child_error.txt"));
                REQUIRE(WIFSIGNALED(status));
                const ts::NDArray all = ts::from_zarr(path).compute();  // decodes every chunk
                const auto store = ts::io::ZarrArrayStore::open(path);
                CHECK(store.list_chunks().size() == static_cast<std::size_t>(blocks));
                for (std::int64_t b = 0; b < blocks; ++b) {
                    const ts::NDArray chunk = store.read_chunk({b, 0});
                    const double first_value = chunk.at<double>({0, 0});
                    CAPTURE(b);
                    CHECK(iotest::bit_equal(chunk, ts::NDArray::full(ts::float64, chunk.shape(), first_value)));
                    const auto v = static_cast<std::int64_t>(first_value);
                    CHECK(v % 1000 == b);
                    max_seen = std::max(max_seen, v / 1000);
                }
                CHECK(all.at<double>({kRows - 1, kCols - 1}) == store.read_chunk({blocks - 1, 0}).at<double>({0, 0}));
            }
            CHECK(max_seen > 0);  // the children did rewrite chunks before being killed
        }
    }
}
