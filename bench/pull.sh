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

for tool in docker-registry curl python3 gunzip tar "$TIME"; do
    command -v "$tool" >/dev/null || { echo "bench/pull.sh: $tool is missing (apt-get install docker-registry curl python3 gzip tar time)" >&2; exit 1; }
done
HAVE_SKOPEO=0
command -v skopeo >/dev/null && HAVE_SKOPEO=1
if [ "$HAVE_SKOPEO" = 0 ]; then
    echo "bench/pull.sh: skopeo is needed to push the benchmark image (apt-get install skopeo)" >&2
    exit 1
fi

echo "== building image-fetcher (release)"
(cd "$ROOT" && cargo build --release -p image-fetcher --quiet)

WORK="$(mktemp -d /tmp/bench-pull.XXXXXX)"
REG_PID=""
cleanup() {
    if [ -n "$REG_PID" ]; then kill "$REG_PID" 2>/dev/null || true; wait "$REG_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
mkdir -p "$WORK/registry"
cat >"$WORK/registry.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $WORK/registry
http:
  addr: 127.0.0.1:$PORT
  secret: bench-secret
health:
  storagedriver:
    enabled: false
EOF
# Keep the registry's own environment overrides out.
env $(env | sed -n 's/^\(REGISTRY_[A-Za-z0-9_]*\)=.*/-u \1/p') docker-registry serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 &
REG_PID=$!
for _ in $(seq 1 250); do
    curl -fs "http://127.0.0.1:$PORT/v2/" >/dev/null 2>&1 && break
    sleep 0.02
done
curl -fs "http://127.0.0.1:$PORT/v2/" >/dev/null || { echo "registry did not start:"; cat "$WORK/registry.log"; exit 1; }

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

# run NAME CMD...: time RUNS runs (fresh empty destination each), keep "wall user sys" per run.
declare -A RESULT
run() {
    local name="$1"; shift
    local times=()
    for i in $(seq 1 "$RUNS"); do
        rm -rf "$WORK/dest"; mkdir -p "$WORK/dest"
        sync
        "$TIME" -f "%e %U %S" -o "$WORK/time" "$@" >/dev/null 2>"$WORK/err" || { echo "$name failed:"; cat "$WORK/err"; exit 1; }
        times+=("$(tail -n1 "$WORK/time")")
    done
    # Median by wall time.
    RESULT[$name]="$(printf '%s\n' "${times[@]}" | sort -n -k1,1 | sed -n "$(( (RUNS + 1) / 2 ))p")"
    local joined
    joined="$(printf '%s\n' "${times[@]}" | paste -sd '|' | sed 's/|/ | /g')"
    printf '  %-14s wall %6ss  user %6ss  sys %6ss   (runs, wall user sys: %s)\n' "$name" ${RESULT[$name]} "$joined"
}

FLOOR_SCRIPT='for d in "$@"; do curl -fsS "http://'"127.0.0.1:$PORT"'/v2/bench/img/blobs/$d" | gunzip | tar -x -C "'"$WORK"'/dest" || exit 1; done'

echo "== measuring ($RUNS runs each, median by wall time)"
run floor bash -c "$FLOOR_SCRIPT" floor "${LAYERS[@]}"
run image-fetcher "$FETCHER" pull "docker://$IMAGE" --dest "$WORK/dest/layout" --tls-verify=false --quiet
run skopeo skopeo copy --quiet --src-tls-verify=false "docker://$IMAGE" "oci:$WORK/dest/layout:bench"

ratio() { # ratio NAME FIELD(1=wall, cpu=user+sys)
    python3 - "${RESULT[$1]}" "${RESULT[floor]}" "$2" <<'PY'
import sys
b, a, field = [float(x) for x in sys.argv[1].split()], [float(x) for x in sys.argv[2].split()], sys.argv[3]
if field == "wall":
    x, y = b[0], a[0]
else:
    x, y = b[1] + b[2], a[1] + a[2]
print(f"{x / y:.2f}" if y > 0 else "n/a")
PY
}

echo
echo "== ratios to the floor (lower is better)"
printf '  image-fetcher / floor: wall %s, cpu %s\n' "$(ratio image-fetcher wall)" "$(ratio image-fetcher cpu)"
printf '  skopeo        / floor: wall %s, cpu %s\n' "$(ratio skopeo wall)" "$(ratio skopeo cpu)"
echo
echo "Note: image-fetcher and skopeo download and verify (sha256) every blob and"
echo "fsync it into an OCI layout; they do not decompress or unpack layers (that"
echo "is storage-helper's job). The floor decompresses and unpacks but verifies"
echo "nothing. Compare the transfer paths, not end-to-end pulls."
