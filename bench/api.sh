#!/bin/bash
# The REST API (`podman system service`) against Podman's own service
# (/usr/bin/podman, each with a private store) in the same run: requests
# per second of GET /containers/json with 100 containers, and the latency
# of POST /containers/create + start + wait of `true` (and our CLI doing
# the same). See bench/api.py.
#   RUNS=N (default 7)   BIN=DIR: use podman-rs binaries from DIR (skips the build)
#   PODMAN=PATH: the Podman to compare with (default /usr/bin/podman)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${RUNS:-7}"
if [ -z "${BIN:-}" ]; then
    cargo build --release --workspace --quiet
    BIN=$PWD/target/release
fi
PODMAN="${PODMAN:-/usr/bin/podman}"
[ -x "$PODMAN" ] || { echo "no ratio: $PODMAN is missing (apt-get install podman, or give PODMAN=PATH)" >&2; exit 1; }
WORK="$(mktemp -d /tmp/bench-api.XXXXXX)"
cleanup() {
    "$PODMAN" --root "$WORK/podman/root" --runroot "$WORK/podman/run" system reset -f >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT
echo "REST API, $RUNS runs each; against $("$PODMAN" --version)"
python3 bench/api.py "$BIN/podman" "$PODMAN" "$WORK" "$RUNS"
