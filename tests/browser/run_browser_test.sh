#!/usr/bin/env bash
# CTest entry of the browser test: run_browser_test.sh DEMO_EXECUTABLE OUTPUT_DIR
# Exit 77 (skipped) when node, chromium or playwright-core is missing, unless
# TESSERA_REQUIRE_BROWSER=1: then a missing piece is a failure.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
demo="$1"
out="$2"
chromium="${CHROMIUM:-/usr/bin/chromium}"

missing=()
command -v node >/dev/null 2>&1 || missing+=("node (Debian package nodejs)")
[ -x "$chromium" ] || missing+=("$chromium (Debian package chromium)")
[ -f "$here/node_modules/playwright-core/package.json" ] ||
  missing+=("playwright-core (npm install --prefix tests/browser --no-package-lock)")
if [ ${#missing[@]} -gt 0 ]; then
  if [ "${TESSERA_REQUIRE_BROWSER:-0}" = "1" ]; then
    echo "browser_dashboard: FAILED: TESSERA_REQUIRE_BROWSER=1 but missing: ${missing[*]}" >&2
    exit 1
  fi
  echo "browser_dashboard: skipped: missing ${missing[*]}"
  exit 77
fi
exec node "$here/dashboard_test.mjs" --demo "$demo" --out "$out" --chromium "$chromium"
