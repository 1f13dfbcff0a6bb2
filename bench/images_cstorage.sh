#!/bin/bash
# `podman images` on the hot path when the graph root is shared with
# containers/storage: a store whose second image skopeo wrote (adopted at
# the first look, images.json unchanged since) against a store holding the
# same two images pulled by podman itself (no images.json at all), as a
# ratio measured in the same run (aim: 1.0; the check is one stat and one
# indexed query).
#   PODMAN=target/release/podman (default) RUNS=41 bench/images_cstorage.sh
set -euo pipefail
cd "$(dirname "$0")/.."
WORK="$(mktemp -d /tmp/bench-cstorage.XXXXXX)"
# shellcheck source=lib.sh
source bench/lib.sh
bench_need images_cstorage.sh skopeo python3 tar
# skopeo's containers/storage keeps its overlay directory bind-mounted.
trap 'umount -l "$WORK/shared/g/overlay" 2>/dev/null || true; bench_cleanup' EXIT
PODMAN="${PODMAN:-target/release/podman}"
RUNS="${RUNS:-41}"
[ -x "$PODMAN" ] || { echo "$PODMAN is missing: cargo build --release first" >&2; exit 1; }
BUSYBOX="$(command -v busybox)"

# Two one-layer images made from the host's busybox, as OCI layouts.
python3 - "$WORK" "$BUSYBOX" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile
work, busybox = sys.argv[1], sys.argv[2]
for n in ("one", "two"):
    d = f"{work}/{n}"
    os.makedirs(f"{d}/blobs/sha256")
    def put(b):
        h = hashlib.sha256(b).hexdigest()
        open(f"{d}/blobs/sha256/{h}", "wb").write(b)
        return "sha256:" + h, len(b)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        t.add(busybox, arcname="bin/busybox")
        i = tarfile.TarInfo("etc/which"); data = n.encode(); i.size = len(data)
        t.addfile(i, io.BytesIO(data))
    raw = buf.getvalue()
    layer, lsize = put(gzip.compress(raw, mtime=0))
    cfg = {"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/busybox", "true"]},
           "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw).hexdigest()]},
           "created": "2024-01-01T00:00:00Z"}
    c, csize = put(json.dumps(cfg).encode())
    man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": c, "size": csize},
           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer, "size": lsize}]}
    m, msize = put(json.dumps(man).encode())
    json.dump({"schemaVersion": 2, "manifests": [{"mediaType": man["mediaType"], "digest": m, "size": msize,
               "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}, open(f"{d}/index.json", "w"))
    open(f"{d}/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
PY

p() { local s="$1"; shift; "$PODMAN" --root "$WORK/$s/g" --runroot "$WORK/$s/r" "$@"; }
p plain pull -q "oci:$WORK/one:latest" >/dev/null
p plain pull -q "oci:$WORK/two:latest" >/dev/null
p shared pull -q "oci:$WORK/one:latest" >/dev/null
skopeo copy -q "oci:$WORK/two:latest" "containers-storage:[overlay@$WORK/shared/g+$WORK/shared/r]localhost/two:latest"
[ "$(p shared images -q | wc -l)" = 2 ] || { echo "the skopeo image was not adopted" >&2; exit 1; }

python3 - "$RUNS" "$PODMAN" "$WORK" <<'PY'
import statistics, subprocess, sys, time
runs, podman, work = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def cmd(s):
    return [podman, "--root", f"{work}/{s}/g", "--runroot", f"{work}/{s}/r", "images"]
t = {"plain": [], "shared": []}
for _ in range(runs):
    for s in t:  # alternate, so load changes hit both alike
        a = time.perf_counter()
        subprocess.run(cmd(s), check=True, stdout=subprocess.DEVNULL)
        t[s].append(time.perf_counter() - a)
m = {s: statistics.median(v) * 1e3 for s, v in t.items()}
print(f"podman images, median of {runs}:")
print(f"  no images.json (floor)        {m['plain']:7.2f} ms")
print(f"  images.json seen, unchanged   {m['shared']:7.2f} ms")
print(f"  ratio                         {m['shared'] / m['plain']:7.2f}")
PY
