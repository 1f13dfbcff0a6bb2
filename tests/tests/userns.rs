//! User namespaces for root (`--uidmap`, `--gidmap`, `--subuidname`,
//! `--userns=keep-id|auto|ns:|nomap`) observed inside real runc containers
//! and in the store: the kernel's maps, the root file system's owners seen
//! from inside and outside, inspect's fields, and Podman's refusals.
//! `--preserve-fds`/`--preserve-fd` of run and exec: the caller's
//! descriptors readable inside.

use std::os::unix::fs::MetadataExt;

use e2e::podman::{refused_leaving_nothing, stderr, stdout, with_busybox};

/// The kernel's maps inside, the image's files owned by root inside and
/// by the mapped IDs outside, a file made inside landing in the upper dir
/// with the host IDs, and inspect's IDMappings/UsernsMode.
#[test]
fn uidmap_maps_the_namespace_and_the_root_file_system() {
    let (s, _reg, r) = with_busybox();
    s.ok(&[
        "run",
        "-d",
        "--name",
        "m",
        "--network",
        "none",
        "--uidmap",
        "0:100000:5000",
        "--gidmap",
        "0:200000:5000",
        &r,
        "sleep",
        "60",
    ]);
    let out = s.ok(&[
        "exec",
        "m",
        "sh",
        "-c",
        "cat /proc/self/uid_map /proc/self/gid_map; stat -c '%u:%g' /bin/busybox /etc/passwd /; touch /made-inside; id -u",
    ]);
    let words: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(words[0], ["0", "100000", "5000"], "{out}");
    assert_eq!(words[1], ["0", "200000", "5000"], "{out}");
    assert_eq!(
        &out.lines().skip(2).take(3).collect::<Vec<_>>(),
        &["0:0"; 3],
        "{out}"
    );
    assert_eq!(out.lines().nth(5), Some("0"), "{out}");

    let inspect: serde_json::Value =
        serde_json::from_str(&s.ok(&["container", "inspect", "m"])).unwrap();
    let hc = &inspect[0]["HostConfig"];
    assert_eq!(hc["UsernsMode"], "private");
    assert_eq!(
        hc["IDMappings"]["UidMap"],
        serde_json::json!(["0:100000:5000"])
    );
    assert_eq!(
        hc["IDMappings"]["GidMap"],
        serde_json::json!(["0:200000:5000"])
    );
    assert_eq!(
        s.ok(&[
            "inspect",
            "--format",
            "{{.HostConfig.IDMappings.UIDMap}}",
            "m"
        ])
        .trim(),
        "[0:100000:5000]"
    );

    // Outside: the file made by the container's root is the host's 100000.
    let upper = inspect[0]["GraphDriver"]["Data"]["UpperDir"]
        .as_str()
        .expect("UpperDir")
        .to_string();
    let made = std::fs::metadata(std::path::Path::new(&upper).join("made-inside")).unwrap();
    assert_eq!((made.uid(), made.gid()), (100000, 200000));
    // And the image's files, through the mounted root.
    let merged = inspect[0]["GraphDriver"]["Data"]["MergedDir"]
        .as_str()
        .expect("MergedDir")
        .to_string();
    let bb = std::fs::metadata(std::path::Path::new(&merged).join("bin/busybox")).unwrap();
    assert_eq!((bb.uid(), bb.gid()), (100000, 200000));
    s.ok(&["rm", "-f", "-t", "0", "m"]);
}

/// One of --uidmap/--gidmap serves for both; `+` extends; `--subuidname`
/// reads /etc/subuid-style ranges (none here for a made-up user: refused).
#[test]
fn mapping_syntax_and_refusals() {
    let (s, _reg, r) = with_busybox();
    let out = s.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--gidmap",
        "0:300000:2000",
        "--gidmap",
        "+500:400000:1",
        &r,
        "cat",
        "/proc/self/uid_map",
        "/proc/self/gid_map",
    ]);
    let lines: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let want = [
        vec!["0", "300000", "500"],
        vec!["500", "400000", "1"],
        vec!["501", "300501", "1499"],
    ];
    assert_eq!(&lines[..3], &want, "{out}");
    assert_eq!(&lines[3..], &want, "{out}");

    // On a bridge network (a netns not made by the runtime): /sys is the
    // host's, bound, and no net sysctl is written.
    let out = s.ok(&[
        "run",
        "--rm",
        "--uidmap",
        "0:10000:10000",
        &r,
        "sh",
        "-c",
        "id -u; test -d /sys/class/net && echo sys",
    ]);
    assert_eq!(out, "0\nsys\n");

    refused_leaving_nothing(
        &s,
        &["run", "--rm", "--uidmap", "0:1:2:3", &r, "true"],
        "UID setting is malformed",
    );
    refused_leaving_nothing(
        &s,
        &["run", "--rm", "--uidmap", "x0:1:2", &r, "true"],
        "invalid mapping",
    );
    refused_leaving_nothing(
        &s,
        &[
            "create", "--userns", "keep-id", "--uidmap", "0:1:2", &r, "true",
        ],
        "--userns and --uidmap/--gidmap/--subuidname/--subgidname are mutually exclusive",
    );
    refused_leaving_nothing(
        &s,
        &["run", "--rm", "--userns=nomap", &r, "true"],
        "nomap is only supported in rootless mode",
    );
    refused_leaving_nothing(
        &s,
        &["run", "--rm", "--userns=bogus", &r, "true"],
        "unrecognized namespace mode bogus passed",
    );
    refused_leaving_nothing(
        &s,
        &[
            "run",
            "--rm",
            "--subuidname",
            "no-such-user-here",
            &r,
            "true",
        ],
        "cannot find mappings for user \"no-such-user-here\"",
    );
}

/// keep-id for root: a new namespace with the caller's own (identity)
/// mappings, running as root unless uid=/gid= say otherwise; ns:PATH joins
/// it with the same maps.
#[test]
fn keep_id_and_joining_a_namespace() {
    let (s, _reg, r) = with_busybox();
    let out = s.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--userns=keep-id",
        &r,
        "id",
        "-u",
    ]);
    assert_eq!(out.trim(), "0");
    let out = s.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--userns=keep-id:uid=42,gid=43",
        &r,
        "sh",
        "-c",
        "id -u; id -g",
    ]);
    assert_eq!(out, "42\n43\n");

    s.ok(&[
        "run",
        "-d",
        "--name",
        "src",
        "--network",
        "none",
        "--uidmap",
        "0:600000:3000",
        &r,
        "sleep",
        "60",
    ]);
    let pid = s.ok(&["inspect", "--format", "{{.State.Pid}}", "src"]);
    let path = format!("/proc/{}/ns/user", pid.trim());
    let script = "readlink /proc/self/ns/user; cat /proc/self/uid_map";
    let inside = s.ok(&["exec", "src", "sh", "-c", script]);
    let joined = s.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        &format!("--userns=ns:{path}"),
        &r,
        "sh",
        "-c",
        script,
    ]);
    assert_eq!(joined, inside);
    let by_name = s.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--userns=container:src",
        &r,
        "sh",
        "-c",
        script,
    ]);
    assert_eq!(by_name, inside);
    let mode = s.ok(&[
        "run",
        "-d",
        "--name",
        "j",
        "--network",
        "none",
        &format!("--userns=ns:{path}"),
        &r,
        "true",
    ]);
    assert!(!mode.is_empty());
    assert_eq!(
        s.ok(&["inspect", "--format", "{{.HostConfig.UsernsMode}}", "j"])
            .trim(),
        format!("ns:{path}")
    );
    s.ok(&["rm", "-f", "-t", "0", "src", "j"]);
}

/// `--userns=auto`: ranges of the subordinate IDs of user "containers",
/// one container's never overlapping another's; without such IDs, Podman's
/// refusal.
#[test]
fn userns_auto_takes_free_ranges_of_containers_ids() {
    let (s, _reg, r) = with_busybox();
    let configured = |f: &str| {
        std::fs::read_to_string(f)
            .unwrap_or_default()
            .lines()
            .any(|l| l.starts_with("containers:"))
    };
    if !configured("/etc/subuid") || !configured("/etc/subgid") {
        refused_leaving_nothing(
            &s,
            &["create", "--userns=auto", &r, "true"],
            "cannot find mappings for user \"containers\"",
        );
        return;
    }
    let a = s.ok(&["create", "--userns=auto:size=1000", &r, "true"]);
    let b = s.ok(&["create", "--userns=auto:size=1000", &r, "true"]);
    let map = |id: &str| {
        let m = s.ok(&[
            "inspect",
            "--format",
            "{{index .HostConfig.IDMappings.UIDMap 0}}",
            id.trim(),
        ]);
        let f: Vec<u64> = m.trim().split(':').map(|x| x.parse().unwrap()).collect();
        (f[0], f[1], f[2])
    };
    let (ma, mb) = (map(&a), map(&b));
    assert_eq!((ma.0, ma.2, mb.0, mb.2), (0, 1000, 0, 1000));
    assert!(ma.1 + 1000 <= mb.1 || mb.1 + 1000 <= ma.1, "{ma:?} {mb:?}");
}

/// `--preserve-fds N` passes the caller's fds 3..3+N; `--preserve-fd`
/// the listed ones, at the same numbers; a descriptor that is not open is
/// refused as Podman does.
#[test]
fn preserve_fds_pass_open_files() {
    let (s, _reg, r) = with_busybox();
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    std::fs::write(&a, "from-fd-3\n").unwrap();
    std::fs::write(&b, "from-fd-4\n").unwrap();
    // The shell opens the files on 3 and 4 and execs podman with them.
    let with_fds = |args: &[&str]| {
        let c = s.cmd();
        let mut sh = std::process::Command::new("sh");
        sh.arg("-c")
            .arg(r#"a="$1"; b="$2"; shift 2; exec "$@" 3<"$a" 4<"$b""#)
            .arg("sh")
            .arg(&a)
            .arg(&b)
            .arg(c.get_program())
            .args(c.get_args())
            .args(args)
            .env_remove("PODMAN_HELPER_DIR")
            .env_remove("CONTAINERS_CONF")
            .stdin(std::process::Stdio::null());
        sh.output().unwrap()
    };
    let o = with_fds(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--preserve-fds",
        "2",
        &r,
        "sh",
        "-c",
        "cat <&3; cat <&4",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "from-fd-3\nfrom-fd-4\n");
    let o = with_fds(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--preserve-fd",
        "4",
        &r,
        "sh",
        "-c",
        "cat <&4; readlink /proc/self/fd/3",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Between preserved descriptors: nothing of podman's or the runtime's.
    assert_eq!(stdout(&o), "from-fd-4\n/dev/null\n");

    // exec: the descriptors travel to the running container's monitor.
    s.ok(&[
        "run",
        "-d",
        "--name",
        "x",
        "--network",
        "none",
        &r,
        "sleep",
        "60",
    ]);
    let o = with_fds(&[
        "exec",
        "--preserve-fds",
        "2",
        "x",
        "sh",
        "-c",
        "cat <&4; cat <&3",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "from-fd-4\nfrom-fd-3\n");
    let o = s.run(&["exec", "--preserve-fd", "9", "x", "true"]);
    assert_eq!(o.status.code(), Some(125), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("file descriptor 9 is not available"),
        "{}",
        stderr(&o)
    );
    s.ok(&["rm", "-f", "-t", "0", "x"]);

    refused_leaving_nothing(
        &s,
        &["run", "--rm", "--preserve-fds", "40", &r, "true"],
        "is not available - the preserve-fds option requires that file descriptors must be passed",
    );
    refused_leaving_nothing(
        &s,
        &["run", "--rm", "--preserve-fd", "77", &r, "true"],
        "file descriptor 77 is not available - the preserve-fd option requires that file descriptors must be passed",
    );
}

/// A container with its own user namespace on a bridge network: its netns
/// is made inside that user namespace (as the runtime makes it for
/// Podman), so `exec`, which joins the user namespace first, can join the
/// netns too.
#[test]
fn exec_joins_a_user_namespaced_container_on_a_bridge() {
    let (s, _reg, r) = with_busybox();
    s.ok(&[
        "run",
        "-d",
        "--name",
        "ub",
        "--uidmap",
        "0:20000:10000",
        &r,
        "sleep",
        "1000",
    ]);
    let pid = s.ok(&["inspect", "--format", "{{.State.Pid}}", "ub"]);
    let host_view = std::fs::read_link(format!("/proc/{}/ns/net", pid.trim())).unwrap();
    let out = s.ok(&[
        "exec",
        "ub",
        "sh",
        "-c",
        "id -u; readlink /proc/self/ns/net; cat /proc/self/uid_map; grep -c eth0: /proc/net/dev",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "0", "{out}");
    assert_eq!(lines[1], host_view.to_str().unwrap(), "{out}");
    assert_eq!(
        lines[2].split_whitespace().collect::<Vec<_>>(),
        ["0", "20000", "10000"],
        "{out}"
    );
    assert_eq!(lines[3], "1", "{out}");
    // The exec sees the address net-setup gave the container.
    let ip = s.ok(&[
        "inspect",
        "--format",
        "{{.NetworkSettings.IPAddress}}",
        "ub",
    ]);
    let addr = s.ok(&["exec", "ub", "ip", "-4", "-o", "addr", "show", "eth0"]);
    assert!(
        !ip.trim().is_empty() && addr.contains(&format!("inet {}/", ip.trim())),
        "{ip} {addr}"
    );
    // A restart makes the netns anew, inside the user namespace again.
    s.ok(&["restart", "-t", "0", "ub"]);
    let out = s.ok(&["exec", "ub", "grep", "-c", "eth0:", "/proc/net/dev"]);
    assert_eq!(out.trim(), "1");
    s.ok(&["rm", "-f", "-t", "0", "ub"]);
    assert!(
        !std::path::Path::new(&s.runroot().join("netns")).exists()
            || std::fs::read_dir(s.runroot().join("netns"))
                .unwrap()
                .next()
                .is_none(),
        "the netns file is removed with the container"
    );
}

/// A container with its own user namespace gets the host's /sys bound
/// (no fresh sysfs can be mounted there), but none of the mounts under
/// /sys/kernel (tracing, debug, security...): the runtime is started in a
/// mount namespace without them, as libpod does. The host keeps them.
#[test]
fn uidmap_containers_see_no_sys_kernel_mounts() {
    let (s, _reg, r) = with_busybox();
    let host_before = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    for net in ["none", "host"] {
        let out = s.ok(&[
            "run",
            "--rm",
            "--network",
            net,
            "--uidmap",
            "0:100:10000",
            &r,
            "cat",
            "/proc/mounts",
        ]);
        assert!(!out.contains(" /sys/kernel"), "--network {net}: {out}");
        assert!(out.contains(" /sys "), "--network {net}: {out}");
    }
    let host_after = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let kernel = |m: &str| m.lines().filter(|l| l.contains(" /sys/kernel")).count();
    assert_eq!(kernel(&host_before), kernel(&host_after));
}
