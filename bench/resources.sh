#!/bin/bash
# Resources and health (issue 12), against Podman (/usr/bin/podman) in the
# same run, each engine with a private store under /tmp:
#   stats-all   podman stats --no-stream --all, 20 running containers
#   monitor     Pss of the ctr-monitor of an idle container whose
#               healthcheck timer is armed (mean of 10, pages of the shared
#               binary divided among them), from /proc/PID/smaps_rollup
# Aims: stats-all < 0.2x Podman's; monitor < 0.35 MB Pss.
#   RUNS=N (default 7)   BIN=DIR: podman-rs binaries from DIR (skips the release build)
#   PODMAN=PATH: the Podman to compare with (default /usr/bin/podman)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${RUNS:-7}"
if [ -z "${BIN:-}" ]; then
    cargo build --release -p podman-cli -p net-setup -p storage-helper -p ctr-monitor -p image-fetcher --quiet
    BIN=$PWD/target/release
fi
PODMAN="${PODMAN:-/usr/bin/podman}"
[ "$(id -u)" = 0 ] || { echo "bench/resources.sh: run as root (cgroups)" >&2; exit 1; }
command -v busybox >/dev/null || { echo "bench/resources.sh: busybox is missing (apt-get install busybox-static)" >&2; exit 1; }
WORK="$(mktemp -d /tmp/bench-res.XXXXXX)"
OURS=("$BIN/podman" --root "$WORK/ours/root" --runroot "$WORK/ours/run")
THEIRS=("$PODMAN" --root "$WORK/theirs/root" --runroot "$WORK/theirs/run")
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
cleanup() {
    ours rm -af -t 0 >/dev/null 2>&1 || true
    theirs rm -af -t 0 >/dev/null 2>&1 || true
    theirs system reset -f >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$WORK/rootfs/bin"
cp "$(command -v busybox)" "$WORK/rootfs/bin/busybox"
for a in sh true sleep; do ln -s busybox "$WORK/rootfs/bin/$a"; done
tar -C "$WORK/rootfs" -cf "$WORK/bb.tar" bin
IMG=localhost/bench-res:latest
ours import -q "$WORK/bb.tar" "$IMG" >/dev/null
HAVE_PODMAN=0
if [ -x "$PODMAN" ]; then theirs import -q "$WORK/bb.tar" "$IMG" >/dev/null && HAVE_PODMAN=1; fi

# Times in ns from bash's EPOCHREALTIME: no `date` process, whose start
# would be counted in every run and swamp a command of a few ms.
ms() { python3 -c "print(f'{($2 - $1) / 1e6:.1f}')" "$@"; }
declare -A RESULT
# median KEY CMD...: RUNS timed runs after one warm-up; RESULT[KEY] in ms.
median() {
    local key="$1"; shift
    "$@" >/dev/null
    local times=() t0 t1
    for _ in $(seq 1 "$RUNS"); do
        t0=${EPOCHREALTIME/./}000; "$@" >/dev/null; t1=${EPOCHREALTIME/./}000
        times+=("$(ms "$t0" "$t1")")
    done
    RESULT[$key]="$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")"
    printf '  %-22s median %8s ms   runs: %s\n' "$key" "${RESULT[$key]}" "${times[*]}"
}
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
verdict() { python3 -c "print('met' if $1 <= $2 else 'NOT met')"; }

echo "stats --no-stream --all of 20 running containers, $RUNS runs each ($BIN)"
for _ in $(seq 1 20); do ours run -d --network none "$IMG" sleep 1000 >/dev/null; done
median ours/stats-all ours stats --no-stream --all
ours rm -af -t 0 >/dev/null
if [ "$HAVE_PODMAN" = 1 ]; then
    echo "  against $("$PODMAN" --version)"
    for _ in $(seq 1 20); do theirs run -d --network none "$IMG" sleep 1000 >/dev/null; done
    median podman/stats-all theirs stats --no-stream --all
    theirs rm -af -t 0 >/dev/null
fi

echo "ctr-monitor of an idle container with its healthcheck timer armed (mean of 10)"
ids=()
for _ in $(seq 1 10); do
    ids+=("$(ours run -d --network none --health-cmd true --health-interval 1h "$IMG" sleep 1000)")
done
pids=()
for id in "${ids[@]}"; do pids+=("$(ours inspect --format '{{.State.ConmonPid}}' "$id")"); done
sleep 1 # a monitor gives memory back once quiet for 250 ms
sync
PSS="$(python3 - "${pids[@]}" <<'PY'
import statistics, sys
def kb(pid, key):
    for l in open(f"/proc/{pid}/smaps_rollup"):
        if l.startswith(key + ":"):
            return int(l.split()[1])
    return 0
pids = sys.argv[1:]
print(f"{statistics.mean(kb(p, 'Pss') for p in pids) / 1024:.3f} {statistics.mean(kb(p, 'Anonymous') for p in pids) / 1024:.3f}")
PY
)"
read -r PSS_MB ANON_MB <<<"$PSS"
echo "  ctr-monitor Pss ${PSS_MB} MB (Anonymous ${ANON_MB} MB)"
ours rm -af -t 0 >/dev/null

echo
if [ "$HAVE_PODMAN" = 1 ]; then
    SA="$(ratio "${RESULT[ours/stats-all]}" "${RESULT[podman/stats-all]}")"
    echo "  stats --no-stream --all (20) / Podman's: $SA (aim < 0.2: $(verdict "$SA" 0.2))"
else
    echo "no Podman ratio: $PODMAN is missing (apt-get install podman, or give PODMAN=PATH)" >&2
fi
echo "  monitor with a timer armed: ${PSS_MB} MB Pss (aim < 0.35: $(verdict "$PSS_MB" 0.35))"
