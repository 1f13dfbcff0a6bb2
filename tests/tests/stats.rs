//! `podman stats`: numbers read from real containers' cgroups (memory
//! limit, PIDs, CPU use), the running/all selection, JSON and template
//! output, streaming, and Podman's refusals.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use e2e::podman::{stderr, TestStore};
use serde_json::Value;

fn fixture() -> (TestStore, e2e::registry::Registry, String) {
    e2e::podman::with_busybox()
}

#[test]
fn stats_read_the_containers_cgroups() {
    let (s, _reg, image) = fixture();
    s.ok(&[
        "run",
        "-d",
        "--name",
        "three",
        "--network",
        "none",
        "-m",
        "32m",
        &image,
        "sh",
        "-c",
        "sleep 1000 & sleep 1000 & wait",
    ]);
    s.ok(&[
        "run",
        "-d",
        "--name",
        "busy",
        "--network",
        "none",
        &image,
        "sh",
        "-c",
        "while :; do :; done",
    ]);
    s.ok(&["create", "--name", "idle", &image, "true"]);
    // Both sleeps forked: three processes in the cgroup.
    let deadline = Instant::now() + Duration::from_secs(20);
    let fields = loop {
        let out = s.ok(&[
            "stats",
            "--no-stream",
            "--format",
            "{{.Name}} {{.PIDs}} {{.MemLimit}} {{.CPU}}",
        ]);
        let three = out
            .lines()
            .find(|l| l.starts_with("three "))
            .map(str::to_string);
        if let Some(l) = three.filter(|l| l.split(' ').nth(1) == Some("3")) {
            break (l, out);
        }
        assert!(Instant::now() < deadline, "three never had 3 pids: {out}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let (three, all) = fields;
    let f: Vec<&str> = three.split(' ').collect();
    assert_eq!(f[2], (32u64 << 20).to_string(), "{three}");
    assert!(
        !all.contains("idle"),
        "only running containers by default: {all}"
    );
    let busy = all.lines().find(|l| l.starts_with("busy ")).unwrap();
    let cpu: f64 = busy.split(' ').nth(3).unwrap().parse().unwrap();
    assert!(cpu > 5.0, "a busy loop uses CPU: {busy}");

    let v: Value =
        serde_json::from_str(&s.ok(&["stats", "--no-stream", "--format", "json", "three"]))
            .unwrap();
    let keys: Vec<&str> = v[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut want = vec![
        "avg_cpu",
        "block_io",
        "cpu_percent",
        "cpu_time",
        "id",
        "mem_percent",
        "mem_usage",
        "name",
        "net_io",
        "pids",
    ];
    want.sort();
    let mut got = keys.clone();
    got.sort();
    assert_eq!(got, want);
    assert_eq!(v[0]["pids"], "3");
    assert!(
        v[0]["mem_usage"].as_str().unwrap().ends_with(" / 33.55MB"),
        "{v}"
    );
    assert_eq!(v[0]["net_io"], "0B / 0B", "network none has only lo: {v}");

    let with_all = s.ok(&[
        "stats",
        "--no-stream",
        "-a",
        "--format",
        "{{.Name}} {{.MemUsage}}",
    ]);
    assert!(with_all.lines().any(|l| l == "idle 0B / 0B"), "{with_all}");

    let table = s.ok(&["stats", "--no-stream", "three"]);
    let header = table.lines().next().unwrap();
    for h in [
        "ID",
        "NAME",
        "CPU %",
        "MEM USAGE / LIMIT",
        "MEM %",
        "NET IO",
        "BLOCK IO",
        "PIDS",
        "CPU TIME",
        "AVG CPU %",
    ] {
        assert!(header.contains(h), "{header}");
    }
    s.ok(&["rm", "-f", "-t", "0", "three", "busy", "idle"]);
}

#[test]
fn stats_streams_until_stopped() {
    let (s, _reg, image) = fixture();
    s.ok(&[
        "run",
        "-d",
        "--name",
        "live",
        "--network",
        "none",
        &image,
        "sleep",
        "1000",
    ]);
    let mut child = s
        .cmd()
        .args(["stats", "--interval", "1", "--format", "{{.Name}}", "live"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let started = Instant::now();
    for _ in 0..2 {
        assert_eq!(lines.next().unwrap().unwrap(), "live");
    }
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "one interval between readings"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    s.ok(&["rm", "-f", "-t", "0", "live"]);
}

#[test]
fn stats_refusals() {
    let (s, _reg, image) = fixture();
    s.ok(&["create", "--name", "c1", &image, "true"]);
    for (args, needle) in [
        (
            &["stats", "-a", "c1"][..],
            "--all, --latest and containers cannot be used together",
        ),
        (
            &["stats", "--no-stream", "-i", "0"][..],
            "invalid interval, must be a positive number greater zero",
        ),
        (&["stats", "--no-stream", "nosuch"][..], "nosuch"),
    ] {
        let o = s.run(args);
        assert_eq!(o.status.code(), Some(125), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    }
    s.ok(&["rm", "c1"]);
}
