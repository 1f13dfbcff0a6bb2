//! Cgroup limits of `run`/`create` (`--memory`, `--cpus`, `--cpu-shares`,
//! `--cpuset-cpus`, `--memory-swappiness`, ...) observed in the cgroup
//! files of real runc containers, OOM kills reported by `inspect`, the
//! limits in `inspect`'s HostConfig, and Podman's refusals.

use e2e::podman::{refused_leaving_nothing, stderr, with_busybox};
use serde_json::Value;

fn v1() -> bool {
    std::path::Path::new("/sys/fs/cgroup/memory/memory.limit_in_bytes").exists()
}

#[test]
fn limits_reach_the_containers_cgroup() {
    let (s, _reg, image) = with_busybox();
    let flags = [
        "run",
        "--rm",
        "--network",
        "none",
        "-m",
        "64m",
        "--memory-reservation",
        "32m",
        "--cpus",
        "0.5",
        "--cpu-shares",
        "512",
        "--cpuset-cpus",
        "0",
    ];
    let script = if v1() {
        "cd /sys/fs/cgroup; cat memory/memory.limit_in_bytes memory/memory.soft_limit_in_bytes \
         memory/memory.memsw.limit_in_bytes cpu/cpu.cfs_quota_us cpu/cpu.cfs_period_us \
         cpu/cpu.shares cpuset/cpuset.cpus"
    } else {
        "cd /sys/fs/cgroup; cat memory.max memory.low memory.swap.max cpu.max cpu.weight cpuset.cpus"
    };
    let mut args = flags.to_vec();
    args.extend_from_slice(&[&image, "sh", "-c", script]);
    let out = s.ok(&args);
    let lines: Vec<&str> = out.lines().collect();
    if v1() {
        assert_eq!(
            lines,
            [
                "67108864",
                "33554432",
                "134217728",
                "50000",
                "100000",
                "512",
                "0"
            ],
            "{out}"
        );
    } else {
        assert_eq!(lines[0], "67108864", "{out}");
        assert_eq!(lines[3], "50000 100000", "{out}");
    }
}

#[test]
fn a_memory_hog_is_oom_killed_and_inspect_says_so() {
    let (s, _reg, image) = with_busybox();
    let o = s.run(&[
        "run",
        "--name",
        "hog",
        "--network",
        "none",
        "-m",
        "8m",
        &image,
        "sh",
        "-c",
        "x=a; while true; do x=\"$x$x\"; done",
    ]);
    assert_eq!(o.status.code(), Some(137), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&s.ok(&["inspect", "hog"])).unwrap();
    assert_eq!(v[0]["State"]["OOMKilled"], true, "{v}");
    assert_eq!(v[0]["State"]["ExitCode"], 137);
    assert_eq!(v[0]["HostConfig"]["Memory"], 8 << 20);
    assert_eq!(v[0]["HostConfig"]["MemorySwap"], 16 << 20);
    s.ok(&["rm", "hog"]);
}

#[test]
fn inspect_shows_the_limits_as_podman() {
    let (s, _reg, image) = with_busybox();
    s.ok(&[
        "create",
        "--name",
        "lim",
        "--cpus",
        "1.5",
        "--memory-swappiness",
        "20",
        "-m",
        "1g",
        "--memory-swap",
        "-1",
        "--cpuset-cpus",
        "0-1",
        "--oom-kill-disable",
        &image,
        "true",
    ]);
    let v: Value = serde_json::from_str(&s.ok(&["inspect", "lim"])).unwrap();
    let hc = &v[0]["HostConfig"];
    assert_eq!(hc["Memory"], 1 << 30, "{hc}");
    assert_eq!(hc["MemorySwap"], 0, "unlimited swap is left unset: {hc}");
    assert_eq!(hc["NanoCpus"], 1_500_000_000u64, "{hc}");
    assert_eq!(hc["CpuPeriod"], 100_000);
    assert_eq!(hc["CpuQuota"], 150_000);
    assert_eq!(hc["CpusetCpus"], "0-1");
    assert_eq!(hc["MemorySwappiness"], 20);
    assert_eq!(hc["OomKillDisable"], true);
    s.ok(&["create", "--name", "plain", &image, "true"]);
    let v: Value = serde_json::from_str(&s.ok(&["inspect", "plain"])).unwrap();
    let hc = &v[0]["HostConfig"];
    assert_eq!(hc["Memory"], 0, "{hc}");
    assert_eq!(hc["MemorySwappiness"], -1, "{hc}");
    assert_eq!(hc["NanoCpus"], 0, "{hc}");
    s.ok(&["rm", "lim", "plain"]);
}

#[test]
fn bad_limits_are_refused_with_podmans_words() {
    let (s, _reg, image) = with_busybox();
    let r = |flags: &[&str], needle: &str| {
        let mut a = vec!["create"];
        a.extend_from_slice(flags);
        a.extend_from_slice(&[&image, "true"]);
        refused_leaving_nothing(&s, &a, needle);
    };
    r(
        &["-m", "10x"],
        "invalid value for memory: invalid suffix: 'x'",
    );
    r(
        &["-m", "lots"],
        "invalid value for memory: invalid size: 'lots'",
    );
    r(
        &["--memory-swap", "64m"],
        "you should always set a memory limit when using a memoryswap limit",
    );
    r(
        &["-m", "64m", "--memory-swap", "32m"],
        "minimum memoryswap limit should be larger than memory limit",
    );
    r(
        &["--cpuset-cpus", "4095"],
        "requested CPUs are not available - requested 4095",
    );
    r(
        &["--cpuset-cpus", "zero"],
        "invalid value zero for cpuset cpus",
    );
    r(
        &["--cpu-period", "10"],
        "CPU cfs period cannot be less than 1ms",
    );
    r(
        &["--cpu-quota", "10"],
        "CPU cfs quota cannot be less than 1ms",
    );
    r(
        &["-c", "many"],
        "invalid argument \"many\" for \"-c, --cpu-shares\" flag",
    );
    r(
        &["--memory-swappiness", "101"],
        "valid memory swappiness range is 0-100",
    );
    r(
        &["--device-read-bps", "sda:1mb"],
        "bad format for device path: sda:1mb",
    );
    r(
        &["--device-read-bps", "/dev/null:fast"],
        "invalid rate for device: /dev/null:fast",
    );
    r(
        &["--device-write-iops", "/dev/nope:10"],
        "could not parse device /dev/nope",
    );
    r(
        &["--device-read-bps", "/dev/zero:1mb"],
        "/dev/zero: not a block device",
    );
    r(
        &["--blkio-weight-device", "/dev/zero:100"],
        "bad --blkio-weight-device: /dev/zero: not a block device",
    );
}

#[test]
fn kernel_memory_is_a_noop_with_podmans_warning() {
    let (s, _reg, image) = with_busybox();
    let o = s.run(&[
        "create",
        "--name",
        "km",
        "--kernel-memory",
        "10m",
        &image,
        "true",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o)
            .contains("The --kernel-memory flag is no longer supported. This flag is a noop."),
        "{}",
        stderr(&o)
    );
    s.ok(&["rm", "km"]);
}

#[test]
fn more_cpus_than_the_host_has_is_a_ceiling_as_in_podman() {
    let (s, _reg, image) = with_busybox();
    s.ok(&["create", "--name", "wide", "--cpus", "64", &image, "true"]);
    let v: Value = serde_json::from_str(&s.ok(&["inspect", "wide"])).unwrap();
    assert_eq!(v[0]["HostConfig"]["CpuQuota"], 6_400_000);
    s.ok(&["rm", "wide"]);
}

#[test]
fn update_changes_a_running_containers_cgroup_and_keeps_the_rest() {
    let (s, _reg, image) = with_busybox();
    let id = s.ok(&[
        "run",
        "-d",
        "--name",
        "upd",
        "--network",
        "none",
        "--pids-limit",
        "1024",
        &image,
        "sleep",
        "1000",
    ]);
    let out = s.ok(&[
        "update",
        "--cpu-shares",
        "512",
        "--cpus",
        "1.5",
        "--memory",
        "1G",
        "--memory-swap",
        "3G",
        "--memory-reservation",
        "400M",
        "upd",
    ]);
    assert_eq!(out.trim(), id.trim(), "update prints the full ID");
    let cat = |f: &str| {
        s.ok(&["exec", "upd", "cat", &format!("/sys/fs/cgroup/{f}")])
            .trim()
            .to_string()
    };
    if v1() {
        assert_eq!(cat("cpu/cpu.shares"), "512");
        assert_eq!(cat("cpu/cpu.cfs_quota_us"), "150000");
        assert_eq!(cat("memory/memory.limit_in_bytes"), "1073741824");
        assert_eq!(cat("memory/memory.memsw.limit_in_bytes"), "3221225472");
        assert_eq!(cat("memory/memory.soft_limit_in_bytes"), "419430400");
    } else {
        assert_eq!(cat("memory.max"), "1073741824");
        assert_eq!(cat("cpu.max"), "150000 100000");
    }
    s.ok(&["update", "--memory", "100M", "upd"]);
    let f = s.ok(&["inspect", "upd", "--format", "{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{.HostConfig.CpuShares}} {{.HostConfig.RestartPolicy.Name}}"]);
    assert_eq!(f.trim(), "104857600 1024 512 no", "other limits stay");
    if v1() {
        assert_eq!(cat("memory/memory.limit_in_bytes"), "104857600");
    }
    s.ok(&["update", "--restart", "always", "upd"]);
    let f = s.ok(&[
        "inspect",
        "upd",
        "--format",
        "{{.HostConfig.RestartPolicy.Name}}",
    ]);
    assert_eq!(f.trim(), "always");
    for opt in [
        "--device-read-bps=/dev/zero:10mb",
        "--blkio-weight-device=/dev/zero:123",
    ] {
        let o = s.run(&["update", "upd", opt]);
        assert_eq!(o.status.code(), Some(125), "{opt}");
        assert!(
            stderr(&o).contains("/dev/zero: not a block device"),
            "{}",
            stderr(&o)
        );
    }
    let o = s.run(&["update", "--memory", "1m", "nosuch"]);
    assert_eq!(o.status.code(), Some(125));
    s.ok(&["rm", "-f", "-t", "0", "upd"]);
}

#[test]
fn update_of_a_stopped_container_applies_at_its_next_start() {
    let (s, _reg, image) = with_busybox();
    s.ok(&[
        "create",
        "--name",
        "later",
        "--network",
        "none",
        &image,
        "cat",
        "/sys/fs/cgroup/cpu/cpu.shares",
    ]);
    s.ok(&["update", "--cpu-shares", "256", "-e", "NEW=1", "later"]);
    let f = s.ok(&[
        "inspect",
        "later",
        "--format",
        "{{.HostConfig.CpuShares}} {{.Config.Env}}",
    ]);
    assert!(f.starts_with("256 "), "{f}");
    assert!(f.contains("NEW=1"), "{f}");
    if v1() {
        s.ok(&["start", "later"]);
        s.ok(&["wait", "later"]);
        assert_eq!(s.ok(&["logs", "later"]).trim(), "256");
    }
    s.ok(&["rm", "later"]);
}
