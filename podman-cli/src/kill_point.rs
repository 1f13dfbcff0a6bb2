//! A test hook for crash consistency: `PODMAN_RS_TEST_KILL_AT=<stage>`
//! makes this process SIGKILL itself when it reaches that stage, so tests
//! can prove that every window between two side effects is recoverable.
//! Always compiled; without the variable each check is one cached lookup.

use std::sync::OnceLock;

/// The environment variable naming the stage.
pub const ENV: &str = "PODMAN_RS_TEST_KILL_AT";

/// Die here (SIGKILL, no unwinding, no cleanup) when the environment names
/// `stage`.
pub fn reached(stage: &str) {
    static WANTED: OnceLock<Option<String>> = OnceLock::new();
    let wanted = WANTED.get_or_init(|| std::env::var(ENV).ok().filter(|s| !s.is_empty()));
    if wanted.as_deref() == Some(stage) {
        tracing::debug!(stage, "test kill point reached: SIGKILL");
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }
}
