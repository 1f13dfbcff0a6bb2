//! Bad network input, each refused in one line with Podman's exit code and
//! nothing half-made: names, bridges and subnets another tool's network
//! already uses (Podman's, in the same network config dir, and a link of
//! this host), a connect to a network the container is on, a disconnect
//! from one it is not on.

use std::path::Path;
use std::process::{Command, Output};

use e2e::podman::{stderr, TestStore};

fn theirs(top: &Path, args: &[&str]) -> Output {
    Command::new("/usr/bin/podman")
        .arg("--root")
        .arg(top.join("podman-root"))
        .arg("--runroot")
        .arg(top.join("podman-run"))
        .arg("--network-config-dir")
        .arg(top.join("networks"))
        // Podman 4 falls back to CNI where it finds CNI's state: these
        // files are netavark's.
        .args(["--network-backend", "netavark"])
        .args(args)
        .env_remove("CONTAINERS_CONF")
        .output()
        .expect("/usr/bin/podman runs (apt-get install podman)")
}

fn refused(s: &TestStore, args: &[&str], code: i32, want: &str) {
    let o = s.run(args);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(code), "{args:?}: {e}");
    assert_eq!(e.trim().lines().count(), 1, "{args:?}: one line: {e}");
    assert!(e.contains(want), "{args:?}: {e}");
}

/// A veth pair of "another tool" holding an address, removed on drop.
struct ForeignLink(&'static str);

impl ForeignLink {
    fn new(name: &'static str, addr: &str) -> ForeignLink {
        let _ = Command::new("ip").args(["link", "del", name]).output();
        let ok = |a: &[&str]| {
            let o = Command::new("ip").args(a).output().unwrap();
            assert!(
                o.status.success(),
                "ip {a:?}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        };
        ok(&[
            "link",
            "add",
            name,
            "type",
            "veth",
            "peer",
            "name",
            &format!("{name}p"),
        ]);
        ok(&["addr", "add", addr, "dev", name]);
        ok(&["link", "set", name, "up"]);
        ForeignLink(name)
    }
}

impl Drop for ForeignLink {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", self.0]).output();
    }
}

#[test]
fn names_bridges_and_subnets_of_other_networks_are_refused() {
    let s = TestStore::new();
    let top = s.dir.path();
    let o = theirs(
        top,
        &["network", "create", "--subnet", "10.98.21.0/24", "theirnet"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let bridge = {
        let o = theirs(
            top,
            &[
                "network",
                "inspect",
                "--format",
                "{{.NetworkInterface}}",
                "theirnet",
            ],
        );
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    assert!(!bridge.is_empty());
    refused(
        &s,
        &["network", "create", "theirnet"],
        125,
        "Error: netavark: network already exists theirnet",
    );
    refused(
        &s,
        &["network", "create", "--interface-name", &bridge, "mine"],
        125,
        &format!("bridge name {bridge} is already used by network theirnet"),
    );
    refused(
        &s,
        &["network", "create", "--subnet", "10.98.21.128/25", "mine"],
        125,
        "overlaps with 10.98.21.0/24 of network theirnet",
    );
    // A subnet on a link of this host.
    let _link = ForeignLink::new("ncfor0", "10.98.22.1/24");
    refused(
        &s,
        &["network", "create", "--subnet", "10.98.22.0/24", "mine"],
        125,
        "a route or address on this host",
    );
    // Nothing was made by the refusals.
    let o = s.run(&["network", "ls", "--format", "{{.Name}}"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "podman\ntheirnet\n");
    let _ = theirs(top, &["network", "rm", "theirnet"]);
    let _ = theirs(top, &["system", "reset", "-f"]);
}

#[test]
fn connect_twice_and_disconnect_from_a_network_not_on_are_refused() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    s.ok(&["network", "create", "--subnet", "10.98.23.0/24", "cnet"]);
    s.ok(&["network", "create", "--subnet", "10.98.24.0/24", "other"]);
    let id = s.ok(&[
        "run",
        "-d",
        "--name",
        "c1",
        "--network",
        "cnet",
        &r,
        "sleep",
        "1000",
    ]);
    let id = id.trim();
    refused(
        &s,
        &["network", "connect", "cnet", "c1"],
        125,
        &format!(
            "container {id} is already connected to network cnet: network is already connected"
        ),
    );
    refused(
        &s,
        &["network", "disconnect", "other", "c1"],
        125,
        "container c1 is not connected to network other",
    );
    refused(
        &s,
        &["network", "connect", "nosuch", "c1"],
        125,
        "network not found",
    );
    // The container kept its one interface and address.
    let links = s.ok(&["exec", "c1", "ls", "/sys/class/net"]);
    assert_eq!(links, "eth0\nlo\n");
    let addr = s.ok(&["exec", "c1", "ip", "-4", "-o", "addr", "show", "eth0"]);
    assert!(addr.contains("10.98.23."), "{addr}");
    s.ok(&["rm", "-af", "-t", "0"]);
    s.ok(&["network", "rm", "cnet", "other"]);
}

#[test]
fn missing_networks_and_ports_answer_as_podman() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    refused(
        &s,
        &["network", "rm", "bogus"],
        1,
        "unable to find network with name or ID bogus: network not found",
    );
    // --force: a missing network is no error; -t -1 is each container's own timeout.
    s.ok(&["network", "rm", "-t", "-1", "--force", "bogus"]);
    s.ok(&["network", "create", "--subnet", "10.98.25.0/24", "insp"]);
    assert_eq!(
        s.ok(&[
            "network",
            "ls",
            "-n",
            "--filter",
            "name=insp",
            "--format",
            "{{.Name}}"
        ]),
        "insp\n"
    );
    let id = s.ok(&["create", "--name", "idle", "--network", "insp", &r, "true"]);
    // Only containers whose network is set up are listed.
    let fmt = "{{json .Containers}}";
    assert_eq!(
        s.ok(&["network", "inspect", "--format", fmt, "insp"]),
        "{}\n"
    );
    s.ok(&["rm", id.trim()]);
    let id = s.ok(&[
        "run",
        "-d",
        "--name",
        "up",
        "--network",
        "insp",
        "-p",
        "80",
        &r,
        "sleep",
        "1000",
    ]);
    let listed = s.ok(&["network", "inspect", "--format", fmt, "insp"]);
    assert!(
        listed.contains(id.trim()) && listed.contains("\"up\""),
        "{listed}"
    );
    refused(
        &s,
        &["port", "up", "99/tcp"],
        125,
        "failed to find published port \"99/tcp\"",
    );
    s.ok(&["rm", "-af", "-t", "0"]);
    s.ok(&["network", "rm", "insp"]);
}

/// A network whose subnet another tool's interface also holds (as CNI's
/// `cni-podman0` holds 10.88.0.1/16 beside our `podman0`) still runs its
/// containers, but setup says so in one line naming the interface and the
/// fix, rather than leaving the host to route the traffic silently away.
#[test]
fn another_interface_on_the_networks_subnet_is_named_at_setup() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    s.ok(&[
        "network",
        "create",
        "--subnet",
        "10.98.25.0/24",
        "--interface-name",
        "ncclash0",
        "clashnet",
    ]);
    // Made after the network (create refuses a subnet already on a link).
    let _link = ForeignLink::new("ncfor1", "10.98.25.1/24");
    let o = s.run(&["run", "--rm", "--network", "clashnet", &r, "true"]);
    let e = stderr(&o);
    assert!(o.status.success(), "{e}");
    let lines: Vec<&str> = e.lines().filter(|l| l.contains("ncfor1")).collect();
    assert_eq!(lines.len(), 1, "one line: {e}");
    assert!(
        lines[0].contains(
            "network clashnet: subnet 10.98.25.0/24 is also on interface ncfor1 (10.98.25.1/24)"
        ) && lines[0].contains("ip link delete ncfor1")
            && lines[0].contains("give network clashnet another subnet"),
        "{e}"
    );
    // Without the other interface, nothing is said.
    drop(_link);
    let o = s.run(&["run", "--rm", "--network", "clashnet", &r, "true"]);
    assert!(o.status.success() && stderr(&o).trim().is_empty(), "{o:?}");
    s.ok(&["network", "rm", "-f", "clashnet"]);
}
