//! Confinement as Podman applies it, observed inside real runc containers:
//! the seccomp filter and capability sets in /proc/self/status, syscalls
//! the default profile refuses, masked and read-only paths (upstream
//! 400-unprivileged-access "sensitive mount points are masked"),
//! `--privileged`, `--security-opt mask/unmask/seccomp/apparmor/label`, the
//! pids limit, and what `info` and `inspect` report.

use e2e::podman::{refused_leaving_nothing, run_sh, with_busybox, TestStore};
use serde_json::Value;

/// A field of /proc/self/status text.
fn status_field<'a>(status: &'a str, key: &str) -> &'a str {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key).and_then(|v| v.strip_prefix(':')))
        .unwrap_or_else(|| panic!("no {key} in {status}"))
        .trim()
}

/// Capability numbers (linux/capability.h) of Podman 5's default set.
const PODMAN_DEFAULT_CAPS: &[(&str, u32)] = &[
    ("CAP_CHOWN", 0),
    ("CAP_DAC_OVERRIDE", 1),
    ("CAP_FOWNER", 3),
    ("CAP_FSETID", 4),
    ("CAP_KILL", 5),
    ("CAP_SETGID", 6),
    ("CAP_SETUID", 7),
    ("CAP_SETPCAP", 8),
    ("CAP_NET_BIND_SERVICE", 10),
    ("CAP_SYS_CHROOT", 18),
    ("CAP_SETFCAP", 31),
];

fn mask_of(bits: impl IntoIterator<Item = u32>) -> String {
    format!("{:016x}", bits.into_iter().fold(0u64, |m, b| m | 1 << b))
}

/// This process's bounding set: what a privileged container gets.
fn host_bounding() -> String {
    let st = std::fs::read_to_string("/proc/self/status").unwrap();
    status_field(&st, "CapBnd").to_string()
}

/// Paths from Podman's masked list that exist here, with the file type
/// and link count the host shows.
fn existing(paths: &[&str]) -> Vec<String> {
    paths
        .iter()
        .filter(|p| std::path::Path::new(p).exists())
        .map(|p| p.to_string())
        .collect()
}

const MASKED: &[&str] = &[
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/proc/interrupts",
    "/sys/firmware",
    "/sys/fs/selinux",
    "/sys/devices/virtual/powercap",
];

/// The upstream check: each masked path is a /dev/null clone (files) or
/// an empty directory (link count 2), or absent.
fn assert_masked(out: &str, paths: &[String]) {
    let mut lines = out.lines();
    let devnull = lines.next().expect("stat of /dev/null");
    let null_dev: Vec<&str> = devnull.split(':').skip(3).collect();
    for (line, path) in lines.zip(paths) {
        let f: Vec<&str> = line.split(':').collect();
        assert_eq!(f[0], path, "{out}");
        match f[1] {
            "character special file" => assert_eq!(f[3..], null_dev[..], "{path}: {line}"),
            "directory" => assert_eq!(f[2], "2", "{path}: directory link count: {line}"),
            other => panic!("{path} is not masked: {other} ({line})"),
        }
    }
}

#[test]
fn default_container_has_podmans_seccomp_caps_masks_and_pids_limit() {
    let (s, _reg, r) = with_busybox();
    let want_caps = mask_of(PODMAN_DEFAULT_CAPS.iter().map(|(_, b)| *b));
    let masked = existing(MASKED);
    let script = format!(
        "cat /proc/self/status; echo ==; stat -c '%n:%F:%h:%t:%T' /dev/null {}; echo ==; \
         grep -c ' /proc/sys proc ro,' /proc/mounts; cat /sys/fs/cgroup/pids/pids.max",
        masked.join(" ")
    );
    let out = run_sh(&s, &r, &[], &script);
    let parts: Vec<&str> = out.split("==\n").collect();
    let status = parts[0];
    assert_eq!(status_field(status, "Seccomp"), "2", "{status}");
    for key in ["CapEff", "CapPrm", "CapBnd"] {
        assert_eq!(status_field(status, key), want_caps, "{key}");
    }
    assert_eq!(status_field(status, "CapInh"), mask_of([]));
    assert_eq!(status_field(status, "NoNewPrivs"), "0");
    assert_masked(parts[1], &masked);
    let tail: Vec<&str> = parts[2].lines().collect();
    assert_eq!(tail, ["1", "2048"], "/proc/sys read-only, pids.max");

    // The profile refuses what the capabilities alone would allow:
    // swapoff with CAP_SYS_ADMIN gets EPERM from the filter (the kernel
    // itself would say the file does not exist).
    let probe = "busybox swapoff /nonexistent 2>&1; true";
    let confined = run_sh(&s, &r, &["--cap-add", "sys_admin"], probe);
    assert!(
        confined.contains("Operation not permitted"),
        "confined: {confined}"
    );
    let open = run_sh(
        &s,
        &r,
        &[
            "--cap-add",
            "sys_admin",
            "--security-opt",
            "seccomp=unconfined",
        ],
        &format!("grep Seccomp: /proc/self/status; {probe}"),
    );
    assert!(open.contains("Seccomp:\t0"), "{open}");
    assert!(
        open.contains("No such file or directory"),
        "unconfined: {open}"
    );

    // inspect shows what was applied.
    let id = s.ok(&[
        "create",
        "--security-opt",
        "seccomp=unconfined",
        "--security-opt",
        "label=disable",
        "--security-opt",
        "apparmor=unconfined",
        "--cap-drop",
        "chown",
        &r,
    ]);
    let doc: Value = serde_json::from_str(&s.ok(&["inspect", id.trim()])).unwrap();
    let c = &doc[0];
    assert_eq!(
        c["HostConfig"]["SecurityOpt"],
        serde_json::json!(["label=disable", "seccomp=unconfined", "apparmor=unconfined"])
    );
    assert_eq!(c["HostConfig"]["PidsLimit"], 2048);
    let bounding: Vec<String> = serde_json::from_value(c["BoundingCaps"].clone()).unwrap();
    let mut want: Vec<String> = PODMAN_DEFAULT_CAPS
        .iter()
        .map(|(n, _)| n.to_string())
        .filter(|n| n != "CAP_CHOWN")
        .collect();
    want.sort();
    assert_eq!(bounding, want);
    assert_eq!(c["EffectiveCaps"], c["BoundingCaps"]);
    s.ok(&["rm", id.trim()]);
}

#[test]
fn privileged_gets_all_caps_no_filter_no_masks_and_host_devices() {
    let (s, _reg, r) = with_busybox();
    let masked = existing(MASKED);
    let out = run_sh(
        &s,
        &r,
        &["--privileged"],
        &format!(
            "cat /proc/self/status; echo ==; stat -c '%n:%F:%h' {}; echo ==; \
             grep -c ' /proc/sys proc ro,' /proc/mounts; ls /dev",
            masked.join(" ")
        ),
    );
    let parts: Vec<&str> = out.split("==\n").collect();
    assert_eq!(status_field(parts[0], "Seccomp"), "0");
    assert_eq!(status_field(parts[0], "CapEff"), host_bounding());
    assert_eq!(status_field(parts[0], "CapBnd"), host_bounding());
    // Each path shows the host's own type and link count.
    for (line, path) in parts[1].lines().zip(&masked) {
        let md = std::fs::metadata(path).unwrap();
        assert!(
            !line.contains("character special"),
            "{path} masked under --privileged: {line}"
        );
        if md.is_dir() {
            let host_links = std::os::unix::fs::MetadataExt::nlink(&md);
            assert!(line.ends_with(&format!(":{host_links}")), "{line}");
        }
    }
    let mut rest = parts[2].lines();
    assert_eq!(rest.next(), Some("0"), "/proc/sys writable");
    let devs: Vec<&str> = rest.collect();
    // Host device nodes appear (kmsg is not among runc's defaults).
    if std::path::Path::new("/dev/kmsg").exists() {
        assert!(devs.contains(&"kmsg"), "{devs:?}");
    }
    let id = s.ok(&["create", "--privileged", &r]);
    let doc: Value = serde_json::from_str(&s.ok(&["inspect", id.trim()])).unwrap();
    assert_eq!(
        doc[0]["HostConfig"]["SecurityOpt"],
        serde_json::json!(["unmask=all"])
    );
    s.ok(&["rm", id.trim()]);
}

#[test]
fn mask_unmask_and_pids_limit_flags() {
    let (s, _reg, r) = with_busybox();
    let script = "stat -c '%n:%F' /etc/group /proc/keys /proc/timer_list /sys/firmware; \
                  cat /sys/fs/cgroup/pids/pids.max";
    let out = run_sh(
        &s,
        &r,
        &[
            "--security-opt",
            "mask=/etc/group:/etc/passwd",
            "--security-opt",
            "unmask=/proc/k*",
            "--pids-limit",
            "100",
        ],
        script,
    );
    let l: Vec<&str> = out.lines().collect();
    assert_eq!(l[0], "/etc/group:character special file", "{out}");
    assert!(l[1].starts_with("/proc/keys:regular"), "{out}");
    assert_eq!(l[2], "/proc/timer_list:character special file", "{out}");
    assert_eq!(l[4], "100", "{out}");
    // unmask=ALL: no masked and no read-only paths; -1: no pids limit.
    let out = run_sh(
        &s,
        &r,
        &["--security-opt", "unmask=ALL", "--pids-limit=-1"],
        "stat -c '%n:%F' /proc/timer_list; grep -c ' /proc/sys proc ro,' /proc/mounts; \
         cat /sys/fs/cgroup/pids/pids.max",
    );
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["/proc/timer_list:regular empty file", "0", "max"],
        "{out}"
    );
    refused_leaving_nothing(
        &s,
        &["create", "--pids-limit", "lots", &r],
        "invalid --pids-limit \"lots\"",
    );
    refused_leaving_nothing(
        &s,
        &["create", "--security-opt", "mask=relative/path", &r],
        "not an absolute path",
    );
}

#[test]
fn seccomp_profiles_from_a_path_and_containers_conf() {
    let (s, _reg, r) = with_busybox();
    let dir = tempfile::tempdir().unwrap();
    // Allow everything but mkdir/mkdirat, which fail with EPERM.
    let profile = dir.path().join("nomkdir.json");
    std::fs::write(
        &profile,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
            {"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}"#,
    )
    .unwrap();
    let p = profile.display().to_string();
    let out = run_sh(
        &s,
        &r,
        &["--security-opt", &format!("seccomp={p}")],
        "grep Seccomp: /proc/self/status; mkdir /tmp/x 2>&1; true",
    );
    assert!(out.contains("Seccomp:\t2"), "{out}");
    assert!(out.contains("Operation not permitted"), "{out}");

    refused_leaving_nothing(
        &s,
        &[
            "create",
            "--security-opt",
            "seccomp=/nonexistent/profile.json",
            &r,
        ],
        "opening seccomp profile failed: /nonexistent/profile.json",
    );
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{not json").unwrap();
    refused_leaving_nothing(
        &s,
        &[
            "run",
            "--rm",
            "--security-opt",
            &format!("seccomp={}", bad.display()),
            &r,
            "true",
        ],
        "decoding seccomp profile failed",
    );
    refused_leaving_nothing(
        &s,
        &["create", "--security-opt", "seccomp", &r],
        "invalid --security-opt \"seccomp\"",
    );

    // containers.conf's seccomp_profile is every container's default, and
    // info says so.
    let conf = dir.path().join("containers.conf");
    std::fs::write(&conf, format!("[containers]\nseccomp_profile = \"{p}\"\n")).unwrap();
    let o = s
        .cmd()
        .env("CONTAINERS_CONF", &conf)
        .args([
            "run",
            "--rm",
            "--network",
            "none",
            &r,
            "sh",
            "-c",
            "mkdir /tmp/x 2>&1; true",
        ])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("Operation not permitted"),
        "{o:?}"
    );
    let o = s
        .cmd()
        .env("CONTAINERS_CONF", &conf)
        .args(["info", "--format", "{{.Host.Security.SECCOMPProfilePath}}"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), p, "{o:?}");
}

#[test]
fn apparmor_and_label_options_are_honoured_or_refused() {
    let (s, _reg, r) = with_busybox();
    let apparmor = std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|v| v.trim() == "Y");
    if !apparmor {
        refused_leaving_nothing(
            &s,
            &["create", "--security-opt", "apparmor=my-profile", &r],
            "apparmor profile \"my-profile\" specified, but Apparmor is not enabled on this system",
        );
    }
    if !std::path::Path::new("/sys/fs/selinux/enforce").exists() {
        refused_leaving_nothing(
            &s,
            &["create", "--security-opt", "label=type:spc_t", &r],
            "SELinux is not enabled on this host",
        );
    }
    refused_leaving_nothing(
        &s,
        &["create", "--security-opt", "bogus=1", &r],
        "invalid --security-opt \"bogus=1\"",
    );
    let out = run_sh(
        &s,
        &r,
        &[
            "--security-opt",
            "label=disable",
            "--security-opt",
            "apparmor=unconfined",
        ],
        "echo ok",
    );
    assert_eq!(out.trim(), "ok");
}

#[test]
fn info_reports_what_is_applied() {
    let s = TestStore::new();
    let o = s.ok(&["info", "--format", "json"]);
    let info: Value = serde_json::from_str(&o).unwrap();
    let sec = &info["host"]["security"];
    assert_eq!(
        sec["seccompEnabled"],
        std::path::Path::new("/proc/sys/kernel/seccomp/actions_avail").exists()
    );
    let want_path = [
        "/etc/containers/seccomp.json",
        "/usr/share/containers/seccomp.json",
    ]
    .into_iter()
    .find(|p| std::path::Path::new(p).exists())
    .unwrap_or("");
    assert_eq!(sec["seccompProfilePath"], want_path);
    assert_eq!(
        sec["apparmorEnabled"],
        std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
            .is_ok_and(|v| v.trim() == "Y")
    );
    assert_eq!(
        sec["selinuxEnabled"],
        std::path::Path::new("/sys/fs/selinux/enforce").exists()
    );
    // As containers.conf spells them (Debian's has no CAP_ prefix).
    let mut got: Vec<String> = sec["capabilities"]
        .as_str()
        .unwrap()
        .split(',')
        .map(|c| format!("CAP_{}", c.trim_start_matches("CAP_")))
        .collect();
    got.sort();
    let mut want: Vec<String> = PODMAN_DEFAULT_CAPS
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    want.sort();
    assert_eq!(got, want);
}
