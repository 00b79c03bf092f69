// Encoders and decoders of the shared message bodies (see messages.hpp).

#include "scheduler/dist/messages.hpp"

#include <utility>

namespace tessera::dist {

namespace {

void put_strs(Writer& w, const std::vector<std::string>& v) {
    w.put(static_cast<std::uint64_t>(v.size()));
    for (const auto& s : v) w.put_str(s);
}

std::vector<std::string> get_strs(Reader& r) {
    std::vector<std::string> v(static_cast<std::size_t>(r.get_count(8)));
    for (auto& s : v) s = r.get_str();
    return v;
}

void put_optional_value(Outgoing& out, std::optional<PackedValue>&& value) {
    out.w.put(static_cast<std::uint8_t>(value.has_value()));
    if (value) out.put_value(std::move(*value));
}

std::optional<PackedValue> get_optional_value(Incoming& in) {
    if (!in.r->get_bool()) return std::nullopt;
    return in.get_value();
}

}  // namespace

Outgoing encode(const Hello& hello) {
    Outgoing out(MsgType::Hello);
    out.w.put(hello.protocol);
    out.w.put_str(hello.version);
    out.w.put(static_cast<std::uint8_t>(hello.role));
    out.w.put_str(hello.name);
    out.w.put(hello.nthreads);
    out.w.put_str(hello.address);
    out.w.put(hello.memory_limit);
    out.w.put(hello.pid);
    put_strs(out.w, hello.ops);
    return out;
}

Hello decode_hello(Incoming& in) {
    Reader& r = *in.r;
    Hello hello;
    // The protocol number and version come first so that any later change still lets an old
    // peer be refused with a clear message.
    hello.protocol = r.get<std::uint32_t>();
    hello.version = r.get_str();
    if (hello.protocol != kProtocolVersion) return hello;
    const auto role = r.get<std::uint8_t>();
    if (role != 1 && role != 2) throw ProtocolError("unknown peer role {}", role);
    hello.role = static_cast<Role>(role);
    hello.name = r.get_str();
    hello.nthreads = r.get<std::int32_t>();
    hello.address = r.get_str();
    hello.memory_limit = r.get<std::int64_t>();
    hello.pid = r.get<std::int64_t>();
    hello.ops = get_strs(r);
    r.finish();
    if (hello.role == Role::Worker && (hello.nthreads < 1 || hello.nthreads > 4096))
        throw ProtocolError("worker announces {} threads", hello.nthreads);
    return hello;
}

Outgoing encode(Submit&& submit) {
    Outgoing out(MsgType::Submit);
    out.w.put(submit.run);
    out.w.put(static_cast<std::uint64_t>(submit.tasks.size()));
    for (auto& task : submit.tasks) {
        out.w.put_key(task.key);
        out.w.put_str(task.op);
        out.w.put_str(task.params);
        out.w.put_i64s(task.deps);
        out.w.put(task.nbytes_hint);
        out.w.put(task.priority);
        put_optional_value(out, std::move(task.constant));
    }
    out.w.put_i64s(submit.outputs);
    return out;
}

Submit decode_submit(Incoming& in) {
    Reader& r = *in.r;
    Submit submit;
    submit.run = r.get<std::uint64_t>();
    submit.tasks.resize(static_cast<std::size_t>(r.get_count(40)));
    const auto n = static_cast<std::int64_t>(submit.tasks.size());
    for (auto& task : submit.tasks) {
        task.key = r.get_key();
        task.op = r.get_str();
        task.params = r.get_str();
        task.deps = r.get_i64s();
        for (std::int64_t d : task.deps)
            if (d < 0 || d >= n) throw ProtocolError("dependency position {} of a graph of {} tasks", d, n);
        task.nbytes_hint = r.get<std::int64_t>();
        task.priority = r.get<std::int64_t>();
        task.constant = get_optional_value(in);
    }
    submit.outputs = r.get_i64s();
    for (std::int64_t o : submit.outputs)
        if (o < 0 || o >= n) throw ProtocolError("output position {} of a graph of {} tasks", o, n);
    r.finish();
    return submit;
}

void write_compute_item(Outgoing& out, ComputeItem&& item) {
    out.w.put(item.tid);
    out.w.put_key(item.key);
    out.w.put_str(item.op);
    out.w.put_str(item.params);
    out.w.put(static_cast<std::uint64_t>(item.deps.size()));
    for (const auto& dep : item.deps) {
        out.w.put(dep.tid);
        put_strs(out.w, dep.who_has);
    }
    out.w.put(static_cast<std::uint8_t>(item.send_result));
    put_optional_value(out, std::move(item.constant));
}

ComputeItem read_compute_item(Incoming& in) {
    Reader& r = *in.r;
    ComputeItem item;
    item.tid = r.get<std::uint64_t>();
    item.key = r.get_key();
    item.op = r.get_str();
    item.params = r.get_str();
    item.deps.resize(static_cast<std::size_t>(r.get_count(16)));
    for (auto& dep : item.deps) {
        dep.tid = r.get<std::uint64_t>();
        dep.who_has = get_strs(r);
    }
    item.send_result = r.get_bool();
    item.constant = get_optional_value(in);
    return item;
}

void write_done_item(Outgoing& out, DoneItem&& item) {
    out.w.put(item.tid);
    out.w.put(static_cast<std::uint8_t>(item.status));
    out.w.put(item.nbytes);
    out.w.put_str(item.error_kind);
    out.w.put_str(item.error_message);
    out.w.put(item.missing_tid);
    put_strs(out.w, item.failed_addresses);
    put_optional_value(out, std::move(item.value));
    out.w.put(item.thread);
    out.w.put(item.start_ns);
    out.w.put(item.stop_ns);
}

DoneItem read_done_item(Incoming& in) {
    Reader& r = *in.r;
    DoneItem item;
    item.tid = r.get<std::uint64_t>();
    const auto status = r.get<std::uint8_t>();
    if (status > 2) throw ProtocolError("unknown task status {}", status);
    item.status = static_cast<DoneItem::Status>(status);
    item.nbytes = r.get<std::int64_t>();
    item.error_kind = r.get_str();
    item.error_message = r.get_str();
    item.missing_tid = r.get<std::uint64_t>();
    item.failed_addresses = get_strs(r);
    item.value = get_optional_value(in);
    item.thread = r.get<std::int32_t>();
    item.start_ns = r.get<std::int64_t>();
    item.stop_ns = r.get<std::int64_t>();
    return item;
}

Outgoing encode(const WorkerMetrics& metrics) {
    Outgoing out(MsgType::Heartbeat);
    out.w.put(metrics.memory_bytes);
    out.w.put(metrics.spilled_bytes);
    out.w.put(metrics.rss_bytes);
    out.w.put(metrics.cpu_percent);
    out.w.put(metrics.n_executing);
    return out;
}

std::optional<WorkerMetrics> decode_worker_metrics(Incoming& in) {
    Reader& r = *in.r;
    if (r.remaining() == 0) return std::nullopt;
    WorkerMetrics m;
    m.memory_bytes = r.get<std::int64_t>();
    m.spilled_bytes = r.get<std::int64_t>();
    m.rss_bytes = r.get<std::int64_t>();
    m.cpu_percent = r.get<double>();
    m.n_executing = r.get<std::int64_t>();
    r.finish();
    return m;
}

// ------------------------------------------------------------------------------- futures

Outgoing encode(std::vector<FutureSpec>&& specs) {
    Outgoing out(MsgType::FutureSubmit);
    out.w.put(static_cast<std::uint64_t>(specs.size()));
    for (auto& spec : specs) {
        out.w.put_key(spec.key);
        out.w.put_str(spec.op);
        out.w.put_str(spec.params);
        out.w.put(static_cast<std::uint64_t>(spec.deps.size()));
        for (const Key& d : spec.deps) out.w.put_key(d);
        out.w.put(spec.priority);
        out.w.put(static_cast<std::uint8_t>(spec.held));
        out.w.put(static_cast<std::uint8_t>(spec.broadcast));
        put_optional_value(out, std::move(spec.constant));
    }
    return out;
}

std::vector<FutureSpec> decode_future_submit(Incoming& in) {
    Reader& r = *in.r;
    std::vector<FutureSpec> specs(static_cast<std::size_t>(r.get_count(40)));
    for (auto& spec : specs) {
        spec.key = r.get_key();
        spec.op = r.get_str();
        spec.params = r.get_str();
        spec.deps.resize(static_cast<std::size_t>(r.get_count(16)));
        for (Key& d : spec.deps) d = r.get_key();
        spec.priority = r.get<std::int64_t>();
        spec.held = r.get_bool();
        spec.broadcast = r.get_bool();
        spec.constant = get_optional_value(in);
    }
    r.finish();
    return specs;
}

Outgoing encode_keys(MsgType type, std::uint64_t request, const std::vector<Key>& keys) {
    Outgoing out(type);
    out.w.put(request);
    out.w.put(static_cast<std::uint64_t>(keys.size()));
    for (const Key& k : keys) out.w.put_key(k);
    return out;
}

std::vector<Key> decode_keys(Incoming& in, std::uint64_t& request) {
    Reader& r = *in.r;
    request = r.get<std::uint64_t>();
    std::vector<Key> keys(static_cast<std::size_t>(r.get_count(16)));
    for (Key& k : keys) k = r.get_key();
    r.finish();
    return keys;
}

void write_status_item(Writer& w, const FutureStatusItem& item) {
    w.put_key(item.key);
    w.put(static_cast<std::uint8_t>(item.status));
    w.put(item.nbytes);
    w.put_str(item.error_kind);
    w.put_str(item.error_message);
    w.put_key(item.origin);
}

FutureStatusItem read_status_item(Reader& r) {
    FutureStatusItem item;
    item.key = r.get_key();
    const auto status = r.get<std::uint8_t>();
    if (status < 1 || status > 3) throw ProtocolError("unknown future status {}", status);
    item.status = static_cast<FutureStatusItem::Status>(status);
    item.nbytes = r.get<std::int64_t>();
    item.error_kind = r.get_str();
    item.error_message = r.get_str();
    item.origin = r.get_key();
    return item;
}

void write_who_has_item(Writer& w, const WhoHasItem& item) {
    w.put(static_cast<std::uint8_t>(item.found));
    w.put(static_cast<std::uint8_t>(item.in_memory));
    w.put(static_cast<std::uint8_t>(item.erred));
    w.put(item.tid);
    put_strs(w, item.addresses);
}

WhoHasItem read_who_has_item(Reader& r) {
    WhoHasItem item;
    item.found = r.get_bool();
    item.in_memory = r.get_bool();
    item.erred = r.get_bool();
    item.tid = r.get<std::uint64_t>();
    item.addresses = get_strs(r);
    return item;
}

}  // namespace tessera::dist
