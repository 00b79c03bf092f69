// The `sync` scheduler: every task on the calling thread, in static priority order.

#include <exception>

#include "scheduler/run_state.hpp"

namespace tessera {
namespace {

using Kind = TaskEvent::Kind;

class SyncScheduler final : public Scheduler {
public:
    std::string name() const override { return "sync"; }

    std::vector<Value> run(const Graph& graph, const GraphIndex& index,
                           std::span<const std::int64_t> priority,
                           std::span<const std::int64_t> outputs,
                           std::span<const std::shared_ptr<Observer>> observers) override {
        return detail::run_in_order(graph, index, priority, outputs, observers, name());
    }
};

}  // namespace

std::vector<Value> detail::run_in_order(const Graph& graph, const GraphIndex& index,
                                        std::span<const std::int64_t> priority,
                                        std::span<const std::int64_t> outputs,
                                        std::span<const std::shared_ptr<Observer>> observers,
                                        const std::string& name) {
    detail::check_run_arguments(graph, index, priority, outputs);
    const std::int64_t n = graph.size();
    const auto& tasks = graph.tasks();
    detail::DependencyCounts counts = detail::count_dependencies(index, priority);
    const auto slot = [&](std::int64_t t) { return static_cast<std::size_t>(counts.slot(t, priority)); };
    std::vector<std::uint8_t> is_output(static_cast<std::size_t>(n), 0);
    for (std::int64_t t : outputs) is_output[slot(t)] = 1;

    detail::EventSink events(graph, observers);
    events.run_start(name, 1);
    if (events.active())
        for (const auto& root : counts.roots) events.emit(Kind::Queued, root.task);

    detail::ValueSlots values(n);
    detail::ReadyQueue ready;
    ready.set_roots(std::move(counts.roots));
    std::vector<const Value*> inputs;
    std::int64_t n_finished = 0;
    while (!ready.empty()) {
        const std::int64_t t = ready.pop().task;
        const Task& task = tasks[static_cast<std::size_t>(t)];
        const auto deps = std::span(index.dep_ids).subspan(
            static_cast<std::size_t>(index.dep_offsets[static_cast<std::size_t>(t)]),
            static_cast<std::size_t>(index.dep_offsets[static_cast<std::size_t>(t) + 1] -
                                     index.dep_offsets[static_cast<std::size_t>(t)]));
        inputs.clear();
        for (std::int64_t d : deps) inputs.push_back(&values.get(slot(d)));
        if (events.active()) events.emit(Kind::Started, t, 0);
        try {
            values.set(slot(t), op_fn(task.op)(TaskContext{task, inputs, 0}));
        } catch (...) {
            const std::exception_ptr error = std::current_exception();
            if (events.active()) {
                const std::string message = detail::exception_message(error);
                events.emit(Kind::Failed, t, 0, 0, message);
                events.run_end(n_finished, true);
            }
            detail::rethrow_task_error(error, task.key);
        }
        ++n_finished;
        if (events.active()) events.emit(Kind::Finished, t, 0, values.get(slot(t)).nbytes());

        for (std::int64_t d : deps) {
            if (--counts.n_readers[slot(d)] == 0 && !is_output[slot(d)]) {
                if (events.active()) events.emit(Kind::Released, d, -1, values.get(slot(d)).nbytes());
                values.release(slot(d));
            }
        }
        const auto begin = index.dependent_offsets[static_cast<std::size_t>(t)];
        const auto end = index.dependent_offsets[static_cast<std::size_t>(t) + 1];
        for (auto e = begin; e < end; ++e) {
            const std::int64_t u = index.dependent_ids[static_cast<std::size_t>(e)];
            if (--counts.n_waiting[slot(u)] == 0) {
                if (events.active()) events.emit(Kind::Queued, u);
                ready.push({priority[static_cast<std::size_t>(u)], u});
            }
        }
    }
    if (n_finished != n)
        throw GraphError("the graph has a cycle: {} of {} tasks could run", n_finished, n);
    events.run_end(n_finished, false);

    std::vector<Value> out;
    out.reserve(outputs.size());
    for (std::int64_t t : outputs) out.push_back(values.get(slot(t)));
    return out;
}

std::shared_ptr<Scheduler> make_sync_scheduler() { return std::make_shared<SyncScheduler>(); }

}  // namespace tessera
