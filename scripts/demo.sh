#!/bin/bash
# The main job, on a fresh machine: install what is needed, build release
# binaries, then show the engine and every helper answering over their pipes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo build --release --workspace --quiet
P=target/release/podman
echo "== podman version (each helper's version fetched over its socketpair)"
$P version
echo
echo "== podman info (host, store, runtimes that really work here, network backend)"
$P info --format '{{.Host.OCIRuntime.Name}} {{.Host.OCIRuntime.Version}} on {{.Host.Distribution.Distribution}} {{.Host.Distribution.Version}}, cgroups {{.Host.CgroupsVersion}}, storage {{.Store.GraphDriverName}} on {{index .Store.GraphStatus "Backing Filesystem"}}'
