#!/bin/bash
# Sets up a fresh machine and runs the whole test suite: unit tests of every
# crate and the end-to-end tests (real binaries, a real registry on a
# loopback port, real runc containers).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo build --workspace --all-targets
cargo test --workspace --no-fail-fast
