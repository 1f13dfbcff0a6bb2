//! After `rm -af` and `network rm` of everything a store made, the host
//! holds exactly the links, addresses, routes, nft tables and files it had
//! before. Other tools (Podman's netavark, other test binaries) change the
//! host meanwhile and their packets move counters, so the comparison covers
//! only this store's own objects (its bridges, the veths enslaved to them,
//! its subnets, its nft table, its run root's network files) and reads the
//! ruleset without counters (`nft -s`).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn sh(prog: &str, args: &[&str]) -> String {
    let o = Command::new(prog).args(args).output().unwrap();
    assert!(
        o.status.success(),
        "{prog} {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// What names this store's objects: bridges, veths, subnets, table.
#[derive(Default)]
struct Ours {
    bridges: BTreeSet<String>,
    veths: BTreeSet<String>,
    subnets: Vec<String>,
    table: String,
}

impl Ours {
    fn mentions(&self, line: &str) -> bool {
        let words: Vec<&str> = line
            .split(|c: char| c.is_whitespace() || c == '"' || c == '@' || c == ':')
            .filter(|w| !w.is_empty())
            .collect();
        words
            .iter()
            .any(|w| self.bridges.contains(*w) || self.veths.contains(*w) || *w == self.table)
            || self
                .subnets
                .iter()
                .any(|s| line.contains(s.split('/').next().unwrap().trim_end_matches(".0")))
    }
}

/// The host's links, addresses, routes and nft tables (without counters)
/// that name our objects, plus every file under the store's network state.
fn snapshot(ours: &Ours, state: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for (what, text) in [
        ("link", sh("ip", &["-o", "link"])),
        ("addr", sh("ip", &["-o", "addr"])),
        ("route4", sh("ip", &["-4", "route", "show", "table", "all"])),
        ("route6", sh("ip", &["-6", "route", "show", "table", "all"])),
        ("nft", sh("nft", &["-s", "list", "ruleset"])),
    ] {
        for l in text.lines().filter(|l| ours.mentions(l)) {
            // Link indexes change when a link is made again.
            let l = if what == "nft" {
                l.trim()
            } else {
                l.split_once(": ").map_or(l, |x| x.1)
            };
            out.push(format!("{what}: {l}"));
        }
    }
    let mut files = Vec::new();
    walk(state, &mut files);
    out.extend(files.into_iter().map(|f| format!("file: {f}")));
    out
}

fn walk(dir: &Path, out: &mut Vec<String>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_none_or(|x| x != "lock") {
            // Lock files are kept as containers-storage keeps its locks.
            out.push(p.display().to_string());
        }
    }
}

#[test]
fn rm_all_and_network_rm_leave_the_host_as_it_was() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    let state = s.runroot().join("networks");
    // The table name derives from the state dir (net-setup's firewall).
    let mut ours = Ours {
        table: s.nft_table(),
        subnets: vec!["10.97.1.0/24".into(), "10.97.2.0/24".into()],
        bridges: ["hcbr1", "hcbr2"].into_iter().map(String::from).collect(),
        ..Ours::default()
    };
    let files_before = {
        let mut f = Vec::new();
        walk(&state, &mut f);
        f
    };
    let before = snapshot(&ours, &state);
    assert!(before.iter().all(|l| l.starts_with("file:")), "{before:?}");

    s.ok(&[
        "network",
        "create",
        "--subnet",
        "10.97.1.0/24",
        "--interface-name",
        "hcbr1",
        "hc1",
    ]);
    s.ok(&[
        "network",
        "create",
        "--subnet",
        "10.97.2.0/24",
        "--interface-name",
        "hcbr2",
        "--internal",
        "hc2",
    ]);
    s.ok(&[
        "run",
        "-d",
        "--name",
        "a",
        "--network",
        "hc1",
        "-p",
        "127.0.0.1::80",
        &r,
        "sleep",
        "1000",
    ]);
    s.ok(&[
        "run",
        "-d",
        "--name",
        "b",
        "--network",
        "hc1",
        "--network",
        "hc2",
        &r,
        "sleep",
        "1000",
    ]);
    s.ok(&[
        "run",
        "-d",
        "--name",
        "c",
        "--network",
        "none",
        &r,
        "sleep",
        "1000",
    ]);
    s.ok(&["create", "--name", "d", "--network", "hc2", &r, "true"]);
    // Everything is there while the containers run.
    let links = sh("ip", &["-o", "link"]);
    for l in links.lines() {
        if let Some(b) = ours
            .bridges
            .iter()
            .find(|b| l.contains(&format!(" master {b} ")))
        {
            let name = l.split(": ").nth(1).unwrap().split('@').next().unwrap();
            assert!(name.starts_with("veth"), "{l} on {b}");
            ours.veths.insert(name.to_string());
        }
    }
    assert_eq!(ours.veths.len(), 3, "a on hc1, b on hc1 and hc2: {links}");
    let during = snapshot(&ours, &state);
    for want in [
        "link: hcbr1",
        "link: hcbr2",
        "addr: hcbr1",
        "nft: table inet",
    ] {
        assert!(
            during.iter().any(|l| l.starts_with(want)),
            "no {want:?} in {during:#?}"
        );
    }
    assert!(
        during.iter().any(|l| l.contains("10.97.1.0/24 dev hcbr1")),
        "{during:#?}"
    );

    s.ok(&["rm", "-af", "-t", "0"]);
    s.ok(&["network", "rm", "hc1", "hc2"]);
    let after = snapshot(&ours, &state);
    assert_eq!(after, before, "host objects or files left behind");
    let mut files_after = Vec::new();
    walk(&state, &mut files_after);
    assert_eq!(files_after, files_before);
    let netns: Vec<_> = std::fs::read_dir(s.runroot().join("netns"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(netns.is_empty(), "network namespaces left: {netns:?}");
    let dns = sh("ps", &["-eo", "args"]);
    assert!(
        !dns.lines()
            .any(|l| l.contains("dns-serve") && l.contains(state.to_str().unwrap())),
        "a DNS server of this store still runs"
    );
}

/// net-setup with this store's directories (as podman runs it).
fn net_setup(s: &e2e::podman::TestStore, args: &[&str], stdin: &str) -> String {
    use std::io::Write;
    let mut c = Command::new(e2e::binaries::bin("net-setup"))
        .arg("--config-dir")
        .arg(s.dir.path().join("networks"))
        .arg("--state-dir")
        .arg(s.runroot().join("networks"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let o = c.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "net-setup {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `system reset` leaves nothing of the store on the host even when
/// net-setup still records a container podman does not have (a setup that
/// finished after its podman was gone): that record used to keep the
/// default network's chains, and so the store's table, after the store's
/// directories were deleted.
#[test]
fn system_reset_takes_the_table_even_with_a_record_podman_does_not_have() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    let table = s.nft_table();
    let tables = || sh("nft", &["list", "tables"]);
    s.ok(&["run", "-d", "--name", "onbridge", &r, "sleep", "1000"]);
    assert!(tables().contains(&table), "{}", tables());
    // The stray record: a container on the default network that only
    // net-setup knows of.
    let ns = s.runroot().join("netns").join("netns-strayrec");
    net_setup(&s, &["create-netns", ns.to_str().unwrap()], "");
    let req = serde_json::json!({
        "container_id": "strayrecord1",
        "container_name": "strayrecord1",
        "netns_path": ns,
        "networks": [{"name": "podman"}],
        "port_mappings": [],
    });
    net_setup(&s, &["setup"], &req.to_string());
    let leases = || s.bridge_leases("podman0");
    assert!(leases().contains_key("strayrecord1"), "{:?}", leases());
    s.ok(&["system", "reset", "-f"]);
    assert!(!tables().contains(&table), "{table} left: {}", tables());
    assert!(leases().is_empty(), "leases left: {:?}", leases());
    assert!(!ns.exists(), "{} left", ns.display());
}
