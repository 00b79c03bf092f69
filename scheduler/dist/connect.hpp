#pragma once
// The entry compute.cpp uses for a "tcp://HOST:PORT" scheduler (config or TESSERA_SCHEDULER).

#include <memory>
#include <string>

#include "tessera/scheduler.hpp"

namespace tessera::detail {

/// A Client connected to `address`, created on first use and kept for the process.
std::shared_ptr<Scheduler> distributed_scheduler(const std::string& address);

}  // namespace tessera::detail
