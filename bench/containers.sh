#!/bin/bash
# Container and network hot paths as ratios to floors measured in the same
# run (see bench/containers.py). Builds release binaries first.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --quiet
BIN=$PWD/target/release
coproc REG { exec "$BIN/fixture-registry" bench/bb:latest; }
read -r REF <&"${REG[0]}"
trap 'exec {REG[1]}>&-; wait' EXIT
python3 bench/containers.py "$BIN" "$REF"
