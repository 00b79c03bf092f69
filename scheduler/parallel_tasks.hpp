#pragma once
// Internal: whether the calling thread runs tasks of a multi-threaded scheduler, so that a task
// does not start threads of its own on top of the scheduler's (a BLAS call, array/linalg.cpp).

namespace tessera::detail {

/// True while the calling thread is inside a ParallelTasksScope.
bool in_parallel_tasks();

/// Marks the calling thread as one of a multi-threaded scheduler's task runners while it lives.
class ParallelTasksScope {
public:
    ParallelTasksScope();
    ~ParallelTasksScope();
    ParallelTasksScope(const ParallelTasksScope&) = delete;
    ParallelTasksScope& operator=(const ParallelTasksScope&) = delete;

private:
    bool previous_;
};

}  // namespace tessera::detail
