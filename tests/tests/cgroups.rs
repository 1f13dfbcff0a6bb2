//! The cgroup flags of `run`/`create` in real containers: `--cgroupns`
//! (a private namespace or the host's), `--cgroup-parent` (where the
//! container's cgroup is made), inspect's HostConfig fields, and the
//! refusals (`--cgroups=disabled` without crun, `split`, `--cgroup-conf`
//! on cgroup v1, malformed values).

use e2e::podman::{stderr, TestStore};

fn fixture() -> (TestStore, e2e::registry::Registry, String) {
    e2e::podman::with_busybox()
}

fn cgroup_v2() -> bool {
    std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

#[test]
fn cgroupns_private_or_host() {
    let (s, _reg, image) = fixture();
    let host = std::fs::read_link("/proc/self/ns/cgroup").unwrap();
    let host = host.to_str().unwrap();
    let ns = |mode: &str| {
        s.ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--cgroupns",
            mode,
            &image,
            "readlink",
            "/proc/self/ns/cgroup",
        ])
        .trim()
        .to_string()
    };
    assert_eq!(ns("host"), host);
    assert_ne!(ns("private"), host);
    s.ok(&[
        "create",
        "--name",
        "p",
        "--cgroupns",
        "private",
        &image,
        "true",
    ]);
    s.ok(&["create", "--name", "d", &image, "true"]);
    let mode = |n: &str| {
        s.ok(&["inspect", "--format", "{{.HostConfig.CgroupnsMode}}", n])
            .trim()
            .to_string()
    };
    assert_eq!(mode("p"), "private");
    // Podman's default: the host's namespace on v1, a private one on v2.
    assert_eq!(mode("d"), if cgroup_v2() { "private" } else { "host" });
    s.ok(&["rm", "p", "d"]);
}

#[test]
fn cgroup_parent_places_the_container() {
    let (s, _reg, image) = fixture();
    let parent = format!("/podman-rs-e2e-{}", std::process::id());
    let id = s.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--cgroup-parent",
        &parent,
        &image,
        "sleep",
        "1000",
    ]);
    let id = id.trim();
    let pid = s.ok(&["inspect", "--format", "{{.State.Pid}}", id]);
    let cgroups = std::fs::read_to_string(format!("/proc/{}/cgroup", pid.trim())).unwrap();
    let want = format!("{parent}/libpod-{id}");
    assert!(
        cgroups.lines().any(|l| l.ends_with(&want)),
        "{want} not in\n{cgroups}"
    );
    let got = s.ok(&["inspect", "--format", "{{.HostConfig.CgroupParent}}", id]);
    assert_eq!(got.trim(), parent);
    s.ok(&["rm", "-f", "-t", "0", id]);
    // runc leaves the parent directories behind, as with Podman.
    for line in cgroups.lines() {
        let Some(path) = line.splitn(3, ':').nth(2) else {
            continue;
        };
        let Some(ctrl) = line.split(':').nth(1) else {
            continue;
        };
        if path.ends_with(&want) && !ctrl.is_empty() && !ctrl.contains('=') {
            let dir = format!("/sys/fs/cgroup/{}{parent}", ctrl.split(',').next().unwrap());
            let _ = std::fs::remove_dir(dir);
        }
    }
}

#[test]
fn cgroup_flags_refused_with_one_line() {
    let (s, _reg, image) = fixture();
    let mut cases = vec![
        (
            vec!["--cgroups", "disabled"],
            "--cgroups=disabled requires the crun runtime",
        ),
        (
            vec!["--cgroups", "split"],
            "--cgroups=split is not supported",
        ),
        (
            vec!["--cgroups", "sometimes"],
            "invalid cgroup mode \"sometimes\"",
        ),
        (
            vec!["--cgroupns", "sideways"],
            "invalid --cgroupns \"sideways\"",
        ),
        (
            vec!["--cgroup-parent", "relative/path"],
            "invalid --cgroup-parent \"relative/path\"",
        ),
        (
            vec!["--cgroup-conf", "memory.high"],
            "--cgroup-conf must be formatted KEY=VALUE",
        ),
    ];
    if !cgroup_v2() {
        cases.push((
            vec!["--cgroup-conf", "memory.high=1M"],
            "cgroup v2 files cannot be set",
        ));
    }
    for (flags, needle) in cases {
        let mut a = vec!["create", "--name", "never"];
        a.extend_from_slice(&flags);
        a.extend_from_slice(&[&image, "true"]);
        let o = s.run(&a);
        assert_eq!(o.status.code(), Some(125), "{flags:?}");
        let err = stderr(&o);
        assert!(err.contains(needle), "{flags:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
    // Nothing was made.
    assert_eq!(s.ok(&["ps", "-a", "-q"]).trim(), "");
}

/// `pause --all` / `unpause --all` act on the containers in the state the
/// verb needs and pass over the others (libpod), as upstream 080 checks.
#[test]
fn pause_and_unpause_all_pass_over_the_others() {
    let (s, _reg, image) = fixture();
    s.ok(&["create", "--name", "idle", &image, "true"]);
    s.ok(&[
        "run",
        "-d",
        "--name",
        "busy",
        "--network",
        "none",
        &image,
        "sleep",
        "1000",
    ]);
    let id = s.ok(&["inspect", "--format", "{{.Id}}", "busy"]);
    assert_eq!(s.ok(&["pause", "--all"]), id);
    assert_eq!(
        s.ok(&["inspect", "--format", "{{.State.Status}}", "busy"])
            .trim(),
        "paused"
    );
    assert_eq!(s.ok(&["unpause", "--all"]), id);
    assert_eq!(
        s.ok(&["inspect", "--format", "{{.State.Status}}", "busy"])
            .trim(),
        "running"
    );
    // Nothing paused: nothing to do, no error.
    assert_eq!(s.ok(&["unpause", "--all"]), "");
    s.ok(&["rm", "-f", "-t", "0", "idle", "busy"]);
}
