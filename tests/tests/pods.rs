//! Pods end to end with real runc (Podman's test/system 200-pod): an infra
//! container from the local catatonit pause image holding the shared
//! namespaces, members joining it, ports published on the pod, ordered
//! stop and removal, exit policies, and the bad input Podman refuses.

use std::io::Read;
use std::time::{Duration, Instant};

use e2e::podman::{stderr, TestStore};

fn fixture() -> (TestStore, e2e::registry::Registry, String) {
    e2e::podman::with_busybox()
}

/// Poll `f` until it is true or `secs` pass.
fn wait_until(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn pod_state(s: &TestStore, pod: &str) -> String {
    s.ok(&["pod", "inspect", "--format", "{{.State}}", pod])
        .trim()
        .to_string()
}

/// A TCP port nobody listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// What a connection to 127.0.0.1:`port` reads, "" if none is accepted.
fn read_from(port: u16) -> String {
    let Ok(mut c) = std::net::TcpStream::connect_timeout(
        &([127, 0, 0, 1], port).into(),
        Duration::from_secs(2),
    ) else {
        return String::new();
    };
    let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
    let mut out = String::new();
    let _ = c.read_to_string(&mut out);
    out
}

fn assert_fails(s: &TestStore, args: &[&str], code: i32, text: &str) {
    let o = s.run(args);
    assert_eq!(o.status.code(), Some(code), "{args:?}: {}", stderr(&o));
    assert!(
        stderr(&o).contains(text),
        "{args:?}: wanted {text:?} in {}",
        stderr(&o)
    );
}

/// A pod's containers share the infra container's network, UTS and IPC
/// namespaces, /etc/hosts and hostname; its ports reach them from the
/// host; stop is idempotent and removal leaves nothing.
#[test]
fn pod_members_share_the_infra_namespaces_and_ports() {
    let (s, _reg, r) = fixture();
    let port = free_port();
    let publish = format!("{port}:80");
    let id = s
        .ok(&[
            "pod", "create", "--name", "web", "-p", &publish, "--label", "a=b",
        ])
        .trim()
        .to_string();
    assert_eq!(id.len(), 64, "{id}");
    let infra = s
        .ok(&["pod", "inspect", "--format", "{{.InfraContainerID}}", "web"])
        .trim()
        .to_string();
    // The infra container runs catatonit from the local pause image.
    let image = s.ok(&["inspect", "--format", "{{.ImageName}}", &infra]);
    assert!(image.starts_with("localhost/podman-pause:"), "{image}");
    assert_eq!(pod_state(&s, "web"), "Created");
    let server = s
        .ok(&[
            "run",
            "-d",
            "--pod",
            "web",
            "--name",
            "srv",
            &r,
            "sh",
            "-c",
            "while true; do echo hello | nc -l -p 80; done",
        ])
        .trim()
        .to_string();
    // Starting a member started the infra container first.
    assert_eq!(pod_state(&s, "web"), "Running");
    let ns = "ls -l /proc/self/ns/net /proc/self/ns/uts /proc/self/ns/ipc | sed 's/.*-> //'; hostname; cat /etc/hosts";
    let a = s.ok(&["exec", &server, "sh", "-c", ns]);
    let b = s.ok(&[
        "run", "--rm", "--pod", "web", "--name", "peer", &r, "sh", "-c", ns,
    ]);
    // One /etc/hosts: each member that joined added its name (libpod's
    // entry on 127.0.0.1), so the later member sees one line more...
    assert_eq!(
        format!("{a}127.0.0.1\tpeer\n"),
        b,
        "members differ in namespaces or files"
    );
    assert!(a.contains("\nweb\n"), "hostname is the pod's name: {a}");
    assert!(a.contains("127.0.0.1\tsrv\n"), "{a}");
    // ...and its cleanup took it out again.
    assert_eq!(s.ok(&["exec", &server, "sh", "-c", ns]), a);
    // The pod's /dev/shm is one for all members (shared IPC).
    s.ok(&["exec", &server, "sh", "-c", "echo shared > /dev/shm/f"]);
    assert_eq!(
        s.ok(&["run", "--rm", "--pod", "web", &r, "cat", "/dev/shm/f"])
            .trim(),
        "shared"
    );
    // Members reach each other on localhost; the host reaches the pod's port.
    assert!(wait_until(20, || s
        .ok(&[
            "run",
            "--rm",
            "--pod",
            "web",
            &r,
            "sh",
            "-c",
            "nc 127.0.0.1 80 </dev/null"
        ])
        .contains("hello")));
    assert!(wait_until(20, || read_from(port).contains("hello")));
    let ps = s.ok(&[
        "pod",
        "ps",
        "--ctr-names",
        "--no-trunc",
        "--filter",
        "label=a=b",
    ]);
    assert!(
        ps.contains(&id) && ps.contains("srv") && ps.contains("Running"),
        "{ps}"
    );
    // Podman's FilterID: hex is an ID prefix, anything else a regex.
    let by_id = |f: &str| s.ok(&["pod", "ps", "-q", "--filter", f]).trim().to_string();
    assert_eq!(by_id(&format!("id={}", &id[..4])), &id[..12]);
    assert_eq!(by_id(&format!("id={}", &id[2..8])), "");
    assert_eq!(by_id(&format!("id=^{}.*", &id[..2])), &id[..12]);
    assert_eq!(
        s.ok(&[
            "ps",
            "--pod",
            "--format",
            "{{.Names}} {{.PodName}}",
            "--filter",
            "name=srv"
        ])
        .trim(),
        "srv web"
    );
    let stats = s.ok(&[
        "pod",
        "stats",
        "--no-stream",
        "--format",
        "{{.Name}} {{.PIDS}}",
        "web",
    ]);
    assert!(
        stats.lines().any(|l| l.starts_with("srv ") && l != "srv 0"),
        "{stats}"
    );
    let top = s.ok(&["pod", "top", "web"]);
    assert!(
        top.contains("/catatonit -P") && top.contains("nc -l -p 80"),
        "{top}"
    );
    assert_eq!(s.ok(&["pod", "pause", "web"]).trim(), id);
    assert_eq!(pod_state(&s, "web"), "Paused");
    assert_eq!(s.ok(&["pod", "unpause", "web"]).trim(), id);
    assert_eq!(pod_state(&s, "web"), "Running");
    // Stop: members, then infra; a second stop is not an error.
    assert_eq!(s.ok(&["pod", "stop", "-t", "0", "web"]).trim(), id);
    assert_eq!(s.ok(&["pod", "stop", "-t", "0", "web"]).trim(), id);
    assert_eq!(pod_state(&s, "web"), "Exited");
    assert_eq!(s.ok(&["pod", "start", "web"]).trim(), id);
    assert_eq!(pod_state(&s, "web"), "Running");
    assert_eq!(s.ok(&["pod", "rm", "-f", "-t", "0", "web"]).trim(), id);
    assert!(s.ok(&["ps", "-aq"]).trim().is_empty());
    assert!(s.ok(&["pod", "ps", "-q"]).trim().is_empty());
    // The pod's cgroup went with it (cgroupfs: v2, or each v1 hierarchy).
    let left: Vec<_> = std::fs::read_dir("/sys/fs/cgroup")
        .into_iter()
        .flatten()
        .flatten()
        .map(|d| d.path().join(format!("podman-rs/libpod_pod_{id}")))
        .filter(|p| p.exists())
        .collect();
    assert!(left.is_empty(), "{left:?}");
    let events = s.ok(&[
        "events",
        "--stream=false",
        "--filter",
        "type=pod",
        "--format",
        "{{.Status}}",
    ]);
    let seen: Vec<&str> = events.lines().collect();
    for want in ["create", "start", "pause", "unpause", "stop", "remove"] {
        assert!(seen.contains(&want), "no pod {want} event: {events}");
    }
}

/// Bad input, each with Podman's exit code and words; and the teardown
/// every upstream test runs works, quickly, with no pods.
#[test]
fn pods_refuse_bad_input_as_podman() {
    let (s, _reg, r) = fixture();
    let start = Instant::now();
    let o = s.run(&["pod", "rm", "-t", "0", "--all", "--force", "--ignore"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    assert!(start.elapsed() < Duration::from_secs(5));
    s.ok(&["pod", "create", "--name", "p1", "--network", "none"]);
    s.ok(&[
        "run", "-d", "--pod", "p1", "--name", "busy", &r, "sleep", "1000",
    ]);
    let o = s.run(&["pod", "rm", "p1"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(stderr(&o).starts_with("Error: not all containers could be removed from pod "));
    assert!(stderr(&o).contains("as it is running - running or paused containers cannot be removed without force: container state improper"));
    s.ok(&["rm", "-f", "-t", "0", "busy"]);
    assert_fails(
        &s,
        &["pod", "create", "--name", "p1"],
        125,
        "name \"p1\" is in use: pod already exists",
    );
    assert_fails(
        &s,
        &["run", "--rm", "--pod", "nosuch", &r, "true"],
        125,
        "no pod with name or ID nosuch found: no such pod",
    );
    assert_fails(
        &s,
        &["create", "--pod", "p1", "-p", "8080:80", &r, "true"],
        125,
        "published or exposed ports must be defined when the pod is created",
    );
    assert_fails(
        &s,
        &[
            "create",
            "--pod",
            "p1",
            "--add-host",
            "a:10.1.1.1",
            &r,
            "true",
        ],
        125,
        "extra host entries must be specified on the pod",
    );
    assert_fails(
        &s,
        &["create", "--pod", "p1", "--hostname", "x", &r, "true"],
        125,
        "cannot set hostname when joining the pod UTS namespace",
    );
    assert_fails(
        &s,
        &["pod", "create", "--share", "bogus"],
        125,
        "invalid kernel namespace to share: bogus. Options are: cgroup, ipc, net, pid, uts or none",
    );
    assert_fails(
        &s,
        &["pod", "create", "--exit-policy", "invalid"],
        125,
        "invalid pod exit policy: \"invalid\"",
    );
    assert_fails(&s, &["pod", "rm", "bogus"], 1, "bogus");
    s.ok(&["pod", "rm", "-t", "-1", "--force", "bogus"]);
    assert_fails(
        &s,
        &["pod", "create", "--network", "nosuchnet"],
        125,
        "unable to find network with name or ID nosuchnet: network not found",
    );
    assert_eq!(s.run(&["pod", "exists", "bogus"]).status.code(), Some(1));
    s.ok(&["pod", "exists", "p1"]);
    let infra = s
        .ok(&["pod", "inspect", "--format", "{{.InfraContainerID}}", "p1"])
        .trim()
        .to_string();
    for args in [vec!["rm", &infra], vec!["rm", "--force", &infra]] {
        assert_fails(
            &s,
            &args,
            125,
            "and cannot be removed without removing the pod",
        );
    }
    // Nothing half-made: the refused commands left one pod, one container.
    assert_eq!(s.ok(&["pod", "ps", "-q"]).lines().count(), 1);
    assert_eq!(s.ok(&["ps", "-aq"]).lines().count(), 1);
    // --depend (and --all) take the pod with its infra container.
    assert!(s.ok(&["rm", "--depend", &infra]).contains(&infra));
    assert!(s.ok(&["ps", "-aq"]).trim().is_empty());
    assert!(s.ok(&["pod", "ps", "-q"]).trim().is_empty());
}

/// The infra container killed from outside: the pod reports it
/// (Degraded), and `pod rm -f` still removes everything.
#[test]
fn a_pod_whose_infra_was_killed_is_seen_and_removed() {
    let (s, _reg, r) = fixture();
    s.ok(&["pod", "create", "--name", "hurt", "--network", "none"]);
    s.ok(&[
        "run", "-d", "--pod", "hurt", "--name", "m", &r, "sleep", "1000",
    ]);
    let infra = s
        .ok(&[
            "pod",
            "inspect",
            "--format",
            "{{.InfraContainerID}}",
            "hurt",
        ])
        .trim()
        .to_string();
    let pid: i32 = s
        .ok(&["inspect", "--format", "{{.State.Pid}}", &infra])
        .trim()
        .parse()
        .expect("pid");
    assert!(pid > 0);
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGKILL)
        .expect("kill infra");
    assert!(
        wait_until(20, || pod_state(&s, "hurt") == "Degraded"),
        "{}",
        pod_state(&s, "hurt")
    );
    let status = s.ok(&["ps", "-a", "--format", "{{.Names}} {{.State}}"]);
    assert!(status.contains("m running"), "{status}");
    s.ok(&["pod", "rm", "-f", "-t", "0", "hurt"]);
    assert!(s.ok(&["ps", "-aq"]).trim().is_empty());
    assert!(s.ok(&["pod", "ps", "-q"]).trim().is_empty());
}

/// `--exit-policy stop` stops the pod when its last container exits;
/// `--pod new:NAME` makes the pod (its name the hostname); `--pod-id-file`
/// on both sides.
#[test]
fn exit_policy_new_pods_and_pod_id_files() {
    let (s, _reg, r) = fixture();
    s.ok(&[
        "pod",
        "create",
        "--name",
        "once",
        "--network",
        "none",
        "--exit-policy",
        "stop",
    ]);
    assert_eq!(
        s.ok(&["pod", "inspect", "--format", "{{.ExitPolicy}}", "once"])
            .trim(),
        "stop"
    );
    s.ok(&[
        "run", "--pod", "once", "--name", "said", &r, "echo", "said-it",
    ]);
    assert!(
        wait_until(20, || pod_state(&s, "once") == "Exited"),
        "{}",
        pod_state(&s, "once")
    );
    assert_eq!(s.ok(&["pod", "logs", "once"]).trim(), "said-it");
    assert_eq!(
        s.ok(&["pod", "logs", "--container", "said", "once"]).trim(),
        "said-it"
    );
    let out = s.ok(&[
        "run",
        "--rm",
        "--pod",
        "new:fresh",
        "--network",
        "none",
        &r,
        "hostname",
    ]);
    assert_eq!(out.trim(), "fresh");
    s.ok(&["pod", "exists", "fresh"]);
    // A container that cannot be made (its name is taken) takes the pod
    // made for it along.
    s.ok(&[
        "create",
        "--name",
        "h-cli-taken",
        "--network",
        "none",
        &r,
        "true",
    ]);
    let o = s.run(&[
        "run",
        "--rm",
        "--pod",
        "new:h-cli-pod",
        "--name",
        "h-cli-taken",
        &r,
        "true",
    ]);
    assert_eq!(o.status.code(), Some(125), "{o:?}");
    assert_eq!(
        s.run(&["pod", "exists", "h-cli-pod"]).status.code(),
        Some(1)
    );
    s.ok(&["rm", "h-cli-taken"]);
    let file = s.dir.path().join("pod-id");
    let file = file.to_str().expect("path");
    let id = s
        .ok(&["pod", "create", "--network", "none", "--pod-id-file", file])
        .trim()
        .to_string();
    assert_eq!(std::fs::read_to_string(file).expect("id file").trim(), id);
    let ctr = s
        .ok(&["create", "--pod-id-file", file, &r, "true"])
        .trim()
        .to_string();
    assert_eq!(
        s.ok(&[
            "ps",
            "-a",
            "--pod",
            "--no-trunc",
            "--format",
            "{{.Pod}}",
            "--filter",
            &format!("id={ctr}")
        ])
        .trim(),
        id
    );
    s.ok(&["pod", "rm", "--pod-id-file", file]);
    // The file goes with the pod, as Podman removes it.
    assert!(
        !std::path::Path::new(file).exists(),
        "{file} outlived its pod"
    );
    s.ok(&["pod", "rm", "--ignore", "--pod-id-file", file]);
    s.ok(&["pod", "rm", "-a", "-f", "-t", "0"]);
    assert!(s.ok(&["ps", "-aq"]).trim().is_empty());
}
