//! Names and files: /etc/hosts and /etc/resolv.conf as Podman 5 writes
//! them (--dns*, --add-host with host-gateway, --hostname, --no-hosts,
//! containers.conf dns_* / base_hosts_file / host_containers_internal_ip),
//! and the network DNS server forwarding other names to a resolver of the
//! test's own on loopback.

use std::net::UdpSocket;
use std::time::Duration;

use e2e::podman::{stderr, TestStore};

fn fixture() -> (TestStore, e2e::registry::Registry, String) {
    e2e::podman::with_busybox()
}

fn with_conf(s: &TestStore, conf: &std::path::Path, args: &[&str]) -> String {
    let o = s
        .cmd()
        .env("CONTAINERS_CONF_OVERRIDE", conf)
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn hosts_and_resolv_conf_follow_flags_and_containers_conf() {
    let (s, _reg, r) = fixture();
    let base = s.dir.path().join("basehosts");
    std::fs::write(&base, "10.61.0.1 one\n10.61.0.2 two #comment\n").unwrap();
    let conf = s.dir.path().join("override.conf");
    std::fs::write(
        &conf,
        format!(
            "[containers]\nbase_hosts_file = \"{}\"\nhost_containers_internal_ip = \"10.61.0.99\"\n\
             dns_searches = [\"example.com\"]\ndns_servers = [\"1.1.1.1\", \"100.100.100.100\"]\n\
             dns_options = [\"ndots:2\"]\n",
            base.display()
        ),
    )
    .unwrap();
    let out = with_conf(
        &s,
        &conf,
        &[
            "run",
            "--rm",
            "--add-host",
            "three:10.61.0.3",
            &r,
            "cat",
            "/etc/hosts",
        ],
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 7, "{out}");
    assert_eq!(lines[0], "10.61.0.3\tthree");
    assert_eq!(lines[1], "10.61.0.1\tone");
    assert_eq!(lines[2], "10.61.0.2\ttwo");
    assert_eq!(lines[3], "127.0.0.1\tlocalhost");
    assert_eq!(lines[4], "::1\tlocalhost");
    assert_eq!(
        lines[5],
        "10.61.0.99\thost.containers.internal host.docker.internal"
    );
    // A name the base file gives already is not added again.
    let out = with_conf(
        &s,
        &conf,
        &[
            "run",
            "--rm",
            "--name",
            "one",
            "--hostname",
            "one",
            &r,
            "cat",
            "/etc/hosts",
        ],
    );
    assert_eq!(out.lines().count(), 5, "{out}");
    let out = with_conf(&s, &conf, &["run", "--rm", &r, "cat", "/etc/resolv.conf"]);
    assert_eq!(
        out,
        "search example.com\nnameserver 1.1.1.1\nnameserver 100.100.100.100\noptions ndots:2\n"
    );
    // The flags' entries follow containers.conf's (libpod joins them);
    // "." clears the search list.
    let out = with_conf(
        &s,
        &conf,
        &[
            "run",
            "--rm",
            "--dns",
            "9.9.9.9",
            "--dns-search",
            ".",
            "--dns-option",
            "rotate",
            &r,
            "cat",
            "/etc/resolv.conf",
        ],
    );
    assert_eq!(
        out,
        "nameserver 1.1.1.1\nnameserver 100.100.100.100\nnameserver 9.9.9.9\noptions ndots:2 rotate\n"
    );

    // Without containers.conf: host-gateway is host.containers.internal,
    // the bridge's gateway.
    let out = s.ok(&[
        "run",
        "--rm",
        "--hostname",
        "hn1",
        "--add-host",
        "gw:host-gateway",
        &r,
        "sh",
        "-c",
        "cat /etc/hosts; echo; ip -4 route show default",
    ]);
    let gw = out
        .lines()
        .find(|l| l.starts_with("default via "))
        .and_then(|l| l.split_whitespace().nth(2))
        .unwrap()
        .to_string();
    assert!(out.contains(&format!("{gw}\tgw\n")), "{out}");
    assert!(
        out.contains(&format!(
            "{gw}\thost.containers.internal host.docker.internal\n"
        )),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.ends_with("\thn1") || l.contains("\thn1 ")),
        "{out}"
    );
    // The host's network: 127.0.0.1 is the host.
    let out = s.ok(&["run", "--rm", "--network", "host", &r, "cat", "/etc/hosts"]);
    assert!(
        out.contains("127.0.0.1\thost.containers.internal host.docker.internal"),
        "{out}"
    );
    // --no-hosts keeps the image's file; base_hosts_file=none starts empty.
    // (this image has none).
    let out = s.ok(&[
        "run",
        "--rm",
        "--no-hosts",
        &r,
        "sh",
        "-c",
        "cat /etc/hosts 2>&1; true",
    ]);
    assert!(out.contains("No such file"), "{out}");
    std::fs::write(
        &conf,
        "[containers]\nbase_hosts_file = \"none\"\nhost_containers_internal_ip = \"none\"\n",
    )
    .unwrap();
    let out = with_conf(
        &s,
        &conf,
        &[
            "run",
            "--rm",
            "--network",
            "none",
            "--name",
            "nn",
            "--hostname",
            "nn",
            &r,
            "cat",
            "/etc/hosts",
        ],
    );
    assert_eq!(out, "127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.0.1\tnn\n");
    // --hosts-file beats containers.conf's base_hosts_file.
    let out = with_conf(
        &s,
        &conf,
        &[
            "run",
            "--rm",
            "--hosts-file",
            base.to_str().unwrap(),
            &r,
            "cat",
            "/etc/hosts",
        ],
    );
    assert!(
        out.starts_with("10.61.0.1\tone\n10.61.0.2\ttwo\n127.0.0.1\tlocalhost\n"),
        "{out}"
    );
    // --dns none: the image's resolv.conf stays (none here).
    let o = s.run(&[
        "run",
        "--rm",
        "--dns",
        "none",
        &r,
        "cat",
        "/etc/resolv.conf",
    ]);
    assert!(!o.status.success() || String::from_utf8_lossy(&o.stdout).is_empty());
}

#[test]
fn bad_names_are_refused_at_create() {
    let (s, _reg, r) = fixture();
    for (args, want) in [
        (vec!["--dns", "1.2.3.4.5"], "1.2.3.4.5 is not an ip address"),
        (
            vec!["--dns", "example.com"],
            "example.com is not an ip address",
        ),
        (
            vec!["--dns", "none", "--dns", "1.1.1.1"],
            "--dns none cannot be combined",
        ),
        (
            vec!["--add-host", "foo:bar"],
            "invalid IP address in add-host",
        ),
        (vec!["--add-host", "nocolon"], "invalid add-host"),
        (vec!["--add-host", ":1.2.3.4"], "hostname in host entry"),
        (
            vec!["--no-hosts", "--add-host", "a:1.2.3.4"],
            "--no-hosts and --add-host",
        ),
    ] {
        let mut a = vec!["create"];
        a.extend(args.iter().copied());
        a.extend([r.as_str(), "true"]);
        let o = s.run(&a);
        assert_eq!(o.status.code(), Some(125), "{args:?}: {}", stderr(&o));
        let e = stderr(&o);
        assert!(e.contains(want), "{args:?}: {e}");
        assert_eq!(e.trim().lines().count(), 1, "{args:?}: {e}");
    }
    assert_eq!(s.ok(&["ps", "-aq"]), "", "nothing was created");
}

/// A DNS responder on a loopback address of its own: every A question gets
/// `answer`, other types an empty NOERROR.
fn resolver(answer: [u8; 4]) -> (std::net::Ipv4Addr, std::sync::mpsc::Sender<()>) {
    let mut ip = None;
    let mut sock = None;
    for n in 0..50u8 {
        let cand = std::net::Ipv4Addr::new(127, 53, (std::process::id() % 200) as u8, 10 + n);
        if let Ok(s) = UdpSocket::bind((cand, 53)) {
            ip = Some(cand);
            sock = Some(s);
            break;
        }
    }
    let (ip, sock) = (ip.expect("a free loopback :53"), sock.unwrap());
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        while rx.try_recv().is_err() {
            let Ok((n, peer)) = sock.recv_from(&mut buf) else {
                continue;
            };
            if n < 17 {
                continue;
            }
            // The question ends at the zero label, then type and class.
            let mut i = 12;
            while i < n && buf[i] != 0 {
                i += buf[i] as usize + 1;
            }
            let qend = i + 5;
            if qend > n {
                continue;
            }
            let qtype = u16::from_be_bytes([buf[i + 1], buf[i + 2]]);
            let mut resp = buf[..qend].to_vec();
            resp[2] = 0x81;
            resp[3] = 0x80;
            resp[6..12].copy_from_slice(&[0, u8::from(qtype == 1), 0, 0, 0, 0]);
            if qtype == 1 {
                resp.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
                resp.extend_from_slice(&answer);
            }
            let _ = sock.send_to(&resp, peer);
        }
    });
    (ip, tx)
}

#[test]
fn network_dns_forwards_other_names_to_the_containers_resolvers() {
    let (s, _reg, r) = fixture();
    let (ip, stop) = resolver([10, 123, 45, 67]);
    s.ok(&["network", "create", "--subnet", "10.94.3.0/24", "fwdnet"]);
    s.ok(&[
        "run",
        "-d",
        "--name",
        "peer",
        "--network",
        "fwdnet",
        &r,
        "sleep",
        "100",
    ]);
    let peer_ip = s.ok(&[
        "inspect",
        "--format",
        "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
        "peer",
    ]);
    let out = s.ok(&[
        "run",
        "--rm",
        "--network",
        "fwdnet",
        "--dns",
        &ip.to_string(),
        &r,
        "sh",
        "-c",
        "cat /etc/resolv.conf; nslookup far.example.test; nslookup peer",
    ]);
    // Only the network's server is listed: it forwards.
    assert!(out.starts_with("search dns.podman"), "{out}");
    assert!(out.contains("nameserver 10.94.3.1\n"), "{out}");
    assert!(!out.contains(&format!("nameserver {ip}")), "{out}");
    assert!(out.contains("10.123.45.67"), "forwarded answer: {out}");
    assert!(
        out.contains(peer_ip.trim()),
        "container name still answered: {out}"
    );
    // containers.conf dns_servers are the upstreams too, without --dns.
    let conf = s.dir.path().join("dns.conf");
    std::fs::write(&conf, format!("[containers]\ndns_servers = [\"{ip}\"]\n")).unwrap();
    let out = with_conf(
        &s,
        &conf,
        &[
            "run",
            "--rm",
            "--network",
            "fwdnet",
            &r,
            "sh",
            "-c",
            "cat /etc/resolv.conf; nslookup other.example.test",
        ],
    );
    let _ = stop.send(());
    assert!(out.contains("nameserver 10.94.3.1\n"), "{out}");
    assert!(!out.contains(&format!("nameserver {ip}")), "{out}");
    assert!(out.contains("10.123.45.67"), "forwarded answer: {out}");
    s.ok(&["rm", "-f", "-t", "0", "peer"]);
    s.ok(&["network", "rm", "fwdnet"]);
}

/// pflag string-slice flags read each value as CSV: a script that quotes
/// inside the word (`--add-host "a;b:IP"`) gets the quotes removed,
/// commas give several values, and an empty value (`-p ""`) none.
#[test]
fn name_flags_take_csv_values_as_pflag_does() {
    let (s, _reg, r) = fixture();
    let out = s.ok(&[
        "run",
        "--rm",
        "--add-host",
        "\"web.fqdn;web:10.62.0.7\"",
        "--add-host",
        "a:10.62.0.8,b:10.62.0.9",
        "--dns",
        "10.62.0.53,10.62.0.54",
        "--dns-search",
        "\"one.test\"",
        // An empty value is none at all.
        "-p",
        "",
        &r,
        "sh",
        "-c",
        "cat /etc/hosts /etc/resolv.conf",
    ]);
    assert!(out.contains("10.62.0.7\tweb.fqdn web\n"), "{out}");
    assert!(
        out.contains("10.62.0.8\ta\n") && out.contains("10.62.0.9\tb\n"),
        "{out}"
    );
    assert!(
        out.contains("search one.test\nnameserver 10.62.0.53\nnameserver 10.62.0.54\n"),
        "{out}"
    );
}

/// `network connect`/`disconnect` of a running container update its
/// /etc/hosts and resolv.conf in place, as libpod does; a running
/// `--network none` container's netns is named by its pid.
#[test]
fn connect_and_disconnect_follow_in_hosts_and_resolv_conf() {
    let (s, _reg, r) = fixture();
    s.ok(&["network", "create", "--subnet", "10.94.7.0/24", "hostsnet"]);
    let id = s
        .ok(&["run", "-d", "--name", "hc", &r, "sleep", "100"])
        .trim()
        .to_string();
    let files = || s.ok(&["exec", &id, "cat", "/etc/hosts", "/etc/resolv.conf"]);
    let before = files();
    s.ok(&["network", "connect", "hostsnet", &id]);
    let ip = s
        .ok(&[
            "inspect",
            "--format",
            "{{(index .NetworkSettings.Networks \"hostsnet\").IPAddress}}",
            &id,
        ])
        .trim()
        .to_string();
    assert!(ip.starts_with("10.94.7."), "{ip}");
    let after = files();
    assert!(after.contains(&format!("{ip}\t")), "{after}");
    assert!(after.contains("nameserver 10.94.7.1\n"), "{after}");
    s.ok(&["network", "disconnect", "hostsnet", &id]);
    let again = files();
    assert!(!again.contains(&ip), "{again}");
    assert!(!again.contains("10.94.7.1"), "{again}");
    assert_eq!(again, before);
    s.ok(&["rm", "-f", "-t", "0", &id]);
    s.ok(&["network", "rm", "hostsnet"]);

    let none = s
        .ok(&["run", "-d", "--network", "none", &r, "sleep", "100"])
        .trim()
        .to_string();
    let key = s.ok(&[
        "inspect",
        "--format",
        "{{.NetworkSettings.SandboxKey}}",
        &none,
    ]);
    let pid = s.ok(&["inspect", "--format", "{{.State.Pid}}", &none]);
    assert_eq!(key.trim(), format!("/proc/{}/ns/net", pid.trim()));
    s.ok(&["rm", "-f", "-t", "0", &none]);
}

/// `--network container:NAME` shares that container's /etc/hosts and
/// resolv.conf, with the joiner's name on 127.0.0.1 while it runs.
#[test]
fn a_container_joining_anothers_network_shares_its_files() {
    let (s, _reg, r) = fixture();
    let base = s
        .ok(&["run", "-d", "--name", "base", &r, "sleep", "100"])
        .trim()
        .to_string();
    let files = "cat /etc/hosts; echo ===; cat /etc/resolv.conf";
    let theirs = s.ok(&["exec", &base, "sh", "-c", files]);
    let mine = s.ok(&[
        "run",
        "--rm",
        "--name",
        "joiner",
        "--network",
        "container:base",
        &r,
        "sh",
        "-c",
        files,
    ]);
    let (hosts, resolv) = theirs.split_once("===\n").unwrap();
    assert_eq!(mine, format!("{hosts}127.0.0.1\tjoiner\n===\n{resolv}"));
    // Removed again at the joiner's cleanup.
    assert_eq!(s.ok(&["exec", &base, "sh", "-c", files]), theirs);
    // It is a dependency: the joined container cannot go first.
    let dep = s
        .ok(&["create", "--network", "container:base", &r, "true"])
        .trim()
        .to_string();
    let o = s.run(&["rm", "-f", &base]);
    assert!(!o.status.success(), "{}", stderr(&o));
    s.ok(&["rm", &dep]);
    s.ok(&["rm", "-f", "-t", "0", &base]);
}
