// Observers: the global registry, the terminal progress bar and the JSON-lines trace writer.

#include "scheduler/observers.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "tessera/error.hpp"

namespace tessera {

std::string_view to_string(TaskEvent::Kind kind) {
    switch (kind) {
        case TaskEvent::Kind::Queued: return "queued";
        case TaskEvent::Kind::Started: return "started";
        case TaskEvent::Kind::Finished: return "finished";
        case TaskEvent::Kind::Failed: return "failed";
        case TaskEvent::Kind::Released: return "released";
    }
    return "unknown";
}

namespace {

struct GlobalObservers {
    std::mutex mutex;
    std::vector<std::shared_ptr<Observer>> list;
};

GlobalObservers& registry() {
    static GlobalObservers instance;
    return instance;
}

// ------------------------------------------------------------------------------ progress bar

// "1.2s", "2min 3.4s", "1hr 2min 3.4s".
std::string format_elapsed(double seconds) {
    const auto whole_minutes = static_cast<std::int64_t>(seconds / 60);
    const double rest = seconds - 60.0 * static_cast<double>(whole_minutes);
    if (whole_minutes == 0) return fmt::format("{:.1f}s", seconds);
    if (whole_minutes < 60) return fmt::format("{}min {:.1f}s", whole_minutes, rest);
    return fmt::format("{}hr {}min {:.1f}s", whole_minutes / 60, whole_minutes % 60, rest);
}

class ProgressBar final : public Observer {
public:
    explicit ProgressBar(std::ostream* out) : out_(out ? out : &std::cerr) {}
    ~ProgressBar() override { stop_ticker(); }

    void on_run_start(const RunInfo& info) override {
        stop_ticker();
        n_tasks_.store(info.n_tasks);
        n_finished_.store(0);
        start_ = std::chrono::steady_clock::now();
        std::lock_guard lock(mutex_);
        running_ = true;
        ticker_ = std::thread([this] { tick(); });
    }

    void on_task(const TaskEvent& event) override {
        if (event.kind == TaskEvent::Kind::Finished)
            n_finished_.fetch_add(1, std::memory_order_relaxed);
    }

    void on_run_end(const RunSummary&) override {
        stop_ticker();
        std::lock_guard lock(mutex_);
        draw();
        *out_ << '\n' << std::flush;
    }

private:
    static constexpr int kWidth = 40;

    // Redraws every 100 ms until the run ends.
    void tick() {
        std::unique_lock lock(mutex_);
        while (!wake_.wait_for(lock, std::chrono::milliseconds(100), [this] { return !running_; }))
            draw();
    }

    void stop_ticker() {
        {
            std::lock_guard lock(mutex_);
            running_ = false;
        }
        wake_.notify_all();
        if (ticker_.joinable()) ticker_.join();
    }

    // Caller holds mutex_.
    void draw() {
        const std::int64_t total = n_tasks_.load();
        const std::int64_t done = std::min(n_finished_.load(), total);
        const double fraction = total == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total);
        const auto filled = static_cast<std::size_t>(kWidth * fraction);
        const double elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
        *out_ << fmt::format("\r[{}{}] | {}% Completed | {}/{} tasks | {}", std::string(filled, '#'),
                             std::string(kWidth - filled, ' '), static_cast<int>(100 * fraction),
                             done, total, format_elapsed(elapsed))
              << std::flush;
    }

    std::ostream* out_;
    std::atomic<std::int64_t> n_tasks_{0};
    std::atomic<std::int64_t> n_finished_{0};
    std::chrono::steady_clock::time_point start_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool running_ = false;
    std::thread ticker_;
};

// ------------------------------------------------------------------------------ trace writer

class TraceWriter final : public Observer {
public:
    explicit TraceWriter(const std::string& path) : path_(path) {
        file_.open(path, std::ios::binary | std::ios::trunc);
        if (!file_)
            throw IOError("cannot open trace file '{}': {}", path, std::strerror(errno));
    }
    ~TraceWriter() override {
        std::lock_guard lock(mutex_);
        flush();
    }

    void on_run_start(const RunInfo& info) override {
        const double started =
            std::chrono::duration<double>(info.started_at.time_since_epoch()).count();
        std::string groups;
        for (const auto& [group, count] : info.groups)
            groups += fmt::format("{}{}: {}", groups.empty() ? "" : ", ", detail::json_string(group), count);
        std::lock_guard lock(mutex_);
        fmt::format_to(std::back_inserter(buffer_),
                       "{{\"event\": \"run_start\", \"run_id\": {}, \"n_tasks\": {}, \"scheduler\": {}, "
                       "\"threads\": {}, \"started_at\": {:.6f}, \"groups\": {{{}}}}}\n",
                       info.run_id, info.n_tasks, detail::json_string(info.scheduler), info.n_threads,
                       started, groups);
    }

    void on_task(const TaskEvent& event) override {
        const std::string key = detail::json_string(event.key->str());
        const std::string group = detail::json_string(event.group);
        std::lock_guard lock(mutex_);
        fmt::format_to(std::back_inserter(buffer_),
                       "{{\"event\": \"{}\", \"key\": {}, \"group\": {}, \"thread\": {}, \"bytes\": {}, "
                       "\"t_ns\": {}",
                       to_string(event.kind), key, group, event.thread, event.bytes, event.time_ns);
        if (event.kind == TaskEvent::Kind::Failed)
            fmt::format_to(std::back_inserter(buffer_), ", \"error\": {}", detail::json_string(event.error));
        buffer_ += "}\n";
        if (buffer_.size() >= kFlushBytes) flush();
    }

    void on_run_end(const RunSummary& summary) override {
        std::lock_guard lock(mutex_);
        fmt::format_to(std::back_inserter(buffer_),
                       "{{\"event\": \"run_end\", \"run_id\": {}, \"n_finished\": {}, \"failed\": {}, "
                       "\"seconds\": {:.6f}}}\n",
                       summary.run_id, summary.n_finished, summary.failed, summary.seconds);
        flush();
    }

private:
    static constexpr std::size_t kFlushBytes = std::size_t{1} << 20;

    // Caller holds mutex_.
    void flush() {
        file_.write(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
        file_.flush();
        buffer_.clear();
    }

    std::string path_;
    std::mutex mutex_;
    std::ofstream file_;
    std::string buffer_;
};

}  // namespace

namespace detail {

std::vector<std::shared_ptr<Observer>> global_observers() {
    auto& r = registry();
    std::lock_guard lock(r.mutex);
    return r.list;
}

std::string json_string(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 2);
    out += '"';
    for (char c : text) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20)
                    out += fmt::format("\\u{:04x}", static_cast<unsigned>(static_cast<unsigned char>(c)));
                else
                    out += c;
        }
    }
    out += '"';
    return out;
}

}  // namespace detail

void add_global_observer(std::shared_ptr<Observer> observer) {
    if (!observer) throw ValueError("add_global_observer: the observer is null");
    auto& r = registry();
    std::lock_guard lock(r.mutex);
    r.list.push_back(std::move(observer));
}

void remove_global_observer(const std::shared_ptr<Observer>& observer) {
    auto& r = registry();
    std::lock_guard lock(r.mutex);
    std::erase(r.list, observer);
}

std::shared_ptr<Observer> make_progress_bar(std::ostream* out) {
    return std::make_shared<ProgressBar>(out);
}

std::shared_ptr<Observer> make_trace_writer(const std::string& path) {
    return std::make_shared<TraceWriter>(path);
}

}  // namespace tessera
