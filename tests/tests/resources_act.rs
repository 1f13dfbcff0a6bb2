//! Limits and verbs seen acting on real runc containers, from the host's
//! side of the cgroup: a fork bomb stops at its pids limit, `stats` reports
//! what the cgroup files hold, and `pause` freezes the processes (they make
//! no progress while a second container keeps time) until `unpause`.

use std::path::PathBuf;
use std::time::Duration;

use e2e::podman::{with_busybox, TestStore};
use e2e::poll;

/// The host directory of `controller` for the container's cgroup (v1: the
/// controller's hierarchy; v2: the unified one).
fn cgroup_dir(s: &TestStore, name: &str, controller: &str) -> PathBuf {
    let pid = s.ok(&["inspect", "--format", "{{.State.Pid}}", name]);
    let text = std::fs::read_to_string(format!("/proc/{}/cgroup", pid.trim())).unwrap();
    for l in text.lines() {
        let mut f = l.splitn(3, ':');
        let (_, ctrls, path) = (f.next(), f.next().unwrap(), f.next().unwrap());
        let rel = path.trim_start_matches('/');
        if ctrls.split(',').any(|c| c == controller) {
            return PathBuf::from("/sys/fs/cgroup").join(ctrls).join(rel);
        }
    }
    let v2 = text
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .expect("a cgroup");
    PathBuf::from("/sys/fs/cgroup").join(v2.trim_start_matches('/'))
}

fn read(dir: &std::path::Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.join(file).display()))
        .trim()
        .to_string()
}

fn v1() -> bool {
    std::path::Path::new("/sys/fs/cgroup/memory/memory.limit_in_bytes").exists()
}

/// `max N` of pids.events: how often a fork was refused at the limit.
fn refused_forks(dir: &std::path::Path) -> u64 {
    read(dir, "pids.events")
        .lines()
        .find_map(|l| l.strip_prefix("max "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_fork_bomb_stops_at_the_pids_limit() {
    let (s, _reg, image) = with_busybox();
    // Every shell forks a sleeper and another shell that does the same,
    // until fork fails; the sleepers keep their pids.
    s.ok(&[
        "run",
        "-d",
        "--name",
        "bomb",
        "--network",
        "none",
        "--pids-limit",
        "24",
        &image,
        "sh",
        "-c",
        "b() { sleep 1000 & b & }; b 2>/dev/null; wait",
    ]);
    let dir = cgroup_dir(&s, "bomb", "pids");
    assert_eq!(read(&dir, "pids.max"), "24");
    poll::until(
        Duration::from_secs(30),
        "forks refused at the limit",
        || refused_forks(&dir) > 0,
    );
    // A refused fork means the count stood at the limit; shells whose
    // forks failed then exit, so the count may fall back a little, but it
    // never passes the limit.
    let current: u64 = read(&dir, "pids.current").parse().unwrap();
    assert!((1..=24).contains(&current), "pids.current {current}");
    // The container still answers its engine: stats sees the same count.
    let seen = poll::until_some(Duration::from_secs(10), "a steady count", || {
        let before = read(&dir, "pids.current");
        let stats = s.ok(&["stats", "--no-stream", "--format", "{{.PIDs}}", "bomb"]);
        (stats.trim() == before && read(&dir, "pids.current") == before).then_some(before)
    });
    assert!(seen.parse::<u64>().unwrap() <= 24);
    s.ok(&["rm", "-f", "-t", "0", "bomb"]);
}

#[test]
fn stats_numbers_are_the_cgroup_files() {
    let (s, _reg, image) = with_busybox();
    s.ok(&[
        "run",
        "-d",
        "--name",
        "idle",
        "--network",
        "none",
        "-m",
        "48m",
        &image,
        "sh",
        "-c",
        "sleep 1000 & wait",
    ]);
    let pids = cgroup_dir(&s, "idle", "pids");
    poll::until(Duration::from_secs(20), "the sleeper", || {
        read(&pids, "pids.current") == "2"
    });
    let fmt = "{{.PIDs}} {{.MemLimit}} {{.CPUNano}} {{.MemUsage}}";
    // The container is idle: its counters hold still between two reads of
    // the files, and stats must give exactly those numbers.
    let (stats, want) = poll::until_some(Duration::from_secs(20), "a quiet moment", || {
        let files = || {
            if v1() {
                let mem = cgroup_dir(&s, "idle", "memory");
                let cpu = cgroup_dir(&s, "idle", "cpuacct");
                (
                    read(&pids, "pids.current"),
                    read(&mem, "memory.limit_in_bytes"),
                    read(&cpu, "cpuacct.usage"),
                    read(&mem, "memory.usage_in_bytes"),
                )
            } else {
                let usec: u64 = read(&pids, "cpu.stat")
                    .lines()
                    .find_map(|l| l.strip_prefix("usage_usec "))
                    .unwrap()
                    .parse()
                    .unwrap();
                (
                    read(&pids, "pids.current"),
                    read(&pids, "memory.max"),
                    (usec * 1000).to_string(),
                    read(&pids, "memory.current"),
                )
            }
        };
        let before = files();
        let stats = s.ok(&["stats", "--no-stream", "--format", fmt, "idle"]);
        (files() == before).then_some((stats, before))
    });
    let f: Vec<&str> = stats.trim().splitn(4, ' ').collect();
    assert_eq!(f[0], want.0, "PIDs: {stats}");
    assert_eq!(f[1], want.1, "MemLimit: {stats}");
    assert_eq!(f[1], (48u64 << 20).to_string());
    assert_eq!(f[2], want.2, "CPUNano: {stats}");
    let usage: f64 = want.3.parse().unwrap();
    let shown = f[3].split(" / ").next().unwrap();
    let (num, unit) = shown.split_at(shown.find(|c: char| c.is_ascii_alphabetic()).unwrap());
    let scale = match unit {
        "B" => 1.0,
        "kB" => 1e3,
        "MB" => 1e6,
        other => panic!("unit {other} in {stats}"),
    };
    let shown: f64 = num.parse::<f64>().unwrap() * scale;
    assert!(
        (shown - usage).abs() <= usage * 0.001 + 1.0,
        "MemUsage {shown} vs memory file {usage}: {stats}"
    );
    s.ok(&["rm", "-f", "-t", "0", "idle"]);
}

/// Lines the container has logged so far.
fn logged(s: &TestStore, name: &str) -> usize {
    s.ok(&["logs", name]).lines().count()
}

#[test]
fn pause_freezes_and_unpause_resumes() {
    let (s, _reg, image) = with_busybox();
    for name in ["ticker", "clock"] {
        s.ok(&[
            "run",
            "-d",
            "--name",
            name,
            "--network",
            "none",
            &image,
            "sh",
            "-c",
            "while :; do echo tick; sleep 0.1; done",
        ]);
    }
    poll::until(Duration::from_secs(20), "ticks", || {
        logged(&s, "ticker") >= 2
    });
    s.ok(&["pause", "ticker"]);
    let freezer = cgroup_dir(&s, "ticker", "freezer");
    if v1() {
        assert_eq!(read(&freezer, "freezer.state"), "FROZEN");
    } else {
        assert_eq!(read(&freezer, "cgroup.freeze"), "1");
    }
    let frozen_at = logged(&s, "ticker");
    // The other container keeps time: ten of its ticks (a second) pass
    // while the paused one logs nothing.
    let clock_at = logged(&s, "clock");
    poll::until(Duration::from_secs(30), "ten ticks of the clock", || {
        logged(&s, "clock") >= clock_at + 10
    });
    assert_eq!(logged(&s, "ticker"), frozen_at, "a paused process ran");
    assert_eq!(
        s.ok(&["inspect", "--format", "{{.State.Status}}", "ticker"])
            .trim(),
        "paused"
    );
    s.ok(&["unpause", "ticker"]);
    if v1() {
        assert_eq!(read(&freezer, "freezer.state"), "THAWED");
    }
    poll::until(Duration::from_secs(20), "ticks again", || {
        logged(&s, "ticker") >= frozen_at + 3
    });
    s.ok(&["rm", "-f", "-t", "0", "ticker", "clock"]);
}

#[test]
fn a_limit_below_what_the_kernel_takes_fails_with_the_runtimes_words() {
    let (s, _reg, image) = with_busybox();
    let o = s.run(&[
        "run",
        "--name",
        "tiny",
        "--network",
        "none",
        "-m",
        "4k",
        &image,
        "true",
    ]);
    let err = e2e::podman::stderr(&o);
    // As Podman: the spec carries the limit, runc's refusal is the error.
    assert_eq!(o.status.code(), Some(126), "{err}");
    assert!(err.contains("unable to set memory limit to 4096"), "{err}");
    assert_eq!(
        s.ok(&["inspect", "--format", "{{.State.Status}}", "tiny"])
            .trim(),
        "created"
    );
    s.ok(&["rm", "tiny"]);
}

/// The hard limit on open files of this process, as /proc says it.
fn own_hard_nofile() -> String {
    std::fs::read_to_string("/proc/self/limits")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(4))
        .unwrap()
        .to_string()
}

#[test]
fn ulimit_host_keeps_the_hosts_limits_in_run_and_update() {
    let (s, _reg, image) = with_busybox();
    let out = e2e::podman::run_sh(&s, &image, &["--ulimit", "host"], "ulimit -Hn");
    assert_eq!(out.trim(), own_hard_nofile());
    s.ok(&[
        "create",
        "--name",
        "u",
        "--ulimit",
        "nofile=512:512",
        &image,
        "true",
    ]);
    s.ok(&["update", "--ulimit", "host", "u"]);
    assert_eq!(
        s.ok(&["inspect", "--format", "{{len .HostConfig.Ulimits}}", "u"])
            .trim(),
        "0"
    );
    for (arg, needle) in [
        ("nofile:1024:1024", "invalid ulimit argument"),
        (
            "nofile=2048:1024",
            "ulimit soft limit must be less than or equal to hard limit",
        ),
    ] {
        e2e::podman::refused(&s, &["update", "--ulimit", arg, "u"], needle);
    }
    s.ok(&["rm", "u"]);
}
