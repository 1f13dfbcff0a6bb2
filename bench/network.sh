#!/bin/bash
# Bridge networking cost, measured against our own `--network none` run
# and against Podman (/usr/bin/podman, netavark) in the same run, each with
# a private store under /tmp:
#   run-none     podman run --rm --network none IMG true
#   run-bridge   podman run --rm IMG true            (default bridge network)
#   stop         podman stop -t 0 CTR                (one bridged container)
#   stop-all     podman stop -a -t 0                 (20 running bridged containers)
# Aims (issue 16): run-bridge <= 1.3x run-none; stop < 30 ms;
# stop-all <= 0.5x Podman's.
# The engines alternate inside each round (ours, the earlier build if
# given, Podman; then the next measure), so a load that comes and goes
# reaches them alike; medians are over the rounds.
#   RUNS=N (default 7)   BIN=DIR: podman-rs binaries from DIR (skips the release build)
#   BEFORE=DIR: podman-rs binaries of an earlier build, measured beside (before/after)
#   PODMAN=PATH: the Podman to compare with (default /usr/bin/podman)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${RUNS:-7}"
if [ -z "${BIN:-}" ]; then
    cargo build --release -p podman-cli -p net-setup -p storage-helper -p ctr-monitor -p image-fetcher --quiet
    BIN=$PWD/target/release
fi
PODMAN="${PODMAN:-/usr/bin/podman}"
[ "$(id -u)" = 0 ] || { echo "bench/network.sh: run as root (bridges, nftables)" >&2; exit 1; }
command -v busybox >/dev/null || { echo "bench/network.sh: busybox is missing (apt-get install busybox-static)" >&2; exit 1; }
WORK="$(mktemp -d /tmp/bench-net.XXXXXX)"
OURS=("$BIN/podman" --root "$WORK/ours/root" --runroot "$WORK/ours/run" --network-config-dir "$WORK/ours/networks")
BEF=("${BEFORE:-/nonexistent}/podman" --root "$WORK/before/root" --runroot "$WORK/before/run" --network-config-dir "$WORK/before/networks")
THEIRS=("$PODMAN" --root "$WORK/theirs/root" --runroot "$WORK/theirs/run" --network-config-dir "$WORK/theirs/networks")
# Podman asks for rlimits above this machine's hard limits unless told.
cat >"$WORK/podman.conf" <<'CONF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
CONF
theirs() { CONTAINERS_CONF="$WORK/podman.conf" "${THEIRS[@]}" "$@"; }
# Ours without a caller's CONTAINERS_CONF, unset once here: an `env -u` in
# ours() would add a process start to every timed run of ours only.
unset CONTAINERS_CONF
ours() { "${OURS[@]}" "$@"; }
before() { "${BEF[@]}" "$@"; }
ENGINES=(ours)
[ -n "${BEFORE:-}" ] && ENGINES+=(before)
[ -x "$PODMAN" ] && ENGINES+=(theirs)
cleanup() {
    for e in "${ENGINES[@]}"; do
        "$e" rm -af -t 0 >/dev/null 2>&1 || true
        # Also drops the store's nftables table, which would outlive $WORK.
        "$e" system reset -f >/dev/null 2>&1 || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

# A busybox image, the same bytes in both stores.
mkdir -p "$WORK/rootfs/bin"
cp "$(command -v busybox)" "$WORK/rootfs/bin/busybox"
for a in sh true sleep; do ln -s busybox "$WORK/rootfs/bin/$a"; done
tar -C "$WORK/rootfs" -cf "$WORK/bb.tar" bin
IMG=localhost/bench-net:latest
for e in "${ENGINES[@]}"; do "$e" import -q "$WORK/bb.tar" "$IMG" >/dev/null; done

# Times in ns from bash's EPOCHREALTIME: no `date` process, whose start
# would be counted in every run and swamp a command of a few ms.
ms() { python3 -c "print(f'{($2 - $1) / 1e6:.1f}')" "$@"; }

declare -A RESULT SAMPLES

# timed CMD...: print the time of one run of CMD in ms.
timed() {
    local t0 t1
    t0=${EPOCHREALTIME/./}000; "$@" >/dev/null; t1=${EPOCHREALTIME/./}000
    ms "$t0" "$t1"
}
run_none() { timed "$1" run --rm --network none "$IMG" true; }
run_bridge() { timed "$1" run --rm "$IMG" true; }

# stop_one ENGINE: start a bridged container, time `stop -t 0` of it alone.
stop_one() {
    local engine="$1" id t0 t1
    id="$("$engine" run -d "$IMG" sleep 1000)"
    t0=${EPOCHREALTIME/./}000; "$engine" stop -t 0 "$id" >/dev/null; t1=${EPOCHREALTIME/./}000
    "$engine" rm -f "$id" >/dev/null
    ms "$t0" "$t1"
}

# stop_all ENGINE: 20 running bridged containers, time `stop -a -t 0`.
stop_all() {
    local engine="$1" t0 t1
    for _ in $(seq 1 20); do "$engine" run -d "$IMG" sleep 1000 >/dev/null; done
    t0=${EPOCHREALTIME/./}000; "$engine" stop -a -t 0 >/dev/null; t1=${EPOCHREALTIME/./}000
    "$engine" rm -af >/dev/null
    ms "$t0" "$t1"
}

MEASURES=(run-none:run_none run-bridge:run_bridge stop:stop_one stop-all:stop_all)
# One warm-up of each, then RUNS rounds; in each round every measure runs
# once per engine, the engines one after the other.
for m in "${MEASURES[@]}"; do for e in "${ENGINES[@]}"; do "${m#*:}" "$e" >/dev/null; done; done
LOAD0="$(cut -d' ' -f1-3 /proc/loadavg)"
for _ in $(seq 1 "$RUNS"); do
    for m in "${MEASURES[@]}"; do
        for e in "${ENGINES[@]}"; do
            SAMPLES[$e/${m%%:*}]+="$("${m#*:}" "$e") "
        done
    done
done
label() { case "$1" in theirs) echo podman ;; *) echo "$1" ;; esac; }
echo "bridge networking, $RUNS interleaved rounds ($BIN${BEFORE:+, before: $BEFORE}); load average at start $LOAD0, at end $(cut -d' ' -f1-3 /proc/loadavg)"
[ -x "$PODMAN" ] && echo "  against $("$PODMAN" --version)"
for m in "${MEASURES[@]}"; do
    for e in "${ENGINES[@]}"; do
        key="$e/${m%%:*}"
        RESULT[$key]="$(printf '%s\n' ${SAMPLES[$key]} | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")"
        printf '  %-22s median %7s ms   runs: %s\n' "$(label "$e")/${m%%:*}" "${RESULT[$key]}" "${SAMPLES[$key]}"
    done
done

ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
verdict() { python3 -c "print('met' if $1 <= $2 else 'NOT met')"; }

echo
RB="$(ratio "${RESULT[ours/run-bridge]}" "${RESULT[ours/run-none]}")"
echo "  run-bridge / run-none:        $RB (aim <= 1.3: $(verdict "$RB" 1.3))"
echo "  stop -t 0 of one container:   ${RESULT[ours/stop]} ms (aim < 30: $(verdict "${RESULT[ours/stop]}" 30))"
if [ -n "${BEFORE:-}" ]; then
    echo "  before: run-bridge / run-none $(ratio "${RESULT[before/run-bridge]}" "${RESULT[before/run-none]}"), stop ${RESULT[before/stop]} ms, stop -a (20) ${RESULT[before/stop-all]} ms"
fi
if [ -x "$PODMAN" ]; then
    SA="$(ratio "${RESULT[ours/stop-all]}" "${RESULT[theirs/stop-all]}")"
    echo "  stop -a (20) / Podman's:      $SA (aim <= 0.5: $(verdict "$SA" 0.5))"
    echo "  run-bridge / Podman's:        $(ratio "${RESULT[ours/run-bridge]}" "${RESULT[theirs/run-bridge]}")"
    echo "  stop / Podman's:              $(ratio "${RESULT[ours/stop]}" "${RESULT[theirs/stop]}")"
else
    echo "no Podman ratios: $PODMAN is missing (apt-get install podman, or give PODMAN=PATH)" >&2
fi
