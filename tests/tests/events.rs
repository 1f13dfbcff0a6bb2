//! `podman events` with the file backend: the real podman, helpers,
//! registry and runc write events; `podman events` reads them back (a
//! container's whole life, image and network events, filters). Streaming,
//! the `none` backend and the log file's place and rotation are in
//! events_log.rs.

use std::path::PathBuf;

use e2e::podman::{stderr, stdout, with_busybox, TestStore};

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
    let (s, _reg, r) = with_busybox();
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
    let (s, _reg, r) = with_busybox();
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
    let (s, _reg, r) = with_busybox();
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
    let (s, _reg, r) = with_busybox();
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
    let o = s.run(&[
        "pull",
        "--retry",
        "0",
        "--tls-verify=false",
        "127.0.0.1:1/bogus",
    ]);
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
