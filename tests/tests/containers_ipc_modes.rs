//! `--ipc` modes as libpod has them (Podman's test/system/190): shareable
//! by default, private (a namespace no other container may join), none
//! (no /dev/shm), host; and inspect's HostConfig namespace modes.

use e2e::podman::{run_sh, stderr, with_busybox};

fn host_config(s: &e2e::podman::TestStore, name: &str, field: &str) -> String {
    s.ok(&[
        "inspect",
        "--format",
        &format!("{{{{.HostConfig.{field}}}}}"),
        name,
    ])
    .trim()
    .to_string()
}

#[test]
fn ipc_modes_show_in_inspect_and_a_private_namespace_cannot_be_joined() {
    let (s, _reg, r) = with_busybox();
    let host_ipc = std::fs::read_link("/proc/self/ns/ipc").unwrap();
    let host_ipc = host_ipc.to_str().unwrap();

    // Default: a namespace of its own that others may join.
    s.ok(&[
        "run",
        "-d",
        "--name",
        "ipc-donor",
        "--network",
        "none",
        &r,
        "sleep",
        "100",
    ]);
    assert_eq!(host_config(&s, "ipc-donor", "IpcMode"), "shareable");
    assert_eq!(host_config(&s, "ipc-donor", "PidMode"), "private");
    assert_eq!(host_config(&s, "ipc-donor", "UTSMode"), "private");
    assert_eq!(host_config(&s, "ipc-donor", "CgroupMode"), "host");
    let donor_ipc = s
        .ok(&["exec", "ipc-donor", "readlink", "/proc/self/ns/ipc"])
        .trim()
        .to_string();
    assert_ne!(donor_ipc, host_ipc);
    s.ok(&[
        "create",
        "--name",
        "ipc-joiner",
        "--ipc",
        "container:ipc-donor",
        &r,
        "true",
    ]);
    let donor_id = s
        .ok(&["inspect", "--format", "{{.Id}}", "ipc-donor"])
        .trim()
        .to_string();
    assert_eq!(
        host_config(&s, "ipc-joiner", "IpcMode"),
        format!("container:{donor_id}")
    );
    let joined = run_sh(
        &s,
        &r,
        &["--ipc", "container:ipc-donor"],
        "readlink /proc/self/ns/ipc",
    );
    assert_eq!(joined.trim(), donor_ipc);

    // private: its own namespace, with /dev/shm, and no one may join it.
    s.ok(&[
        "run",
        "-d",
        "--name",
        "ipc-private",
        "--ipc",
        "private",
        "--network",
        "none",
        &r,
        "sleep",
        "100",
    ]);
    assert_eq!(host_config(&s, "ipc-private", "IpcMode"), "private");
    let private_ipc = s
        .ok(&["exec", "ipc-private", "readlink", "/proc/self/ns/ipc"])
        .trim()
        .to_string();
    assert_ne!(private_ipc, host_ipc);
    assert_ne!(private_ipc, donor_ipc);
    s.ok(&["exec", "ipc-private", "test", "-d", "/dev/shm"]);
    let before = s.ok(&["ps", "-aq"]);
    let o = s.run(&["run", "--rm", "--ipc", "container:ipc-private", &r, "true"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o)
            .contains("non-shareable IPC (hint: use IpcMode:shareable for the donor container)"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        s.ok(&["ps", "-aq"]),
        before,
        "the refused run left a container"
    );

    // none: its own namespace and no /dev/shm.
    s.ok(&["create", "--name", "ipc-none", "--ipc", "none", &r, "true"]);
    assert_eq!(host_config(&s, "ipc-none", "IpcMode"), "none");
    let o = s.run(&["run", "--rm", "--ipc", "none", &r, "ls", "/dev/shm"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("/dev/shm: No such file or directory"),
        "{}",
        stderr(&o)
    );

    // host: the host's namespace.
    s.ok(&["create", "--name", "ipc-host", "--ipc", "host", &r, "true"]);
    assert_eq!(host_config(&s, "ipc-host", "IpcMode"), "host");
    let on_host = run_sh(&s, &r, &["--ipc", "host"], "readlink /proc/self/ns/ipc");
    assert_eq!(on_host.trim(), host_ipc);

    s.ok(&[
        "rm",
        "-f",
        "-t",
        "0",
        "ipc-donor",
        "ipc-private",
        "ipc-joiner",
    ]);
    s.ok(&["rm", "ipc-none", "ipc-host"]);
}
