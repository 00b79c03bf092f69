#pragma once
// The main() every example shares: errors become one line on stderr and exit code 1, and a
// program started with --worker (its own worker processes: LocalClusterOptions with
// worker_program = /proc/self/exe and worker_args = {"--worker"}) runs ts::worker_main instead,
// so the kernels it registers run on the cluster.
//
//     int main(int argc, char** argv) { return example_main("ndvi", argc, argv, run); }

#include <exception>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <tessera/distributed.hpp>

inline int example_main(const char* name, int argc, char** argv, int (*run)(int, char**)) {
    std::vector<char*> args;
    bool worker = false;
    for (int i = 0; i < argc; ++i) {
        if (std::string_view(argv[i]) == "--worker") worker = true;
        else args.push_back(argv[i]);
    }
    if (worker) return tessera::worker_main(static_cast<int>(args.size()), args.data());
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {  // tessera::Error, or a figure that could not be written
        fmt::print(stderr, "{}: {}\n", name, e.what());
        return 1;
    }
}
