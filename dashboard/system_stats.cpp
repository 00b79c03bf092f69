// Host and process figures from /proc.

#include "dashboard/system_stats.hpp"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "tessera/ndarray.hpp"

namespace tessera::dashboard {
namespace {

// Host CPU time from the first line of /proc/stat: busy and total jiffies.
bool read_host_cpu(std::uint64_t& busy, std::uint64_t& total) {
    std::ifstream in("/proc/stat");
    std::string label;
    if (!(in >> label) || label != "cpu") return false;
    std::uint64_t value = 0, idle = 0;
    busy = total = 0;
    for (int field = 0; field < 10 && (in >> value); ++field) {
        // Fields 8 and 9 (guest, guest_nice) are already counted in user and nice.
        if (field >= 8) continue;
        total += value;
        if (field == 3 || field == 4) idle += value;  // idle, iowait
    }
    busy = total - idle;
    return total > 0;
}

// utime + stime of this process, in clock ticks (fields 14 and 15 of /proc/self/stat).
std::uint64_t read_process_ticks() {
    std::ifstream in("/proc/self/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto paren = text.rfind(')');
    if (paren == std::string::npos) return 0;
    std::istringstream fields(text.substr(paren + 2));
    std::string field;
    std::uint64_t utime = 0, stime = 0;
    // After "pid (comm) ": state is field 3, so utime (14) is the 12th token here.
    for (int k = 3; k <= 15 && (fields >> field); ++k) {
        if (k == 14) utime = std::stoull(field);
        if (k == 15) stime = std::stoull(field);
    }
    return utime + stime;
}

void read_meminfo(SystemSample& s) {
    std::ifstream in("/proc/meminfo");
    std::string key;
    std::int64_t value = 0;
    std::string unit;
    while (in >> key >> value) {
        std::getline(in, unit);
        if (key == "MemTotal:") s.memory_total = value * 1024;
        if (key == "MemAvailable:") s.memory_available = value * 1024;
    }
}

void read_process_status(SystemSample& s) {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmRSS:", 0) == 0) s.process_rss = std::stoll(line.substr(6)) * 1024;
        if (line.rfind("Threads:", 0) == 0) s.process_threads = std::stoll(line.substr(8));
    }
}

}  // namespace

SystemSample SystemMonitor::sample(double now_seconds) {
    SystemSample s;
    s.time = now_seconds;
    s.n_cpus = static_cast<int>(std::thread::hardware_concurrency());
    s.live_bytes = Buffer::live_bytes();
    try {
        read_meminfo(s);
        read_process_status(s);
        std::ifstream load("/proc/loadavg");
        load >> s.load[0] >> s.load[1] >> s.load[2];
    } catch (...) {
        // A malformed /proc line leaves the remaining figures at zero.
    }
    std::uint64_t busy = 0, total = 0;
    const bool have_cpu = read_host_cpu(busy, total);
    std::uint64_t ticks = 0;
    try {
        ticks = read_process_ticks();
    } catch (...) {
    }
    std::lock_guard lock(mutex_);
    if (have_cpu && last_total_ > 0 && total > last_total_)
        s.cpu_percent = 100.0 * static_cast<double>(busy - last_busy_) / static_cast<double>(total - last_total_);
    if (last_time_ >= 0 && now_seconds > last_time_ && ticks >= last_process_ticks_) {
        const double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
        s.process_cpu_percent =
            100.0 * static_cast<double>(ticks - last_process_ticks_) / hz / (now_seconds - last_time_);
    }
    if (have_cpu) {
        last_busy_ = busy;
        last_total_ = total;
    }
    last_process_ticks_ = ticks;
    last_time_ = now_seconds;
    history_.push_back(s);
    while (history_.size() > kHistory) history_.pop_front();
    return s;
}

SystemSample SystemMonitor::latest() const {
    std::lock_guard lock(mutex_);
    return history_.empty() ? SystemSample{} : history_.back();
}

std::vector<SystemSample> SystemMonitor::history() const {
    std::lock_guard lock(mutex_);
    return {history_.begin(), history_.end()};
}

}  // namespace tessera::dashboard
