//! A pod's resource limits (`pod create --memory`, `--cpus`, `--cpu-shares`,
//! `--cpuset-cpus`, upstream 200 "pod cleans cgroup and keeps limits"): set
//! on the pod's cgroup, which its members live under, whether or not the pod
//! has an infra container; gone when the pod stops, back when it starts; and
//! a member's `ps` line shows the ports published on its pod.

use std::path::{Path, PathBuf};

use e2e::podman::stderr;

fn v2() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// The pod cgroup's directory holding the memory limit.
fn memory_dir(cgroup_path: &str) -> PathBuf {
    let rel = cgroup_path.trim_start_matches('/');
    if v2() {
        Path::new("/sys/fs/cgroup").join(rel)
    } else {
        Path::new("/sys/fs/cgroup/memory").join(rel)
    }
}

fn read(p: PathBuf) -> String {
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .trim()
        .to_string()
}

#[test]
fn pod_limits_live_on_the_pod_cgroup() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    for infra in ["true", "false"] {
        let pod = s.ok(&[
            "pod",
            "create",
            &format!("--infra={infra}"),
            "--network",
            "none",
            "--memory=256M",
            "--cpus=0.5",
            "--cpu-shares=512",
            "--cpuset-cpus=0",
        ]);
        let pod = pod.trim();
        let doc: serde_json::Value = serde_json::from_str(&s.ok(&["pod", "inspect", pod])).unwrap();
        let doc = if doc.is_array() { doc[0].clone() } else { doc };
        assert_eq!(doc["memory_limit"], 268435456);
        assert_eq!(doc["cpu_quota"], 50000);
        assert_eq!(doc["cpu_period"], 100000);
        assert_eq!(doc["cpu_shares"], 512);
        assert_eq!(doc["cpuset_cpus"], "0");
        let cg = doc["CgroupPath"].as_str().unwrap().to_string();
        assert!(cg.contains(pod), "{cg}");

        let member = s.ok(&["run", "-d", "--pod", pod, &r, "sleep", "600"]);
        let dir = memory_dir(&cg);
        if v2() {
            assert_eq!(read(dir.join("memory.max")), "268435456");
            assert_eq!(read(dir.join("cpu.max")), "50000 100000");
        } else {
            assert_eq!(read(dir.join("memory.limit_in_bytes")), "268435456");
            let cpu = Path::new("/sys/fs/cgroup/cpu").join(cg.trim_start_matches('/'));
            assert_eq!(read(cpu.join("cpu.cfs_quota_us")), "50000");
            assert_eq!(read(cpu.join("cpu.shares")), "512");
            let cpuset = Path::new("/sys/fs/cgroup/cpuset").join(cg.trim_start_matches('/'));
            assert_eq!(read(cpuset.join("cpuset.cpus")), "0");
        }
        // The member lives under the pod's cgroup.
        let pid = s.ok(&["inspect", "--format", "{{.State.Pid}}", member.trim()]);
        let own = read(PathBuf::from(format!("/proc/{}/cgroup", pid.trim())));
        assert!(own.contains(&cg), "{own}");

        s.ok(&["pod", "stop", "-t", "0", pod]);
        assert!(!dir.exists(), "{} outlived pod stop", dir.display());
        s.ok(&["pod", "start", pod]);
        let limit = if v2() {
            "memory.max"
        } else {
            "memory.limit_in_bytes"
        };
        assert_eq!(
            read(dir.join(limit)),
            "268435456",
            "limits kept over a restart"
        );
        s.ok(&["pod", "rm", "-f", "-t", "0", pod]);
        assert!(!dir.exists(), "{} outlived pod rm", dir.display());
    }

    // Bad values are refused before anything is made.
    let o = s.run(&["pod", "create", "--name", "h11badmem", "--memory", "lots"]);
    assert_eq!(o.status.code(), Some(125), "{}", stderr(&o));
    assert!(stderr(&o).contains("lots"), "{}", stderr(&o));
    assert_eq!(
        s.run(&["pod", "exists", "h11badmem"]).status.code(),
        Some(1)
    );
}

#[test]
fn a_member_shows_its_pods_ports() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    s.ok(&[
        "network",
        "create",
        "--subnet",
        "10.131.77.0/24",
        "h11podports",
    ]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let pod = s.ok(&[
        "pod",
        "create",
        "--network",
        "h11podports",
        "-p",
        &format!("{port}:5352"),
    ]);
    let cid = s.ok(&["run", "-d", "--pod", pod.trim(), &r, "sleep", "600"]);
    let line = s.ok(&[
        "ps",
        "--filter",
        &format!("id={}", cid.trim()),
        "--format",
        "{{.Ports}}",
    ]);
    assert_eq!(line.trim(), format!("0.0.0.0:{port}->5352/tcp"));
    s.ok(&["pod", "rm", "-f", "-t", "0", pod.trim()]);
    s.ok(&["network", "rm", "h11podports"]);
}
