#pragma once
// Message bodies shared by scheduler, workers and clients, with their encoders and decoders.
// Task ids on the wire (`tid`) are (scheduler run id << 32) | position of the task in its run.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "scheduler/dist/protocol.hpp"

namespace tessera::dist {

enum class Role : std::uint8_t { Worker = 1, Client = 2 };

struct Hello {
    std::uint32_t protocol = kProtocolVersion;
    std::string version;
    Role role = Role::Client;
    std::string name;
    // Workers only.
    std::int32_t nthreads = 0;
    std::string address;  // the worker's peer ROUTER
    std::int64_t memory_limit = 0;
    std::int64_t pid = 0;
    std::vector<std::string> ops;
};
Outgoing encode(const Hello& hello);
Hello decode_hello(Incoming& in);

/// A task as the client submits it.
struct TaskSpec {
    Key key;
    std::string op;
    std::string params;
    std::vector<std::int64_t> deps;  // positions in the submitted graph
    std::int64_t nbytes_hint = 0;
    std::int64_t priority = 0;
    std::optional<PackedValue> constant;  // tessera.constant payloads
};

struct Submit {
    std::uint64_t run = 0;  // the client's number for the run
    std::vector<TaskSpec> tasks;
    std::vector<std::int64_t> outputs;
};
Outgoing encode(Submit&& submit);
Submit decode_submit(Incoming& in);

/// One task sent to a worker.
struct ComputeItem {
    std::uint64_t tid = 0;
    Key key;
    std::string op;
    std::string params;
    struct Dep {
        std::uint64_t tid = 0;
        std::vector<std::string> who_has;  // peer addresses
    };
    std::vector<Dep> deps;
    bool send_result = false;  // an output: ship the value with the completion
    std::optional<PackedValue> constant;
};
void write_compute_item(Outgoing& out, ComputeItem&& item);
ComputeItem read_compute_item(Incoming& in);

/// One completion reported by a worker.
struct DoneItem {
    enum class Status : std::uint8_t { Ok = 0, Error = 1, MissingData = 2 };
    std::uint64_t tid = 0;
    Status status = Status::Ok;
    std::int64_t nbytes = 0;
    std::string error_kind, error_message;
    std::uint64_t missing_tid = 0;              // MissingData
    std::vector<std::string> failed_addresses;  // MissingData: peers that did not deliver
    std::optional<PackedValue> value;           // outputs
    // For the dashboard (appended to the item on the wire): the arena thread that ran the task
    // and its wall-clock start and stop in ns since the Unix epoch (0 = unknown).
    std::int32_t thread = -1;
    std::int64_t start_ns = 0, stop_ns = 0;
};
void write_done_item(Outgoing& out, DoneItem&& item);
DoneItem read_done_item(Incoming& in);

/// A task of the futures API: deps name keys submitted before by the same client.
struct FutureSpec {
    Key key;
    std::string op;
    std::string params;
    std::vector<Key> deps;
    std::int64_t priority = 0;
    bool held = true;        // a client Future refers to it (literal arguments are not held)
    bool broadcast = false;  // scatter to every worker
    std::optional<PackedValue> constant;
};
Outgoing encode(std::vector<FutureSpec>&& specs);
std::vector<FutureSpec> decode_future_submit(Incoming& in);

/// A key list (FutureRelease, FutureCancel, WhoHas with a request number).
Outgoing encode_keys(MsgType type, std::uint64_t request, const std::vector<Key>& keys);
std::vector<Key> decode_keys(Incoming& in, std::uint64_t& request);

/// What the client learns about one of its futures.
struct FutureStatusItem {
    enum class Status : std::uint8_t { Finished = 1, Error = 2, Cancelled = 3 };
    Key key;
    Status status = Status::Finished;
    std::int64_t nbytes = 0;
    std::string error_kind, error_message;
    Key origin;  // the task that failed (the key itself or one of its dependencies)
};
void write_status_item(Writer& w, const FutureStatusItem& item);
FutureStatusItem read_status_item(Reader& r);

/// Where a key is: found, in memory, its task id and the workers' peer addresses.
struct WhoHasItem {
    bool found = false, in_memory = false, erred = false;
    std::uint64_t tid = 0;
    std::vector<std::string> addresses;
};
void write_who_has_item(Writer& w, const WhoHasItem& item);
WhoHasItem read_who_has_item(Reader& r);

/// What a worker's Heartbeat carries (the dashboard's figures). An empty Heartbeat body (clients,
/// the scheduler) decodes as nullopt.
struct WorkerMetrics {
    std::int64_t memory_bytes = 0;   // managed results held in memory
    std::int64_t spilled_bytes = 0;  // managed results spilled to disk
    std::int64_t rss_bytes = 0;
    double cpu_percent = 0;  // of one core, since the previous heartbeat
    std::int64_t n_executing = 0;
};
Outgoing encode(const WorkerMetrics& metrics);
std::optional<WorkerMetrics> decode_worker_metrics(Incoming& in);

struct WorkerInfo {
    std::string name, address;
    std::int32_t nthreads = 0;
    std::int64_t pid = 0;
    std::int64_t n_processing = 0, n_memory = 0;
};

}  // namespace tessera::dist
