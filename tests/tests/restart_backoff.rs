//! Restart policies carried out by the exit path without a daemon: a
//! container that fails at once is restarted with a growing back-off, and
//! `podman stop` during the back-off stops it for good.

use std::time::{Duration, Instant};

use e2e::podman::with_busybox;
use e2e::poll;

#[test]
fn restarts_back_off_and_a_stop_in_between_is_for_good() {
    let (s, _reg, image) = with_busybox();
    let t0 = Instant::now();
    s.ok(&[
        "run",
        "-d",
        "--name",
        "crash",
        "--network",
        "none",
        "--restart",
        "always",
        &image,
        "sh",
        "-c",
        "exit 3",
    ]);
    let count = || -> u32 {
        s.ok(&["inspect", "--format", "{{.RestartCount}}", "crash"])
            .trim()
            .parse()
            .unwrap()
    };
    poll::until(Duration::from_secs(60), "five restarts", || count() >= 5);
    // 100 + 200 + 400 + 800 ms of back-off came before the fifth.
    assert!(
        t0.elapsed() >= Duration::from_millis(1500),
        "five restarts in {:?}",
        t0.elapsed()
    );
    // The next back-off is 1.6 s or more: stop lands in one (or in a run).
    poll::until(Duration::from_secs(20), "an exit between runs", || {
        s.ok(&["inspect", "--format", "{{.State.Status}}", "crash"])
            .trim()
            == "exited"
    });
    let monitor: i32 = s
        .ok(&["inspect", "--format", "{{.State.ConmonPid}}", "crash"])
        .trim()
        .parse()
        .unwrap();
    s.ok(&["stop", "-t", "0", "crash"]);
    let stopped_at = count();
    // The exit's cleanup has decided once the monitor that ran it is gone.
    poll::until(Duration::from_secs(30), "the old monitor to leave", || {
        !poll::running(monitor)
    });
    let st = s.ok(&[
        "inspect",
        "--format",
        "{{.State.Status}} {{.RestartCount}}",
        "crash",
    ]);
    assert_eq!(
        st.trim(),
        format!("exited {stopped_at}"),
        "restarted after stop"
    );
    s.ok(&["rm", "crash"]);
}
