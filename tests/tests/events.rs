//! `podman events` with the file backend: the real podman, helpers,
//! registry and runc write events; `podman events` reads them back.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use e2e::podman::{stderr, stdout, TestStore};

fn fixture() -> (TestStore, e2e::registry::Registry, String) {
    e2e::podman::with_busybox()
}

/// The store's events log (the default: under its run root).
fn log_path(s: &TestStore) -> PathBuf {
    s.runroot().join("libpod-tmp/events/events.log")
}

/// `podman events --stream=false ARGS`, one string per line.
fn events(s: &TestStore, args: &[&str]) -> Vec<String> {
    let mut a = vec!["events", "--stream=false"];
    a.extend_from_slice(args);
    s.ok(&a).lines().map(String::from).collect()
}

fn json_events(s: &TestStore, args: &[&str]) -> Vec<serde_json::Value> {
    let mut a = vec!["--format", "json"];
    a.extend_from_slice(args);
    events(s, &a)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn a_foreground_run_rm_records_the_whole_life_in_order() {
    let (s, _reg, r) = fixture();
    let o = s.run(&[
        "run",
        "--rm",
        "--name",
        "ev1",
        "--label",
        "lbl=some value",
        "--network",
        "none",
        &r,
        "sh",
        "-c",
        "exit 17",
    ]);
    assert_eq!(o.status.code(), Some(17), "{}", stderr(&o));
    let statuses = events(
        &s,
        &["--filter", "container=ev1", "--format", "{{.Status}}"],
    );
    assert_eq!(
        statuses,
        ["create", "init", "start", "attach", "died", "cleanup", "remove"]
    );
    let evs = json_events(&s, &["--filter", "container=ev1"]);
    let id = evs[0]["ID"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 64);
    for e in &evs {
        assert_eq!(e["Type"], "container");
        assert_eq!(e["ID"], id.as_str());
        assert_eq!(e["Name"], "ev1");
        assert_eq!(e["Image"], r.as_str());
        assert_eq!(e["Attributes"]["lbl"], "some value");
        assert!(e["timeNano"].as_i64().unwrap() / 1_000_000_000 == e["time"].as_i64().unwrap());
    }
    assert_eq!(evs[4]["ContainerExitCode"], 17);
    assert_eq!(evs[6]["ContainerExitCode"], 17);
    assert!(evs[0].get("ContainerExitCode").is_none());
    // Docker's "die", and the labels of the died event through a template.
    let died = events(
        &s,
        &[
            "--filter",
            "container=ev1",
            "--filter",
            "status=die",
            "--format",
            "{{.Attributes.lbl}}--{{.ContainerExitCode}}",
        ],
    );
    assert_eq!(died, ["some value--17"]);
    // The human line: Go's time, type, status, ID, then image, name, labels.
    let human = events(
        &s,
        &["--filter", "container=ev1", "--filter", "event=start"],
    );
    assert_eq!(human.len(), 1);
    let want = format!(" container start {id} (image={r}, name=ev1, lbl=some value)");
    assert!(human[0].ends_with(&want), "{}", human[0]);
    // 2024-01-01 12:00:00.123456789 +0000 UTC container start ...
    let words: Vec<&str> = human[0].splitn(5, ' ').collect();
    assert_eq!(words[0].len(), 10, "{}", human[0]);
    assert!(
        words[1].len() >= 8 && words[1].len() <= 18 && words[1].as_bytes()[2] == b':',
        "{}",
        human[0]
    );
    assert!(
        words[2].starts_with('+') || words[2].starts_with('-'),
        "{}",
        human[0]
    );
    assert!(words[4].starts_with("container start "), "{}", human[0]);
    let short = events(
        &s,
        &[
            "--filter",
            "container=ev1",
            "--filter",
            "event=start",
            "--no-trunc=false",
        ],
    );
    assert!(
        short[0].contains(&format!(" container start {} (", &id[..12])),
        "{}",
        short[0]
    );
    // The file holds libpod's lines: RFC 3339 `Time`, no `time`/`timeNano`.
    let text = std::fs::read_to_string(log_path(&s)).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("\"Status\":\"died\""))
        .unwrap();
    assert!(
        line.starts_with(&format!("{{\"ContainerExitCode\":17,\"ID\":\"{id}\",\"Image\":\"{r}\",\"Name\":\"ev1\",\"Status\":\"died\",\"Time\":\"")),
        "{line}"
    );
    assert!(
        line.ends_with("\"Type\":\"container\",\"Attributes\":{\"lbl\":\"some value\"}}"),
        "{line}"
    );
}

#[test]
fn a_detached_container_stopped_and_removed_dies_once() {
    let (s, _reg, r) = fixture();
    let id = s
        .ok(&[
            "run",
            "-d",
            "--name",
            "ev2",
            "--network",
            "none",
            &r,
            "sleep",
            "100",
        ])
        .trim()
        .to_string();
    let o = s.run(&["exec", "ev2", "sh", "-c", "exit 3"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let exec = json_events(
        &s,
        &["--filter", "container=ev2", "--filter", "event=exec_died"],
    );
    assert_eq!(exec.len(), 1);
    assert_eq!(exec[0]["ContainerExitCode"], 3);
    assert_eq!(
        exec[0]["Attributes"]["execID"].as_str().map(str::len),
        Some(8)
    );
    s.ok(&["stop", "-t", "0", "ev2"]);
    // stop cleans up before it returns (or waits for the exit command's).
    let statuses = events(
        &s,
        &[
            "--filter",
            &format!("container={}", &id[..12]),
            "--format",
            "{{.Status}}",
        ],
    );
    s.ok(&["rm", "ev2"]);
    let mut all = statuses.clone();
    all.push("remove".into());
    let after = events(
        &s,
        &["--filter", "container=ev2", "--format", "{{.Status}}"],
    );
    assert_eq!(after, all);
    assert_eq!(
        &after[..5],
        ["create", "init", "start", "exec", "exec_died"]
    );
    // `system events` is the same command.
    let sys = [
        "system",
        "events",
        "--stream=false",
        "--filter",
        "container=ev2",
        "--format",
        "{{.Status}}",
    ];
    assert_eq!(s.ok(&sys), after.join("\n") + "\n");
    assert_eq!(after.last().unwrap(), "remove");
    for once in ["stop", "died", "cleanup"] {
        assert_eq!(after.iter().filter(|x| *x == once).count(), 1, "{after:?}");
    }
    let pos = |x: &str| after.iter().position(|y| y == x).unwrap();
    assert!(pos("died") < pos("cleanup"), "{after:?}");
    let died = json_events(&s, &["--filter", "container=ev2", "--filter", "event=died"]);
    assert_eq!(died[0]["ContainerExitCode"], 137, "{died:?}");
}

#[test]
fn filters_since_until_and_bad_input() {
    let (s, _reg, r) = fixture();
    for name in ["f1", "f2", "f3"] {
        s.ok(&[
            "run",
            "--rm",
            "--name",
            name,
            "--network",
            "none",
            &r,
            "true",
        ]);
    }
    // Values of one key OR, keys AND.
    let two = events(
        &s,
        &[
            "--filter",
            "container=f1",
            "--filter",
            "container=f3",
            "--filter",
            "event=start",
            "--format",
            "{{.Name}} {{.Status}}",
        ],
    );
    assert_eq!(two, ["f1 start", "f3 start"]);
    // As libimage, create and run report the (local) image as pulled.
    assert_eq!(
        events(
            &s,
            &[
                "--filter",
                "type=image",
                "--format",
                "{{.Status}} {{.Name}}"
            ]
        ),
        [
            format!("pull {r}"),
            format!("pull {r}"),
            format!("pull {r}"),
            format!("pull {r}")
        ]
    );
    assert!(events(&s, &["--filter", "type=network"]).is_empty());
    // --since / --until: Unix timestamps (floats, as Podman parses them:
    // about 0.2 µs precision today), RFC 3339, Go durations.
    let starts = json_events(&s, &["--filter", "event=start"]);
    let t2 = starts[1]["timeNano"].as_i64().unwrap();
    let unix = |ns: i64| format!("{}.{:09}", ns / 1_000_000_000, ns % 1_000_000_000);
    let names = |args: &[&str]| {
        let mut a = vec!["--filter", "event=start", "--format", "{{.Name}}"];
        a.extend_from_slice(args);
        events(&s, &a)
    };
    assert_eq!(names(&["--since", &unix(t2 - 1_000_000)]), ["f2", "f3"]);
    assert_eq!(names(&["--until", &unix(t2 + 1_000_000)]), ["f1", "f2"]);
    assert_eq!(
        names(&[
            "--since",
            &unix(t2 - 1_000_000),
            "--until",
            &unix(t2 + 1_000_000)
        ]),
        ["f2"]
    );
    assert_eq!(names(&["--since", "10m"]), ["f1", "f2", "f3"]);
    assert!(names(&["--until", "-10m"]).is_empty());
    assert_eq!(names(&["--since", "2000-01-01T00:00:00Z"]).len(), 3);
    assert!(names(&["--since", "2099-01-01"]).is_empty());
    // Bad input: Podman's words, one line, 125.
    for (args, want) in [
        (vec!["--filter", "foo=bar"], "Error: failed to parse event filters: foo is an invalid filter\n"),
        (vec!["--filter", "nokey"], "Error: failed to parse event filters: nokey is an invalid filter\n"),
        (
            vec!["--since", "the dawn of time...ish"],
            "Error: failed to parse event filters: unable to convert since time of the dawn of time...ish: unable to interpret time value\n",
        ),
        (
            vec!["--until", "tomorrow"],
            "Error: failed to parse event filters: unable to convert until time of tomorrow: unable to interpret time value\n",
        ),
    ] {
        let mut a = vec!["events", "--stream=false"];
        a.extend(args);
        let o = s.run(&a);
        assert_eq!(o.status.code(), Some(125));
        assert_eq!(stderr(&o), want);
        assert_eq!(stdout(&o), "");
    }
}

#[test]
fn image_and_network_events() {
    let (s, _reg, r) = fixture();
    let id = s
        .ok(&["image", "inspect", "--format", "{{.Id}}", &r])
        .trim()
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let tarball = dir.path().join("ball.tar").display().to_string();
    s.ok(&["save", "-o", &tarball, &r]);
    s.ok(&["tag", &r, "registry.com/img-ev"]);
    s.ok(&["untag", &r, "registry.com/img-ev"]);
    s.ok(&["rmi", "-f", &id]);
    s.ok(&["load", "-i", &tarball]);
    let o = s.run(&["pull", "--tls-verify=false", "127.0.0.1:1/bogus"]);
    assert_eq!(o.status.code(), Some(125));
    let got = events(
        &s,
        &[
            "--filter",
            "type=image",
            "--format",
            "{{.Status}}--{{.Name}}--{{.ID}}",
        ],
    );
    let want = [
        format!("pull--{r}--{id}"),
        format!("save--{tarball}--{id}"),
        format!("tag--registry.com/img-ev--{id}"),
        format!("untag--registry.com/img-ev:latest--{id}"),
        format!("untag--{r}--{id}"),
        format!("remove--{id}--{id}"),
        format!("loadfromarchive--{tarball}--{id}"),
        "pull-error--127.0.0.1:1/bogus--".to_string(),
    ];
    assert_eq!(got, want);
    let err = json_events(&s, &["--filter", "event=pull-error"]);
    assert!(
        !err[0]["Error"].as_str().unwrap_or("").is_empty(),
        "{err:?}"
    );
    let human = events(&s, &["--filter", "event=pull-error"]);
    assert!(
        human[0].contains(" image pull-error  127.0.0.1:1/bogus "),
        "{}",
        human[0]
    );

    s.ok(&["network", "create", "evnet"]);
    let cid = s
        .ok(&["create", "--name", "nc", "--network", "evnet", &r, "true"])
        .trim()
        .to_string();
    s.ok(&["network", "disconnect", "evnet", "nc"]);
    s.ok(&["network", "connect", "evnet", "nc"]);
    s.ok(&["rm", "nc"]);
    s.ok(&["network", "rm", "evnet"]);
    let net = events(
        &s,
        &[
            "--filter",
            "type=network",
            "--format",
            "{{.Status}} {{.Network}} {{.Name}}",
        ],
    );
    assert_eq!(
        net,
        [
            "create evnet ",
            "disconnect evnet nc",
            "connect evnet nc",
            "remove evnet "
        ]
    );
    let human = events(
        &s,
        &["--filter", "type=network", "--filter", "event=connect"],
    );
    assert!(
        human[0].ends_with(&format!(
            " network connect {cid} (container={cid}, name=evnet)"
        )),
        "{}",
        human[0]
    );
    assert_eq!(events(&s, &["--filter", "network=evnet"]).len(), 4);
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
    let (s, _reg, r) = fixture();
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
    let (s, _reg, r) = fixture();
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
    let (s, _reg, r) = fixture();
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
