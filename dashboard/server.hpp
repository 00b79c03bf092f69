#pragma once
// Internal: the dashboard's HTTP server (cpp-httplib on its own thread pool): pages, the JSON
// API, server-sent events, metrics. It reads the model only through api.hpp's builders.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "dashboard/model.hpp"
#include "dashboard/system_stats.hpp"

namespace httplib {
class Server;
}

namespace tessera::dashboard {

/// The server-sent-event messages of the last ticks, for the /events clients to pick up.
class EventHub {
public:
    /// Appends an "update" event (numbered by publish order) and wakes the clients.
    void publish(nlohmann::json update);
    /// The number the next published event gets.
    std::int64_t next_seq() const;
    /// Waits up to `timeout_ms` for events numbered > `last`: appends them (formatted) to `out`;
    /// returns false when the hub is stopping, and sets `gap` when some were already dropped.
    bool wait(std::int64_t last, int timeout_ms, std::vector<std::pair<std::int64_t, std::string>>& out,
              bool& gap);
    void stop();
    bool stopping() const;
    std::atomic<std::int64_t> n_clients{0};
    static constexpr std::size_t kKeep = 64;

private:
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<std::pair<std::int64_t, std::string>> events_;
    std::int64_t next_seq_ = 1;
    bool stopping_ = false;
};

/// Formats one server-sent event.
std::string sse_event(std::string_view name, std::int64_t id, const nlohmann::json& data);

class Server {
public:
    /// `drain` brings the model up to date (the local Recorder's or the cluster feed's); it is
    /// called before every API answer and must not throw.
    Server(std::shared_ptr<Model> model, std::function<void()> drain, std::shared_ptr<SystemMonitor> system,
           EventHub& hub);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    /// Binds (port 0: a free port) and starts serving on a background thread; returns the port.
    /// IOError when the address cannot be bound.
    int start(const std::string& host, int port);
    /// Stops serving and joins the threads (open event streams end first).
    void stop();

    static constexpr int kThreads = 64;
    static constexpr std::int64_t kMaxEventClients = 32;

private:
    void routes();

    std::shared_ptr<Model> model_;
    std::function<void()> drain_;
    std::shared_ptr<SystemMonitor> system_;
    EventHub& hub_;
    std::unique_ptr<httplib::Server> http_;
    std::thread thread_;
};

}  // namespace tessera::dashboard
