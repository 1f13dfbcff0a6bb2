//! Networks through podman: names, published ports, isolation, parallel
//! address allocation, and a host left exactly as it was. Tests here run one
//! at a time (they compare the host's links and rules).

use std::process::Stdio;
use std::sync::Mutex;

use e2e::podman::{stderr, TestStore};
use e2e::registry::Registry;

static SERIAL: Mutex<()> = Mutex::new(());

fn fixture() -> (TestStore, Registry, String) {
    e2e::podman::with_busybox()
}

/// The host's links and firewall rules that belong to this store's
/// containers and user networks: veths on podman* bridges but podman0, the bridges
/// themselves except the default network's `podman0` (a network's bridge
/// and chains stay until `network rm`, and the default network is never
/// removed), and from this store's own nft table, without counters, the
/// rules naming a user bridge, a container chain or a container's DNAT. Other tools'
/// tables (Podman's netavark) are not compared.
fn host_state(s: &TestStore) -> (Vec<String>, Vec<String>) {
    let links = std::process::Command::new("ip")
        .args(["-o", "link", "show"])
        .output()
        .unwrap();
    let mut names: Vec<String> = String::from_utf8_lossy(&links.stdout)
        .lines()
        // podman0 (the default network's bridge) is shared with every
        // other store on this host and with Podman: its veths are not ours.
        .filter(|l| l.contains(": podman") || l.contains("master podman"))
        .filter(|l| !l.contains("master podman0 "))
        .filter_map(|l| {
            l.split(':')
                .nth(1)
                .map(|n| n.trim().split('@').next().unwrap_or("").to_string())
        })
        .filter(|n| n != "podman0")
        .collect();
    names.sort();
    // net-setup names its table after the state dir (FNV-1a of the path).
    let table = s.nft_table();
    let rules = std::process::Command::new("nft")
        .args(["-s", "list", "table", "inet", &table])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&rules.stdout).into_owned();
    let user_bridge = |l: &str| {
        l.split('"').skip(1).step_by(2).any(|w| {
            w.strip_prefix("podman")
                .is_some_and(|n| !n.is_empty() && n != "0" && n.chars().all(|c| c.is_ascii_digit()))
        })
    };
    let mut lines: Vec<String> = text
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| user_bridge(l) || l.contains("ct_") || l.contains(" dnat ip"))
        .collect();
    lines.sort();
    (names, lines)
}

#[test]
fn containers_on_a_user_network_reach_each_other_by_name_and_alias() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (s, _reg, r) = fixture();
    let before = host_state(&s);
    s.ok(&["network", "create", "--subnet", "10.91.7.0/24", "appnet"]);
    s.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "--network",
        "appnet",
        "--network-alias",
        "www",
        &r,
        "sh",
        "-c",
        "echo hi-from-web > /tmp/index.html; httpd -f -p 80 -h /tmp",
    ]);
    let out = s.ok(&[
        "run",
        "--rm",
        "--network",
        "appnet",
        &r,
        "sh",
        "-c",
        "wget -qO- http://web/index.html; wget -qO- http://www/index.html",
    ]);
    assert_eq!(out, "hi-from-web\nhi-from-web\n");
    // Podman's inspect shape (libpod's getContainerNetworkInfo): a map by
    // network name; the top level is filled only for the default network.
    let id = s.ok(&["inspect", "--format", "{{.Id}}", "web"]);
    let net = s.ok(&[
        "inspect",
        "--format",
        "{{(index .NetworkSettings.Networks \"appnet\").IPAddress}}|{{(index .NetworkSettings.Networks \"appnet\").IPPrefixLen}}|{{(index .NetworkSettings.Networks \"appnet\").Gateway}}|{{(index .NetworkSettings.Networks \"appnet\").Aliases}}|{{.NetworkSettings.IPAddress}}|{{len (index .NetworkSettings.Networks \"appnet\").NetworkID}}",
        "web",
    ]);
    let f: Vec<&str> = net.trim().split('|').collect();
    assert!(f[0].starts_with("10.91.7."), "{net}");
    assert_eq!(
        &f[1..],
        &["24", "10.91.7.1", &format!("[www {}]", &id[..12]), "", "64"],
        "{net}"
    );
    let mac = s.ok(&[
        "inspect",
        "--format",
        "{{(index .NetworkSettings.Networks \"appnet\").MacAddress}}",
        "web",
    ]);
    assert_eq!(mac.trim().len(), 17, "{mac}");
    // /etc/hosts knows the container itself.
    let hosts = s.ok(&["exec", "web", "cat", "/etc/hosts"]);
    assert!(hosts.contains("web"), "{hosts}");
    // A network in use is not removed without force (exit 2).
    let o = s.run(&["network", "rm", "appnet"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    s.ok(&["rm", "-af", "-t", "0"]);
    s.ok(&["network", "rm", "appnet"]);
    assert_eq!(
        host_state(&s),
        before,
        "links or firewall rules left behind"
    );
}

#[test]
fn published_ports_answer_on_loopback_and_none_has_only_lo() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (s, _reg, r) = fixture();
    let before = host_state(&s);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    s.ok(&[
        "run",
        "-d",
        "--name",
        "pub",
        "-p",
        &format!("127.0.0.1:{port}:8080"),
        &r,
        "sh",
        "-c",
        "echo published > /tmp/i; httpd -f -p 8080 -h /tmp",
    ]);
    e2e::poll::until(
        std::time::Duration::from_secs(10),
        "the published port to serve the file",
        || {
            use std::io::{Read, Write};
            let Ok(mut c) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
                return false;
            };
            // An answer that does not come is tried again, within the deadline.
            if c.set_read_timeout(Some(std::time::Duration::from_secs(2)))
                .is_err()
            {
                return false;
            }
            let mut body = String::new();
            c.write_all(b"GET /i HTTP/1.0\r\n\r\n").is_ok()
                && c.read_to_string(&mut body).is_ok()
                && body.contains("published")
        },
    );
    assert_eq!(
        s.ok(&["port", "pub"]),
        format!("8080/tcp -> 127.0.0.1:{port}\n")
    );
    // The same host port cannot be taken twice.
    let o = s.run(&[
        "run",
        "-d",
        "--name",
        "clash",
        "-p",
        &format!("127.0.0.1:{port}:80"),
        &r,
        "sleep",
        "100",
    ]);
    // Found at start: `run` exits as Podman's define.ExitCode does (126).
    assert_eq!(o.status.code(), Some(126), "{}", stderr(&o));
    let links = s.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        &r,
        "sh",
        "-c",
        "ls /sys/class/net",
    ]);
    assert_eq!(links, "lo\n");
    s.ok(&["rm", "-af", "-t", "0"]);
    assert_eq!(
        host_state(&s),
        before,
        "links or firewall rules left behind"
    );
}

#[test]
fn twenty_containers_get_distinct_addresses() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (s, _reg, r) = fixture();
    let before = host_state(&s);
    let children: Vec<_> = (0..20)
        .map(|i| {
            s.cmd()
                .args(["run", "-d", "--name", &format!("n{i}"), &r, "sleep", "1000"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let mut ips = Vec::new();
    for i in 0..20 {
        let out = s.ok(&[
            "exec",
            &format!("n{i}"),
            "sh",
            "-c",
            "ip -4 -o addr show eth0 | awk '{print $4}'",
        ]);
        ips.push(out.trim().to_string());
    }
    let mut uniq = ips.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), 20, "{ips:?}");
    s.ok(&["rm", "-af", "-t", "0"]);
    assert_eq!(
        host_state(&s),
        before,
        "links or firewall rules left behind"
    );
}

#[test]
fn bad_network_input_is_refused_clearly() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (s, _reg, _r) = fixture();
    s.ok(&["network", "create", "--subnet", "10.92.1.0/24", "one"]);
    for (args, want) in [
        (
            vec!["network", "create", "--subnet", "10.92.1.0/25", "two"],
            "overlap",
        ),
        (
            vec!["network", "create", "--subnet", "10.92.5.7/24", "three"],
            "10.92.5.0/24",
        ),
        (vec!["network", "create", "one"], "one"),
    ] {
        let o = s.run(&args);
        assert_eq!(o.status.code(), Some(125), "{args:?}");
        let e = stderr(&o);
        assert!(e.to_lowercase().contains(want), "{args:?}: {e}");
    }
    assert_eq!(s.run(&["network", "exists", "one"]).status.code(), Some(0));
    assert_eq!(s.run(&["network", "exists", "nope"]).status.code(), Some(1));
    s.ok(&["network", "rm", "one"]);
}

#[test]
fn connect_disconnect_static_addresses_and_several_networks() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (s, _reg, r) = fixture();
    let before = host_state(&s);
    s.ok(&["network", "create", "--subnet", "10.93.1.0/24", "front"]);
    s.ok(&[
        "network",
        "create",
        "--subnet",
        "10.93.2.0/24",
        "--internal",
        "back",
    ]);
    s.ok(&[
        "run",
        "-d",
        "--name",
        "multi",
        "--network",
        "front,back",
        &r,
        "sleep",
        "1000",
    ]);
    let ifs = s.ok(&["exec", "multi", "ls", "/sys/class/net"]);
    assert_eq!(ifs, "eth0\neth1\nlo\n");
    s.ok(&[
        "run",
        "-d",
        "--name",
        "fixed",
        "--network",
        "front",
        "--ip",
        "10.93.1.77",
        "--mac-address",
        "02:42:ac:11:00:77",
        &r,
        "sleep",
        "1000",
    ]);
    let addr = s.ok(&[
        "exec",
        "fixed",
        "sh",
        "-c",
        "ip -4 -o addr show eth0 | awk '{print $4}'; cat /sys/class/net/eth0/address",
    ]);
    assert_eq!(addr, "10.93.1.77/24\n02:42:ac:11:00:77\n");
    // The same static address cannot be taken twice.
    let o = s.run(&[
        "run",
        "-d",
        "--name",
        "clash",
        "--network",
        "front",
        "--ip",
        "10.93.1.77",
        &r,
        "sleep",
        "1000",
    ]);
    // Found at start: 126, as Podman's run.
    assert_eq!(o.status.code(), Some(126), "{}", stderr(&o));
    // Connect a running container to a second network and back.
    s.ok(&["network", "connect", "back", "fixed"]);
    assert_eq!(
        s.ok(&["exec", "fixed", "ls", "/sys/class/net"]),
        "eth0\neth1\nlo\n"
    );
    let eth1 = s.ok(&["exec", "fixed", "ip", "-4", "-o", "addr", "show", "eth1"]);
    assert!(eth1.contains("10.93.2."), "{eth1}");
    // Its address on the first network survived the reconnect.
    let eth0 = s.ok(&["exec", "fixed", "ip", "-4", "-o", "addr", "show", "eth0"]);
    assert!(eth0.contains("10.93.1.77/24"), "{eth0}");
    s.ok(&["network", "disconnect", "back", "fixed"]);
    assert_eq!(
        s.ok(&["exec", "fixed", "ls", "/sys/class/net"]),
        "eth0\nlo\n"
    );
    s.ok(&["rm", "-af", "-t", "0"]);
    s.ok(&["network", "rm", "front", "back"]);
    assert_eq!(
        host_state(&s),
        before,
        "links or firewall rules left behind"
    );
}

/// Names that would reach a path, rule text or argv are refused in one
/// line with Podman's text and exit 125, and leave nothing behind.
#[test]
fn hostile_names_are_refused_as_podman_refuses_them() {
    let (s, _reg, r) = fixture();
    let rule = "names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: invalid argument";
    for bad in ["../x", "_x", "a b", "a\"b"] {
        let o = s.run(&["create", "--name", bad, &r, "true"]);
        assert_eq!(o.status.code(), Some(125), "create --name {bad}");
        assert_eq!(
            stderr(&o).trim(),
            format!("Error: {rule}"),
            "create --name {bad}"
        );
        let o = s.run(&["network", "create", bad]);
        assert_eq!(o.status.code(), Some(125), "network create {bad}");
        assert_eq!(
            stderr(&o).trim(),
            format!("Error: network name {bad} invalid: {rule}")
        );
    }
    for bad in ["br\"x", "-br", "br;x", "0123456789abcdef"] {
        let flag = format!("--interface-name={bad}");
        let o = s.run(&["network", "create", &flag, "okname"]);
        assert_eq!(o.status.code(), Some(125), "--interface-name {bad}");
        assert!(
            stderr(&o).contains("is not a valid interface name"),
            "{}",
            stderr(&o)
        );
    }
    s.ok(&["create", "--name", "good", &r, "true"]);
    let o = s.run(&["rename", "good", "../evil"]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(stderr(&o).trim(), format!("Error: {rule}"));
    assert_eq!(s.ok(&["ps", "-a", "--format", "{{.Names}}"]).trim(), "good");
    assert_eq!(
        s.ok(&["network", "ls", "--format", "{{.Name}}"]).trim(),
        "podman"
    );
    s.ok(&["rm", "good"]);
}

#[test]
fn a_run_whose_port_is_taken_fails_with_126_and_rm_leaves_nothing() {
    // Upstream 030-run "podman run failed --rm".
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (s, _reg, r) = fixture();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let publish = format!("{port}:80");
    s.ok(&[
        "run", "-p", &publish, "--rm", "-d", "--name", "c1", &r, "sleep", "600",
    ]);
    for extra in [&[][..], &["--rm"][..]] {
        let mut args = vec!["run", "-p", &publish, "-d"];
        args.extend_from_slice(extra);
        let name = if extra.is_empty() { "c2" } else { "c3" };
        args.extend_from_slice(&["--name", name, &r, "sleep", "600"]);
        let o = s.run(&args);
        assert_eq!(o.status.code(), Some(126), "{}", stderr(&o));
        assert!(
            stderr(&o).contains("ddress already in use"),
            "{}",
            stderr(&o)
        );
    }
    let names = s.ok(&["ps", "-a", "--sort", "names", "--format", "{{.Names}}"]);
    assert_eq!(names, "c1\nc2\n");
    s.ok(&["rm", "-f", "-t0", "c1", "c2"]);
}
