//! The "stopping" state (upstream 050-stop "unlock while waiting for
//! timeout"): while `stop` waits out the timeout of a signal the container
//! ignores, inspect and ps read "stopping", other commands get the lock,
//! and kill ends it with 137.

use std::time::Duration;

use e2e::podman::with_busybox;
use e2e::poll::until;

#[test]
fn a_container_reads_stopping_while_its_stop_timeout_runs() {
    let (s, _reg, r) = with_busybox();
    s.ok(&[
        "run",
        "-d",
        "--name",
        "stopme",
        "--network",
        "none",
        &r,
        "sh",
        "-c",
        "trap 'echo Received SIGTERM, ignoring' TERM; echo READY; while :; do sleep 0.2; done",
    ]);
    until(Duration::from_secs(10), "READY", || {
        s.ok(&["logs", "stopme"]).contains("READY")
    });
    let mut stop = s
        .cmd()
        .args(["stop", "-t", "20", "stopme"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    until(
        Duration::from_secs(10),
        "the container to get SIGTERM",
        || s.ok(&["logs", "stopme"]).contains("Received SIGTERM"),
    );
    let status = s.ok(&["inspect", "--format", "{{.State.Status}}", "stopme"]);
    assert_eq!(status.trim(), "stopping");
    let ps = s.ok(&["ps", "-a", "--format", "{{.Names}} {{.State}}"]);
    assert_eq!(ps.trim(), "stopme stopping");
    // Still running as far as its process goes: rm without -f refuses.
    let o = s.run(&["rm", "stopme"]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    s.ok(&["kill", "stopme"]);
    s.ok(&["wait", "stopme"]);
    let code = s.ok(&["inspect", "--format", "{{.State.ExitCode}}", "stopme"]);
    assert_eq!(code.trim(), "137");
    stop.wait().unwrap();
    let status = s.ok(&["inspect", "--format", "{{.State.Status}}", "stopme"]);
    assert_eq!(status.trim(), "exited");
}

/// `stop` sends SIGKILL with the container's lock held and cleans up in
/// its own process (the teardown and unmount are its calls), so it does
/// not wait for the monitor's exit command, a new podman started after
/// the runtime's delete; that one then finds nothing left to do.
#[test]
fn stop_cleans_up_itself_and_the_exit_command_finds_it_done() {
    let (s, _reg, r) = with_busybox();
    s.ok(&["run", "-d", "--name", "killme", &r, "sleep", "1000"]);
    let key = s.ok(&[
        "inspect",
        "--format",
        "{{.NetworkSettings.SandboxKey}}",
        "killme",
    ]);
    assert!(key.contains("netns-"), "bridged: {key}");
    let monitor: i32 = s
        .ok(&["inspect", "--format", "{{.State.ConmonPid}}", "killme"])
        .trim()
        .parse()
        .unwrap();
    let o = s.run(&["--log-level", "debug", "stop", "-t", "0", "killme"]);
    assert!(o.status.success(), "{o:?}");
    let log = String::from_utf8_lossy(&o.stderr);
    let own = |method: &str| {
        log.lines()
            .any(|l| l.contains("msg=\"call done\"") && l.contains(&format!("method={method}")))
    };
    assert!(
        own("Teardown") && own("Unmount"),
        "stop's own calls:\n{log}"
    );
    let st = s.ok(&[
        "inspect",
        "--format",
        "{{.State.Status}} {{.State.ExitCode}} [{{.NetworkSettings.SandboxKey}}] [{{.State.Error}}]",
        "killme",
    ]);
    assert_eq!(st.trim(), "exited 137 [] []");
    // The exit command ran after the stop let go of the lock and changed
    // nothing: the monitor is gone and the state still reads the same.
    until(Duration::from_secs(10), "the monitor to exit", || {
        !std::path::Path::new(&format!("/proc/{monitor}")).exists()
    });
    let again = s.ok(&[
        "inspect",
        "--format",
        "{{.State.Status}} {{.State.ExitCode}} [{{.NetworkSettings.SandboxKey}}] [{{.State.Error}}]",
        "killme",
    ]);
    assert_eq!(again, st);
    s.ok(&["rm", "killme"]);
}

fn mounted(path: &str) -> bool {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    info.lines().any(|l| l.split(' ').nth(4) == Some(path))
}

/// A stop does not wait for the overlay's sync (it is paid by a detached
/// process that keeps the container's storage lock meanwhile): when stop
/// returns the rootfs is no longer mounted, a start right after sees what
/// the container wrote, and a removal right after leaves nothing behind.
/// Its output pipes close with it (`ok` reads them to EOF).
#[test]
fn stop_unmounts_at_once_and_the_next_start_sees_the_written_data() {
    let (s, _reg, r) = with_busybox();
    s.ok(&[
        "run",
        "-d",
        "--name",
        "writeandstop",
        &r,
        "sh",
        "-c",
        "dd if=/dev/zero of=/bulk bs=1M count=16 2>/dev/null; echo kept > /marker; echo READY; sleep 1000",
    ]);
    until(Duration::from_secs(20), "READY", || {
        s.ok(&["logs", "writeandstop"]).contains("READY")
    });
    let merged = s.ok(&[
        "inspect",
        "--format",
        "{{.GraphDriver.Data.MergedDir}}",
        "writeandstop",
    ]);
    let merged = merged.trim().to_string();
    assert!(mounted(&merged), "running: {merged} is mounted");
    s.ok(&["stop", "-t", "0", "writeandstop"]);
    assert!(!mounted(&merged), "stopped: {merged} is still mounted");
    s.ok(&["start", "writeandstop"]);
    let got = s.ok(&[
        "exec",
        "writeandstop",
        "sh",
        "-c",
        "read x < /marker; echo $x",
    ]);
    assert_eq!(got.trim(), "kept");
    let size = s.ok(&["exec", "writeandstop", "sh", "-c", "wc -c < /bulk"]);
    assert_eq!(size.trim(), (16 * 1024 * 1024).to_string());
    s.ok(&["stop", "-t", "0", "writeandstop"]);
    s.ok(&["rm", "writeandstop"]);
    assert!(!mounted(&merged), "removed: {merged} is still mounted");
    assert!(
        !std::path::Path::new(&merged).exists(),
        "removed: {merged} is left"
    );
}

/// `stop -t -1` (Podman's "wait for ever"): only the stop signal is sent,
/// and the stop returns when the container exits by itself, long after
/// its own stop timeout would have sent SIGKILL.
#[test]
fn stop_with_time_minus_one_waits_for_the_exit() {
    let (s, _reg, r) = with_busybox();
    s.ok(&[
        "run",
        "-d",
        "--name",
        "h-cli-patient",
        "--network",
        "none",
        "--stop-timeout",
        "1",
        &r,
        "sh",
        "-c",
        "trap 'sleep 3; exit 7' TERM; echo READY; while :; do sleep 0.2; done",
    ]);
    until(Duration::from_secs(10), "READY", || {
        s.ok(&["logs", "h-cli-patient"]).contains("READY")
    });
    let o = s.run(&["stop", "-t", "-1", "h-cli-patient"]);
    assert!(o.status.success(), "{o:?}");
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("SIGKILL"),
        "{o:?}"
    );
    let code = s.ok(&[
        "inspect",
        "--format",
        "{{.State.ExitCode}}",
        "h-cli-patient",
    ]);
    assert_eq!(code.trim(), "7", "the trap's exit, not SIGKILL's 137");
    // rm -t takes it too.
    s.ok(&["rm", "-f", "-t", "-1", "h-cli-patient"]);
}
