//! `network connect`/`disconnect` as Podman's users rely on them: a
//! container's published ports follow it from network to network (also off
//! its last one and back), /etc/hosts and resolv.conf follow its addresses,
//! stopped containers are changed for their next start, and bad requests
//! are refused without leaving the container half-changed.

use std::io::{Read, Write};
use std::time::Duration;

use e2e::podman::{stderr, TestStore};

fn answers(port: u16) -> bool {
    let Ok(mut c) = std::net::TcpStream::connect_timeout(
        &([127, 0, 0, 1], port).into(),
        Duration::from_millis(500),
    ) else {
        return false;
    };
    let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
    let mut body = String::new();
    c.write_all(b"GET /i HTTP/1.0\r\n\r\n").is_ok()
        && c.read_to_string(&mut body).is_ok()
        && body.contains("moving")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn net_field(s: &TestStore, c: &str, net: &str, field: &str) -> String {
    s.ok(&[
        "inspect",
        "--format",
        &format!("{{{{(index .NetworkSettings.Networks \"{net}\").{field}}}}}"),
        c,
    ])
    .trim()
    .to_string()
}

#[test]
fn published_ports_hosts_and_resolv_conf_follow_connect_and_disconnect() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    let port = free_port();
    s.ok(&["network", "create", "--subnet", "10.98.41.0/24", "mv1"]);
    s.ok(&["network", "create", "--subnet", "10.98.42.0/24", "mv2"]);
    let id = s.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "--hostname",
        "webhost",
        "--network",
        "mv1",
        "-p",
        &format!("127.0.0.1:{port}:8080"),
        &r,
        "sh",
        "-c",
        "echo moving > /tmp/i; httpd -f -p 8080 -h /tmp",
    ]);
    let id = id.trim().to_string();
    e2e::poll::until(Duration::from_secs(10), "the published port", || {
        answers(port)
    });
    let ip1 = net_field(&s, "web", "mv1", "IPAddress");
    assert_eq!(
        net_field(&s, "web", "mv1", "Aliases"),
        format!("[{} webhost]", &id[..12])
    );
    assert!(s.ok(&["exec", "web", "cat", "/etc/hosts"]).contains(&ip1));

    // Off its only network: no interface, no forward, no hosts line.
    assert_eq!(s.ok(&["network", "disconnect", "mv1", "web"]), "");
    assert_eq!(s.ok(&["exec", "web", "ls", "/sys/class/net"]), "lo\n");
    assert!(!answers(port), "the port is gone with the network");
    let hosts = s.ok(&["exec", "web", "cat", "/etc/hosts"]);
    assert!(!hosts.contains(&ip1), "{hosts}");

    // Back on: a new address and MAC, the port answers again.
    assert_eq!(s.ok(&["network", "connect", "mv1", "web"]), "");
    e2e::poll::until(Duration::from_secs(5), "the port after connect", || {
        answers(port)
    });
    let ip2 = net_field(&s, "web", "mv1", "IPAddress");
    assert!(ip2.starts_with("10.98.41.") && ip2 != ip1, "{ip1} -> {ip2}");
    assert!(s.ok(&["exec", "web", "cat", "/etc/hosts"]).contains(&ip2));
    // `network inspect` lists it with its interface there.
    let v: serde_json::Value = serde_json::from_str(&s.ok(&["network", "inspect", "mv1"])).unwrap();
    let me = &v[0]["containers"][&id];
    assert_eq!(me["name"], "web", "{v}");
    assert_eq!(
        me["interfaces"]["eth0"]["subnets"][0]["ipnet"],
        format!("{ip2}/24").as_str(),
        "{v}"
    );
    assert_eq!(
        me["interfaces"]["eth0"]["subnets"][0]["gateway"],
        "10.98.41.1"
    );

    // A bad MAC is refused and the container stays on mv1 alone.
    let o = s.run(&[
        "network",
        "connect",
        "--mac-address",
        "00:00:00:00:00:00",
        "mv2",
        "web",
    ]);
    assert_eq!(o.status.code(), Some(125), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("Cannot assign requested address"),
        "{}",
        stderr(&o)
    );
    let nets = s.ok(&[
        "inspect",
        "--format",
        "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
        "web",
    ]);
    assert_eq!(nets.trim(), "mv1");
    assert_eq!(s.ok(&["exec", "web", "ls", "/sys/class/net"]), "eth0\nlo\n");

    // The port moves with the container onto mv2 when mv1 goes.
    s.ok(&["network", "connect", "--alias", "www", "mv2", "web"]);
    assert_eq!(
        net_field(&s, "web", "mv2", "Aliases"),
        format!("[www {} webhost]", &id[..12])
    );
    // mv2's DNS server is the container's first nameserver now.
    let resolv = s.ok(&["exec", "web", "cat", "/etc/resolv.conf"]);
    let first = resolv
        .lines()
        .find(|l| l.starts_with("nameserver"))
        .unwrap_or("");
    assert_eq!(first, "nameserver 10.98.42.1", "{resolv}");
    s.ok(&["network", "disconnect", "mv1", "web"]);
    let resolv = s.ok(&["exec", "web", "cat", "/etc/resolv.conf"]);
    assert!(!resolv.contains("10.98.41.1"), "{resolv}");
    e2e::poll::until(Duration::from_secs(5), "the port on mv2", || answers(port));
    s.ok(&["rm", "-f", "-t", "0", "web"]);
    s.ok(&["network", "rm", "mv1", "mv2"]);
}

#[test]
fn stopped_containers_change_for_their_next_start() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    s.ok(&["network", "create", "--subnet", "10.98.43.0/24", "st1"]);
    s.ok(&["network", "create", "--subnet", "10.98.44.0/24", "st2"]);
    s.ok(&[
        "create",
        "--name",
        "idle",
        "--network",
        "st1",
        &r,
        "sleep",
        "1000",
    ]);
    s.ok(&["network", "connect", "--ip", "10.98.44.9", "st2", "idle"]);
    s.ok(&["network", "disconnect", "st1", "idle"]);
    s.ok(&["start", "idle"]);
    let addrs = s.ok(&["exec", "idle", "ip", "-4", "-o", "addr", "show", "eth0"]);
    assert!(addrs.contains("10.98.44.9/24"), "{addrs}");
    assert_eq!(net_field(&s, "idle", "st2", "IPAddress"), "10.98.44.9");
    s.ok(&["stop", "-t", "0", "idle"]);
    // A running `--network none` container's netns is its process's.
    let id = s.ok(&["run", "-d", "--network", "none", &r, "sleep", "1000"]);
    let key = s.ok(&[
        "inspect",
        "--format",
        "{{.NetworkSettings.SandboxKey}}",
        id.trim(),
    ]);
    assert!(
        key.starts_with("/proc/") && key.trim_end().ends_with("/ns/net"),
        "{key}"
    );
    s.ok(&["rm", "-f", "-t", "0", id.trim()]);
    // Docker compatibility: connecting an exited container to a network
    // it is on already does nothing.
    assert_eq!(s.ok(&["network", "connect", "st2", "idle"]), "");
    for (args, want) in [
        (
            vec!["network", "connect", "--ip", "10.98.44", "st1", "idle"],
            "--ip \"10.98.44\" is not an IPv4 address",
        ),
        (
            vec!["network", "connect", "--ip6", "10.98.44.3", "st1", "idle"],
            "--ip6 \"10.98.44.3\" is not an IPv6 address",
        ),
        (
            vec!["network", "disconnect", "--alias", "x", "st2", "idle"],
            "unknown flag: --alias",
        ),
    ] {
        let o = s.run(&args);
        assert_eq!(o.status.code(), Some(125), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
    }
    let nets = s.ok(&[
        "inspect",
        "--format",
        "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
        "idle",
    ]);
    assert_eq!(nets.trim(), "st2");
    s.ok(&["rm", "-f", "-t", "0", "idle"]);
    s.ok(&["network", "rm", "st1", "st2"]);
}
