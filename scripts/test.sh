#!/bin/bash
# Sets up a fresh machine and runs the whole test suite: unit tests of every
# crate and the end-to-end tests (real binaries, a real registry on a
# loopback port, real runc containers).
set -euo pipefail
cd "$(dirname "$0")/.."

# A clean build of the workspace and its test binaries needs a few GB; a full
# disk shows up as a linker "Bus error", so say it plainly first.
avail_kb=$(df -Pk . | awk 'NR==2 {print $4}')
if [ "${avail_kb:-0}" -lt $((6 * 1024 * 1024)) ]; then
    echo "test.sh: only $((avail_kb / 1024)) MB free under $(pwd): free at least 6 GB (old target/ directories?) and run again" >&2
    exit 1
fi
bash scripts/install-deps.sh
cargo build --workspace --all-targets
# Lints (the workspace [lints] table: unsafe fenced in, SAFETY comments) as
# errors. clippy ships with rustup's default profile; add it if this
# toolchain was installed without it.
if ! cargo clippy --version >/dev/null 2>&1; then
    rustup component add clippy
fi
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace --no-fail-fast
