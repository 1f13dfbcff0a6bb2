//! `podman events` reading its log: streaming new events until SIGTERM,
//! the `none` backend (nothing written, nothing to read), and
//! containers.conf's log path and its rotation.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use e2e::podman::{stderr, stdout, with_busybox, TestStore};

/// The store's events log (the default: under its run root).
fn log_path(s: &TestStore) -> PathBuf {
    s.runroot().join("libpod-tmp/events/events.log")
}

/// Lines of a child's stdout, through a channel (reads with deadlines).
fn lines_of(child: &mut std::process::Child) -> mpsc::Receiver<String> {
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines() {
            let Ok(l) = l else { break };
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    rx
}

#[test]
fn streaming_follows_new_events_and_ends_on_sigterm() {
    let (s, _reg, r) = with_busybox();
    let mut child = s
        .cmd()
        .args([
            "events",
            "--since",
            "1h",
            "--format",
            "{{.Type}} {{.Status}} {{.Name}}",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let rx = lines_of(&mut child);
    // The pull of the fixture is already in the log: the follower is reading.
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(20)).unwrap(),
        format!("image pull {r}")
    );
    s.ok(&[
        "run",
        "--rm",
        "--name",
        "st1",
        "--network",
        "none",
        &r,
        "true",
    ]);
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !seen.iter().any(|l: &String| l == "container remove st1") {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) => seen.push(l),
            Err(_) => panic!("no remove event within 20s: {seen:?}"),
        }
    }
    assert_eq!(
        &seen[..2],
        [
            format!("image pull {r}"),
            "container create st1".to_string()
        ]
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let (tx, done) = mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait().unwrap()));
    let status = done
        .recv_timeout(Duration::from_secs(10))
        .expect("podman events ignored SIGTERM");
    assert!(status.success(), "{status:?}");

    // Without --since, only new events; --until ends the stream by itself.
    let mut child = s
        .cmd()
        .args(["events", "--until", "3s", "--format", "{{.Status}}"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    let status = child.wait().unwrap();
    assert!(status.success());
    assert!(t0.elapsed() >= Duration::from_secs(2), "{:?}", t0.elapsed());
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    // --until sets the start of the log as the reading point.
    assert!(out.contains("remove"), "{out}");
}

#[test]
fn backend_none_writes_nothing_and_cannot_be_read() {
    let (s, _reg, r) = with_busybox();
    let before = std::fs::read(log_path(&s)).unwrap();
    s.ok(&[
        "--events-backend",
        "none",
        "run",
        "--rm",
        "--network",
        "none",
        &r,
        "true",
    ]);
    s.ok(&[
        "--events-backend=none",
        "run",
        "-d",
        "--name",
        "bn",
        "--network",
        "none",
        &r,
        "true",
    ]);
    s.ok(&["--events-backend=none", "wait", "bn"]);
    s.ok(&["--events-backend=none", "rm", "bn"]);
    assert_eq!(std::fs::read(log_path(&s)).unwrap(), before);
    for args in [vec!["events"], vec!["events", "--stream=false"]] {
        let mut a = vec!["--events-backend", "none"];
        a.extend(args);
        let o = s.run(&a);
        assert_eq!(o.status.code(), Some(125));
        assert_eq!(
            stderr(&o),
            "Error: cannot read events with the \"none\" backend\n"
        );
    }
    let o = s.run(&["--events-backend", "journald", "events", "--stream=false"]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    let o = s.run(&["--events-backend", "bogus", "ps"]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(
        stderr(&o),
        "Error: \"bogus\" is not a valid events backend: invalid argument\n"
    );
}

fn populate(path: &std::path::Path) {
    let mut s = String::new();
    for i in 0..100 {
        s += &format!("{{\"Name\":\"busybox\",\"Status\":\"pull\",\"Time\":\"2022-04-06T11:26:42.7236679{i:02}+02:00\",\"Type\":\"image\",\"Attributes\":null}}\n");
    }
    std::fs::write(path, s).unwrap();
}

#[test]
fn containers_conf_sets_the_log_path_and_its_rotation() {
    let (s, _reg, r) = with_busybox();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("events.txt");
    let conf = dir.path().join("containers.conf");
    let with_conf = |args: &[&str]| {
        let o = s
            .cmd()
            .env("CONTAINERS_CONF_OVERRIDE", &conf)
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        stdout(&o)
    };
    std::fs::write(
        &conf,
        format!(
            "[engine]\nevents_logger=\"file\"\nevents_logfile_path=\"{}\"\n",
            log.display()
        ),
    )
    .unwrap();
    // A missing log reads as empty.
    assert_eq!(with_conf(&["events", "--stream=false"]), "");
    populate(&log);
    let before = std::fs::read_to_string(&log).unwrap();
    with_conf(&["run", "--rm", "--network", "none", &r, "true"]);
    let after = std::fs::read_to_string(&log).unwrap();
    assert!(after.starts_with(&before) && after.len() > before.len());

    // With a limit below the size: rotated, keeping the newer half.
    populate(&log);
    std::fs::write(
        &conf,
        format!(
            "[engine]\nevents_logger=\"file\"\nevents_logfile_path=\"{}\"\nevents_logfile_max_size=4750\n",
            log.display()
        ),
    )
    .unwrap();
    let cid = s.ok(&["create", &r]).trim().to_string();
    with_conf(&["rm", &cid]);
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 52, "{text}");
    let rotate = |which: &str| {
        format!(
            "\"Name\":\"{}\",\"Status\":\"log-rotation\",\"Time\":",
            log.display()
        ) + &format!("|{which}")
    };
    for (i, which) in [(0, "begin"), (50, "end")] {
        let want = rotate(which);
        let (head, tail) = want.split_once('|').unwrap();
        assert!(lines[i].starts_with(&format!("{{{head}")), "{}", lines[i]);
        assert!(
            lines[i].ends_with(&format!(
                "\"Type\":\"system\",\"Attributes\":{{\"io.podman.event.rotate\":\"{tail}\"}}}}"
            )),
            "{}",
            lines[i]
        );
    }
    assert!(lines[1].contains("2022-04-06T11:26:42.723667951+02:00"));
    assert!(
        lines[51].contains(&format!("\"ID\":\"{cid}\""))
            && lines[51].contains("\"Status\":\"remove\"")
    );
    let read = with_conf(&[
        "events",
        "--stream=false",
        "--since=2022-03-06T11:26:42.723667984+02:00",
        "--format=json",
    ]);
    let read: Vec<&str> = read.lines().collect();
    assert_eq!(read.len(), 52);
    assert!(read[0].starts_with(&format!(
        "{{\"Name\":\"{}\",\"Status\":\"log-rotation\",\"time\":",
        log.display()
    )));
    assert!(read[1].starts_with("{\"Name\":\"busybox\",\"Status\":\"pull\",\"time\":1649237202,\"timeNano\":1649237202723667951,\"Type\":\"image\",\"Attributes\":null}"));
}
