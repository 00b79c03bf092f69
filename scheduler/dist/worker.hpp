#pragma once
// A worker: runs the tasks the scheduler sends on a TBB arena, keeps their results, serves them
// to peers (its own ROUTER) and fetches its inputs from peers, reports completions in batches
// and heartbeats.

#include <cstdint>
#include <string>

namespace tessera::dist {

struct WorkerOptions {
    std::string scheduler;  // tcp://HOST:PORT
    int nthreads = 1;
    std::int64_t memory_limit = 0;
    std::string local_directory;
    std::string name;
    /// Interface the peer socket binds (and advertises).
    std::string host = "127.0.0.1";
    /// Seconds without any message from the scheduler before giving up.
    double scheduler_timeout = 30;
    /// A tessera-keygen directory (already resolved against TESSERA_CURVE_KEYS): CURVE on every
    /// socket; empty = plain ZeroMQ.
    std::string curve_key_dir;
    /// Allow a non-loopback `host` without CURVE keys.
    bool insecure_bind_all = false;
};

/// Serves until the scheduler says Shutdown (returns 0), refuses us (also: fails our CURVE
/// handshake) or is lost (returns 1). Throws ConfigError (unusable keys, a non-loopback host
/// without keys or insecure_bind_all), ProtocolError/IOError only for setup failures.
int run_worker(const WorkerOptions& options);

}  // namespace tessera::dist
