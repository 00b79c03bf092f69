#pragma once
// Test binaries that act as their own distributed workers: LocalClusterOptions with
// worker_program = the test binary and worker_env TESSERA_TEST_WORKER_MODE=1 start it again;
// a static object of a translation unit that registers the test's kernels then calls
// become_worker_if_asked(), which runs ts::worker_main with the process's own command line and
// exits, so the doctest main never starts. Define the object AFTER the kernels' registrations in
// the same translation unit (static initialization runs in order within one unit).

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tessera/distributed.hpp"

namespace test_support {

inline void become_worker_if_asked() {
    const char* mode = std::getenv("TESSERA_TEST_WORKER_MODE");
    if (!mode || std::string(mode) != "1") return;
    std::ifstream in("/proc/self/cmdline", std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::string> args;
    std::string current;
    for (char c : text) {
        if (c == '\0') {
            args.push_back(current);
            current.clear();
        } else {
            current += c;
        }
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int code = tessera::worker_main(static_cast<int>(args.size()), argv.data());
    std::fflush(nullptr);
    std::_Exit(code);
}

}  // namespace test_support
