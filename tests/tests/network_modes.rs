//! `--network` modes beyond bridges: slirp4netns and pasta (their options,
//! published ports, the tool stopped at stop/rm and after the container is
//! killed), ns:PATH, private, per-network options, and the bad input
//! Podman refuses. Each test has its own store; ports are picked free.

use std::io::{Read, Write};
use std::time::Duration;

use e2e::podman::{stderr, TestStore};

fn fixture() -> (TestStore, e2e::registry::Registry, String) {
    e2e::podman::with_busybox()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Pids of processes whose command line names the container's netns.
fn tool_pids(id: &str) -> Vec<i32> {
    let needle = format!("netns-{id}");
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(&needle))
                .unwrap_or(false)
        })
        .filter(|pid| {
            // Zombies are gone as far as the network is concerned.
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|s| !s.contains(") Z "))
                .unwrap_or(false)
        })
        .collect()
}

fn fetch(port: u16, path: &str) -> Option<String> {
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    c.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    c.write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes())
        .ok()?;
    let mut body = String::new();
    c.read_to_string(&mut body).ok()?;
    Some(body)
}

fn serve_and_fetch(s: &TestStore, r: &str, mode: &str, name: &str) -> String {
    let port = free_port();
    let id = s
        .ok(&[
            "run",
            "-d",
            "--name",
            name,
            "--network",
            mode,
            "-p",
            &format!("127.0.0.1:{port}:8080"),
            r,
            "sh",
            "-c",
            &format!("echo from-{name} > /tmp/i; httpd -f -p 8080 -h /tmp"),
        ])
        .trim()
        .to_string();
    e2e::poll::until(
        Duration::from_secs(15),
        "the published port to serve the file",
        || fetch(port, "/i").is_some_and(|b| b.contains(&format!("from-{name}"))),
    );
    id
}

#[test]
fn slirp4netns_addresses_options_ports_and_cleanup() {
    let (s, _reg, r) = fixture();
    let out = s.ok(&[
        "run",
        "--rm",
        "--network",
        "slirp4netns",
        &r,
        "sh",
        "-c",
        "ip -4 -o addr show tap0; grep nameserver /etc/resolv.conf",
    ]);
    assert!(out.contains("10.0.2.100/24"), "{out}");
    assert!(out.contains("nameserver 10.0.2.3"), "{out}");
    let out = s.ok(&[
        "run",
        "--rm",
        "--network",
        "slirp4netns:cidr=10.41.0.0/16,mtu=1500,allow_host_loopback=true",
        &r,
        "sh",
        "-c",
        "ip -o addr show tap0; cat /sys/class/net/tap0/mtu; grep host.containers.internal /etc/hosts",
    ]);
    assert!(out.contains("10.41.0.100/16"), "{out}");
    assert!(out.contains("\n1500\n"), "{out}");
    assert!(out.contains("10.41.0.2\thost.containers.internal"), "{out}");

    // Published through slirp4netns's API; the tool goes with the container.
    let id = serve_and_fetch(&s, &r, "slirp4netns:port_handler=slirp4netns", "sl");
    assert_eq!(tool_pids(&id).len(), 1, "one slirp4netns for {id}");
    let ip = s.ok(&[
        "inspect",
        "--format",
        "{{.NetworkSettings.IPAddress}}",
        "sl",
    ]);
    assert_eq!(ip.trim(), "10.0.2.100");
    s.ok(&["stop", "-t", "0", "sl"]);
    assert!(tool_pids(&id).is_empty(), "slirp4netns left after stop");
    // It starts again with the container, and a SIGKILLed container's
    // cleanup stops it.
    s.ok(&["start", "sl"]);
    assert_eq!(tool_pids(&id).len(), 1);
    let pid: i32 = s
        .ok(&["inspect", "--format", "{{.State.Pid}}", "sl"])
        .trim()
        .parse()
        .unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    e2e::poll::until(
        Duration::from_secs(15),
        "slirp4netns to go after the container was killed",
        || tool_pids(&id).is_empty(),
    );
    s.ok(&["rm", "-f", "sl"]);
}

#[test]
fn a_start_killed_after_slirp4netns_started_is_repaired_by_rm() {
    let (s, _reg, r) = fixture();
    let id = s.ok(&[
        "create",
        "--name",
        "k9",
        "--network",
        "slirp4netns",
        &r,
        "sleep",
        "100",
    ]);
    let id = id.trim();
    let o = s
        .cmd()
        .env("PODMAN_RS_TEST_KILL_AT", "start-after-network")
        .args(["start", "k9"])
        .output()
        .unwrap();
    assert!(!o.status.success(), "podman was to die: {}", stderr(&o));
    // The dead start left slirp4netns running; the next command finishes
    // the job from the intent record.
    assert_eq!(tool_pids(id).len(), 1, "slirp4netns of the killed start");
    s.ok(&["rm", "-f", "k9"]);
    assert!(
        tool_pids(id).is_empty(),
        "slirp4netns left after the repair"
    );
}

#[test]
fn pasta_copies_host_addresses_forwards_dns_and_ports() {
    let (s, _reg, r) = fixture();
    let out = s.ok(&[
        "run",
        "--rm",
        "--network",
        "pasta",
        &r,
        "sh",
        "-c",
        "ip -4 -o addr show; head -1 /etc/resolv.conf",
    ]);
    // pasta gives the container the host's own IPv4 address.
    let host = std::process::Command::new("ip")
        .args(["-4", "-o", "route", "get", "192.0.2.255"])
        .output()
        .unwrap();
    let host = String::from_utf8_lossy(&host.stdout).into_owned();
    if let Some(src) = host.split_whitespace().skip_while(|w| *w != "src").nth(1) {
        assert!(out.contains(&format!("{src}/")), "{out} vs host {host}");
    }
    assert!(out.contains("nameserver 169.254.1.1"), "{out}");
    let out = s.ok(&[
        "run",
        "--rm",
        "--network",
        "pasta:--mtu,1400",
        &r,
        "sh",
        "-c",
        "cat /sys/class/net/*/mtu",
    ]);
    assert!(out.lines().any(|l| l == "1400"), "{out}");
    let id = serve_and_fetch(&s, &r, "pasta", "pa");
    assert_eq!(tool_pids(&id).len(), 1, "one pasta for {id}");
    s.ok(&["rm", "-f", "-t", "0", "pa"]);
    e2e::poll::until(Duration::from_secs(5), "pasta to exit", || {
        tool_pids(&id).is_empty()
    });
}

#[test]
fn ns_path_private_and_per_network_options() {
    let (s, _reg, r) = fixture();
    let name = format!("nmt{}", std::process::id());
    let st = std::process::Command::new("ip")
        .args(["netns", "add", &name])
        .status()
        .unwrap();
    assert!(st.success());
    std::process::Command::new("ip")
        .args([
            "netns", "exec", &name, "ip", "link", "add", "vm7a", "type", "veth", "peer", "name",
            "vm7b",
        ])
        .status()
        .unwrap();
    let out = s.run(&[
        "run",
        "--rm",
        "--network",
        &format!("ns:/run/netns/{name}"),
        &r,
        "ls",
        "/sys/class/net",
    ]);
    // A joined netns names no networks (an empty map, as libpod).
    let joined = s.ok(&[
        "create",
        "--network",
        &format!("ns:/run/netns/{name}"),
        &r,
        "true",
    ]);
    let nets = s.ok(&[
        "inspect",
        "--format",
        "{{ .NetworkSettings.Networks }}",
        joined.trim(),
    ]);
    assert_eq!(nets.trim(), "map[]");
    s.ok(&["rm", joined.trim()]);
    std::process::Command::new("ip")
        .args(["netns", "del", &name])
        .status()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("vm7a"));

    let mode = s.ok(&["create", "--network", "private", &r, "true"]);
    let m = s.ok(&[
        "inspect",
        "--format",
        "{{.HostConfig.NetworkMode}}",
        mode.trim(),
    ]);
    assert_eq!(m.trim(), "bridge");

    // Joining a container (or a pod) on the host's network is the host's
    // network: no net.* sysctls, the host's names.
    s.ok(&["pod", "create", "--name", "hostpod", "--network", "host"]);
    let out = s.ok(&["run", "--rm", "--pod", "hostpod", &r, "cat", "/etc/hosts"]);
    assert!(out.contains("127.0.0.1\thost.containers.internal"), "{out}");
    s.ok(&["pod", "rm", "-f", "-t", "0", "hostpod"]);

    s.ok(&["network", "create", "--subnet", "10.93.4.0/24", "optnet"]);
    let out = s.ok(&[
        "run",
        "--rm",
        "--network",
        "optnet:ip=10.93.4.9,mac=02:42:ac:11:00:09,interface_name=net9,alias=nine",
        &r,
        "sh",
        "-c",
        "ip -o addr show net9; cat /sys/class/net/net9/address",
    ]);
    assert!(out.contains("10.93.4.9/24"), "{out}");
    assert!(out.contains("02:42:ac:11:00:09"), "{out}");
    s.ok(&["network", "rm", "optnet"]);
}

#[test]
fn bad_network_modes_are_refused_as_podman_refuses_them() {
    let (s, _reg, r) = fixture();
    for (args, want) in [
        (
            vec!["--network", "host", "--network", "podman"],
            "cannot set multiple networks",
        ),
        (
            vec!["--network", "podman", "--network", "host"],
            "conflicts with bridge",
        ),
        (
            vec!["--network", "podman:color=blue"],
            "unknown network option",
        ),
        (vec!["--network", "podman:ip=10.1.2"], "invalid ip address"),
        (vec!["--network", "podman:mac=zz"], "invalid MAC"),
        (vec!["--network", "ns:"], "needs a path"),
        // The tools' options are read when the network is set up, as in
        // Podman: a `run` that fails to start exits 126.
        (
            vec!["--network", "slirp4netns:bogus=1"],
            "unknown option for slirp4netns",
        ),
        (vec!["--network", "slirp4netns:cidr=nope"], "cidr"),
        (vec!["--network", "pasta:--netns,/x"], "set by podman"),
        // pasta's own complaint, without the usage text it prints after.
        (
            vec!["--network", "pasta:--bogus"],
            "unrecognized option '--bogus'",
        ),
        (
            vec!["--network", "slirp4netns:outbound_addr=nosuchif0"],
            "not an IPv4 address or an interface",
        ),
        (
            vec!["--network", "pasta", "-p", "5613:5613/sctp"],
            "can't forward protocol: sctp",
        ),
        // What must exist is checked at create (125), nothing is made.
        (
            vec!["--network", "container:nosuchctr"],
            "no container with name or ID \"nosuchctr\" found",
        ),
        (
            vec!["--network", "ns:/nonexistent/netns"],
            "cannot find specified network namespace path",
        ),
        // Its /etc/hosts is the joined container's.
        (
            vec!["--network", "container:nosuchctr", "--add-host", "a:10.1.1.1"],
            "cannot set extra host entries when the container is joined to another containers network namespace",
        ),
    ] {
        let mut a = vec!["run", "--rm"];
        a.extend(args.iter().copied());
        a.extend([r.as_str(), "true"]);
        let o = s.run(&a);
        let code = if args[1].starts_with("slirp4netns") || args[1].starts_with("pasta") {
            126
        } else {
            125
        };
        assert_eq!(o.status.code(), Some(code), "{args:?}: {}", stderr(&o));
        let e = stderr(&o);
        assert!(e.contains(want), "{args:?}: {e}");
        assert_eq!(e.trim().lines().count(), 1, "{args:?}: one line: {e}");
        assert!(!e.contains("Usage"), "{args:?}: {e}");
    }
    assert_eq!(s.ok(&["ps", "-aq"]), "", "nothing was left");
    // Ports with host networking are dropped with Podman's warning.
    let o = s.run(&[
        "run",
        "--rm",
        "--network",
        "host",
        "-p",
        "8080:80",
        &r,
        "true",
    ]);
    assert!(o.status.success());
    assert!(stderr(&o).contains(
        "Port mappings have been discarded because \"host\" network namespace mode does not support them"
    ));
    // A missing tool names its package (PATH without it; helper dirs none).
    for (mode, pkg) in [("slirp4netns", "slirp4netns"), ("pasta", "passt")] {
        let id = s.ok(&["create", "--network", mode, &r, "true"]);
        let o = s
            .cmd()
            .env("PATH", "/nonexistent")
            .args(["start", id.trim()])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(125), "{mode}: {}", stderr(&o));
        let e = stderr(&o);
        assert!(
            e.contains(&format!("install the {pkg} package")),
            "{mode}: {e}"
        );
        assert!(tool_pids(id.trim()).is_empty());
        s.ok(&["rm", id.trim()]);
    }
}

/// A container with a user namespace of its own (`--uidmap`) on each mode
/// that makes a netns: the netns is made inside its user namespace, so
/// `exec` can join it; its port is served and inspect names the netns.
#[test]
fn idmapped_containers_get_a_netns_exec_can_join() {
    let (s, _reg, r) = fixture();
    for mode in ["bridge", "slirp4netns", "pasta"] {
        let port = free_port();
        let name = format!("idm-{mode}");
        let id = s
            .ok(&[
                "run",
                "-d",
                "--name",
                &name,
                "--uidmap",
                "0:1111111:65536",
                "--gidmap",
                "0:1111111:65536",
                "--network",
                mode,
                "-p",
                &format!("127.0.0.1:{port}:8080"),
                &r,
                "sh",
                "-c",
                &format!("echo from-{name} > /tmp/i; httpd -f -p 8080 -h /tmp"),
            ])
            .trim()
            .to_string();
        let key = s.ok(&[
            "inspect",
            "--format",
            "{{.NetworkSettings.SandboxKey}}",
            &id,
        ]);
        assert!(key.contains("/netns/netns-"), "{mode}: {key}");
        e2e::poll::until(
            Duration::from_secs(15),
            "the published port to serve the file",
            || fetch(port, "/i").is_some_and(|b| b.contains(&format!("from-{name}"))),
        );
        // exec joins the user namespace, then the netns it owns.
        let out = s.ok(&[
            "exec",
            &id,
            "sh",
            "-c",
            "cat /proc/self/uid_map; ip -o link",
        ]);
        assert!(out.contains("1111111"), "{mode}: {out}");
        assert!(out.contains("lo"), "{mode}: {out}");
        s.ok(&["rm", "-f", "-t", "0", &id]);
        assert!(tool_pids(&id).is_empty(), "{mode}: tool left running");
    }
}

/// `--network pasta:--pid,FILE`: pasta writes the user's pid file (podman
/// tracks that one instead of its own) and quits once the netns is gone.
#[test]
fn pasta_takes_the_users_pid_file_and_quits_with_the_netns() {
    let (s, _reg, r) = fixture();
    let pidfile = s.dir.path().join("pasta.pid");
    s.ok(&[
        "run",
        "--rm",
        &format!("--net=pasta:--pid,{}", pidfile.display()),
        &r,
        "true",
    ]);
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    e2e::poll::until(Duration::from_secs(10), "pasta to quit", || {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|st| st.contains(") Z "))
            .unwrap_or(true)
    });
}
