//! Podman's network files: definitions are netavark's JSON, one file per
//! network in the network config dir, so a network Podman (4.x with
//! netavark, /usr/bin/podman) creates is ours to list, inspect, use and
//! remove, and one we create is Podman's. Both use the same temp config
//! dir; each keeps its own store under /tmp.

use std::path::Path;
use std::process::{Command, Output};

use e2e::podman::{stderr, stdout, TestStore};
use serde_json::Value;

/// /usr/bin/podman on its own store, with our test's network config dir.
fn theirs(top: &Path, nets: &Path, args: &[&str]) -> Output {
    Command::new("/usr/bin/podman")
        .arg("--root")
        .arg(top.join("podman-root"))
        .arg("--runroot")
        .arg(top.join("podman-run"))
        .arg("--network-config-dir")
        .arg(nets)
        // Podman 4 falls back to CNI where it finds CNI's state: these
        // files are netavark's.
        .args(["--network-backend", "netavark"])
        .args(args)
        .env_remove("CONTAINERS_CONF")
        .output()
        .expect("/usr/bin/podman runs (apt-get install podman)")
}

fn inspect(out: &str) -> Value {
    let v: Value = serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"));
    v[0].clone()
}

#[test]
fn networks_made_by_podman_are_ours_and_ours_are_podmans() {
    let s = TestStore::new();
    let top = s.dir.path();
    let nets = top.join("networks");
    // Podman's network: every field we know, as netavark writes it.
    let o = theirs(
        top,
        &nets,
        &[
            "network",
            "create",
            "--subnet",
            "10.98.1.0/24",
            "--label",
            "made=podman",
            "--opt",
            "mtu=1400",
            "--opt",
            "isolate=true",
            "pnet",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let ls = s.ok(&["network", "ls", "--format", "{{.Name}} {{.Driver}}"]);
    assert!(
        ls.contains("pnet bridge") && ls.contains("podman bridge"),
        "{ls}"
    );
    let ours = inspect(&s.ok(&["network", "inspect", "pnet"]));
    let o = theirs(top, &nets, &["network", "inspect", "pnet"]);
    let podmans = inspect(&stdout(&o));
    for key in [
        "id",
        "name",
        "network_interface",
        "subnets",
        "labels",
        "options",
        "internal",
        "dns_enabled",
    ] {
        assert_eq!(ours[key], podmans[key], "{key}");
    }

    // Ours, read by Podman: dual stack, internal, no DNS.
    s.ok(&[
        "network",
        "create",
        "--subnet",
        "10.98.2.0/24",
        "--subnet",
        "fd98:2::/64",
        "--internal",
        "--disable-dns",
        "onet",
    ]);
    let o = theirs(top, &nets, &["network", "inspect", "onet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let podmans = inspect(&stdout(&o));
    let ours = inspect(&s.ok(&["network", "inspect", "onet"]));
    for key in [
        "id",
        "name",
        "network_interface",
        "subnets",
        "internal",
        "dns_enabled",
        "ipv6_enabled",
    ] {
        assert_eq!(ours[key], podmans[key], "{key}");
    }
    assert_eq!(podmans["ipv6_enabled"], true);
    assert_eq!(podmans["subnets"][1]["subnet"], "fd98:2::/64");

    // Names and bridges are shared: neither takes the other's.
    let o = s.run(&["network", "create", "pnet"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).contains("netavark: network already exists pnet"),
        "{}",
        stderr(&o)
    );
    let o = theirs(top, &nets, &["network", "create", "onet"]);
    assert!(!o.status.success());
    let made = s.ok(&["network", "create", "third"]);
    assert_eq!(made.trim(), "third");
    let third = inspect(&s.ok(&["network", "inspect", "third"]));
    let bridges = [&ours, &third].map(|n| n["network_interface"].as_str().unwrap().to_string());
    let pbridge = inspect(&stdout(&theirs(
        top,
        &nets,
        &["network", "inspect", "pnet"],
    )))["network_interface"]
        .clone();
    assert!(
        !bridges.iter().any(|b| *b == pbridge),
        "{bridges:?} vs {pbridge}"
    );

    // Each removes the other's.
    let o = theirs(top, &nets, &["network", "rm", "onet", "third"]);
    assert!(o.status.success(), "{}", stderr(&o));
    s.ok(&["network", "rm", "pnet"]);
    let left: Vec<_> = std::fs::read_dir(&nets)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name())
                .filter(|n| n.to_string_lossy().ends_with(".json"))
                .collect()
        })
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
    let _ = theirs(top, &nets, &["system", "reset", "-f"]);
}
