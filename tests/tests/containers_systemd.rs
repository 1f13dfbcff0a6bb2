//! `--systemd=true|false|always` (Podman's systemd mode, checked by a fake
//! init script, no systemd needed) and `--security-opt proc-opts=`.

use e2e::build_files::{build, write};
use e2e::podman::{refused_leaving_nothing, with_busybox, TestStore};

/// An init that reports what systemd would need: its tmpfs mounts, its
/// cgroup writable (with a cgroup namespace: the memory controller on v1,
/// the cgroup2 root on v2), its environment.
const INIT: &str = r#"#!/bin/sh
for d in /run /run/lock /tmp /var/log/journal; do
  grep -q " $d tmpfs " /proc/mounts && echo "tmpfs $d"
done
grep -E " /sys/fs/cgroup(/memory)? cgroup2? " /proc/mounts | grep -q " rw," && echo "cgroup rw"
echo "container=$container uuid=${#container_uuid}"
"#;

/// The busybox image with INIT at /sbin/init.
fn init_image(s: &TestStore, base: &str) -> &'static str {
    let ctx = s.dir.path().join("ctx");
    std::fs::create_dir(&ctx).expect("mkdir");
    write(&ctx, "init", INIT);
    write(
        &ctx,
        "Containerfile",
        &format!("FROM {base}\nCOPY --chmod=755 init /sbin/init\n"),
    );
    build(
        s,
        &["-q", "-t", "fake-init:latest", &ctx.display().to_string()],
    );
    "fake-init:latest"
}

const SYSTEMD_LINES: &str = "tmpfs /run\ntmpfs /run/lock\ntmpfs /tmp\ntmpfs /var/log/journal\ncgroup rw\ncontainer=podman uuid=32\n";

#[test]
fn init_command_runs_in_systemd_mode() {
    let (s, _reg, r) = with_busybox();
    let img = init_image(&s, &r);
    let out = s.ok(&[
        "run",
        "--name",
        "sd-auto",
        "--network",
        "none",
        "--cgroupns=private",
        img,
        "/sbin/init",
    ]);
    assert_eq!(out, SYSTEMD_LINES);
    let got = s.ok(&[
        "container",
        "inspect",
        "--format",
        "{{.Config.SystemdMode}} {{.Config.StopSignal}}",
        "sd-auto",
    ]);
    // systemd's stop signal, SIGRTMIN+3, named as Podman 5 names it.
    assert_eq!(got.trim(), "true SIGRTMIN+3");
    // A user's stop signal wins.
    s.ok(&[
        "create",
        "--name",
        "sd-sig",
        "--stop-signal",
        "SIGINT",
        img,
        "/sbin/init",
    ]);
    let got = s.ok(&["inspect", "--format", "{{.Config.StopSignal}}", "sd-sig"]);
    assert_eq!(got.trim(), "SIGINT");
    // A user's mount wins over systemd's tmpfs.
    let host = s.dir.path().join("tmpdir");
    std::fs::create_dir(&host).expect("mkdir");
    let vol = format!("{}:/tmp", host.display());
    let out = s.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        &vol,
        img,
        "/sbin/init",
    ]);
    assert!(!out.contains("tmpfs /tmp\n"), "{out}");
    assert!(out.contains("tmpfs /run\n"), "{out}");
}

#[test]
fn systemd_false_and_always() {
    let (s, _reg, r) = with_busybox();
    let img = init_image(&s, &r);
    let off = s.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--systemd=false",
        "--cgroupns=private",
        img,
        "/sbin/init",
    ]);
    assert_eq!(off, "container=podman uuid=0\n");
    let always = s.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--systemd=always",
        "--cgroupns=private",
        img,
        "sh",
        "/sbin/init",
    ]);
    assert_eq!(always, SYSTEMD_LINES);
    let plain = s.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--cgroupns=private",
        img,
        "sh",
        "/sbin/init",
    ]);
    assert_eq!(plain, "container=podman uuid=0\n");
}

#[test]
fn bad_systemd_value_is_refused() {
    let s = TestStore::new();
    refused_leaving_nothing(
        &s,
        &["create", "--systemd=sometimes", "busybox", "true"],
        "systemd option requires 'true, false, always'",
    );
}

#[test]
fn proc_opts_replace_the_proc_mount_options() {
    let (s, _reg, r) = with_busybox();
    let script = "grep '^proc /proc ' /proc/mounts | cut -d' ' -f4";
    let dflt = s.ok(&["run", "--rm", "--network", "none", &r, "sh", "-c", script]);
    assert!(dflt.contains("noexec"), "{dflt}");
    let given = s.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--security-opt",
        "proc-opts=nosuid,nodev",
        &r,
        "sh",
        "-c",
        script,
    ]);
    assert!(!given.contains("noexec"), "{given}");
    assert!(
        given.contains("nosuid") && given.contains("nodev"),
        "{given}"
    );
}
