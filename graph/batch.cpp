// GraphBatch: collections added to one graph together postpone their lowering to finish().
#include "tessera/graph.hpp"

namespace tessera {

namespace {
thread_local GraphBatch* open_batch = nullptr;
thread_local const Graph* open_graph = nullptr;
}  // namespace

GraphBatch::GraphBatch(Graph& graph) : graph_(graph), outer_(open_batch) {
    open_batch = this;
    open_graph = &graph;
}

GraphBatch::~GraphBatch() {
    if (open_batch == this) {
        open_batch = outer_;
        open_graph = outer_ ? &outer_->graph_ : nullptr;
    }
}

GraphBatch* GraphBatch::current(const Graph& graph) {
    return open_batch && open_graph == &graph && open_batch->open_ ? open_batch : nullptr;
}

std::shared_ptr<void>& GraphBatch::state(std::string_view tag) {
    for (auto& [name, value] : states_)
        if (name == tag) return value;
    return states_.emplace_back(std::string(tag), nullptr).second;
}

void GraphBatch::at_finish(std::function<void(Graph&)> work) { work_.push_back(std::move(work)); }

void GraphBatch::finish() {
    if (!open_) return;
    open_ = false;  // collections added by the work itself are lowered at once
    auto work = std::move(work_);
    for (auto& w : work) w(graph_);
    states_.clear();
}

}  // namespace tessera
