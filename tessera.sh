#!/usr/bin/env bash
# Tessera's one entry point for newcomers and CI.
#   ./tessera.sh demo   install what is missing, build (Release, Ninja, build/), run the flagship demo
#   ./tessera.sh test   install what is missing, build, run every test (ctest)
#   ./tessera.sh build  install what is missing and build only
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
BUILD="${TESSERA_BUILD_DIR:-$ROOT/build}"
JOBS="${TESSERA_JOBS:-$(nproc)}"

# Debian packages the build, the tests and the examples need.
PACKAGES=(
  g++ cmake ninja-build pkg-config
  libfmt-dev libtbb-dev libxtensor-dev libxsimd-dev libcereal-dev doctest-dev
  libzmq3-dev cppzmq-dev libblosc-dev libzstd-dev zlib1g-dev libbz2-dev liblz4-dev
  libnetcdf-dev nlohmann-json3-dev libcpp-httplib-dev libcli11-dev libopenblas-dev
  python3 python3-numpy python3-zarr python3-numcodecs python3-xarray python3-netcdf4
  libplplot-dev plplot-driver-cairo
)

# The browser test of the dashboard: Debian's chromium driven by playwright-core from npm.
TEST_PACKAGES=(chromium)

install_missing() {
  local wanted=("${PACKAGES[@]}" "$@") missing=()
  # Node.js may come from elsewhere than Debian; only install Debian's when there is none.
  if [ "$#" -gt 0 ] && ! command -v node >/dev/null 2>&1; then wanted+=(nodejs); fi
  if [ "$#" -gt 0 ] && ! command -v npm >/dev/null 2>&1; then wanted+=(npm); fi
  for p in "${wanted[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$p")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  echo "tessera.sh: installing missing Debian packages: ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
}

build() {  # build [TARGET...]: everything, or only the given targets (and what they need)
  local werror=OFF
  if [ -n "${CI:-}" ]; then werror=ON; fi
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTESSERA_WERROR=$werror >/dev/null
  if [ "$#" -gt 0 ]; then
    cmake --build "$BUILD" -j "$JOBS" --target "$@"
  else
    cmake --build "$BUILD" -j "$JOBS"
  fi
}

cmd="${1:-demo}"
shift || true
case "$cmd" in
  demo)
    install_missing
    build mean_random  # the demo and the worker/scheduler programs its local cluster starts
    cd "$BUILD/examples"  # its figure, mean_random_chunks.png, goes there
    exec ./mean_random "$@"
    ;;
  test)
    install_missing "${TEST_PACKAGES[@]}"
    if [ ! -f tests/browser/node_modules/playwright-core/package.json ]; then
      npm install --prefix tests/browser --no-audit --no-fund --no-package-lock
    fi
    build
    export TESSERA_REQUIRE_BROWSER=1
    cd "$BUILD"
    ctest --output-on-failure -j "$JOBS" "$@"
    ;;
  build)
    install_missing
    build
    ;;
  *)
    echo "usage: $0 demo|test|build" >&2
    exit 2
    ;;
esac
