#!/usr/bin/env bash
# End-to-end pull benchmark: `podman pull` into an EMPTY store (image-fetcher
# downloads and verifies, storage-helper unpacks) against the floor of
# "download every blob and unpack it", and against skopeo.
#
# Two images, built as OCI layouts and pushed with skopeo to a
# docker-registry on a free loopback port:
#   single: one ~50 MB (gzip) layer holding a Debian minbase root file system
#           (debootstrap, cached in $BENCH_CACHE; without debootstrap, ~50 MB
#           of files from /usr)
#   multi:  11 layers, ~100 MB, mostly incompressible random data
#
# Measured (RUNS times each, default 3; median by wall time; CPU = user+sys
# of the command and every child it waited for, via /usr/bin/time):
#   floor   curl BLOB | gunzip | tar -x into a fresh directory
#           (the multi-layer image's layers in parallel, one directory each)
#   podman  podman --root FRESH --runroot FRESH pull --tls-verify=false IMAGE
#   skopeo  skopeo copy docker://IMAGE oci:FRESH_DIR (download + verify only)
#
# Aims: podman's CPU within 1.1x of the floor for the single layer, its wall
# time within 1.2x of the floor for the multi-layer image. The script
# reports what it measured, whether or not the aims are met.
#
# Usage: bench/image_pull.sh   (env: RUNS=3 CARGO_TARGET_DIR=... BENCH_CACHE=~/.cache/podman-rs-bench)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${RUNS:-3}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET_DIR/release"
CACHE="${BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/podman-rs-bench}"
TIME=/usr/bin/time

source "$ROOT/bench/lib.sh"
bench_need bench/image_pull.sh docker-registry curl python3 gzip gunzip tar skopeo "$TIME"
[ "$(id -u)" = 0 ] || { echo "bench/image_pull.sh: run as root (podman's overlay store and tar -x ownership need it)" >&2; exit 1; }

echo "== building podman, image-fetcher and storage-helper (release)"
(cd "$ROOT" && cargo build --release -p podman-cli -p image-fetcher -p storage-helper --quiet)

WORK="$(mktemp -d /var/tmp/bench-image-pull.XXXXXX)"
trap bench_cleanup EXIT
bench_start_registry

# --- the root file system of the single-layer image -------------------------
mkdir -p "$CACHE"
ROOTFS_TAR="$CACHE/minbase-bookworm.tar"
if [ ! -s "$ROOTFS_TAR" ] && command -v debootstrap >/dev/null; then
    echo "== debootstrap --variant=minbase bookworm (once; cached in $ROOTFS_TAR)"
    if debootstrap --variant=minbase bookworm "$WORK/minbase" http://deb.debian.org/debian >"$WORK/debootstrap.log" 2>&1; then
        # As Debian's container images: no package caches, lists or device nodes.
        tar --numeric-owner -C "$WORK/minbase" \
            --exclude='./var/cache/apt/archives/*.deb' --exclude='./var/lib/apt/lists/*' \
            --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
            -cf "$ROOTFS_TAR.tmp" . && mv "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
        rm -rf "$WORK/minbase"
    else
        echo "   debootstrap failed (see below); using files from /usr instead"; tail -3 "$WORK/debootstrap.log"
    fi
fi
if [ -s "$ROOTFS_TAR" ]; then
    SINGLE_SRC="$ROOTFS_TAR"; SINGLE_WHAT="Debian bookworm minbase (debootstrap)"
else
    SINGLE_SRC="$WORK/usr-files.tar"; SINGLE_WHAT="~50 MB of gzip'd files from /usr (no debootstrap)"
    python3 - "$SINGLE_SRC" <<'PY'
import os, sys, tarfile
limit, total = 150 << 20, 0   # uncompressed; gzips to roughly 50 MB
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    for top in ("/usr/lib", "/usr/share", "/usr/bin"):
        for d, dirs, files in os.walk(top):
            dirs.sort()
            for f in sorted(files):
                p = os.path.join(d, f)
                if total >= limit or not os.path.isfile(p) or os.path.islink(p):
                    continue
                try:
                    t.add(p, arcname=p.lstrip("/"), recursive=False)
                    total += os.path.getsize(p)
                except OSError:
                    pass
PY
fi

# --- the two images as OCI layouts ------------------------------------------
echo "== building the images"
python3 - "$WORK/layout" "$SINGLE_SRC" "$WORK/blobs.txt" <<'PY'
import gzip, hashlib, io, json, os, subprocess, sys, tarfile
out, single_tar, blobs_txt = sys.argv[1:4]
os.makedirs(f"{out}/blobs/sha256", exist_ok=True)
def blob(data):
    d = hashlib.sha256(data).hexdigest()
    with open(f"{out}/blobs/sha256/{d}", "wb") as f:
        f.write(data)
    return "sha256:" + d, len(data)
def layer_from_tar(tar, level):
    gz = subprocess.run(["gzip", f"-{level}", "-n", "-c"], input=tar, stdout=subprocess.PIPE, check=True).stdout
    digest, size = blob(gz)
    return {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest, "size": size}, "sha256:" + hashlib.sha256(tar).hexdigest(), len(tar)
def image(ref, layers, index):
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
                         "rootfs": {"type": "layers", "diff_ids": [l[1] for l in layers]},
                         "history": [{"created_by": f"layer {i}"} for i in range(len(layers))]}).encode()
    cd, cs = blob(config)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
                           "layers": [l[0] for l in layers]}).encode()
    md, ms = blob(manifest)
    index.append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": ms,
                  "annotations": {"org.opencontainers.image.ref.name": ref}})
index, lines = [], []
with open(single_tar, "rb") as f:
    single = [layer_from_tar(f.read(), 6)]
image("single", single, index)
multi = []
rng = open("/dev/urandom", "rb")
for i in range(11):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in ((f"layer{i}/random.bin", rng.read(9 << 20)), (f"layer{i}/notes.txt", (f"layer {i} notes\n" * 20000).encode())):
            info = tarfile.TarInfo(name); info.size = len(data); info.mtime = 1700000000; info.mode = 0o644
            t.addfile(info, io.BytesIO(data))
    multi.append(layer_from_tar(buf.getvalue(), 1))
image("multi", multi, index)
with open(f"{out}/oci-layout", "w") as f:
    json.dump({"imageLayoutVersion": "1.0.0"}, f)
with open(f"{out}/index.json", "w") as f:
    json.dump({"schemaVersion": 2, "manifests": index}, f)
with open(blobs_txt, "w") as f:
    for name, layers in (("single", single), ("multi", multi)):
        f.write(name + " " + " ".join(l[0]["digest"] for l in layers) + "\n")
        print(f"   {name}: {len(layers)} layer(s), {sum(l[0]['size'] for l in layers) / 1e6:.1f} MB compressed, {sum(l[2] for l in layers) / 1e6:.1f} MB uncompressed")
PY
echo "   single-layer root file system: $SINGLE_WHAT"
for name in single multi; do
    skopeo copy --quiet --dest-tls-verify=false "oci:$WORK/layout:$name" "docker://127.0.0.1:$PORT/bench/$name:latest"
done
SINGLE_BLOBS=($(sed -n 's/^single //p' "$WORK/blobs.txt"))
MULTI_BLOBS=($(sed -n 's/^multi //p' "$WORK/blobs.txt"))

# --- measuring ----------------------------------------------------------------
bench_fresh() { rm -rf "$WORK/dest" "$WORK/store" "$WORK/run"; mkdir -p "$WORK/dest"; sync; }
run() { bench_run "$@"; }

BLOB_URL="http://127.0.0.1:$PORT/v2/bench"
FLOOR_SERIAL='repo=$1; shift; for d in "$@"; do curl -fsS "'"$BLOB_URL"'/$repo/blobs/$d" | gunzip | tar -x -C "'"$WORK"'/dest" || exit 1; done'
FLOOR_PARALLEL='repo=$1; shift; i=0; for d in "$@"; do i=$((i+1)); mkdir -p "'"$WORK"'/dest/$i"; (curl -fsS "'"$BLOB_URL"'/$repo/blobs/$d" | gunzip | tar -x -C "'"$WORK"'/dest/$i") & done; ok=0; for j in $(jobs -p); do wait $j || ok=1; done; exit $ok'
PODMAN=("$BIN/podman" --root "$WORK/store" --runroot "$WORK/run" pull -q --tls-verify=false)

echo "== measuring ($RUNS runs each, median by wall time)"
echo " single layer:"
run single/floor bash -c "$FLOOR_SERIAL" floor single "${SINGLE_BLOBS[@]}"
run single/podman env PODMAN_HELPER_DIR="$BIN" "${PODMAN[@]}" "127.0.0.1:$PORT/bench/single:latest"
run single/skopeo skopeo copy --quiet --src-tls-verify=false "docker://127.0.0.1:$PORT/bench/single:latest" "oci:$WORK/dest/layout:x"
echo " 11 layers:"
run multi/floor bash -c "$FLOOR_PARALLEL" floor multi "${MULTI_BLOBS[@]}"
run multi/podman env PODMAN_HELPER_DIR="$BIN" "${PODMAN[@]}" "127.0.0.1:$PORT/bench/multi:latest"
run multi/skopeo skopeo copy --quiet --src-tls-verify=false "docker://127.0.0.1:$PORT/bench/multi:latest" "oci:$WORK/dest/layout:x"
bench_fresh

ratio() { bench_ratio "$@"; }
verdict() { python3 -c "import sys; print('met' if float(sys.argv[1]) <= float(sys.argv[2]) else 'NOT met')" "$1" "$2"; }

echo
echo "== ratios to the floor (lower is better)"
for img in single multi; do
    printf '  %-6s podman / floor: wall %s, cpu %s    skopeo / floor: wall %s, cpu %s\n' "$img" \
        "$(ratio $img/podman $img/floor wall)" "$(ratio $img/podman $img/floor cpu)" \
        "$(ratio $img/skopeo $img/floor wall)" "$(ratio $img/skopeo $img/floor cpu)"
done
SC="$(ratio single/podman single/floor cpu)"; MW="$(ratio multi/podman multi/floor wall)"
echo
echo "== aims"
echo "  single layer, podman CPU <= 1.1x floor: $SC -> $(verdict "$SC" 1.1)"
echo "  11 layers, podman wall <= 1.2x floor:   $MW -> $(verdict "$MW" 1.2)"
echo
echo "Notes: podman pull also verifies every blob's digest and every layer's"
echo "diff_id, fsyncs blobs and layers, and records the image; the floor verifies"
echo "and syncs nothing. skopeo only downloads and verifies (no unpacking)."
