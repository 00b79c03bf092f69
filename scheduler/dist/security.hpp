#pragma once
// ZeroMQ CURVE on the cluster's sockets (keys: curve_keys.hpp).
//
// Servers (the scheduler's ROUTER, each worker's peer ROUTER) get a CurveServer: the socket
// becomes a CURVE server with the cluster key pair, and a ZAP handler thread in the socket's
// context admits only clients presenting the cluster public key (a client can only present it
// if it holds the matching secret key). Rejected handshakes are logged (rate-limited); the peer
// never delivers a message. Connecting sides call set_curve_client before connect() and watch
// the handshake with a HandshakeWatch to fail fast with a clear message instead of waiting for
// a reply that never comes.

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>

#include <zmq.hpp>

#include "scheduler/dist/curve_keys.hpp"

namespace tessera::dist {

/// Makes `socket` (not yet connected) a CURVE client presenting the cluster key pair and
/// expecting a server holding it.
void set_curve_client(zmq::socket_t& socket, const CurveKeys& keys);

/// CURVE server setup and a ZAP handler for one socket; construct before bind(), destroy before
/// the socket and the context (declare it after them). One per context (the ZAP endpoint is
/// per context). `who` prefixes the log lines ("scheduler", a worker's name).
class CurveServer {
public:
    CurveServer(zmq::context_t& context, zmq::socket_t& socket, const CurveKeys& keys, std::string who);
    ~CurveServer();
    CurveServer(const CurveServer&) = delete;
    CurveServer& operator=(const CurveServer&) = delete;

private:
    void loop();
    void answer_zap();
    void read_monitor();
    void log_rejection(const std::string& text);

    zmq::socket_t& socket_;
    zmq::socket_t zap_, monitor_;
    std::string who_, monitor_endpoint_;
    std::string public_key_binary_;  // 32 bytes
    std::int64_t n_rejected_ = 0;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

/// Watches the handshakes of a connecting socket (construct before connect()); same thread as
/// the socket. Destroying it stops the monitor.
class HandshakeWatch {
public:
    HandshakeWatch(zmq::context_t& context, zmq::socket_t& socket);
    ~HandshakeWatch();
    HandshakeWatch(const HandshakeWatch&) = delete;
    HandshakeWatch& operator=(const HandshakeWatch&) = delete;

    /// Reads the pending events without blocking: true when a handshake failed (a wrong key, no
    /// key, or a key against a plain scheduler; libzmq does not tell these apart reliably).
    bool failed();
    /// For zmq::poll: readable when events are pending.
    zmq::socket_t& events() { return monitor_; }

private:
    zmq::socket_t& socket_;
    zmq::socket_t monitor_;
};

/// Why a handshake with the scheduler failed, for messages: "it requires a CURVE key and this
/// SIDE has none (HINT)" without own keys, else "it did not accept the CURVE key in DIR
/// (another cluster's key, or a scheduler without keys)". `side` is "client" or "worker";
/// `hint` says where keys are configured.
std::string handshake_failure_reason(const std::optional<CurveKeys>& own, const std::string& side,
                                     const std::string& hint);

}  // namespace tessera::dist
