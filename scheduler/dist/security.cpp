// CURVE keys, the ZAP handler and handshake watching (see curve_keys.hpp and security.hpp).

#include "scheduler/dist/security.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <fmt/format.h>
#include <zmq_addon.hpp>

#include "scheduler/dist/protocol.hpp"
#include "tessera/error.hpp"

namespace tessera::dist {

namespace {

constexpr std::size_t kZ85KeySize = 40;

std::string trimmed(std::string text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return {};
    const auto last = text.find_last_not_of(" \t\r\n");
    return text.substr(first, last - first + 1);
}

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return trimmed(text.str());
}

bool valid_z85_key(const std::string& key) {
    if (key.size() != kZ85KeySize) return false;
    std::array<std::uint8_t, 32> binary{};
    return zmq_z85_decode(binary.data(), key.c_str()) != nullptr;
}

void write_file(const std::string& path, const std::string& text, mode_t mode, bool overwrite) {
    const int flags = O_WRONLY | O_CREAT | O_TRUNC | (overwrite ? 0 : O_EXCL);
    const int fd = ::open(path.c_str(), flags, mode);
    if (fd < 0) {
        if (errno == EEXIST) throw IOError("{} already exists; pass --force to replace the cluster key", path);
        throw IOError("cannot write {}: {}", path, std::strerror(errno));
    }
    const std::string line = text + "\n";
    const bool ok = ::fchmod(fd, mode) == 0 &&
                    ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    const int error = errno;
    ::close(fd);
    if (!ok) throw IOError("cannot write {}: {}", path, std::strerror(error));
}

std::string monitor_endpoint(const char* kind) {
    static std::atomic<std::uint64_t> counter{0};
    return fmt::format("inproc://tessera-{}-monitor-{}-{}", kind, ::getpid(), counter.fetch_add(1));
}

struct MonitorEvent {
    std::uint16_t event = 0;
    std::uint32_t value = 0;
};

// One event from a monitor socket, or nothing when none is pending.
std::optional<MonitorEvent> next_event(zmq::socket_t& monitor) {
    std::vector<zmq::message_t> frames;
    if (!zmq::recv_multipart(monitor, std::back_inserter(frames), zmq::recv_flags::dontwait)) return std::nullopt;
    MonitorEvent e;
    if (frames.empty() || frames[0].size() < 6) return e;
    std::memcpy(&e.event, frames[0].data(), sizeof e.event);
    std::memcpy(&e.value, static_cast<const char*>(frames[0].data()) + 2, sizeof e.value);
    return e;
}

}  // namespace

// ------------------------------------------------------------------------------------ keys

bool curve_available() { return zmq_has("curve") != 0; }

CurveKeys generate_curve_keys() {
    if (!curve_available()) throw NotImplemented("this libzmq was built without CURVE support");
    std::array<char, kZ85KeySize + 1> public_key{}, secret_key{};
    if (zmq_curve_keypair(public_key.data(), secret_key.data()) != 0)
        throw IOError("cannot generate a CURVE key pair: {}", zmq_strerror(zmq_errno()));
    return CurveKeys{public_key.data(), secret_key.data(), {}};
}

void write_curve_keys(const std::string& directory, const CurveKeys& keys, bool overwrite) {
    std::error_code ec;
    if (!std::filesystem::is_directory(directory, ec)) {
        if (::mkdir(directory.c_str(), 0700) != 0)
            throw IOError("cannot create the key directory {}: {}", directory, std::strerror(errno));
    }
    const std::string secret_path = directory + "/" + kSecretKeyFile;
    const std::string public_path = directory + "/" + kPublicKeyFile;
    if (!overwrite)
        for (const std::string& path : {secret_path, public_path})
            if (std::filesystem::exists(path, ec))
                throw IOError("{} already exists; pass --force to replace the cluster key", path);
    write_file(secret_path, keys.secret_key, 0600, overwrite);
    write_file(public_path, keys.public_key, 0644, overwrite);
}

CurveKeys read_curve_keys(const std::string& directory) {
    if (!curve_available()) throw ConfigError("CURVE keys are configured but this libzmq has no CURVE support");
    const std::string secret_path = directory + "/" + kSecretKeyFile;
    struct stat st{};
    if (::stat(secret_path.c_str(), &st) != 0)
        throw ConfigError("no CURVE key in '{}': cannot read {} (create one with tessera-keygen)", directory,
                          secret_path);
    if ((st.st_mode & 077) != 0)
        throw ConfigError("{} is accessible by other users (mode {:04o}); run chmod 600 on it", secret_path,
                          st.st_mode & 07777);
    CurveKeys keys;
    keys.directory = directory;
    keys.secret_key = read_text(secret_path);
    if (!valid_z85_key(keys.secret_key))
        throw ConfigError("{} does not hold a CURVE secret key (40 Z85 characters)", secret_path);
    std::array<char, kZ85KeySize + 1> public_key{};
    if (zmq_curve_public(public_key.data(), keys.secret_key.c_str()) != 0)
        throw ConfigError("cannot derive the public key from {}", secret_path);
    keys.public_key = public_key.data();
    const std::string public_path = directory + "/" + kPublicKeyFile;
    std::error_code ec;
    if (std::filesystem::exists(public_path, ec) && read_text(public_path) != keys.public_key)
        throw ConfigError("{} does not match {}; regenerate both with tessera-keygen --force", public_path,
                          secret_path);
    return keys;
}

std::string resolve_curve_key_dir(const std::string& configured) {
    if (!configured.empty()) return configured;
    const char* env = std::getenv(kCurveKeysEnv);
    return env ? std::string(env) : std::string();
}

std::optional<CurveKeys> find_curve_keys(const std::string& configured) {
    const std::string directory = resolve_curve_key_dir(configured);
    if (directory.empty()) return std::nullopt;
    return read_curve_keys(directory);
}

bool is_loopback_host(const std::string& host) {
    return host == "localhost" || host == "::1" || host == "[::1]" || host.starts_with("127.");
}

void check_bind_allowed(const std::string& what, const std::string& host, bool secured, bool insecure_bind_all) {
    if (secured || insecure_bind_all || is_loopback_host(host)) return;
    throw ConfigError("refusing to bind {} to non-loopback host '{}' without CURVE keys (--curve-key-dir or {}) "
                      "or --insecure-bind-all",
                      what, host, kCurveKeysEnv);
}

// --------------------------------------------------------------------------------- sockets

void set_curve_client(zmq::socket_t& socket, const CurveKeys& keys) {
    socket.set(zmq::sockopt::curve_serverkey, keys.public_key);
    socket.set(zmq::sockopt::curve_publickey, keys.public_key);
    socket.set(zmq::sockopt::curve_secretkey, keys.secret_key);
}

CurveServer::CurveServer(zmq::context_t& context, zmq::socket_t& socket, const CurveKeys& keys, std::string who)
    : socket_(socket),
      zap_(context, zmq::socket_type::rep),
      monitor_(context, zmq::socket_type::pair),
      who_(std::move(who)),
      monitor_endpoint_(monitor_endpoint("curve")) {
    public_key_binary_.resize(32);
    zmq_z85_decode(reinterpret_cast<std::uint8_t*>(public_key_binary_.data()), keys.public_key.c_str());
    zap_.set(zmq::sockopt::linger, 0);
    monitor_.set(zmq::sockopt::linger, 0);
    try {
        zap_.bind("inproc://zeromq.zap.01");
    } catch (const zmq::error_t& e) {
        throw IOError("cannot start the CURVE authenticator of {}: {}", who_, e.what());
    }
    socket_.set(zmq::sockopt::curve_server, 1);
    socket_.set(zmq::sockopt::curve_secretkey, keys.secret_key);
    socket_.set(zmq::sockopt::zap_domain, "tessera");
    if (zmq_socket_monitor(socket_.handle(), monitor_endpoint_.c_str(),
                           ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) != 0)
        throw IOError("cannot monitor the socket of {}: {}", who_, zmq_strerror(zmq_errno()));
    monitor_.connect(monitor_endpoint_);
    thread_ = std::thread([this] { loop(); });
}

CurveServer::~CurveServer() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
    zmq_socket_monitor(socket_.handle(), nullptr, 0);
}

void CurveServer::loop() {
    std::vector<zmq::pollitem_t> items{{zap_.handle(), 0, ZMQ_POLLIN, 0}, {monitor_.handle(), 0, ZMQ_POLLIN, 0}};
    while (!stop_.load()) {
        try {
            zmq::poll(items, std::chrono::milliseconds(100));
            answer_zap();
            read_monitor();
        } catch (const zmq::error_t& e) {
            if (e.num() == ETERM) return;
            if (e.num() != EINTR) log(who_, fmt::format("CURVE authenticator: {}", e.what()));
        }
    }
}

void CurveServer::answer_zap() {
    for (;;) {
        std::vector<zmq::message_t> request;
        if (!zmq::recv_multipart(zap_, std::back_inserter(request), zmq::recv_flags::dontwait)) return;
        if (request.size() < 6) continue;  // not a ZAP request; REP needs no answer to recover
        const std::string address = request[3].to_string();
        const std::string mechanism = request[5].to_string();
        const bool ok = mechanism == "CURVE" && request.size() >= 7 && request[6].to_string() == public_key_binary_;
        if (!ok) log_rejection(fmt::format("rejected a connection from {}: its CURVE key is not this cluster's", address));
        const std::string status = ok ? "200" : "400", text = ok ? "OK" : "unknown key";
        std::array<zmq::const_buffer, 6> reply{zmq::buffer(request[0].data(), request[0].size()),
                                               zmq::buffer(request[1].data(), request[1].size()),
                                               zmq::buffer(status), zmq::buffer(text), zmq::const_buffer(),
                                               zmq::const_buffer()};
        zmq::send_multipart(zap_, reply);
    }
}

void CurveServer::read_monitor() {
    // The event says little about the cause (a plain peer shows as a mechanism mismatch or an
    // unexpected command, depending on timing), so the message names both; the code helps
    // debugging.
    while (std::optional<MonitorEvent> e = next_event(monitor_))
        log_rejection(fmt::format("rejected a connection that failed the CURVE handshake (no key or another "
                                  "cluster's key; event {:#x}, code {:#x})",
                                  e->event, e->value));
}

void CurveServer::log_rejection(const std::string& text) {
    ++n_rejected_;
    if (n_rejected_ <= 10 || n_rejected_ % 1000 == 0)
        log(who_, n_rejected_ <= 10 ? text : fmt::format("{} ({} rejected so far)", text, n_rejected_));
}

HandshakeWatch::HandshakeWatch(zmq::context_t& context, zmq::socket_t& socket)
    : socket_(socket), monitor_(context, zmq::socket_type::pair) {
    const std::string endpoint = monitor_endpoint("handshake");
    monitor_.set(zmq::sockopt::linger, 0);
    if (zmq_socket_monitor(socket_.handle(), endpoint.c_str(),
                           ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0)
        throw IOError("cannot monitor a socket: {}", zmq_strerror(zmq_errno()));
    monitor_.connect(endpoint);
}

HandshakeWatch::~HandshakeWatch() { zmq_socket_monitor(socket_.handle(), nullptr, 0); }

bool HandshakeWatch::failed() {
    // Which event arrives first is a race (the server may close before its ERROR is read, which
    // the client sees as EPIPE), so every kind of failure counts the same.
    bool any = false;
    while (next_event(monitor_)) any = true;
    return any;
}

std::string handshake_failure_reason(const std::optional<CurveKeys>& own, const std::string& side,
                                     const std::string& hint) {
    if (!own) return fmt::format("it requires a CURVE key and this {} has none ({})", side, hint);
    return fmt::format("it did not accept the CURVE key in {} (another cluster's key, or a scheduler without keys)",
                       own->directory);
}

}  // namespace tessera::dist
