#!/usr/bin/env bash
# podman build benchmark: a 5-instruction Containerfile (FROM, ENV, COPY,
# RUN, CMD) built cold (--no-cache: every step runs and is committed) and
# rebuilt warm (every step a cache hit), as ratios to Debian's
# `buildah bud --layers` doing the same in the same run, with its own
# --root/--runroot under the scratch directory. Aim: cold <= 1.0x,
# warm <= 0.3x of buildah's.
#
# Usage: bench/build.sh        (env: RUNS=5, BIN=target/release to skip the build)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${RUNS:-5}"

source "$ROOT/bench/lib.sh"
bench_need bench/build.sh python3 buildah runc /usr/bin/time

if [ -z "${BIN:-}" ]; then
    echo "== building (release)"
    (cd "$ROOT" && cargo build --release --bins --quiet)
    BIN="$ROOT/target/release"
fi

WORK="$(mktemp -d /tmp/bench-build.XXXXXX)"
REG_FIFO="$WORK/registry-stdin"
BUILDAH=(buildah --root "$WORK/buildah-root" --runroot "$WORK/buildah-run" --storage-driver overlay)
PODMAN=("$BIN/podman" --root "$WORK/root" --runroot "$WORK/run" --network-config-dir "$WORK/networks")
cleanup() {
    "${PODMAN[@]}" rm -af -t 0 >/dev/null 2>&1 || true
    "${BUILDAH[@]}" rm -a >/dev/null 2>&1 || true
    umount -R "$WORK/buildah-root/overlay" 2>/dev/null || true
    "${BUILDAH[@]}" unshare true >/dev/null 2>&1 || true
    exec {KEEP}>&- 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$WORK" 2>/dev/null || true
}
trap cleanup EXIT

mkfifo "$REG_FIFO"
"$BIN/fixture-registry" bench/bb:latest <"$REG_FIFO" >"$WORK/ref" &
exec {KEEP}>"$REG_FIFO"
for _ in $(seq 1 500); do [ -s "$WORK/ref" ] && break; sleep 0.02; done
REF="$(head -n1 "$WORK/ref")"
"${PODMAN[@]}" pull -q --tls-verify=false "$REF" >/dev/null
"${BUILDAH[@]}" pull -q --tls-verify=false "$REF" >/dev/null

CTX="$WORK/ctx"
mkdir -p "$CTX"
head -c 1048576 /dev/urandom >"$CTX/payload"
cat >"$CTX/Containerfile" <<CF
FROM $REF
ENV GREETING=hello
COPY payload /payload
RUN sha256sum /payload > /payload.sum && echo \$GREETING > /greeting
CMD ["cat", "/greeting"]
CF

echo "== measuring ($RUNS runs each, median by wall time)"
bench_fresh() { :; }
bench_run buildah-cold "${BUILDAH[@]}" bud --layers --no-cache --pull=never --isolation oci -t bench-b "$CTX"
bench_run podman-cold "${PODMAN[@]}" build --no-cache --pull=never -t bench-p "$CTX"
# Prime the caches once (the cold runs did), then rebuild unchanged.
bench_run buildah-warm "${BUILDAH[@]}" bud --layers --pull=never --isolation oci -t bench-b "$CTX"
bench_run podman-warm "${PODMAN[@]}" build --pull=never -t bench-p "$CTX"

echo
echo "== ratios to buildah bud (lower is better; aim cold <= 1.0, warm <= 0.3)"
printf '  %-12s / buildah: wall %s, cpu %s\n' cold "$(bench_ratio podman-cold buildah-cold wall)" "$(bench_ratio podman-cold buildah-cold cpu)"
printf '  %-12s / buildah: wall %s, cpu %s\n' warm "$(bench_ratio podman-warm buildah-warm wall)" "$(bench_ratio podman-warm buildah-warm cpu)"
printf '  %-12s / buildah cold: wall %s\n' "warm" "$(bench_ratio podman-warm buildah-cold wall)"
