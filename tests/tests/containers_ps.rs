//! `podman ps` end to end, after Podman's test/system/040-ps.bats: filters,
//! sorting, formats, --external, --size, --ns, --last/--latest.

use e2e::podman::{stderr, stdout, TestStore};

fn fixture() -> (TestStore, e2e::registry::Registry, String) {
    e2e::podman::with_busybox()
}

fn lines(s: &str) -> Vec<String> {
    s.lines().map(String::from).collect()
}

/// Podman's one-line error and exit code 125.
fn fails(s: &TestStore, args: &[&str], want: &str) {
    let o = s.run(args);
    assert_eq!(o.status.code(), Some(125), "{args:?}: {}", stderr(&o));
    assert_eq!(stderr(&o).trim_end(), format!("Error: {want}"), "{args:?}");
    assert_eq!(stderr(&o).lines().count(), 1, "{args:?}");
    assert_eq!(stdout(&o), "", "{args:?}");
}

/// Run a container that exits, with an ID whose first character none of
/// `avoid` has (as the bats test does, so ID prefixes are unambiguous).
fn exited(s: &TestStore, image: &str, name: &str, cmd: &str, avoid: &[&str]) -> String {
    loop {
        let _ = s.run(&["rm", "-f", name]);
        let id = s
            .ok(&["run", "-d", "--name", name, "--network", "none", image, cmd])
            .trim()
            .to_string();
        s.ok(&["wait", name]);
        if avoid.iter().all(|a| a[..1] != id[..1]) {
            return id;
        }
    }
}

#[test]
fn ps_basic_and_every_filter() {
    let (s, _reg, img) = fixture();
    assert_eq!(s.ok(&["ps", "--noheading"]), "", "baseline");
    assert_eq!(
        s.ok(&["ps"]),
        "CONTAINER ID  IMAGE       COMMAND     CREATED     STATUS      PORTS       NAMES\n"
    );

    let running = s
        .ok(&[
            "run",
            "-d",
            "--name",
            "running",
            "--network",
            "none",
            "--label",
            "tier=web",
            "--label",
            "team=a",
            &img,
            "sleep",
            "1000",
        ])
        .trim()
        .to_string();
    assert_eq!(running.len(), 64);
    assert_eq!(
        s.ok(&[
            "ps",
            "--no-trunc",
            "--format",
            "{{.ID}} {{.Image}} {{.Command}} {{.Names}} {{.State}}"
        ]),
        format!("{running} {img} sleep 1000 running running\n")
    );
    let table = s.ok(&["ps"]);
    let t = lines(&table);
    assert_eq!(t.len(), 2, "{table}");
    assert!(
        t[0].starts_with("CONTAINER ID  IMAGE") && t[0].ends_with("NAMES"),
        "{table}"
    );
    assert!(
        t[1].starts_with(&format!("{}  {img}  sleep 1000  ", &running[..12])),
        "{table}"
    );
    assert!(
        t[1].contains("second") && t[1].contains("  Up ") && t[1].ends_with("  running"),
        "{table}"
    );
    // Columns line up with the header.
    assert_eq!(t[0].find("NAMES"), t[1].rfind("running"), "{table}");

    let stopped = exited(&s, &img, "stopped", "true", &[&running]);
    let failed = exited(&s, &img, "failed", "false", &[&running, &stopped]);
    s.ok(&[
        "create",
        "--name",
        "created",
        "--network",
        "none",
        "--label",
        "tier=db",
        &img,
        "echo",
        "hi",
    ]);

    let names = |args: &[&str]| {
        let mut a = vec!["ps"];
        a.extend_from_slice(args);
        a.extend_from_slice(&["--format", "{{.Names}}"]);
        lines(&s.ok(&a))
    };
    assert_eq!(names(&["--filter", "name=running"]), ["running"]);
    assert!(
        names(&["--filter", "name=stopped"]).is_empty(),
        "not without -a"
    );
    assert_eq!(names(&["-a", "--filter", "name=stopped"]), ["stopped"]);
    assert_eq!(
        names(&["--filter", "status=stopped", "--sort", "names"]),
        ["failed", "stopped"]
    );
    assert_eq!(
        names(&["--filter", "status=exited", "--filter", "exited=0"]),
        ["stopped"]
    );
    assert_eq!(
        names(&["--filter", "status=exited", "--filter", "exited=1"]),
        ["failed"]
    );
    assert_eq!(names(&["--filter", "status=created"]), ["created"]);
    assert_eq!(
        names(&[
            "-a",
            "--filter",
            "status=exited",
            "--filter",
            "status=running",
            "--sort",
            "created"
        ]),
        ["running", "stopped", "failed"]
    );
    // Oldest first without --sort, as Podman lists them.
    assert_eq!(names(&["-a"]), ["running", "stopped", "failed", "created"]);

    // IDs: hex is a prefix (any case, '^' makes it a regex), else a regex.
    for (state, id) in [
        ("running", &running),
        ("stopped", &stopped),
        ("failed", &failed),
    ] {
        // The shortest prefix no other container shares (random IDs may
        // share a first digit, and then both match, as in Podman).
        let all_ids = s.ok(&["ps", "-aq", "--no-trunc"]);
        let unique = (1..=13)
            .find(|&k| {
                all_ids
                    .lines()
                    .filter(|other| other.trim() != id.as_str())
                    .all(|other| !other.starts_with(&id[..k]))
            })
            .unwrap();
        for prefix in [&id[..unique], &id[..unique.max(2)], &id[..13]] {
            for v in [
                prefix.to_lowercase(),
                prefix.to_uppercase(),
                format!("^{prefix}"),
            ] {
                assert_eq!(
                    names(&["-a", "--filter", &format!("id={v}")]),
                    [state],
                    "id={v}"
                );
            }
        }
        let f = format!("id=^[^{}]", &id[..1]);
        let got = names(&["-a", "--filter", &f]);
        assert!(!got.contains(&state.to_string()), "{f}: {got:?}");
    }
    assert_eq!(
        names(&["-a", "--filter", "id=[0-9a-f]", "--sort", "names"]),
        ["created", "failed", "running", "stopped"]
    );
    assert_eq!(
        s.ok(&["ps", "-a", "--filter", "id=[^0-9a-f]", "--noheading"]),
        ""
    );
    assert_eq!(
        names(&[
            "-a",
            "--filter",
            &format!("id={running}"),
            "--filter",
            &format!("id={failed}"),
            "--sort",
            "names"
        ]),
        ["failed", "running"]
    );

    // Labels: key, key=value, every value must match; label! excludes.
    assert_eq!(
        names(&["-a", "--filter", "label=tier"]),
        ["running", "created"]
    );
    assert_eq!(names(&["-a", "--filter", "label=tier=db"]), ["created"]);
    assert!(names(&[
        "-a",
        "--filter",
        "label=tier=web",
        "--filter",
        "label=tier=db"
    ])
    .is_empty());
    assert_eq!(
        names(&["-a", "--filter", "label=tier=web", "--filter", "label=team"]),
        ["running"]
    );
    assert_eq!(
        names(&["-a", "--filter", "label!=tier"]),
        ["stopped", "failed"]
    );
    // Creation order, ancestors, commands, times.
    assert_eq!(
        names(&["-a", "--filter", "before=failed"]),
        ["running", "stopped"]
    );
    assert_eq!(
        names(&["-a", "--filter", "since=stopped"]),
        ["failed", "created"]
    );
    assert_eq!(names(&["-a", "--filter", "ancestor=bb"]).len(), 4);
    assert!(names(&["-a", "--filter", "ancestor=alpine"]).is_empty());
    assert_eq!(
        names(&["-a", "--filter", "command=^(true|false)$"]),
        ["stopped", "failed"]
    );
    assert_eq!(names(&["-a", "--filter", "until=1h"]).len(), 0);
    assert_eq!(names(&["-a", "--filter", "until=2099-01-01"]).len(), 4);
    assert_eq!(names(&["-a", "--filter", "restart-policy=none"]).len(), 4);
    assert!(names(&["-a", "--filter", "restart-policy=always"]).is_empty());
    assert!(names(&["-a", "--filter", "pod=nopod"]).is_empty());
    assert!(names(&["-a", "--filter", "health=healthy"]).is_empty());
    assert!(names(&["-a", "--filter", "volume=/data"]).is_empty());
    assert!(names(&["-a", "--filter", "network=nosuchnet"]).is_empty());
    assert_eq!(
        names(&["-a", "--filter", "should-start-on-boot=false"]).len(),
        4
    );

    // Bad input: Podman's words, one line, 125.
    fails(
        &s,
        &["ps", "--filter", "foo=bar"],
        "foo is an invalid filter",
    );
    fails(&s, &["ps", "--filter", "foo"], "invalid filter \"foo\"");
    fails(
        &s,
        &["ps", "--filter", "status=bogus"],
        "unknown container state: bogus: invalid argument",
    );
    fails(
        &s,
        &["ps", "--filter", "restart-policy=sometimes"],
        "sometimes invalid restart policy",
    );
    fails(
        &s,
        &["ps", "--filter", "before=nosuch"],
        "no container with name or ID \"nosuch\" found: no such container",
    );
    fails(
        &s,
        &["ps", "--sort", "bogus"],
        "invalid argument \"bogus\" for \"--sort\" flag: \"bogus\" is not a valid value.  Choose from: \"command, created, id, image, names, runningfor, size, status\"",
    );
    fails(
        &s,
        &["ps", "-q", "-s"],
        "quiet conflicts with size and namespace",
    );
    fails(
        &s,
        &["ps", "-l", "-n", "2"],
        "last and latest are mutually exclusive",
    );

    // --last, --latest, -q, --no-trunc.
    assert_eq!(names(&["--last", "2"]), ["failed", "created"]);
    assert_eq!(names(&["-l"]), ["created"]);
    assert_eq!(s.ok(&["ps", "-q"]), format!("{}\n", &running[..12]));
    assert_eq!(s.ok(&["ps", "-q", "--no-trunc"]), format!("{running}\n"));
    assert_eq!(s.ok(&["container", "ls", "-aq"]).lines().count(), 4);
    assert_eq!(s.ok(&["container", "list", "-aq"]).lines().count(), 4);
    // Statuses as Podman words them.
    let status = lines(&s.ok(&["ps", "-a", "--format", "{{.Names}}:{{.Status}}"]));
    assert!(status[0].starts_with("running:Up "), "{status:?}");
    assert!(
        status[1].starts_with("stopped:Exited (0) ") && status[1].ends_with(" ago"),
        "{status:?}"
    );
    assert!(status[2].starts_with("failed:Exited (1) "), "{status:?}");
    assert_eq!(status[3], "created:Created");

    s.ok(&["stop", "-t", "0", "running"]);
    s.ok(&["rm", "-a"]);
    assert_eq!(s.ok(&["ps", "-aq"]), "");
}

#[test]
fn ps_formats_json_size_and_namespaces() {
    let (s, _reg, img) = fixture();
    let id = s
        .ok(&[
            "run",
            "-d",
            "--name",
            "web",
            "--network",
            "none",
            "--label",
            "mylabel=xyzzy",
            &img,
            "sleep",
            "1000",
        ])
        .trim()
        .to_string();
    assert_eq!(
        s.ok(&["ps", "--format", "{{ .Label \"mylabel\" }}"]),
        "xyzzy\n"
    );
    assert_eq!(
        s.ok(&["ps", "--format", "{{.Label \"nope\"}}|{{.Names}}"]),
        "|web\n"
    );
    assert_eq!(
        s.ok(&["ps", "--format", "table {{.Names}} {{.Label \"mylabel\"}}"]),
        "NAMES       LABEL\nweb         xyzzy\n"
    );
    assert_eq!(
        s.ok(&[
            "ps",
            "--format",
            "table {{.ID}}\\t{{.State}}",
            "--noheading"
        ]),
        format!("{}  running\n", &id[..12])
    );
    assert_eq!(
        s.ok(&[
            "ps",
            "--format",
            "{{.Pod}}|{{.PodName}}|{{.IsInfra}}|{{.Restarts}}|{{.AutoRemove}}"
        ]),
        "||false|0|false\n"
    );
    let pid: i32 = s
        .ok(&["ps", "--format", "{{.Pid}}"])
        .trim()
        .parse()
        .unwrap();
    assert!(pid > 0);

    // JSON: Podman's ListContainer.
    let v: serde_json::Value = serde_json::from_str(&s.ok(&["ps", "--format", "json"])).unwrap();
    let c = &v[0];
    assert_eq!(c["Id"], id.as_str());
    assert_eq!(c["Names"], serde_json::json!(["web"]));
    assert_eq!(c["Command"], serde_json::json!(["sleep", "1000"]));
    assert_eq!(c["Image"], img.as_str());
    assert_eq!(c["State"], "running");
    assert!(c["Status"].as_str().unwrap().starts_with("Up "));
    assert!(c["CreatedAt"].as_str().unwrap().ends_with(" ago"));
    assert!(c["Created"].is_i64() && c["StartedAt"].is_i64());
    assert_eq!(c["ExitedAt"], -62_135_596_800i64);
    assert_eq!(c["Pid"], pid);
    assert_eq!(c["Labels"]["mylabel"], "xyzzy");
    assert_eq!(c["Size"], serde_json::Value::Null);
    assert_eq!(c["Namespaces"], serde_json::json!({}));
    assert_eq!(c["Exited"], false);
    assert_eq!(
        s.ok(&["ps", "-a", "--filter", "name=nomatch", "--format", "json"]),
        "[]\n"
    );

    // --size: writable layer and the whole root filesystem.
    s.ok(&["exec", "web", "sh", "-c", "head -c 100000 /dev/zero > /big"]);
    let size = s.ok(&["ps", "--size", "--format", "{{.Size}}"]);
    assert!(
        size.contains("(virtual ") && size.starts_with("10"),
        "{size}"
    );
    let table = s.ok(&["ps", "-s"]);
    assert!(lines(&table)[0].ends_with("NAMES       SIZE"), "{table}");
    let v: serde_json::Value =
        serde_json::from_str(&s.ok(&["ps", "-s", "--format", "json"])).unwrap();
    let rw = v[0]["Size"]["rwSize"].as_i64().unwrap();
    assert!(
        rw >= 100_000 && v[0]["Size"]["rootFsSize"].as_i64().unwrap() > rw,
        "{v}"
    );

    // --ns: the namespaces of the container's process.
    let ns = s.ok(&["ps", "--ns"]);
    let l = lines(&ns);
    assert_eq!(
        l[0].split_whitespace().collect::<Vec<_>>(),
        [
            "CONTAINER",
            "ID",
            "NAMES",
            "PID",
            "CGROUPNS",
            "IPC",
            "MNT",
            "NET",
            "PIDNS",
            "USERNS",
            "UTS"
        ]
    );
    let net = std::fs::read_link(format!("/proc/{pid}/ns/net")).unwrap();
    let net = net.to_string_lossy();
    let inode = &net[net.find('[').unwrap() + 1..net.len() - 1];
    assert_eq!(
        s.ok(&["ps", "--ns", "--format", "{{.Namespaces.NET}}"]),
        format!("{inode}\n")
    );
    assert_eq!(
        s.ok(&["ps", "--ns", "--format", "{{.NET}}"]),
        format!("{inode}\n")
    );
    assert!(l[1].contains(inode), "{ns}");

    // --pod adds the pod columns (empty: no pods).
    let pod = s.ok(&["ps", "--pod"]);
    assert!(
        lines(&pod)[0].ends_with("NAMES       POD ID      PODNAME"),
        "{pod}"
    );

    s.ok(&["rm", "-f", "-t", "0", "web"]);
}

#[test]
fn ps_external_lists_containers_only_storage_knows() {
    let (s, _reg, img) = fixture();
    let id = s
        .ok(&[
            "create",
            "--name",
            "leftover",
            "--network",
            "none",
            &img,
            "true",
        ])
        .trim()
        .to_string();
    assert_eq!(
        lines(&s.ok(&["ps", "--external"])).len(),
        1,
        "no external containers yet"
    );
    // As a crash between storage and the state database would leave it.
    let db = rusqlite::Connection::open(s.root().join("db.sql")).unwrap();
    db.execute("DELETE FROM containers WHERE id = ?1", [&id])
        .unwrap();
    drop(db);
    assert_eq!(
        lines(&s.ok(&["ps", "-a"])).len(),
        1,
        "ps -a does not see it"
    );
    let ext = s.ok(&["ps", "--external"]);
    let l = lines(&ext);
    assert_eq!(l.len(), 2, "{ext}");
    assert!(
        l[1].starts_with(&format!("{}  {img}  storage", &id[..12]))
            && l[1].contains(" ago ")
            && l[1].contains("  Storage  ")
            && l[1].ends_with("unknown"),
        "{ext}"
    );
    assert_eq!(s.ok(&["ps", "--storage", "-q"]), format!("{}\n", &id[..12]));
    assert_eq!(
        s.ok(&["ps", "--external", "--filter", "id=nomatch", "-q"]),
        ""
    );
    assert_eq!(
        s.ok(&["ps", "--external", "--filter", "status=exited", "-q"]),
        ""
    );
    fails(
        &s,
        &["ps", "--external", "--filter", "volume=/x"],
        "filter volume is not applicable for external containers",
    );
    let v: serde_json::Value =
        serde_json::from_str(&s.ok(&["ps", "--external", "--format", "json"])).unwrap();
    assert_eq!(v[0]["State"], "storage");
    assert_eq!(v[0]["Status"], "Storage");
    assert_eq!(v[0]["Command"], serde_json::json!(["storage"]));
}

/// `{{.Labels}}` of ps and pod ps is common.FormatLabels' string (sorted
/// key=value pairs, commas), so `{{json .Labels}}` is a JSON string; `{{
/// .Label "key" }}` reads one label in both (upstream 040-ps).
#[test]
fn labels_print_as_sorted_pairs_in_ps_and_pod_ps() {
    let (s, _reg, r) = fixture();
    s.ok(&[
        "create", "--name", "lab", "--label", "b.x=2", "--label", "a=1", &r, "true",
    ]);
    let labels = s.ok(&["ps", "-a", "--format", "{{.Labels}}"]);
    assert_eq!(labels.trim(), "a=1,b.x=2");
    let json = s.ok(&["ps", "-a", "--format", "{{json .Labels}}"]);
    assert_eq!(json.trim(), "\"a=1,b.x=2\"");
    s.ok(&[
        "pod",
        "create",
        "--label",
        "mylabel=v1",
        "--label",
        "z=9",
        "lp",
    ]);
    let pod = s.ok(&["pod", "ps", "--format", "{{json .Labels}}"]);
    assert_eq!(pod.trim(), "\"mylabel=v1,z=9\"");
    let one = s.ok(&["pod", "ps", "--format", "{{ .Label \"mylabel\" }}"]);
    assert_eq!(one.trim(), "v1");
    s.ok(&["pod", "rm", "-f", "lp"]);
}
