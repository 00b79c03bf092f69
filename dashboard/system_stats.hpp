#pragma once
// Internal: host and process figures from /proc for the system page (Linux; zeros elsewhere).

#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

namespace tessera::dashboard {

struct SystemSample {
    double time = 0;                  // seconds since the dashboard started
    double cpu_percent = 0;           // host, 100 = every core busy
    double process_cpu_percent = 0;   // this process, 100 = one core
    std::int64_t memory_total = 0;    // host bytes
    std::int64_t memory_available = 0;
    std::int64_t process_rss = 0;
    std::int64_t process_threads = 0;
    std::int64_t live_bytes = 0;      // Buffer::live_bytes()
    double load[3] = {0, 0, 0};
    int n_cpus = 0;
};

/// Samples /proc; CPU percentages are over the interval since the previous sample.
class SystemMonitor {
public:
    /// Takes a sample and keeps it in the history (the last `kHistory`).
    SystemSample sample(double now_seconds);
    SystemSample latest() const;
    std::vector<SystemSample> history() const;
    static constexpr std::size_t kHistory = 300;

private:
    mutable std::mutex mutex_;
    std::uint64_t last_busy_ = 0, last_total_ = 0, last_process_ticks_ = 0;
    double last_time_ = -1;
    std::deque<SystemSample> history_;
};

}  // namespace tessera::dashboard
