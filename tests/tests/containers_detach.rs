//! Detach keys under a real pty: ctrl-p ctrl-q leaves `run -it` with the
//! container still running, `podman attach` reconnects, and
//! `--detach-keys=""` disables detaching.

#[allow(dead_code)]
#[path = "tty_support/mod.rs"]
#[allow(unsafe_code)]
mod tty_support;

use std::time::Duration;

use e2e::podman::TestStore;
use tty_support::PtySession;

const PROMPT: &str = "# ";
const SLOW: Duration = Duration::from_secs(30);
const QUICK: Duration = Duration::from_secs(10);

fn on_pty(s: &TestStore, args: &[&str]) -> PtySession {
    let mut c = s.cmd();
    c.args(args);
    PtySession::spawn(c, 24, 80)
}

fn status(s: &TestStore, name: &str) -> String {
    s.ok(&["inspect", "--format", "{{.State.Status}}", name])
        .trim()
        .to_string()
}

#[test]
fn run_it_detaches_and_attach_reconnects() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    let mut t = on_pty(
        &s,
        &["run", "-it", "--name", "d1", "--network", "none", &r, "sh"],
    );
    t.expect(PROMPT, SLOW);
    t.send("echo one=$((1+1))\r");
    t.expect("one=2", QUICK);
    t.send("\x10\x11"); // ctrl-p ctrl-q
    let st = t.wait(SLOW);
    assert!(st.success(), "detaching ends run with 0; saw:\n{}", t.seen);
    assert_eq!(status(&s, "d1"), "running", "saw:\n{}", t.seen);

    // attach reconnects to the same shell; detach again.
    let mut t = on_pty(&s, &["attach", "d1"]);
    t.send("\r");
    t.expect(PROMPT, SLOW);
    t.send("echo two=$((1+2))\r");
    t.expect("two=3", QUICK);
    t.send("\x10\x11");
    assert!(t.wait(SLOW).success(), "saw:\n{}", t.seen);
    assert_eq!(status(&s, "d1"), "running");

    // Custom keys on attach; then the shell's own exit ends attach with its code.
    let mut t = on_pty(&s, &["attach", "--detach-keys", "ctrl-x", "d1"]);
    t.send("\r");
    t.expect(PROMPT, SLOW);
    t.send("\x18");
    assert!(t.wait(SLOW).success(), "saw:\n{}", t.seen);
    assert_eq!(status(&s, "d1"), "running");
    let mut t = on_pty(&s, &["attach", "d1"]);
    t.send("\r");
    t.expect(PROMPT, SLOW);
    t.send("exit 4\r");
    assert_eq!(t.wait(SLOW).code(), Some(4), "saw:\n{}", t.seen);
}

#[test]
fn empty_detach_keys_disable_detaching() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    let mut t = on_pty(
        &s,
        &[
            "run",
            "-it",
            "--rm",
            "--detach-keys=",
            "--network",
            "none",
            &r,
            "sh",
        ],
    );
    t.expect(PROMPT, SLOW);
    // ctrl-p ctrl-q go to the shell; the session goes on.
    t.send("\x10\x11");
    t.send("\recho still=$((2*3))\r");
    t.expect("still=6", QUICK);
    t.send("exit 0\r");
    assert!(t.wait(SLOW).success(), "saw:\n{}", t.seen);
}
