#!/bin/bash
# Installs what podman-rs needs to build, run and test on a fresh Debian
# machine: the OCI runtime, a local registry, a static busybox for test
# images, firewall tools, and skopeo (only for the pull benchmark's
# comparison). Idempotent; quiet when everything is already there.
set -euo pipefail
PKGS=(runc docker-registry busybox-static nftables iptables uidmap skopeo curl ca-certificates catatonit iproute2 procps bsdutils python3 python3-venv)
# Podman itself with netavark (not CNI): network files written by one are read by
# the other (tests/network_files.rs); the peer-bats harness builds with netavark too.
PKGS+=(podman netavark aardvark-dns)
# --network slirp4netns and --network pasta (tests/tests/network_modes.rs)
PKGS+=(slirp4netns passt)
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The Debian registry package starts its own service on :5000; tests start
# their own registries on free loopback ports instead.
systemctl disable --now docker-registry >/dev/null 2>&1 || true
# The API tests drive podman's service with the docker CLI (Debian ships it
# in docker.io, with a daemon we do not want running) and docker-py.
if ! command -v docker >/dev/null; then
    echo "installing: docker.io (for its CLI)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >/dev/null
    systemctl disable --now docker.service docker.socket containerd.service >/dev/null 2>&1 || true
fi
API_VENV=${PODMAN_RS_API_VENV:-/var/cache/podman-rs/venv}
if ! "$API_VENV/bin/python" -c 'import docker, podman' 2>/dev/null; then
    echo "installing: docker-py and podman-py into $API_VENV"
    mkdir -p "$(dirname "$API_VENV")"
    [ -x "$API_VENV/bin/pip" ] || python3 -m venv "$API_VENV"
    "$API_VENV/bin/pip" install -q docker podman
fi
command -v cargo >/dev/null || { echo "cargo not found: install a Rust toolchain (rustup)"; exit 1; }
