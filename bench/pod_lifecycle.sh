#!/bin/bash
# `pod create` + `pod start` + `pod rm -f` (one pod with its infra
# container, no network) as a ratio to Podman's own (/usr/bin/podman, each
# with a private store) measured in the same run. Lower is better.
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
WORK="$(mktemp -d /tmp/bench-pod.XXXXXX)"
OURS=("$BIN/podman" --root "$WORK/ours/root" --runroot "$WORK/ours/run")
THEIRS=("$PODMAN" --root "$WORK/theirs/root" --runroot "$WORK/theirs/run")
source bench/lib.sh
CLAMP="$(bench_podman_runtime "$WORK")"
if [ -n "$CLAMP" ]; then
    THEIRS+=(--runtime "$CLAMP")
    echo "  (Podman runs runc through $CLAMP: the hard rlimits here are below Podman's defaults)"
fi
cleanup() {
    "${OURS[@]}" pod rm -af -t 0 >/dev/null 2>&1 || true
    "${THEIRS[@]}" pod rm -af -t 0 >/dev/null 2>&1 || true
    "${THEIRS[@]}" system reset -f >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# One cycle; prints its wall time in seconds.
cycle() {
    local name="bench-$RANDOM$RANDOM"
    local t0 t1
    t0=$(date +%s.%N)
    "$@" pod create --name "$name" --network none >/dev/null
    "$@" pod start "$name" >/dev/null
    "$@" pod rm -f -t 0 "$name" >/dev/null
    t1=$(date +%s.%N)
    python3 -c "print(f'{$t1 - $t0:.4f}')"
}

# median KEY CMD...: RUNS cycles after one warm-up (which builds each
# engine's local pause image); the median goes to RESULT[KEY].
declare -A RESULT
median() {
    local key="$1"; shift
    cycle "$@" >/dev/null
    local times=()
    for _ in $(seq 1 "$RUNS"); do times+=("$(cycle "$@")"); done
    RESULT[$key]="$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")"
    printf '  %-8s median %ss   runs: %s\n' "$key" "${RESULT[$key]}" "${times[*]}"
}

echo "pod create + start + rm -f, $RUNS runs each"
median podman-rs "${OURS[@]}"
if [ ! -x "$PODMAN" ]; then
    echo "no ratio: $PODMAN is missing (apt-get install podman, or give PODMAN=PATH)" >&2
    exit 1
fi
echo "  against $("$PODMAN" --version)"
median podman "${THEIRS[@]}"
python3 -c "print(f'ratio podman-rs / podman: {${RESULT[podman-rs]} / ${RESULT[podman]}:.2f}')"
