// ts::worker_main: the tessera-worker command line (see distributed.hpp).

#include <dlfcn.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "scheduler/dist/curve_keys.hpp"
#include "scheduler/dist/protocol.hpp"
#include "scheduler/dist/worker.hpp"
#include "tessera/config.hpp"
#include "tessera/distributed.hpp"
#include "tessera/error.hpp"

#include <string>
#include <vector>

namespace tessera {

int worker_main(int argc, char** argv) {
    CLI::App app{"Tessera worker: runs tasks for a tessera-scheduler"};
    dist::WorkerOptions options;
    std::string memory_limit;
    app.add_option("scheduler", options.scheduler, "Scheduler address, tcp://HOST:PORT")->required();
    app.add_option("--nthreads", options.nthreads, "Threads running tasks")->check(CLI::Range(1, 4096));
    app.add_option("--memory-limit", memory_limit, "Managed memory limit, e.g. 4GiB: spill at 70%, pause at 80%, restart at 95%");
    app.add_option("--local-directory", options.local_directory, "Directory for spilled data (default: the system temp directory)");
    app.add_option("--name", options.name, "Worker name (default worker-PID)");
    app.add_option("--host", options.host,
                   "Interface of the peer socket (default 127.0.0.1; another needs CURVE keys or --insecure-bind-all)");
    app.add_option("--curve-key-dir", options.curve_key_dir,
                   "tessera-keygen directory of the cluster's CURVE key (default: $TESSERA_CURVE_KEYS)");
    app.add_flag("--insecure-bind-all", options.insecure_bind_all,
                 "Allow a non-loopback --host without CURVE keys: anyone who can reach it can read results");
    std::vector<std::string> preload;
    app.add_option("--preload", preload,
                   "Shared library to load before connecting, whose TESSERA_REGISTER_KERNEL kernels "
                   "this worker then runs (repeatable; like dask-worker --preload)");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    try {
        if (!options.scheduler.starts_with("tcp://"))
            throw ConfigError("scheduler address '{}' is not of the form tcp://HOST:PORT", options.scheduler);
        if (!memory_limit.empty()) options.memory_limit = config::parse_bytes(memory_limit);
        options.curve_key_dir = dist::resolve_curve_key_dir(options.curve_key_dir);
        for (const auto& library : preload) {
            // Kernels register while the library loads; it stays loaded for the process's life.
            if (::dlopen(library.c_str(), RTLD_NOW | RTLD_GLOBAL) == nullptr)
                throw IOError("cannot preload '{}': {}", library, ::dlerror());
        }
        return dist::run_worker(options);
    } catch (const std::exception& e) {
        dist::log("worker", e.what());
        return 1;
    }
}

}  // namespace tessera
