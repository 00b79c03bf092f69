#pragma once
// The cluster's CURVE key pair (see docs/distributed.md, "Security"): `tessera-keygen DIR`
// writes DIR/cluster.key (public, Z85) and DIR/cluster.key_secret (secret, Z85, mode 0600).
// Every process of a cluster holds the same pair: the scheduler and each worker's peer socket
// are CURVE servers with it, and workers and clients connect as CURVE clients presenting it,
// so holding cluster.key_secret is what admits a process. No ZeroMQ here: the programs include
// this header without the library's private dependencies.

#include <optional>
#include <string>

namespace tessera::dist {

/// The environment variable naming the key directory of programs that are not told one.
inline constexpr const char* kCurveKeysEnv = "TESSERA_CURVE_KEYS";
inline constexpr const char* kPublicKeyFile = "cluster.key";
inline constexpr const char* kSecretKeyFile = "cluster.key_secret";

/// A key pair as Z85 text (40 characters each) and the directory it came from.
struct CurveKeys {
    std::string public_key;
    std::string secret_key;
    std::string directory;
};

/// True when the linked libzmq supports CURVE (zmq_has("curve")).
bool curve_available();
/// A fresh random key pair. NotImplemented when libzmq lacks CURVE.
CurveKeys generate_curve_keys();
/// Writes `keys` into `directory` (created with mode 0700 if missing): cluster.key (0644) and
/// cluster.key_secret (0600). IOError when a key file exists and !overwrite, or on a write error.
void write_curve_keys(const std::string& directory, const CurveKeys& keys, bool overwrite);
/// Reads DIR/cluster.key_secret and derives the public key; when DIR/cluster.key exists it must
/// match. ConfigError for a missing or malformed file, a secret readable by other users, a
/// public key that does not match, or a libzmq without CURVE.
CurveKeys read_curve_keys(const std::string& directory);
/// The key directory to use: `configured` when not empty, else $TESSERA_CURVE_KEYS when set and
/// not empty, else "" (no CURVE).
std::string resolve_curve_key_dir(const std::string& configured);
/// read_curve_keys(resolve_curve_key_dir(configured)), or nothing when that is "".
std::optional<CurveKeys> find_curve_keys(const std::string& configured);

/// "localhost", "::1" and 127.0.0.0/8.
bool is_loopback_host(const std::string& host);
/// ConfigError "refusing to bind WHAT to non-loopback host 'H' without CURVE keys (...)" unless
/// `host` is loopback, `secured` or `insecure_bind_all`.
void check_bind_allowed(const std::string& what, const std::string& host, bool secured, bool insecure_bind_all);

}  // namespace tessera::dist
