#!/bin/bash
# The main job on a fresh machine: install what is needed, build release
# binaries, serve a busybox image from a real registry on a loopback port,
# pull it and run real containers from it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo build --release --workspace --quiet
BIN=$PWD/target/release
STORE=$(mktemp -d /tmp/demo.XXXXXX)
P=("$BIN/podman" --root "$STORE/root" --runroot "$STORE/run")
coproc REG { exec "$BIN/fixture-registry" demo/busybox:latest; }
read -r REF <&"${REG[0]}"
cleanup() {
    "${P[@]}" rm -af -t 0 >/dev/null 2>&1 || true
    "${P[@]}" network rm -f demo-net >/dev/null 2>&1 || true
    exec {REG[1]}>&- || true
    wait || true
    rm -rf "$STORE"
}
trap cleanup EXIT

echo "== podman version (each helper's version fetched over its socketpair)"
"${P[@]}" version
echo
echo "== pull $REF from the local registry"
"${P[@]}" pull --tls-verify=false "$REF"
"${P[@]}" images
echo
echo "== run a container"
"${P[@]}" run --rm "$REF" sh -c 'echo "hello from $(hostname), $(uname -sr), pid $$"; ip -4 -o addr show eth0'
echo
echo "== two containers on a user network, by name"
"${P[@]}" network create demo-net >/dev/null
"${P[@]}" run -d --name web --network demo-net "$REF" sh -c 'echo "served by web" > /tmp/index.html; httpd -f -p 80 -h /tmp' >/dev/null
sleep 0.3
"${P[@]}" run --rm --network demo-net "$REF" wget -qO- http://web/index.html
"${P[@]}" ps
