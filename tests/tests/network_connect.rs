//! `network connect`/`disconnect` of a running container touch only the
//! network named: its other interfaces keep their index, address and MAC
//! (they are not made again). And dual-stack networks end to end: two
//! containers reach each other over IPv6 and IPv4.

use e2e::podman::TestStore;

/// "ifindex mac addresses" of `dev` in container `c`.
fn iface(s: &TestStore, c: &str, dev: &str) -> String {
    let link = s.ok(&["exec", c, "cat", &format!("/sys/class/net/{dev}/ifindex")]);
    let mac = s.ok(&["exec", c, "cat", &format!("/sys/class/net/{dev}/address")]);
    let addrs = s.ok(&["exec", c, "ip", "-o", "addr", "show", dev]);
    let mut a: Vec<&str> = addrs
        .lines()
        .filter_map(|l| l.split_whitespace().nth(3))
        .filter(|a| !a.starts_with("fe80"))
        .collect();
    a.sort();
    format!("{} {} {}", link.trim(), mac.trim(), a.join(","))
}

#[test]
fn connect_and_disconnect_leave_the_other_interfaces_alone() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    s.ok(&["network", "create", "--subnet", "10.98.31.0/24", "first"]);
    s.ok(&["network", "create", "--subnet", "10.98.32.0/24", "second"]);
    s.ok(&[
        "run",
        "-d",
        "--name",
        "c",
        "--network",
        "first",
        &r,
        "sleep",
        "1000",
    ]);
    let eth0 = iface(&s, "c", "eth0");
    assert!(eth0.contains("10.98.31."), "{eth0}");
    s.ok(&[
        "network",
        "connect",
        "--ip",
        "10.98.32.40",
        "--alias",
        "cee",
        "second",
        "c",
    ]);
    assert_eq!(iface(&s, "c", "eth0"), eth0, "eth0 untouched by connect");
    let eth1 = iface(&s, "c", "eth1");
    assert!(eth1.contains("10.98.32.40/24"), "{eth1}");
    // Its default route stays on the first network.
    let route = s.ok(&["exec", "c", "ip", "route", "show", "default"]);
    assert!(
        route.contains("10.98.31.1") && !route.contains("10.98.32.1"),
        "{route}"
    );
    // Another container on the second network finds it by its alias.
    let out = s.ok(&[
        "run",
        "--rm",
        "--cap-add",
        "NET_RAW",
        "--network",
        "second",
        &r,
        "ping",
        "-c1",
        "-W2",
        "cee",
    ]);
    assert!(out.contains("10.98.32.40"), "{out}");
    let inspect = s.ok(&[
        "inspect",
        "--format",
        "{{len .NetworkSettings.Networks}}",
        "c",
    ]);
    assert_eq!(inspect.trim(), "2");

    s.ok(&["network", "disconnect", "second", "c"]);
    assert_eq!(iface(&s, "c", "eth0"), eth0, "eth0 untouched by disconnect");
    assert_eq!(s.ok(&["exec", "c", "ls", "/sys/class/net"]), "eth0\nlo\n");
    let inspect = s.ok(&[
        "inspect",
        "--format",
        "{{len .NetworkSettings.Networks}}",
        "c",
    ]);
    assert_eq!(inspect.trim(), "1");
    // And back, at the same address.
    s.ok(&["network", "connect", "--ip", "10.98.32.40", "second", "c"]);
    assert!(iface(&s, "c", "eth1").contains("10.98.32.40/24"));
    assert_eq!(iface(&s, "c", "eth0"), eth0);
    s.ok(&["rm", "-af", "-t", "0"]);
    s.ok(&["network", "rm", "first", "second"]);
}

#[test]
fn dual_stack_containers_reach_each_other_over_ipv6_and_ipv4() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    s.ok(&[
        "network",
        "create",
        "--ipv6",
        "--subnet",
        "10.98.33.0/24",
        "--subnet",
        "fd98:33::/64",
        "dual",
    ]);
    s.ok(&[
        "run",
        "-d",
        "--name",
        "srv",
        "--network",
        "dual",
        &r,
        "sh",
        "-c",
        "while true; do echo over-v6 | nc -l -p 7000; done",
    ]);
    let addrs = s.ok(&["exec", "srv", "ip", "-o", "addr", "show", "eth0"]);
    let v6 = addrs
        .lines()
        .filter_map(|l| l.split_whitespace().nth(3))
        .find(|a| a.starts_with("fd98:33:"))
        .unwrap_or_else(|| panic!("no address in fd98:33::/64: {addrs}"))
        .split('/')
        .next()
        .unwrap()
        .to_string();
    assert!(addrs.contains("10.98.33."), "{addrs}");
    let out = s.ok(&[
        "run",
        "--rm",
        "--cap-add",
        "NET_RAW",
        "--network",
        "dual",
        &r,
        "ping",
        "-6",
        "-c1",
        "-W2",
        &v6,
    ]);
    assert!(out.contains("1 packets received"), "{out}");
    let out = s.ok(&[
        "run",
        "--rm",
        "--cap-add",
        "NET_RAW",
        "--network",
        "dual",
        &r,
        "ping",
        "-c1",
        "-W2",
        "srv",
    ]);
    assert!(out.contains("1 packets received"), "{out}");
    // A TCP connection over IPv6 (the server's busybox nc).
    let got = s.ok(&[
        "run", "--rm", "--network", "dual", &r, "sh", "-c",
        &format!("for i in 1 2 3 4 5 6 7 8 9 10; do nc -w 2 {v6} 7000 </dev/null && break; sleep 0.2; done"),
    ]);
    assert_eq!(got.trim(), "over-v6");
    s.ok(&["rm", "-af", "-t", "0"]);
    s.ok(&["network", "rm", "dual"]);
}

/// `disconnect --force` is Docker's: a container not connected is not an
/// error, and a stopped container's record of a network whose file is gone
/// is dropped (without it, neither is possible).
#[test]
fn forced_disconnect_passes_over_what_is_not_there() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    s.ok(&["network", "create", "--subnet", "10.98.34.0/24", "fa"]);
    s.ok(&["network", "create", "--subnet", "10.98.35.0/24", "fb"]);
    s.ok(&["create", "--name", "c", "--network", "fa", &r, "true"]);
    e2e::podman::refused(
        &s,
        &["network", "disconnect", "fb", "c"],
        "container c is not connected to network fb",
    );
    s.ok(&["network", "disconnect", "-f", "fb", "c"]);
    // connect has no --force (Podman's flags).
    e2e::podman::refused(&s, &["network", "connect", "-f", "fb", "c"], "-f");
    // The file of a network the container is on goes away by hand.
    s.ok(&["network", "connect", "fb", "c"]);
    std::fs::remove_file(s.dir.path().join("networks/fb.json")).unwrap();
    e2e::podman::refused(
        &s,
        &["network", "disconnect", "fb", "c"],
        "unable to find network with name or ID fb",
    );
    s.ok(&["network", "disconnect", "--force", "fb", "c"]);
    let nets = s.ok(&[
        "inspect",
        "--format",
        "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
        "c",
    ]);
    assert_eq!(nets.trim(), "fa");
    s.ok(&["rm", "c"]);
    s.ok(&["network", "rm", "fa"]);
}
