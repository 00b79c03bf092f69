#pragma once
// Shared by the distributed tests: test operations (registered in every process of the test
// binary, which also serves as a worker program), cluster factories and graph builders.

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "tessera/distributed.hpp"
#include "tessera/graph.hpp"

namespace dist_test {

namespace ts = tessera;

/// A C++ type that cannot cross processes.
struct Blob {
    int x = 0;
};

inline std::string encode(std::int64_t v) {
    std::string s(sizeof v, '\0');
    std::memcpy(s.data(), &v, sizeof v);
    return s;
}

/// Operations of ops.cpp, registered at static initialization.
struct Ops {
    ts::OpId konst;     // params -> value
    ts::OpId sum;       // param + sum of inputs
    ts::OpId slow_sum;  // as sum after sleeping 40 ms
    ts::OpId fail;      // throws ValueError("boom <param>")
    ts::OpId kill;      // SIGKILLs its own process
    ts::OpId blob;      // returns a Blob
    ts::OpId sleep_ms;  // sleeps inputs[0] ms, returns it
    ts::OpId array_sum; // sum of every element of every input, float64
    ts::OpId fill;      // float64 array of inputs[0] copies of inputs[1]
    ts::OpId big_list;  // a list holding inputs[0] float64 zeros
};
const Ops& ops();

ts::Task task(ts::Key key, ts::OpId op, std::int64_t param, std::vector<ts::Key> deps = {});
/// A fan-in tree summing `n` leaves konst(1..n) with `op` nodes; returns the root key.
ts::Key build_tree(ts::Graph& g, std::int64_t n, std::int64_t split, ts::OpId op, const std::string& prefix = "t");

/// This test binary as the worker program (it acts as a worker when TESSERA_TEST_WORKER_MODE=1).
ts::LocalClusterOptions self_workers(int n_workers, int threads = 1);
/// The path of tessera-worker / tessera-scheduler in the build tree.
std::string program(const std::string& name);
/// A free loopback TCP port (bound and released; small race accepted).
int free_port();

}  // namespace dist_test
