#!/bin/bash
# Cost of spawning a helper and making its first gRPC call, as a ratio to
# fork-exec of /bin/true measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --quiet
cargo bench -p e2e --bench helper_spawn --quiet
