#!/usr/bin/env bash
# podman cp benchmark: copying a ~100 MB tree of small and large files into
# and out of a container, as a ratio to plain `tar c | tar x` of the same
# tree measured in the same run (the floor: what moving those files as a
# tar stream costs on this machine). Aim: at most 1.3x.
#
#   floor     tar -C SRC -cf - tree | tar -C DEST -xf -    (host to host)
#   cp-in     podman cp SRC/tree CTR:/dst                  (running container)
#   cp-out    podman cp CTR:/data/tree DEST                (running container)
#   cp-in-stopped / cp-out-stopped   the same for a created container
#
# The tree: SMALL_FILES files of 1-16 KB in 20 directories, and four
# large files making up the rest of TREE_MB, all incompressible. The
# store lives beside the tree (same filesystem as the floor's DEST).
#
# Usage: bench/cp.sh        (env: RUNS=3 TREE_MB=100 SMALL_FILES=4000
#                            BIN=target/release to skip the build)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${RUNS:-3}"
TREE_MB="${TREE_MB:-100}"
SMALL_FILES="${SMALL_FILES:-4000}"
TIME=/usr/bin/time

source "$ROOT/bench/lib.sh"
bench_need bench/cp.sh python3 tar runc "$TIME"

if [ -z "${BIN:-}" ]; then
    echo "== building (release)"
    (cd "$ROOT" && cargo build --release --bins --quiet)
    BIN="$ROOT/target/release"
fi

WORK="$(mktemp -d /tmp/bench-cp.XXXXXX)"
REG_FIFO="$WORK/registry-stdin"
cleanup() {
    "$BIN/podman" --root "$WORK/root" --runroot "$WORK/run" rm -af -t 0 >/dev/null 2>&1 || true
    exec {KEEP}>&- 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

echo "== building the tree (${TREE_MB} MB: ${SMALL_FILES} small files + 4 large ones)"
python3 - "$WORK/src/tree" "$TREE_MB" "$SMALL_FILES" <<'PY'
import os, random, sys
out, mb, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(7)
small_total = 0
for i in range(n):
    d = f"{out}/d{i % 20:02d}"
    os.makedirs(d, exist_ok=True)
    size = rnd.randint(1024, 16384)
    with open(f"{d}/f{i:05d}", "wb") as f:
        f.write(os.urandom(size))
    small_total += size
big = max((mb << 20) - small_total, 4) // 4
os.makedirs(f"{out}/big", exist_ok=True)
for i in range(4):
    with open(f"{out}/big/large{i}.bin", "wb") as f:
        for _ in range(big >> 20):
            f.write(os.urandom(1 << 20))
        f.write(os.urandom(big & ((1 << 20) - 1)))
PY
du -sh "$WORK/src/tree" | sed 's/^/   /'

PODMAN=("$BIN/podman" --root "$WORK/root" --runroot "$WORK/run" --network-config-dir "$WORK/networks")
mkfifo "$REG_FIFO"
"$BIN/fixture-registry" bench/bb:latest <"$REG_FIFO" >"$WORK/ref" &
exec {KEEP}>"$REG_FIFO"
for _ in $(seq 1 500); do [ -s "$WORK/ref" ] && break; sleep 0.02; done
REF="$(head -n1 "$WORK/ref")"
"${PODMAN[@]}" pull -q --tls-verify=false "$REF" >/dev/null
"${PODMAN[@]}" run -d --name live --network none "$REF" sleep 100000 >/dev/null
"${PODMAN[@]}" create --name idle --network none "$REF" true >/dev/null
# The trees to copy out, put in with cp once.
"${PODMAN[@]}" cp "$WORK/src/tree" live:/data
"${PODMAN[@]}" cp "$WORK/src/tree" idle:/data

# Before each run the last run's files are moved aside, never deleted
# until the end: on ext4 without a journal (as here) a new inode skips
# every inode of its group freed in the last seconds, one check each, so
# creating 4000 files where 4000 were just deleted measures the deletion.
mkdir -p "$WORK/dest" "$WORK/aside"
N=0
ctr_fresh() { N=$((N + 1)); "${PODMAN[@]}" exec live sh -c "mkdir -p /aside && mv /dst /aside/$N && mkdir /dst"; }
host_fresh() { N=$((N + 1)); mv "$WORK/dest" "$WORK/aside/$N"; mkdir -p "$WORK/dest"; }
idle_fresh() {
    local m; N=$((N + 1)); m="$("${PODMAN[@]}" mount idle)"
    mkdir -p "$m/aside"; if [ -e "$m/tree" ]; then mv "$m/tree" "$m/aside/$N"; fi
    "${PODMAN[@]}" umount idle >/dev/null
}
"${PODMAN[@]}" exec live mkdir /dst

echo "== measuring ($RUNS runs each, median by wall time)"
bench_fresh() { host_fresh; sync; }
bench_run floor bash -c 'tar -C "$1" -cf - tree | tar -C "$2" -xf -' floor "$WORK/src" "$WORK/dest"
bench_run cp-out "${PODMAN[@]}" cp live:/data "$WORK/dest/tree"
bench_run cp-out-stopped "${PODMAN[@]}" cp idle:/data "$WORK/dest/tree"
bench_fresh() { ctr_fresh; sync; }
bench_run cp-in "${PODMAN[@]}" cp "$WORK/src/tree" live:/dst
bench_fresh() { idle_fresh; sync; }
bench_run cp-in-stopped "${PODMAN[@]}" cp "$WORK/src/tree" idle:/
# The floor again, last: on a busy machine (writeback of the runs before,
# other work) the first floor can be far from what the cp runs met.
bench_fresh() { host_fresh; sync; }
bench_run floor-end bash -c 'tar -C "$1" -cf - tree | tar -C "$2" -xf -' floor "$WORK/src" "$WORK/dest"
# Podman itself (REAL_PODMAN, default /usr/bin/podman) on the same tree,
# with its own store under $WORK, the same image and the same containers.
REAL_PODMAN="${REAL_PODMAN:-/usr/bin/podman}"
if [ -x "$REAL_PODMAN" ]; then
    THEIRS=("$REAL_PODMAN" --root "$WORK/theirs/root" --runroot "$WORK/theirs/run")
    CLAMP="$(bench_podman_runtime "$WORK")"
    if [ -n "$CLAMP" ]; then THEIRS+=(--runtime "$CLAMP"); fi
    cleanup_theirs() { "${THEIRS[@]}" rm -af -t 0 >/dev/null 2>&1 || true; "${THEIRS[@]}" system reset -f >/dev/null 2>&1 || true; }
    trap 'cleanup_theirs; cleanup' EXIT
    "${THEIRS[@]}" pull -q --tls-verify=false "$REF" >/dev/null
    "${THEIRS[@]}" run -d --name live --network none "$REF" sleep 100000 >/dev/null
    "${THEIRS[@]}" create --name idle --network none "$REF" true >/dev/null
    "${THEIRS[@]}" cp "$WORK/src/tree" live:/data
    "${THEIRS[@]}" cp "$WORK/src/tree" idle:/data
    bench_fresh() { host_fresh; sync; }
    bench_run podman-cp-out "${THEIRS[@]}" cp live:/data "$WORK/dest/tree"
    bench_run podman-cp-out-stopped "${THEIRS[@]}" cp idle:/data "$WORK/dest/tree"
    "${THEIRS[@]}" exec live mkdir /dst
    bench_fresh() { N=$((N + 1)); "${THEIRS[@]}" exec live sh -c "mkdir -p /aside && mv /dst /aside/$N && mkdir /dst"; sync; }
    bench_run podman-cp-in "${THEIRS[@]}" cp "$WORK/src/tree" live:/dst
    bench_fresh() {
        local m; N=$((N + 1)); m="$("${THEIRS[@]}" mount idle)"
        mkdir -p "$m/aside"; if [ -e "$m/tree" ]; then mv "$m/tree" "$m/aside/$N"; fi
        "${THEIRS[@]}" umount idle >/dev/null; sync
    }
    bench_run podman-cp-in-stopped "${THEIRS[@]}" cp "$WORK/src/tree" idle:/
fi
bench_fresh() { N=$((N + 1)); if [ -e "$WORK/dest2" ]; then mv "$WORK/dest2" "$WORK/aside/$N"; fi; mkdir -p "$WORK/dest2"; sync; }
bench_run core "$BIN/storage-helper" --root "$WORK/root" --runroot "$WORK/run" copy "$WORK/src/tree" "$WORK/dest2"

echo
echo "== ratios to the floor (tar c | tar x of the same tree; lower is better, aim <= 1.3)"
for k in cp-in cp-out cp-in-stopped cp-out-stopped core; do
    printf '  %-15s / floor: wall %s, cpu %s\n' "$k" "$(bench_ratio "$k" floor wall)" "$(bench_ratio "$k" floor cpu)"
done
if [ -x "$REAL_PODMAN" ]; then
    echo
    echo "== ratios to Podman ($("$REAL_PODMAN" --version), same tree, same run; lower is better)"
    for k in cp-in cp-out cp-in-stopped cp-out-stopped; do
        printf '  %-15s / podman: wall %s, cpu %s\n' "$k" "$(bench_ratio "$k" "podman-$k" wall)" "$(bench_ratio "$k" "podman-$k" cpu)"
    done
else
    echo "no Podman ratio: $REAL_PODMAN is missing (give REAL_PODMAN=PATH)"
fi
echo
echo "Note: the cp figures include starting podman and its storage-helper, the"
echo "state lookup and (stopped container) making and taking down its view."
echo "core is storage-helper's copy subcommand host to host: the same tar"
echo "writer and unpacker podman cp uses, without podman or a container."
printf '  floor at the end / floor at the start: wall %s\n' "$(bench_ratio floor-end floor wall)"
