// The public Dashboard: the model, the observer feeding it, the HTTP server and the ticker that
// aggregates events and publishes server-sent events five times a second.

#include "tessera/dashboard.hpp"

#include <fmt/format.h>

#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "dashboard/api.hpp"
#include "dashboard/cluster.hpp"
#include "dashboard/recorder.hpp"
#include "dashboard/server.hpp"
#include "tessera/error.hpp"
#include "tessera/scheduler.hpp"

namespace tessera {

using namespace dashboard;

struct Dashboard::Impl {
    DashboardOptions options;
    int port = 0;
    std::string url;
    std::shared_ptr<Model> model;
    std::shared_ptr<Recorder> recorder;
    std::shared_ptr<SystemMonitor> system = std::make_shared<SystemMonitor>();
    EventHub hub;
    std::unique_ptr<Server> server;
    UpdateBuilder builder;

    std::mutex mutex;
    std::condition_variable wake;
    bool stopping = false;
    std::thread ticker;

    static constexpr auto kTick = std::chrono::milliseconds(200);
    static constexpr int kTicksPerSample = 5;  // host figures once a second

    void tick_loop() {
        int tick = 0;
        std::unique_lock lock(mutex);
        while (!stopping) {
            lock.unlock();
            recorder->drain();
            if (tick % kTicksPerSample == 0) system->sample(seconds(model->now_ns()));
            if (hub.n_clients.load() > 0)
                if (auto update = builder.next(*model, *system, 0)) hub.publish(std::move(*update));
            ++tick;
            lock.lock();
            wake.wait_for(lock, kTick, [this] { return stopping; });
        }
    }
};

std::string dashboard::dashboard_url(const std::string& host, int port) {
    if (host.empty() || host == "0.0.0.0" || host == "*") return fmt::format("http://127.0.0.1:{}/", port);
    if (host == "::") return fmt::format("http://[::1]:{}/", port);
    if (host.find(':') != std::string::npos) return fmt::format("http://[{}]:{}/", host, port);
    return fmt::format("http://{}:{}/", host, port);
}

void dashboard::check_options(const DashboardOptions& options) {
    if (options.port < 0 || options.port > 65535)
        throw ConfigError("dashboard port must be in [0, 65535], got {}", options.port);
    if (options.host.empty()) throw ConfigError("dashboard host must not be empty");
    if (options.task_stream_capacity < 1)
        throw ConfigError("dashboard task_stream_capacity must be >= 1, got {}", options.task_stream_capacity);
}

Dashboard::Dashboard(DashboardOptions options) : impl_(std::make_unique<Impl>()) {
    check_options(options);
    Impl& d = *impl_;
    d.options = std::move(options);
    d.model = std::make_shared<Model>(d.options.task_stream_capacity);
    d.recorder = std::make_shared<Recorder>(d.model);
    d.system->sample(0);
    d.server = std::make_unique<Server>(d.model, [recorder = d.recorder] { recorder->drain(); }, d.system, d.hub);
    d.port = d.server->start(d.options.host, d.options.port);
    d.url = dashboard_url(d.options.host, d.port);
    d.ticker = std::thread([&d] { d.tick_loop(); });
    add_global_observer(d.recorder);
    if (d.options.print_url) fmt::print(stderr, "Tessera dashboard: {}\n", d.url);
}

Dashboard::~Dashboard() {
    Impl& d = *impl_;
    remove_global_observer(d.recorder);
    {
        std::lock_guard lock(d.mutex);
        d.stopping = true;
    }
    d.wake.notify_all();
    if (d.ticker.joinable()) d.ticker.join();
    d.server->stop();
}

std::string Dashboard::url() const { return impl_->url; }
int Dashboard::port() const { return impl_->port; }
const std::string& Dashboard::host() const { return impl_->options.host; }

}  // namespace tessera
