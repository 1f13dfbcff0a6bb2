//! Container verbs as Podman 5 has them (test/system 035, 045, 050, 055,
//! 075, 130): flags, messages and exit codes.

use std::process::Stdio;
use std::time::{Duration, Instant};

use e2e::podman::{stderr, TestStore};

fn fixture() -> (TestStore, e2e::registry::Registry, String) {
    e2e::podman::with_busybox()
}

/// Poll `f` until it is true or `secs` pass.
fn wait_until(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// 130-kill's first test: a foreground `run` whose container another
/// command removes returns, with the container's exit code (137 after
/// SIGKILL), instead of waiting forever.
#[test]
fn foreground_run_returns_when_its_container_is_removed() {
    let (s, _reg, r) = fixture();
    let mut run = s
        .cmd()
        .args(["run", "--name", "gone", "--network", "none", &r, "sleep", "1000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(wait_until(20, || s.ok(&["ps", "-q", "--filter", "name=gone"]).trim().len() > 0));
    s.ok(&["rm", "-f", "-t", "0", "gone"]);
    let mut status = None;
    assert!(
        wait_until(20, || {
            status = run.try_wait().unwrap();
            status.is_some()
        }),
        "podman run still running after its container was removed"
    );
    let out = run.wait_with_output().unwrap();
    assert_eq!(status.unwrap().code(), Some(137), "{}", stderr(&out));
    assert!(s.ok(&["ps", "-aq"]).trim().is_empty());
}
