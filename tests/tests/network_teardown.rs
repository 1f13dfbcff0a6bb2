//! A bridged container's teardown releases its network namespace and leaves
//! the veth pair to the kernel's namespace cleanup: the host end is cut off
//! (down) before the command returns, its lease is free, and the veth is
//! gone shortly after. A namespace a process still holds, a restart that
//! finds the old veth, and `network rm` right after all end with a working
//! network and no link left.

use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use e2e::podman::{with_busybox, TestStore};
use e2e::poll;

/// The veths enslaved to `bridge`: (name, administratively up).
fn ports(bridge: &str) -> Vec<(String, bool)> {
    let o = Command::new("ip")
        .args(["-o", "link", "show", "master", bridge])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| {
            let name = l.split(": ").nth(1)?.split('@').next()?.to_string();
            let flags = l.split('<').nth(1)?.split('>').next()?;
            Some((name, flags.split(',').any(|f| f == "UP")))
        })
        .collect()
}

fn link_exists(name: &str) -> bool {
    std::path::Path::new("/sys/class/net").join(name).exists()
}

/// A TCP connection from the host to the container's httpd.
fn reachable(ip: &str) -> bool {
    let addr: SocketAddr = format!("{ip}:80").parse().unwrap();
    TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok()
}

fn ip_of(s: &TestStore, c: &str, net: &str) -> String {
    s.ok(&[
        "inspect",
        "--format",
        &format!("{{{{(index .NetworkSettings.Networks \"{net}\").IPAddress}}}}"),
        c,
    ])
    .trim()
    .to_string()
}

fn netns_of(s: &TestStore, c: &str) -> std::path::PathBuf {
    let id = s.ok(&["inspect", "--format", "{{.Id}}", c]);
    s.runroot()
        .join("netns")
        .join(format!("netns-{}", id.trim()))
}

/// A host process that holds the file `path` open (not inside the
/// namespace): the kernel keeps the namespace while it runs.
fn hold_open(path: &std::path::Path) -> Child {
    let f = std::fs::File::open(path).unwrap();
    Command::new("sleep")
        .arg("60")
        .stdin(Stdio::from(f))
        .spawn()
        .unwrap()
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn web(s: &TestStore, r: &str, net: &str) {
    s.ok(&[
        "run",
        "-d",
        "--name",
        "tdweb",
        "--network",
        net,
        r,
        "sh",
        "-c",
        "echo hi > /tmp/index.html; exec httpd -f -p 80 -h /tmp",
    ]);
}

#[test]
fn stop_cuts_the_veth_off_and_the_kernel_deletes_it_with_the_netns() {
    let (s, _reg, r) = with_busybox();
    let bridge = "tdbr41";
    s.ok(&[
        "network",
        "create",
        "--subnet",
        "10.98.41.0/24",
        "--interface-name",
        bridge,
        "tdnet",
    ]);
    web(&s, &r, "tdnet");
    let ip = ip_of(&s, "tdweb", "tdnet");
    poll::until(Duration::from_secs(20), "httpd answers", || reachable(&ip));
    let veths = ports(bridge);
    assert_eq!(veths.len(), 1, "{veths:?}");
    assert!(veths[0].1, "a running container's veth is up: {veths:?}");
    let veth = veths[0].0.clone();
    let netns = netns_of(&s, "tdweb");

    s.ok(&["stop", "-t", "0", "tdweb"]);
    // At once: the namespace file is gone, the lease is free, and a veth
    // the kernel has not deleted yet is down (the bridge forwards nothing
    // to it).
    assert!(!netns.exists(), "{} left", netns.display());
    assert!(s.bridge_leases(bridge).is_empty(), "lease left");
    assert!(
        ports(bridge).iter().all(|(_, up)| !up),
        "{:?}",
        ports(bridge)
    );
    poll::until(
        Duration::from_secs(30),
        "the veth to go with its namespace",
        || !link_exists(&veth),
    );

    // Started again, the container has a network that works.
    s.ok(&["start", "tdweb"]);
    let ip = ip_of(&s, "tdweb", "tdnet");
    poll::until(Duration::from_secs(20), "httpd answers again", || {
        reachable(&ip)
    });

    // A namespace a process is in: its veth is deleted before stop returns.
    let netns = netns_of(&s, "tdweb");
    let inside = Killed(
        Command::new("nsenter")
            .arg(format!("--net={}", netns.display()))
            .args(["sleep", "60"])
            .spawn()
            .unwrap(),
    );
    poll::until(Duration::from_secs(10), "nsenter to join", || {
        std::fs::read_link(format!("/proc/{}/ns/net", inside.0.id()))
            .is_ok_and(|l| l != std::fs::read_link("/proc/self/ns/net").unwrap())
    });
    s.ok(&["stop", "-t", "0", "tdweb"]);
    assert!(!link_exists(&veth), "{veth} outlived stop");
    assert!(!netns.exists(), "{} left", netns.display());
    drop(inside);
    s.ok(&["rm", "tdweb"]);
    s.ok(&["network", "rm", "tdnet"]);
    assert!(!link_exists(bridge));
}

#[test]
fn restart_and_network_rm_finish_a_veth_its_namespace_kept() {
    let (s, _reg, r) = with_busybox();
    let bridge = "tdbr42";
    s.ok(&[
        "network",
        "create",
        "--subnet",
        "10.98.42.0/24",
        "--interface-name",
        bridge,
        "tdnet2",
    ]);
    web(&s, &r, "tdnet2");
    let ip = ip_of(&s, "tdweb", "tdnet2");
    poll::until(Duration::from_secs(20), "httpd answers", || reachable(&ip));
    let veth = ports(bridge)[0].0.clone();

    // An open descriptor keeps the namespace (and the veth in it) alive
    // past the stop; the next start of the same container finds the old
    // veth under its name and replaces it.
    let held = Killed(hold_open(&netns_of(&s, "tdweb")));
    s.ok(&["stop", "-t", "0", "tdweb"]);
    assert_eq!(
        ports(bridge),
        [(veth.clone(), false)],
        "cut off, still there"
    );
    s.ok(&["start", "tdweb"]);
    let ip = ip_of(&s, "tdweb", "tdnet2");
    poll::until(Duration::from_secs(20), "httpd answers after start", || {
        reachable(&ip)
    });
    assert_eq!(ports(bridge), [(veth.clone(), true)]);
    drop(held);

    // Held again, then removed: `network rm` leaves no link behind.
    let held = Killed(hold_open(&netns_of(&s, "tdweb")));
    s.ok(&["rm", "-f", "-t", "0", "tdweb"]);
    assert!(link_exists(&veth), "the held namespace keeps the veth");
    s.ok(&["network", "rm", "tdnet2"]);
    assert!(!link_exists(&veth), "{veth} outlived network rm");
    assert!(!link_exists(bridge), "{bridge} outlived network rm");
    drop(held);
}

/// The host end of `id`'s veth on `network` (net-setup's naming).
fn host_veth(id: &str, network: &str) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in format!("{id}\0{network}").bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("veth{:08x}", (h ^ (h >> 32)) as u32)
}

/// The network is set up beside the rootfs mount, before the start can
/// know that the image lacks the `--workdir` asked for: that start fails
/// and tears the network down again (no namespace, lease or veth left).
#[test]
fn a_start_that_fails_after_its_network_setup_leaves_no_network() {
    let (s, _reg, r) = with_busybox();
    let id = s.ok(&[
        "create",
        "--name",
        "noworkdir",
        "--workdir",
        "/i/do/not/exist",
        &r,
        "pwd",
    ]);
    let id = id.trim().to_string();
    let o = s.run(&["start", "noworkdir"]);
    assert!(!o.status.success(), "{o:?}");
    assert!(
        e2e::podman::stderr(&o).contains("does not exist on container"),
        "{o:?}"
    );
    let key = s.ok(&[
        "inspect",
        "--format",
        "{{.NetworkSettings.SandboxKey}}",
        "noworkdir",
    ]);
    assert_eq!(key.trim(), "");
    let netns: Vec<_> = std::fs::read_dir(s.runroot().join("netns"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(netns.is_empty(), "network namespaces left: {netns:?}");
    assert!(
        !s.bridge_leases("podman0").contains_key(&id),
        "{:?}",
        s.bridge_leases("podman0")
    );
    let veth = host_veth(&id, "podman");
    poll::until(Duration::from_secs(30), "the veth to go", || {
        !ports("podman0").iter().any(|(n, _)| *n == veth)
    });
    s.ok(&["rm", "noworkdir"]);
}
