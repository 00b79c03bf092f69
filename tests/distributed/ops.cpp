// Test operations, and the worker mode of the test binary: with TESSERA_TEST_WORKER_MODE=1 the
// process runs ts::worker_main with its command line instead of the tests.

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <thread>
#include <vector>

#include "tests/support/worker_mode.hpp"
#include "helpers.hpp"
#include "tessera/error.hpp"

namespace dist_test {

namespace {

std::int64_t param(const ts::TaskContext& ctx) {
    std::int64_t v = 0;
    if (ctx.task.params.size() == sizeof v) std::memcpy(&v, ctx.task.params.data(), sizeof v);
    return v;
}

ts::Value op_konst(const ts::TaskContext& ctx) { return ts::Value::from(param(ctx)); }
ts::Value op_sum(const ts::TaskContext& ctx) {
    std::int64_t total = param(ctx);
    for (const ts::Value* v : ctx.inputs) total += v->as<std::int64_t>();
    return ts::Value::from(total);
}
ts::Value op_slow_sum(const ts::TaskContext& ctx) {
    std::this_thread::sleep_for(std::chrono::milliseconds(40));
    return op_sum(ctx);
}
ts::Value op_fail(const ts::TaskContext& ctx) { throw ts::ValueError("boom {}", param(ctx)); }
ts::Value op_kill(const ts::TaskContext&) {
    ::kill(::getpid(), SIGKILL);
    return {};
}
ts::Value op_blob(const ts::TaskContext&) { return ts::Value::from(Blob{3}); }
// Futures kernels: functions of their input Values only.
ts::Value op_sleep_ms(const ts::TaskContext& ctx) {
    const auto ms = ctx.inputs[0]->as<std::int64_t>();
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return ts::Value::from(ms);
}
ts::Value op_array_sum(const ts::TaskContext& ctx) {
    double total = 0;
    for (const ts::Value* v : ctx.inputs) {
        const ts::NDArray a = v->array().astype(ts::float64).contiguous();
        for (std::int64_t k = 0; k < a.size(); ++k) total += a.data<double>()[k];
    }
    return ts::Value::from(total);
}
ts::Value op_big_list(const ts::TaskContext& ctx) {
    // A list (never spilled) holding an array of inputs[0] float64 zeros.
    const auto n = ctx.inputs[0]->as<std::int64_t>();
    return ts::Value(ts::ValueList{ts::Value(ts::NDArray::zeros(ts::float64, {n}))});
}
ts::Value op_fill(const ts::TaskContext& ctx) {
    // fill(n, value): a float64 array of n copies of value.
    const auto n = ctx.inputs[0]->as<std::int64_t>();
    return ts::Value(ts::NDArray::full(ts::float64, {n}, ts::Scalar(ctx.inputs[1]->as<double>())));
}

const Ops g_ops{ts::register_op("dtest.konst", op_konst), ts::register_op("dtest.sum", op_sum),
                ts::register_op("dtest.slow_sum", op_slow_sum), ts::register_op("dtest.fail", op_fail),
                ts::register_op("dtest.kill", op_kill), ts::register_op("dtest.blob", op_blob),
                ts::register_op("dtest.sleep_ms", op_sleep_ms), ts::register_op("dtest.array_sum", op_array_sum),
                ts::register_op("dtest.fill", op_fill), ts::register_op("dtest.big_list", op_big_list)};

// After g_ops (same translation unit: initialized in order).
const struct WorkerMode {
    WorkerMode() { test_support::become_worker_if_asked(); }
} g_worker_mode;

}  // namespace

const Ops& ops() { return g_ops; }

ts::Task task(ts::Key key, ts::OpId op, std::int64_t p, std::vector<ts::Key> deps) {
    ts::Task t;
    t.key = std::move(key);
    t.op = op;
    t.params = encode(p);
    t.deps = std::move(deps);
    return t;
}

ts::Key build_tree(ts::Graph& g, std::int64_t n, std::int64_t split, ts::OpId op, const std::string& prefix) {
    std::vector<ts::Key> level;
    for (std::int64_t i = 0; i < n; ++i) {
        level.emplace_back(prefix + "-leaf", std::vector<std::int64_t>{i});
        g.add(task(level.back(), ops().konst, i + 1));
    }
    std::int64_t depth = 0;
    while (level.size() > 1) {
        std::vector<ts::Key> next;
        for (std::size_t j = 0; j < level.size(); j += static_cast<std::size_t>(split)) {
            const auto end = std::min(level.size(), j + static_cast<std::size_t>(split));
            next.emplace_back(prefix + "-sum", std::vector<std::int64_t>{depth, static_cast<std::int64_t>(next.size())});
            g.add(task(next.back(), op, 0, std::vector<ts::Key>(level.begin() + static_cast<std::ptrdiff_t>(j),
                                                               level.begin() + static_cast<std::ptrdiff_t>(end))));
        }
        level = std::move(next);
        ++depth;
    }
    return level[0];
}

ts::LocalClusterOptions self_workers(int n_workers, int threads) {
    ts::LocalClusterOptions options;
    options.n_workers = n_workers;
    options.threads_per_worker = threads;
    char path[4096] = {};
    const auto n = ::readlink("/proc/self/exe", path, sizeof path - 1);
    options.worker_program = std::string(path, n > 0 ? static_cast<std::size_t>(n) : 0);
    options.worker_env = {{"TESSERA_TEST_WORKER_MODE", "1"}};
    return options;
}

std::string program(const std::string& name) { return std::string(TESSERA_BINARY_DIR) + "/" + name; }

int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

}  // namespace dist_test
