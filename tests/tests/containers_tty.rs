//! Terminals: `exec -it`, `run -it`, `attach` and `start -ai` under a real
//! pty driven like a keyboard, and window size changes (SIGWINCH on podman)
//! reaching the container's terminal.

#[allow(unsafe_code)]
mod tty_support;

use std::time::Duration;

use e2e::podman::TestStore;
use tty_support::PtySession;

const PROMPT: &str = "# ";
const SLOW: Duration = Duration::from_secs(30);
const QUICK: Duration = Duration::from_secs(10);

fn podman_on_pty(s: &TestStore, args: &[&str], rows: u16, cols: u16) -> PtySession {
    let mut c = s.cmd();
    c.args(args);
    PtySession::spawn(c, rows, cols)
}

/// Ask the container's shell for its terminal size until it reports
/// `want` (a resize travels asynchronously: SIGWINCH, then a packet).
fn wait_for_size(t: &mut PtySession, want: &str) {
    for _ in 0..20 {
        t.send("stty size\r");
        if t.try_expect(want, Duration::from_millis(500)) {
            return;
        }
    }
    panic!(
        "the container's terminal never became {want}; the terminal showed:\n{}",
        t.seen
    );
}

#[test]
fn exec_it_runs_an_interactive_shell_under_a_pty() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    s.ok(&[
        "run",
        "-d",
        "--name",
        "box",
        "--network",
        "none",
        &r,
        "sleep",
        "1000",
    ]);
    let mut t = podman_on_pty(&s, &["exec", "-it", "box", "sh"], 30, 100);
    t.expect(PROMPT, SLOW);
    // The typed line is echoed by the container's terminal; only the
    // results below are output.
    t.send("tty; stty size; echo sum=$((6*7))\r");
    t.expect("/dev/pts/", QUICK);
    t.expect("30 100", QUICK);
    t.expect("sum=42", QUICK);
    t.send("exit 3\r");
    let st = t.wait(SLOW);
    assert_eq!(st.code(), Some(3), "exec -it exit code; saw:\n{}", t.seen);
    // The container is untouched by the session's end.
    assert_eq!(
        s.ok(&["inspect", "--format", "{{.State.Status}}", "box"])
            .trim(),
        "running"
    );
}

#[test]
fn run_it_is_interactive_and_follows_window_size_changes() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    let mut t = podman_on_pty(
        &s,
        &["run", "-it", "--rm", "--network", "none", &r, "sh"],
        24,
        80,
    );
    t.expect(PROMPT, SLOW);
    t.send("stty size\r");
    t.expect("24 80", QUICK);
    t.resize(40, 132);
    wait_for_size(&mut t, "40 132");
    t.resize(25, 90);
    wait_for_size(&mut t, "25 90");
    t.send("exit 5\r");
    let st = t.wait(SLOW);
    assert_eq!(st.code(), Some(5), "run -it exit code; saw:\n{}", t.seen);
    assert!(s.ok(&["ps", "-aq"]).trim().is_empty(), "--rm removed it");
}

#[test]
fn attach_start_ai_and_exec_it_follow_window_size_changes() {
    let (s, _reg, r) = e2e::podman::with_busybox();

    // attach to a running terminal container, resize, detach.
    s.ok(&["run", "-dit", "--name", "bg", "--network", "none", &r, "sh"]);
    let mut t = podman_on_pty(&s, &["attach", "bg"], 24, 80);
    t.send("\r");
    t.expect(PROMPT, SLOW);
    wait_for_size(&mut t, "24 80");
    t.resize(50, 150);
    wait_for_size(&mut t, "50 150");
    t.send("\x10\x11"); // ctrl-p ctrl-q
    let st = t.wait(SLOW);
    assert!(
        st.success(),
        "detaching ends attach with 0; saw:\n{}",
        t.seen
    );
    assert_eq!(
        s.ok(&["inspect", "--format", "{{.State.Status}}", "bg"])
            .trim(),
        "running"
    );

    // exec -it in the same container.
    let mut t = podman_on_pty(&s, &["exec", "-it", "bg", "sh"], 24, 80);
    t.expect(PROMPT, SLOW);
    wait_for_size(&mut t, "24 80");
    t.resize(33, 99);
    wait_for_size(&mut t, "33 99");
    t.send("exit\r");
    assert!(t.wait(SLOW).success(), "saw:\n{}", t.seen);

    // start -ai of a created terminal container.
    s.ok(&[
        "create",
        "-it",
        "--name",
        "later",
        "--network",
        "none",
        &r,
        "sh",
    ]);
    let mut t = podman_on_pty(&s, &["start", "-ai", "later"], 24, 80);
    t.expect(PROMPT, SLOW);
    wait_for_size(&mut t, "24 80");
    t.resize(41, 121);
    wait_for_size(&mut t, "41 121");
    t.send("exit 4\r");
    let st = t.wait(SLOW);
    assert_eq!(st.code(), Some(4), "start -ai exit code; saw:\n{}", t.seen);
}

#[test]
fn log_driver_passthrough_is_refused_on_a_terminal_unless_passthrough_tty() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    // Handing our terminal to the container would let it type into it
    // (TIOCSTI): Podman refuses passthrough there.
    let mut t = podman_on_pty(
        &s,
        &[
            "run",
            "--rm",
            "--log-driver",
            "passthrough",
            "--network",
            "none",
            &r,
            "true",
        ],
        24,
        80,
    );
    let st = t.wait(SLOW);
    assert_eq!(st.code(), Some(125), "saw:\n{}", t.seen);
    assert!(
        t.seen.contains("option cannot be used on a TTY"),
        "saw:\n{}",
        t.seen
    );
    // passthrough-tty says the user wants it anyway.
    let mut t = podman_on_pty(
        &s,
        &[
            "run",
            "--rm",
            "--log-driver",
            "passthrough-tty",
            "--network",
            "none",
            &r,
            "sh",
            "-c",
            "test -t 1 && echo on-the-terminal",
        ],
        24,
        80,
    );
    let st = t.wait(SLOW);
    assert!(st.success(), "saw:\n{}", t.seen);
    assert!(t.seen.contains("on-the-terminal"), "saw:\n{}", t.seen);
    assert!(s.ok(&["ps", "-aq"]).trim().is_empty());
}
