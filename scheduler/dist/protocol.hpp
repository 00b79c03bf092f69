#pragma once
// The wire protocol between scheduler, workers and clients.
//
// Sockets: the scheduler has a ROUTER; workers and clients connect DEALERs to it; each worker
// also has a ROUTER for its peers (other workers fetching data). A message is a multipart ZeroMQ
// message: [identity (ROUTER side only)] header payload*. The header is cereal binary: a magic
// number, the message type, then the type's fields. Arrays travel as separate payload frames of
// raw bytes (zero-copy on send); their dtype, shape and strides are in the header.
//
// Every length read from a header is checked against the bytes left before anything is
// allocated, and list nesting is bounded, so malformed input raises ProtocolError and nothing
// else.

#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <cereal/archives/binary.hpp>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "tessera/error.hpp"
#include "tessera/graph.hpp"
#include "tessera/value.hpp"

namespace tessera::dist {

inline constexpr std::uint32_t kMagic = 0x54535231;  // "TSR1"
inline constexpr std::uint32_t kProtocolVersion = 2;  // 2: task timings in TaskDone, worker figures in Heartbeat
inline constexpr int kMaxListDepth = 32;

enum class MsgType : std::uint8_t {
    Hello = 1,    // worker/client -> scheduler
    Welcome,      // scheduler -> worker/client
    Refuse,       // scheduler -> worker/client (then the peer is ignored)
    Heartbeat,    // both ways
    Submit,       // client -> scheduler: a graph
    Cancel,       // client -> scheduler
    RunResult,    // scheduler -> client
    RunError,     // scheduler -> client
    Compute,      // scheduler -> worker: a batch of tasks
    TaskDone,     // worker -> scheduler: a batch of completions
    Release,      // scheduler -> worker: drop these results
    WorkerLost,   // scheduler -> workers: fail fetches from this peer
    GetData,      // worker -> worker
    Data,         // worker -> worker
    InfoRequest,  // client -> scheduler
    Info,         // scheduler -> client
    Goodbye,      // worker/client -> scheduler
    Shutdown,     // scheduler -> worker
    FutureSubmit,   // client -> scheduler: tasks whose results stay on the workers
    FutureRelease,  // client -> scheduler: keys no Future refers to any more
    FutureCancel,   // client -> scheduler
    FutureStatus,   // scheduler -> client: a batch of finished / erred / cancelled keys
    WhoHas,         // client -> scheduler: where are these keys
    WhoHasReply,    // scheduler -> client
};
inline constexpr std::uint8_t kMaxMsgType = static_cast<std::uint8_t>(MsgType::WhoHasReply);

std::string_view to_string(MsgType type);

/// Serializes header fields with cereal's binary archive.
class Writer {
public:
    Writer();
    template <class T>
        requires std::is_arithmetic_v<T>
    void put(T v) {
        state_->archive(v);
    }
    void put_str(std::string_view s);
    void put_i64s(const std::vector<std::int64_t>& v);
    void put_key(const Key& key);
    std::string take();

private:
    // On the heap so that messages being built can move (archives cannot).
    struct State {
        std::ostringstream stream;
        cereal::BinaryOutputArchive archive{stream};
    };
    std::unique_ptr<State> state_;
};

/// Reads header fields; every failure is a ProtocolError.
class Reader {
public:
    Reader(const void* data, std::size_t size);
    template <class T>
        requires std::is_arithmetic_v<T>
    T get() {
        need(sizeof(T));
        T v{};
        archive_(v);
        return v;
    }
    /// A count of items of at least `min_item_bytes` each that must fit in what is left.
    std::uint64_t get_count(std::size_t min_item_bytes);
    std::string get_str();
    std::vector<std::int64_t> get_i64s();
    Key get_key();
    bool get_bool() { return get<std::uint8_t>() != 0; }
    std::size_t remaining() const;
    /// ProtocolError when bytes are left over.
    void finish() const;

private:
    void need(std::size_t n) const;
    struct Buf : std::streambuf {
        Buf(const char* data, std::size_t size) {
            char* p = const_cast<char*>(data);
            setg(p, p, p + size);
        }
        std::size_t left() const { return static_cast<std::size_t>(egptr() - gptr()); }
    };
    Buf buf_;
    std::istream stream_;
    cereal::BinaryInputArchive archive_;
};

/// A Value's structure as described in a header; arrays point at payload frames.
struct WireValue {
    Value::Kind kind = Value::Kind::None;
    std::uint8_t dtype = 0;
    std::vector<std::int64_t> shape, strides;
    std::uint32_t frame = 0;
    std::vector<WireValue> items;
};

/// A Value in wire form: structure plus the payload frames it refers to (indices into frames).
struct PackedValue {
    WireValue tree;
    std::vector<zmq::message_t> frames;
    PackedValue() = default;
    PackedValue(PackedValue&&) = default;
    PackedValue& operator=(PackedValue&&) = default;
    /// Another PackedValue sharing the same frame data (zmq reference counting; no byte copy).
    PackedValue share();
    std::int64_t nbytes() const;
};

/// Packs `value`; arrays are sent without copying (the frames hold the buffers alive).
/// Error "cannot send a value of C++ type X to another process" for objects.
PackedValue pack(const Value& value);
/// Rebuilds a Value, checking every frame's size against dtype and shape (ProtocolError).
Value unpack(PackedValue&& packed);

/// A message being built: header writer plus payload frames.
struct Outgoing {
    explicit Outgoing(MsgType type);
    Writer w;
    std::vector<zmq::message_t> frames;
    /// Writes `value`'s structure and moves its frames in (renumbered).
    void put_value(PackedValue&& value);
};

/// A received message: type, header reader and payload frames.
struct Incoming {
    MsgType type{};
    std::string identity;  // ROUTER side only
    // On the heap: a small message keeps its bytes inside the message_t, and r points at them.
    std::unique_ptr<zmq::message_t> header;
    std::vector<zmq::message_t> frames;
    std::unique_ptr<Reader> r;
    std::vector<bool> taken;  // payload frames already claimed by get_value
    /// Reads a value's structure and takes its frames out of `frames` (each frame once).
    PackedValue get_value();
};

/// Sends on a DEALER (empty identity) or ROUTER. False when the peer is unreachable
/// (ROUTER_MANDATORY) or the send would block; never throws for that.
bool send(zmq::socket_t& socket, const std::string& identity, Outgoing&& msg);
/// Receives one message without blocking; nullopt when none is waiting. Throws ProtocolError for
/// a malformed message (after consuming all of its frames); `identity` is set first so the
/// caller can drop the sender.
std::optional<Incoming> receive(zmq::socket_t& socket, bool router, std::string& identity);

/// Error kinds across processes: the kind of an exception (Error::kind(), or the std exception
/// name) and the exception rebuilt from a kind and a message.
std::string error_kind(const std::exception_ptr& error);
std::exception_ptr make_error(const std::string& kind, const std::string& message);

/// Writes a line "tessera <who>: <text>" to stderr.
void log(std::string_view who, std::string_view text);

/// The ProtocolError "version mismatch: ..." text shared by refusals.
std::string version_mismatch(std::string_view own_role, std::string_view peer_role,
                             std::string_view peer_version, std::uint32_t peer_protocol);

}  // namespace tessera::dist
