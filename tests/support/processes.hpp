#pragma once
// Test support: waiting for a child process with a deadline (the distributed, CURVE and cluster
// dashboard tests start real tessera-scheduler / tessera-worker programs).

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <chrono>
#include <thread>

namespace tessera::test {

/// Waits for `pid` up to `seconds`; its exit code (128 + signal when killed by one), or -1 when it
/// was still running at the deadline (it is then killed with SIGKILL and reaped).
inline int wait_exit(pid_t pid, double seconds) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    int status = 0;
    while (::waitpid(pid, &status, WNOHANG) != pid) {
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            return -1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace tessera::test
