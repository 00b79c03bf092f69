// tessera-keygen DIR [--force]
//
// Writes a new cluster CURVE key pair: DIR/cluster.key (public) and DIR/cluster.key_secret
// (secret, mode 0600). Copy DIR to every machine of the cluster and start tessera-scheduler and
// tessera-worker with --curve-key-dir DIR (clients: TESSERA_CURVE_KEYS=DIR).

#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "scheduler/dist/curve_keys.hpp"

int main(int argc, char** argv) {
    CLI::App app{"Tessera keygen: writes the CURVE key pair that secures a tessera cluster"};
    std::string directory;
    bool force = false;
    app.add_option("directory", directory, "Directory for cluster.key and cluster.key_secret (created if missing)")
        ->required();
    app.add_flag("--force", force, "Replace an existing key pair");
    CLI11_PARSE(app, argc, argv);
    try {
        namespace dist = tessera::dist;
        dist::write_curve_keys(directory, dist::generate_curve_keys(), force);
        fmt::print("tessera-keygen: wrote {0}/{1} and {0}/{2}\n"
                   "Copy {0} to every machine of the cluster (keep {2} private) and pass --curve-key-dir {0}\n"
                   "to tessera-scheduler and tessera-worker, or set {3}={0}.\n",
                   directory, dist::kPublicKeyFile, dist::kSecretKeyFile, dist::kCurveKeysEnv);
    } catch (const std::exception& e) {
        fmt::print(stderr, "tessera-keygen: {}\n", e.what());
        return 1;
    }
    return 0;
}
