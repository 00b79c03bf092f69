// The futures API of the distributed Client (see futures.hpp): submit, map, scatter, gather
// (directly from the workers' peer sockets), cancel, wait, as_completed.

#include <algorithm>
#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "scheduler/dist/client_core.hpp"
#include "scheduler/dist/security.hpp"
#include "tessera/distributed.hpp"
#include "tessera/futures.hpp"

namespace tessera {

namespace {

using detail::Clock;
constexpr std::string_view kConstantOp = "tessera.constant";
constexpr auto kFetchTimeout = std::chrono::seconds(5);

Clock::time_point deadline_after(double seconds) {
    if (seconds < 0) return Clock::time_point::max();
    return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

void add_value(Tokenizer& t, const Value& v) {
    t.add(static_cast<std::int64_t>(v.kind()));
    if (v.is_array()) {
        const NDArray a = v.array().contiguous();
        t.add(a.dtype().name());
        t.add(std::span<const std::int64_t>(a.shape()));
        t.add_bytes(a.raw_data(), static_cast<std::size_t>(a.nbytes()));
    } else if (v.is_list()) {
        t.add(static_cast<std::int64_t>(v.list().size()));
        for (const Value& item : v.list()) add_value(t, item);
    } else if (v.is_object()) {
        t.add(unique_token());
    }
}

std::string value_token(const Value& v) {
    Tokenizer t;
    add_value(t, v);
    return t.hex();
}

detail::FutureState& state_of(const Future& f, detail::ClientCore* core);

}  // namespace

std::string_view to_string(FutureStatus status) {
    switch (status) {
        case FutureStatus::Pending: return "pending";
        case FutureStatus::Finished: return "finished";
        case FutureStatus::Error: return "error";
        case FutureStatus::Cancelled: return "cancelled";
    }
    return "?";
}

// ------------------------------------------------------------------------------------ Future

namespace {
detail::FutureState& state_of(const Future& f, detail::ClientCore* core) {
    const auto& s = detail::FutureAccess::state(f);
    if (!s) throw ValueError("empty Future (default-constructed)");
    if (core && s->core.get() != core) throw ValueError("future {} belongs to another client", s->key.str());
    return *s;
}
bool is_done(const detail::FutureState& s) { return s.status != FutureStatus::Pending; }
}  // namespace

const Key& Future::key() const { return state_of(*this, nullptr).key; }

FutureStatus Future::status() const {
    detail::FutureState& s = state_of(*this, nullptr);
    std::lock_guard lock(s.core->mutex);
    return s.status;
}

bool Future::done() const { return status() != FutureStatus::Pending; }

Value Future::result(double timeout_seconds) const {
    detail::FutureState& s = state_of(*this, nullptr);
    return s.core->gather({*this}, timeout_seconds)[0];
}

std::exception_ptr Future::exception(double timeout_seconds) const {
    detail::FutureState& s = state_of(*this, nullptr);
    std::unique_lock lock(s.core->mutex);
    if (!s.core->wait_locked(lock, deadline_after(timeout_seconds), [&] { return is_done(s); }))
        throw WorkerError("future {} is not done after {} s", s.key.str(), timeout_seconds);
    return s.error;
}

void Future::cancel() const {
    detail::FutureState& s = state_of(*this, nullptr);
    s.core->cancel({*this});
}

// ------------------------------------------------------------------------------ wait, as_completed

WaitResult wait(const std::vector<Future>& futures, WaitOptions options) {
    WaitResult out;
    if (futures.empty()) return out;
    detail::ClientCore* core = state_of(futures[0], nullptr).core.get();
    for (const Future& f : futures) state_of(f, core);
    const auto deadline = deadline_after(options.timeout);
    std::unique_lock lock(core->mutex);
    core->wait_locked(lock, deadline, [&] {
        const auto n_done = std::count_if(futures.begin(), futures.end(),
                                          [](const Future& f) { return is_done(*detail::FutureAccess::state(f)); });
        return options.return_when == ReturnWhen::FirstCompleted ? n_done > 0
                                                                 : n_done == static_cast<std::ptrdiff_t>(futures.size());
    });
    for (const Future& f : futures) (is_done(*detail::FutureAccess::state(f)) ? out.done : out.not_done).push_back(f);
    return out;
}

AsCompleted::AsCompleted(std::vector<Future> futures) : pending_(std::move(futures)) {
    if (pending_.empty()) return;
    detail::ClientCore* core = state_of(pending_[0], nullptr).core.get();
    for (const Future& f : pending_) state_of(f, core);
}

bool AsCompleted::next(Future& out) {
    if (pending_.empty()) return false;
    detail::ClientCore* core = detail::FutureAccess::state(pending_[0])->core.get();
    std::size_t best = 0;
    {
        std::unique_lock lock(core->mutex);
        core->wait_locked(lock, Clock::time_point::max(), [&] {
            std::uint64_t best_seq = 0;
            for (std::size_t k = 0; k < pending_.size(); ++k) {
                const auto& s = *detail::FutureAccess::state(pending_[k]);
                if (is_done(s) && (best_seq == 0 || s.done_seq < best_seq)) {
                    best_seq = s.done_seq;
                    best = k;
                }
            }
            return best_seq != 0;
        });
    }
    out = std::move(pending_[best]);
    pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(best));
    return true;
}

AsCompleted::iterator::iterator(AsCompleted* owner) : owner_(owner) {
    if (!owner_->next(current_)) owner_ = nullptr;
}

AsCompleted::iterator& AsCompleted::iterator::operator++() {
    if (owner_ && !owner_->next(current_)) {
        owner_ = nullptr;
        current_ = Future();
    }
    return *this;
}

// ------------------------------------------------------------------------------ ClientCore

namespace detail {

std::vector<Future> ClientCore::submit_many(std::shared_ptr<ClientCore> self, std::string_view op,
                                            const std::vector<std::vector<TaskArg>>& args,
                                            const std::vector<SubmitOptions>& each) {
    const std::string name(op);
    std::vector<dist::FutureSpec> specs;
    std::vector<Key> keys;
    for (std::size_t k = 0; k < args.size(); ++k) {
        dist::FutureSpec spec;
        spec.op = name;
        spec.priority = each[k].priority;
        Tokenizer token;
        token.add(name);
        for (const TaskArg& arg : args[k]) {
            if (arg.is_future()) {
                const FutureState& s = state_of(arg.future(), this);
                spec.deps.push_back(s.key);
                token.add(s.key);
                continue;
            }
            // A literal argument: a constant task the scheduler drops once its dependents ran.
            dist::FutureSpec literal;
            literal.key = Key(fmt::format("literal-{}", value_token(arg.value())));
            literal.op = kConstantOp;
            literal.held = false;
            literal.constant = dist::pack(arg.value());  // Error for C++ objects
            spec.deps.push_back(literal.key);
            token.add(literal.key);
            specs.push_back(std::move(literal));
        }
        spec.key = !each[k].key.empty() ? Key(each[k].key)
                   : each[k].pure       ? Key(fmt::format("{}-{}", name, token.hex()))
                                           : Key(fmt::format("{}-{}", name, unique_token()));
        keys.push_back(spec.key);
        specs.push_back(std::move(spec));
    }

    std::vector<Future> out;  // before the lock: a Future may not die while it is held
    std::unique_lock lock(mutex);
    check_alive();
    if (!known_ops.contains(name)) {
        refresh_info(lock);
        if (!known_ops.contains(name))
            throw GraphError("operation '{}' is not registered on any worker of the cluster at {}", name, address);
    }
    std::vector<dist::FutureSpec> send;
    std::size_t next_key = 0;
    for (dist::FutureSpec& spec : specs) {
        if (!spec.held) {
            send.push_back(std::move(spec));
            continue;
        }
        bool created = false;
        out.push_back(future_for(keys[next_key++], self, created));
        if (created) send.push_back(std::move(spec));
    }
    if (!send.empty() && !send_locked(dist::encode(std::move(send))))
        throw WorkerError("cannot send tasks to the scheduler at {}", address);
    return out;
}

std::vector<Future> ClientCore::scatter(std::shared_ptr<ClientCore> self, const std::vector<Value>& values,
                                        const ScatterOptions& scatter_options) {
    std::vector<dist::FutureSpec> specs;
    for (const Value& v : values) {
        dist::FutureSpec spec;
        spec.key = Key(fmt::format("{}-{}", scatter_options.broadcast ? "broadcast" : "scatter", value_token(v)));
        spec.op = kConstantOp;
        spec.broadcast = scatter_options.broadcast;
        spec.constant = dist::pack(v);
        specs.push_back(std::move(spec));
    }
    std::vector<Future> out;  // before the lock: a Future may not die while it is held
    std::unique_lock lock(mutex);
    check_alive();
    std::vector<dist::FutureSpec> send;
    for (dist::FutureSpec& spec : specs) {
        bool created = false;
        out.push_back(future_for(spec.key, self, created));
        if (created) send.push_back(std::move(spec));
    }
    if (!send.empty() && !send_locked(dist::encode(std::move(send))))
        throw WorkerError("cannot send data to the scheduler at {}", address);
    return out;
}

void ClientCore::cancel(const std::vector<Future>& list) {
    std::vector<Key> keys;
    std::lock_guard lock(mutex);
    for (const Future& f : list) {
        FutureState& s = state_of(f, this);
        if (is_done(s)) continue;
        keys.push_back(s.key);
        mark_done(s, FutureStatus::Cancelled,
                  std::make_exception_ptr(CancelledError("future {} was cancelled", s.key.str())));
    }
    if (!keys.empty() && !closed) send_locked(dist::encode_keys(dist::MsgType::FutureCancel, 0, keys));
    cv.notify_all();
}

std::vector<dist::WhoHasItem> ClientCore::who_has(const std::vector<Key>& keys) {
    std::unique_lock lock(mutex);
    check_alive();
    const std::uint64_t request = next_request++;
    send_locked(dist::encode_keys(dist::MsgType::WhoHas, request, keys));
    if (!wait_locked(lock, Clock::now() + std::chrono::seconds(15), [&] { return who_has_replies.contains(request); }))
        throw WorkerError("no answer from the scheduler at {}", address);
    dist::Incoming in = std::move(who_has_replies.at(request));
    who_has_replies.erase(request);
    lock.unlock();
    std::vector<dist::WhoHasItem> items(static_cast<std::size_t>(in.r->get_count(12)));
    if (items.size() != keys.size()) throw ProtocolError("who-has reply of {} items for {} keys", items.size(), keys.size());
    for (auto& item : items) item = dist::read_who_has_item(*in.r);
    return items;
}

std::vector<Value> ClientCore::gather(const std::vector<Future>& list, double timeout_seconds) {
    const auto deadline = deadline_after(timeout_seconds);
    std::vector<Key> keys;
    {
        std::unique_lock lock(mutex);
        for (const Future& f : list) {
            FutureState& s = state_of(f, this);
            if (!wait_locked(lock, deadline, [&] { return is_done(s); }))
                throw WorkerError("future {} is not done after {} s", s.key.str(), timeout_seconds);
            if (s.error) std::rethrow_exception(s.error);
            keys.push_back(s.key);
        }
    }
    // Fetch from the workers' peer sockets; a value whose worker died is recomputed by the
    // scheduler from its lineage, so ask again until the deadline.
    std::vector<std::optional<Value>> values(list.size());
    std::map<std::string, zmq::socket_t> peers;
    std::uint64_t next_fetch = 1;
    for (int attempt = 0;; ++attempt) {
        std::vector<std::size_t> missing;
        for (std::size_t k = 0; k < values.size(); ++k)
            if (!values[k]) missing.push_back(k);
        if (missing.empty()) break;
        if (attempt > 0) {
            if (Clock::now() >= deadline)
                throw WorkerError("could not fetch future {} from any worker within {} s", keys[missing[0]].str(),
                                  timeout_seconds);
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        std::vector<Key> ask;
        for (std::size_t k : missing) ask.push_back(keys[k]);
        const std::vector<dist::WhoHasItem> where = who_has(ask);
        std::map<std::string, std::vector<std::size_t>> by_peer;
        for (std::size_t m = 0; m < missing.size(); ++m) {
            const dist::WhoHasItem& item = where[m];
            if (!item.found) throw WorkerError("future {} is not known to the scheduler at {}", ask[m].str(), address);
            if (!item.in_memory || item.addresses.empty()) continue;
            by_peer[item.addresses[static_cast<std::size_t>(attempt) % item.addresses.size()]].push_back(missing[m]);
        }
        std::map<std::uint64_t, std::vector<std::size_t>> tids;  // tid -> positions in list
        for (auto& [peer, positions] : by_peer) {
            auto [it, inserted] = peers.try_emplace(peer, context, zmq::socket_type::dealer);
            if (inserted) {
                it->second.set(zmq::sockopt::linger, 0);
                if (curve) dist::set_curve_client(it->second, *curve);
                it->second.connect(peer);
            }
            dist::Outgoing out(dist::MsgType::GetData);
            out.w.put(next_fetch++);
            std::vector<std::int64_t> ids;
            for (std::size_t k : positions) {
                const std::uint64_t tid = where[static_cast<std::size_t>(
                    std::find(missing.begin(), missing.end(), k) - missing.begin())].tid;
                if (!tids.contains(tid)) ids.push_back(static_cast<std::int64_t>(tid));
                tids[tid].push_back(k);
            }
            out.w.put_i64s(ids);
            dist::send(it->second, {}, std::move(out));
        }
        // Collect the replies (one per peer asked).
        std::size_t n_replies = 0;
        const auto fetch_deadline = std::min(deadline, Clock::now() + kFetchTimeout);
        while (n_replies < by_peer.size() && Clock::now() < fetch_deadline) {
            std::vector<zmq::pollitem_t> items;
            std::vector<zmq::socket_t*> sockets;
            for (auto& [peer, positions] : by_peer) {
                items.push_back({peers.at(peer).handle(), 0, ZMQ_POLLIN, 0});
                sockets.push_back(&peers.at(peer));
            }
            zmq::poll(items, std::chrono::milliseconds(50));
            for (zmq::socket_t* peer_socket : sockets) {
                std::string identity;
                std::optional<dist::Incoming> in;
                try {
                    in = dist::receive(*peer_socket, false, identity);
                } catch (const ProtocolError& e) {
                    dist::log("client", fmt::format("bad data from a worker: {}", e.what()));
                    continue;
                }
                if (!in || in->type != dist::MsgType::Data) continue;
                ++n_replies;
                in->r->get<std::uint64_t>();
                const std::uint64_t n = in->r->get_count(9);
                for (std::uint64_t k = 0; k < n; ++k) {
                    const auto tid = in->r->get<std::uint64_t>();
                    if (!in->r->get_bool()) continue;
                    Value v = dist::unpack(in->get_value());
                    if (auto t = tids.find(tid); t != tids.end())
                        for (std::size_t pos : t->second) values[pos] = v;
                }
            }
        }
    }
    std::vector<Value> out;
    out.reserve(values.size());
    for (auto& v : values) out.push_back(std::move(*v));
    return out;
}

}  // namespace detail

// ------------------------------------------------------------------------------ Client

Future Client::submit(std::string_view op, std::vector<TaskArg> args, SubmitOptions options) {
    return core_->submit_many(core_, op, {std::move(args)}, {std::move(options)})[0];
}

std::vector<Future> Client::map(std::string_view op, const std::vector<Value>& items, SubmitOptions options) {
    std::vector<std::vector<TaskArg>> args;
    std::vector<SubmitOptions> each;
    for (std::size_t k = 0; k < items.size(); ++k) {
        args.push_back({TaskArg(items[k])});
        SubmitOptions o = options;
        if (!options.key.empty()) o.key = fmt::format("{}-{}", options.key, k);
        each.push_back(std::move(o));
    }
    return core_->submit_many(core_, op, args, each);
}

std::vector<Value> Client::gather(const std::vector<Future>& futures, double timeout_seconds) {
    return core_->gather(futures, timeout_seconds);
}

std::vector<Future> Client::scatter(const std::vector<Value>& values, ScatterOptions options) {
    return core_->scatter(core_, values, options);
}

void Client::cancel(const std::vector<Future>& futures) { core_->cancel(futures); }

std::vector<std::string> Client::who_has(const Future& future) {
    const detail::FutureState& s = state_of(future, core_.get());
    return core_->who_has({s.key})[0].addresses;
}

}  // namespace tessera
