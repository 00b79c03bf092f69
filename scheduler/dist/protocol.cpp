// Wire protocol: header encoding, value packing and multipart send/receive (see protocol.hpp).

#include "scheduler/dist/protocol.hpp"

#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include "tessera/version.hpp"

namespace tessera::dist {

std::string_view to_string(MsgType type) {
    switch (type) {
        case MsgType::Hello: return "hello";
        case MsgType::Welcome: return "welcome";
        case MsgType::Refuse: return "refuse";
        case MsgType::Heartbeat: return "heartbeat";
        case MsgType::Submit: return "submit";
        case MsgType::Cancel: return "cancel";
        case MsgType::RunResult: return "run-result";
        case MsgType::RunError: return "run-error";
        case MsgType::Compute: return "compute";
        case MsgType::TaskDone: return "task-done";
        case MsgType::Release: return "release";
        case MsgType::WorkerLost: return "worker-lost";
        case MsgType::GetData: return "get-data";
        case MsgType::Data: return "data";
        case MsgType::InfoRequest: return "info-request";
        case MsgType::Info: return "info";
        case MsgType::Goodbye: return "goodbye";
        case MsgType::Shutdown: return "shutdown";
        case MsgType::FutureSubmit: return "future-submit";
        case MsgType::FutureRelease: return "future-release";
        case MsgType::FutureCancel: return "future-cancel";
        case MsgType::FutureStatus: return "future-status";
        case MsgType::WhoHas: return "who-has";
        case MsgType::WhoHasReply: return "who-has-reply";
    }
    return "?";
}

// ------------------------------------------------------------------------------ header fields

Writer::Writer() : state_(std::make_unique<State>()) {}

void Writer::put_str(std::string_view s) {
    put(static_cast<std::uint64_t>(s.size()));
    if (!s.empty()) state_->archive(cereal::binary_data(s.data(), s.size()));
}

void Writer::put_i64s(const std::vector<std::int64_t>& v) {
    put(static_cast<std::uint64_t>(v.size()));
    if (!v.empty()) state_->archive(cereal::binary_data(v.data(), v.size() * sizeof(std::int64_t)));
}

void Writer::put_key(const Key& key) {
    put_str(key.name());
    put_i64s(key.index());
}

std::string Writer::take() { return std::move(state_->stream).str(); }

Reader::Reader(const void* data, std::size_t size)
    : buf_(static_cast<const char*>(data), size), stream_(&buf_), archive_(stream_) {}

std::size_t Reader::remaining() const { return buf_.left(); }

void Reader::need(std::size_t n) const {
    if (n > buf_.left())
        throw ProtocolError("truncated message: {} more bytes needed, {} left", n, buf_.left());
}

std::uint64_t Reader::get_count(std::size_t min_item_bytes) {
    const auto n = get<std::uint64_t>();
    const std::size_t unit = std::max<std::size_t>(min_item_bytes, 1);
    if (n > remaining() / unit)
        throw ProtocolError("length {} does not fit in the {} bytes left of the message", n, remaining());
    return n;
}

std::string Reader::get_str() {
    const std::uint64_t n = get_count(1);
    std::string s(static_cast<std::size_t>(n), '\0');
    if (n) archive_(cereal::binary_data(s.data(), s.size()));
    return s;
}

std::vector<std::int64_t> Reader::get_i64s() {
    const std::uint64_t n = get_count(sizeof(std::int64_t));
    std::vector<std::int64_t> v(static_cast<std::size_t>(n));
    if (n) archive_(cereal::binary_data(v.data(), v.size() * sizeof(std::int64_t)));
    return v;
}

Key Reader::get_key() {
    std::string name = get_str();
    std::vector<std::int64_t> index = get_i64s();
    return Key(name, std::move(index));
}

void Reader::finish() const {
    if (remaining() != 0) throw ProtocolError("{} unexpected bytes at the end of the message", remaining());
}

// ------------------------------------------------------------------------------------ values

namespace {

std::string object_type_name(const Value& value) {
    // Value does not expose the held type; its bad-cast message names it.
    struct NotHeld {};
    try {
        (void)value.as<NotHeld>();
    } catch (const Error& e) {
        const std::string_view text = e.what();
        constexpr std::string_view prefix = "value holds ";
        const auto end = text.find(" but ");
        if (text.starts_with(prefix) && end != std::string_view::npos)
            return std::string(text.substr(prefix.size(), end - prefix.size()));
    }
    return "object";
}

void free_buffer(void*, void* hint) { delete static_cast<std::shared_ptr<Buffer>*>(hint); }

void pack_into(const Value& value, WireValue& tree, std::vector<zmq::message_t>& frames, int depth) {
    if (depth > kMaxListDepth)
        throw ValueError("cannot send lists nested deeper than {} levels", kMaxListDepth);
    tree.kind = value.kind();
    switch (value.kind()) {
        case Value::Kind::None: return;
        case Value::Kind::Object:
            throw Error("cannot send a value of C++ type {} to another process", object_type_name(value));
        case Value::Kind::List:
            tree.items.resize(value.list().size());
            for (std::size_t k = 0; k < tree.items.size(); ++k)
                pack_into(value.list()[k], tree.items[k], frames, depth + 1);
            return;
        case Value::Kind::Array: {
            const NDArray array = value.array().contiguous();
            tree.dtype = static_cast<std::uint8_t>(array.dtype().id());
            tree.shape = array.shape();
            tree.frame = static_cast<std::uint32_t>(frames.size());
            const auto nbytes = static_cast<std::size_t>(array.nbytes());
            if (nbytes == 0) {
                frames.emplace_back();
            } else {
                auto* hint = new std::shared_ptr<Buffer>(array.buffer());
                frames.emplace_back(const_cast<void*>(array.raw_data()), nbytes, &free_buffer, hint);
            }
            return;
        }
    }
}

void write_tree(Writer& w, const WireValue& tree, std::uint32_t frame_offset) {
    w.put(static_cast<std::uint8_t>(tree.kind));
    if (tree.kind == Value::Kind::Array) {
        w.put(tree.dtype);
        w.put_i64s(tree.shape);
        w.put(tree.frame + frame_offset);
    } else if (tree.kind == Value::Kind::List) {
        w.put(static_cast<std::uint64_t>(tree.items.size()));
        for (const auto& item : tree.items) write_tree(w, item, frame_offset);
    }
}

void read_tree(Reader& r, WireValue& tree, int depth) {
    if (depth > kMaxListDepth) throw ProtocolError("lists nested deeper than {} levels", kMaxListDepth);
    const auto kind = r.get<std::uint8_t>();
    if (kind == static_cast<std::uint8_t>(Value::Kind::None)) {
        tree.kind = Value::Kind::None;
    } else if (kind == static_cast<std::uint8_t>(Value::Kind::Array)) {
        tree.kind = Value::Kind::Array;
        tree.dtype = r.get<std::uint8_t>();
        if (tree.dtype >= kNumDTypes) throw ProtocolError("unknown dtype code {}", tree.dtype);
        tree.shape = r.get_i64s();
        if (tree.shape.size() > 64) throw ProtocolError("array of {} dimensions", tree.shape.size());
        tree.frame = r.get<std::uint32_t>();
    } else if (kind == static_cast<std::uint8_t>(Value::Kind::List)) {
        tree.kind = Value::Kind::List;
        tree.items.resize(static_cast<std::size_t>(r.get_count(1)));
        for (auto& item : tree.items) read_tree(r, item, depth + 1);
    } else {
        throw ProtocolError("unknown value kind {}", kind);
    }
}

// Moves the frames `tree` refers to from `src` into `dst`, renumbering.
void take_frames(WireValue& tree, std::vector<zmq::message_t>& src, std::vector<bool>& taken,
                 std::vector<zmq::message_t>& dst) {
    if (tree.kind == Value::Kind::Array) {
        if (tree.frame >= src.size())
            throw ProtocolError("value refers to payload frame {} of {}", tree.frame, src.size());
        if (taken[tree.frame]) throw ProtocolError("payload frame {} is used twice", tree.frame);
        taken[tree.frame] = true;
        dst.push_back(std::move(src[tree.frame]));
        tree.frame = static_cast<std::uint32_t>(dst.size() - 1);
    } else if (tree.kind == Value::Kind::List) {
        for (auto& item : tree.items) take_frames(item, src, taken, dst);
    }
}

Value unpack_tree(const WireValue& tree, std::vector<zmq::message_t>& frames) {
    switch (tree.kind) {
        case Value::Kind::None: return Value();
        case Value::Kind::List: {
            ValueList list;
            list.reserve(tree.items.size());
            for (const auto& item : tree.items) list.push_back(unpack_tree(item, frames));
            return Value(std::move(list));
        }
        case Value::Kind::Array: {
            if (tree.frame >= frames.size())
                throw ProtocolError("value refers to payload frame {} of {}", tree.frame, frames.size());
            const DType dtype(static_cast<DTypeId>(tree.dtype));
            std::uint64_t size = 1;
            for (std::int64_t extent : tree.shape) {
                if (extent < 0 || extent > (std::int64_t{1} << 48))
                    throw ProtocolError("bad array extent {}", extent);
                if (extent != 0 && size > std::numeric_limits<std::uint64_t>::max() / 64 / static_cast<std::uint64_t>(extent))
                    throw ProtocolError("array of shape {} is too large", shape_str(tree.shape));
                size *= static_cast<std::uint64_t>(extent);
            }
            const std::uint64_t nbytes = size * static_cast<std::uint64_t>(dtype.itemsize());
            auto frame = std::make_shared<zmq::message_t>(std::move(frames[tree.frame]));
            if (frame->size() != nbytes)
                throw ProtocolError("payload frame of {} bytes for a {} array of shape {} ({} bytes)",
                                    frame->size(), dtype.name(), shape_str(tree.shape), nbytes);
            const auto address = reinterpret_cast<std::uintptr_t>(frame->data());
            if (dtype.is_bool() || nbytes < 4096 || address % Buffer::kAlignment != 0) {
                NDArray out = NDArray::from_data(dtype, tree.shape, frame->data());
                if (dtype.is_bool()) {
                    auto* bytes = static_cast<std::uint8_t*>(out.raw_data());
                    for (std::uint64_t k = 0; k < size; ++k) bytes[k] = bytes[k] != 0;
                }
                return Value(std::move(out));
            }
            void* data = frame->data();
            return Value(NDArray::wrap(dtype, tree.shape, data, std::move(frame)));
        }
        case Value::Kind::Object: break;
    }
    throw ProtocolError("unknown value kind");
}

std::int64_t tree_nbytes(const WireValue& tree, const std::vector<zmq::message_t>& frames) {
    if (tree.kind == Value::Kind::Array && tree.frame < frames.size())
        return static_cast<std::int64_t>(frames[tree.frame].size());
    std::int64_t total = 0;
    for (const auto& item : tree.items) total += tree_nbytes(item, frames);
    return total;
}

}  // namespace

PackedValue PackedValue::share() {
    PackedValue out;
    out.tree = tree;
    out.frames.reserve(frames.size());
    for (auto& frame : frames) {
        out.frames.emplace_back();
        out.frames.back().copy(frame);
    }
    return out;
}

std::int64_t PackedValue::nbytes() const { return tree_nbytes(tree, frames); }

PackedValue pack(const Value& value) {
    PackedValue out;
    pack_into(value, out.tree, out.frames, 0);
    return out;
}

Value unpack(PackedValue&& packed) { return unpack_tree(packed.tree, packed.frames); }

// ---------------------------------------------------------------------------------- messages

Outgoing::Outgoing(MsgType type) {
    w.put(kMagic);
    w.put(static_cast<std::uint8_t>(type));
}

void Outgoing::put_value(PackedValue&& value) {
    write_tree(w, value.tree, static_cast<std::uint32_t>(frames.size()));
    for (auto& frame : value.frames) frames.push_back(std::move(frame));
}

PackedValue Incoming::get_value() {
    PackedValue out;
    read_tree(*r, out.tree, 0);
    if (taken.size() != frames.size()) taken.assign(frames.size(), false);
    take_frames(out.tree, frames, taken, out.frames);
    return out;
}

bool send(zmq::socket_t& socket, const std::string& identity, Outgoing&& msg) {
    try {
        const std::string header = msg.w.take();
        if (!identity.empty() &&
            !socket.send(zmq::buffer(identity), zmq::send_flags::sndmore | zmq::send_flags::dontwait))
            return false;
        const auto more = msg.frames.empty() ? zmq::send_flags::dontwait
                                             : zmq::send_flags::sndmore | zmq::send_flags::dontwait;
        if (!socket.send(zmq::buffer(header), more)) return false;
        for (std::size_t k = 0; k < msg.frames.size(); ++k) {
            const auto flags = k + 1 < msg.frames.size()
                                   ? zmq::send_flags::sndmore | zmq::send_flags::dontwait
                                   : zmq::send_flags::dontwait;
            if (!socket.send(msg.frames[k], flags)) return false;
        }
        return true;
    } catch (const zmq::error_t&) {
        return false;  // EHOSTUNREACH: the peer is gone
    }
}

std::optional<Incoming> receive(zmq::socket_t& socket, bool router, std::string& identity) {
    std::vector<zmq::message_t> parts;
    identity.clear();
    const auto n = zmq::recv_multipart(socket, std::back_inserter(parts), zmq::recv_flags::dontwait);
    if (!n) return std::nullopt;
    std::size_t next = 0;
    if (router) {
        identity = parts[0].to_string();
        next = 1;
    }
    if (parts.size() <= next) throw ProtocolError("message without a header frame");
    Incoming in;
    in.identity = identity;
    in.header = std::make_unique<zmq::message_t>(std::move(parts[next]));
    for (std::size_t k = next + 1; k < parts.size(); ++k) in.frames.push_back(std::move(parts[k]));
    in.r = std::make_unique<Reader>(in.header->data(), in.header->size());
    const auto magic = in.r->get<std::uint32_t>();
    if (magic != kMagic) throw ProtocolError("bad magic number 0x{:08x} (not a tessera peer)", magic);
    const auto type = in.r->get<std::uint8_t>();
    if (type < 1 || type > kMaxMsgType) throw ProtocolError("unknown message type {}", type);
    in.type = static_cast<MsgType>(type);
    return in;
}

// ------------------------------------------------------------------------------------ errors

std::string error_kind(const std::exception_ptr& error) {
    try {
        std::rethrow_exception(error);
    } catch (const Error& e) {
        return e.kind();
    } catch (const std::invalid_argument&) {
        return "std::invalid_argument";
    } catch (const std::out_of_range&) {
        return "std::out_of_range";
    } catch (const std::domain_error&) {
        return "std::domain_error";
    } catch (const std::length_error&) {
        return "std::length_error";
    } catch (const std::logic_error&) {
        return "std::logic_error";
    } catch (const std::range_error&) {
        return "std::range_error";
    } catch (const std::overflow_error&) {
        return "std::overflow_error";
    } catch (const std::underflow_error&) {
        return "std::underflow_error";
    } catch (const std::runtime_error&) {
        return "std::runtime_error";
    } catch (const std::bad_alloc&) {
        return "std::bad_alloc";
    } catch (const std::exception&) {
        return "std::exception";
    } catch (...) {
        return "unknown";
    }
}


std::exception_ptr make_error(const std::string& kind, const std::string& message) {
#define TESSERA_KIND(Name) \
    if (kind == #Name) return std::make_exception_ptr(Name(message));
    TESSERA_KIND(ShapeError)
    TESSERA_KIND(AxisError)
    TESSERA_KIND(DTypeError)
    TESSERA_KIND(ChunkError)
    TESSERA_KIND(ValueError)
    TESSERA_KIND(IndexError)
    TESSERA_KIND(IOError)
    TESSERA_KIND(GraphError)
    TESSERA_KIND(ConfigError)
    TESSERA_KIND(ProtocolError)
    TESSERA_KIND(WorkerError)
    TESSERA_KIND(KilledWorker)
    TESSERA_KIND(CancelledError)
    TESSERA_KIND(NotImplemented)
#undef TESSERA_KIND
#define TESSERA_STD_KIND(Name) \
    if (kind == "std::" #Name) return std::make_exception_ptr(std::Name(message));
    TESSERA_STD_KIND(invalid_argument)
    TESSERA_STD_KIND(out_of_range)
    TESSERA_STD_KIND(domain_error)
    TESSERA_STD_KIND(length_error)
    TESSERA_STD_KIND(logic_error)
    TESSERA_STD_KIND(range_error)
    TESSERA_STD_KIND(overflow_error)
    TESSERA_STD_KIND(underflow_error)
    TESSERA_STD_KIND(runtime_error)
#undef TESSERA_STD_KIND
    return std::make_exception_ptr(Error(message));
}

void log(std::string_view who, std::string_view text) {
    fmt::print(stderr, "tessera {}: {}\n", who, text);
    std::fflush(stderr);
}

std::string version_mismatch(std::string_view own_role, std::string_view peer_role,
                             std::string_view peer_version, std::uint32_t peer_protocol) {
    return fmt::format("version mismatch: {} runs tessera {} (protocol {}), {} runs tessera {} (protocol {})",
                       own_role, version(), kProtocolVersion, peer_role, peer_version, peer_protocol);
}

}  // namespace tessera::dist
