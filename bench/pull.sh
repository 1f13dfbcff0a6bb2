#!/usr/bin/env bash
# Pull benchmark: how close does `image-fetcher pull` come to the floor of
# "download every blob and unpack it" on this machine?
#
#   (a) floor: curl each layer blob | gunzip | tar -x into a directory
#   (b) image-fetcher pull docker://... --dest EMPTY_DIR   (release build)
#   (c) skopeo copy docker://... oci:DIR                   (if skopeo exists)
#
# The image: one ~50 MB layer of incompressible random data plus a tiny
# one, built as an OCI layout with python3 and pushed with skopeo to a
# docker-registry on a free loopback port. Each measurement runs RUNS times
# (default 3) and the median wall time is reported with its CPU time.
#
# Note: (b) and (c) download and verify blobs (sha256 while streaming,
# fsync, rename) but do NOT decompress or unpack; unpacking is
# storage-helper's job. (a) does decompress and unpack but verifies
# nothing. The ratios compare different amounts of work; they say whether
# the fetcher's transfer path is near the cost of simply moving the bytes.
#
# Usage: bench/pull.sh            (env: RUNS=3 LAYER_MB=50 CARGO_TARGET_DIR=...)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${RUNS:-3}"
LAYER_MB="${LAYER_MB:-50}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
FETCHER="$TARGET_DIR/release/image-fetcher"
TIME=/usr/bin/time

source "$ROOT/bench/lib.sh"
bench_need bench/pull.sh docker-registry curl python3 gunzip tar skopeo "$TIME"

echo "== building image-fetcher (release)"
(cd "$ROOT" && cargo build --release -p image-fetcher --quiet)

WORK="$(mktemp -d /tmp/bench-pull.XXXXXX)"
trap bench_cleanup EXIT
bench_start_registry

echo "== building the image (${LAYER_MB} MB random layer + a tiny one)"
python3 - "$WORK/layout" "$LAYER_MB" "$WORK/layers.txt" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile
out, mb, layers_txt = sys.argv[1], int(sys.argv[2]), sys.argv[3]
os.makedirs(f"{out}/blobs/sha256", exist_ok=True)
def blob(data):
    d = hashlib.sha256(data).hexdigest()
    with open(f"{out}/blobs/sha256/{d}", "wb") as f:
        f.write(data)
    return "sha256:" + d, len(data)
def layer(name, payload):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        info = tarfile.TarInfo(name); info.size = len(payload); info.mtime = 1700000000; info.mode = 0o644
        t.addfile(info, io.BytesIO(payload))
    tar = buf.getvalue()
    gz = gzip.compress(tar, compresslevel=1, mtime=0)
    digest, size = blob(gz)
    return {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest, "size": size}, "sha256:" + hashlib.sha256(tar).hexdigest()
big, big_diff = layer("random.bin", os.urandom(mb << 20))
tiny, tiny_diff = layer("hello.txt", b"hello\n")
config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
                     "rootfs": {"type": "layers", "diff_ids": [big_diff, tiny_diff]}}).encode()
cd, cs = blob(config)
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
                       "layers": [big, tiny]}).encode()
md, ms = blob(manifest)
with open(f"{out}/oci-layout", "w") as f:
    json.dump({"imageLayoutVersion": "1.0.0"}, f)
with open(f"{out}/index.json", "w") as f:
    json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": ms,
               "annotations": {"org.opencontainers.image.ref.name": "bench"}}]}, f)
with open(layers_txt, "w") as f:
    f.write(big["digest"] + "\n" + tiny["digest"] + "\n")
PY
IMAGE="127.0.0.1:$PORT/bench/img:latest"
skopeo copy --quiet --dest-tls-verify=false "oci:$WORK/layout:bench" "docker://$IMAGE"
mapfile -t LAYERS <"$WORK/layers.txt"

bench_fresh() { rm -rf "$WORK/dest"; mkdir -p "$WORK/dest"; sync; }
run() { bench_run "$@"; }

FLOOR_SCRIPT='for d in "$@"; do curl -fsS "http://'"127.0.0.1:$PORT"'/v2/bench/img/blobs/$d" | gunzip | tar -x -C "'"$WORK"'/dest" || exit 1; done'

echo "== measuring ($RUNS runs each, median by wall time)"
run floor bash -c "$FLOOR_SCRIPT" floor "${LAYERS[@]}"
run image-fetcher "$FETCHER" pull "docker://$IMAGE" --dest "$WORK/dest/layout" --tls-verify=false --quiet
run skopeo skopeo copy --quiet --src-tls-verify=false "docker://$IMAGE" "oci:$WORK/dest/layout:bench"

ratio() { bench_ratio "$1" floor "$2"; }

echo
echo "== ratios to the floor (lower is better)"
printf '  image-fetcher / floor: wall %s, cpu %s\n' "$(ratio image-fetcher wall)" "$(ratio image-fetcher cpu)"
printf '  skopeo        / floor: wall %s, cpu %s\n' "$(ratio skopeo wall)" "$(ratio skopeo cpu)"
echo
echo "Note: image-fetcher and skopeo download and verify (sha256) every blob and"
echo "fsync it into an OCI layout; they do not decompress or unpack layers (that"
echo "is storage-helper's job). The floor decompresses and unpacks but verifies"
echo "nothing. Compare the transfer paths, not end-to-end pulls."
