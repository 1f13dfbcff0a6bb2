//! Many podman processes at once on one store: runs and removals with `ps`
//! reading throughout, pulls of one image, creates of one name, network
//! creates of one name and removals of one container. Every command must
//! succeed or fail as Podman fails, readers must never see a half-written
//! state, and nothing of ours may be left afterwards.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use e2e::podman::{stderr, stdout, TestStore};
use e2e::poll;
use e2e::registry::Registry;
use serde_json::Value;

const CONTAINERS: usize = 50;

/// Start `n` podman commands at the same moment (each thread waits at a
/// barrier, then spawns), and return their outputs in order.
fn at_once(s: &TestStore, n: usize, args: impl Fn(usize) -> Vec<String>) -> Vec<Output> {
    let barrier = Arc::new(Barrier::new(n));
    thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let argv = args(i);
                let barrier = Arc::clone(&barrier);
                let mut cmd = s.cmd();
                cmd.args(&argv)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped());
                scope.spawn(move || {
                    barrier.wait();
                    cmd.output().expect("spawn podman")
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    })
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn mounts_under(root: &Path) -> Vec<String> {
    let root = root.display().to_string();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| l.contains(&root))
        .map(String::from)
        .collect()
}

/// Processes whose command line names `dir` (monitors, runc, helpers).
fn processes_naming(dir: &Path) -> Vec<String> {
    let needle = dir.display().to_string();
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(&needle) && poll::running(pid) {
            found.push(format!("{pid}: {cmdline}"));
        }
    }
    found
}

/// net-setup's name for the host end of a container's veth (FNV-1a of
/// container and network, folded to 32 bits), so the test can look for
/// exactly the links that were ours.
fn host_veth_name(container: &str, network: &str) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in format!("{container}\0{network}").as_bytes() {
        h ^= *b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("veth{:08x}", (h ^ (h >> 32)) as u32)
}

fn host_links() -> BTreeSet<String> {
    std::fs::read_dir("/sys/class/net")
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// What one `ps` reading found wrong, if anything.
fn check_ps_json(out: &str) -> Result<usize, String> {
    let v: Value = serde_json::from_str(out).map_err(|e| format!("invalid JSON ({e}): {out}"))?;
    let rows = v.as_array().ok_or_else(|| format!("not an array: {out}"))?;
    let mut ids = BTreeSet::new();
    let mut names = BTreeSet::new();
    for row in rows {
        let id = row["Id"].as_str().unwrap_or_default();
        if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("bad Id in {row}"));
        }
        if !ids.insert(id.to_string()) {
            return Err(format!("Id {id} listed twice: {out}"));
        }
        let name = row["Names"][0].as_str().unwrap_or_default();
        if name.is_empty() || !names.insert(name.to_string()) {
            return Err(format!("name {name:?} missing or listed twice: {out}"));
        }
        if row["State"].as_str().unwrap_or_default().is_empty() {
            return Err(format!("no State in {row}"));
        }
    }
    Ok(rows.len())
}

fn check_ps_table(out: &str) -> Result<usize, String> {
    let mut lines = out.lines();
    let header = lines.next().unwrap_or_default();
    if !header.starts_with("CONTAINER ID") || !header.ends_with("NAMES") {
        return Err(format!("bad header: {out}"));
    }
    let mut n = 0;
    let mut ids = BTreeSet::new();
    for line in lines {
        let id = line.get(..12).unwrap_or_default();
        let name = line.rsplit(' ').next().unwrap_or_default();
        let whole = id.bytes().all(|b| b.is_ascii_hexdigit())
            && line.as_bytes().get(12) == Some(&b' ')
            && name.starts_with('c')
            && name[1..].parse::<usize>().is_ok_and(|i| i < CONTAINERS);
        if !whole {
            return Err(format!("half row {line:?} in: {out}"));
        }
        if !ids.insert(id.to_string()) {
            return Err(format!("{id} listed twice: {out}"));
        }
        n += 1;
    }
    Ok(n)
}

/// Run `ps -a` (table and JSON, alternately) until `stop`; return how many
/// readings were taken and every problem seen.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

fn ps_loop(s: &TestStore, stop: &AtomicBool) -> (usize, Vec<String>) {
    let mut problems = Vec::new();
    let mut readings = 0;
    while !stop.load(Ordering::Relaxed) {
        let json = readings % 2 == 0;
        let o = if json {
            s.run(&["ps", "-a", "--format", "json"])
        } else {
            s.run(&["ps", "-a"])
        };
        readings += 1;
        if !o.status.success() {
            problems.push(format!("ps failed ({:?}): {}", o.status.code(), stderr(&o)));
            continue;
        }
        let checked = if json {
            check_ps_json(&stdout(&o))
        } else {
            check_ps_table(&stdout(&o))
        };
        if let Err(e) = checked {
            problems.push(e);
        }
    }
    (readings, problems)
}

#[test]
fn fifty_runs_then_fifty_removals_at_once_with_ps_throughout() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    let links_before = host_links();
    let names: Vec<String> = (0..CONTAINERS).map(|i| format!("c{i}")).collect();
    // Every fifth container has no network; the rest share the default
    // bridge, so 40 addresses are allocated at once.
    let no_net = |i: usize| i.is_multiple_of(5);
    let stop = AtomicBool::new(false);
    let (runs, addresses, removals, (readings, problems)) = thread::scope(|scope| {
        // A failed step must still end the reader, or the scope never ends.
        let _stop_reader = StopOnDrop(&stop);
        let reader = scope.spawn(|| ps_loop(&s, &stop));
        let runs = at_once(&s, CONTAINERS, |i| {
            let mut a = strings(&["run", "-d", "--name", &names[i]]);
            if no_net(i) {
                a.extend(strings(&["--network", "none"]));
            }
            a.push(r.clone());
            // PID 1 leaves on SIGTERM, so `rm -f` need not wait for SIGKILL.
            a.extend(strings(&[
                "sh",
                "-c",
                "trap 'exit 0' TERM; while :; do sleep 1; done",
            ]));
            a
        });
        let mut inspect = strings(&["inspect", "--format", "{{.Name}} {{.Id}}"]);
        inspect.extend(names.iter().cloned());
        let addresses = s.cmd().args(&inspect).output().expect("inspect");
        // The default network's leases, as IPAM recorded them.
        let addresses = (addresses, s.bridge_leases("podman0"));
        let removals = at_once(&s, CONTAINERS, |i| strings(&["rm", "-f", &names[i]]));
        stop.store(true, Ordering::Relaxed);
        let ps = reader.join().expect("ps thread");
        (runs, addresses, removals, ps)
    });

    let mut ids = BTreeSet::new();
    for (i, o) in runs.iter().enumerate() {
        assert!(
            o.status.success(),
            "run c{i} failed ({:?}): {}",
            o.status.code(),
            stderr(o)
        );
        let id = stdout(o).trim().to_string();
        assert_eq!(id.len(), 64, "run c{i} printed {id:?}");
        assert!(ids.insert(id), "two runs printed the same id");
    }
    let (addresses, leases) = addresses;
    assert!(addresses.status.success(), "{}", stderr(&addresses));
    let mut by_ip: BTreeMap<String, String> = BTreeMap::new();
    let mut seen_ids = BTreeSet::new();
    for (i, line) in stdout(&addresses).lines().enumerate() {
        let f: Vec<&str> = line.split(' ').collect();
        assert_eq!(f.first(), Some(&names[i].as_str()), "{line}");
        let id = f.get(1).copied().unwrap_or_default();
        assert!(ids.contains(id), "{line}: not an id run printed");
        assert!(seen_ids.insert(id.to_string()), "{line}: id twice");
        let lease = leases.get(id);
        if no_net(i) {
            assert!(lease.is_none(), "{line}: --network none holds a lease");
            continue;
        }
        let ips = lease.and_then(|l| l["ips"].as_array()).expect("a lease");
        assert_eq!(ips.len(), 1, "{line}: {ips:?}");
        let ip = ips[0].as_str().unwrap_or_default().to_string();
        if let Some(other) = by_ip.insert(ip.clone(), names[i].clone()) {
            panic!("{} and {other} both got {ip}", names[i]);
        }
    }
    assert_eq!(leases.len(), CONTAINERS - CONTAINERS / 5, "{leases:?}");
    assert_eq!(seen_ids.len(), CONTAINERS);
    for (i, o) in removals.iter().enumerate() {
        assert!(
            o.status.success(),
            "rm -f c{i} failed ({:?}): {}",
            o.status.code(),
            stderr(o)
        );
    }
    assert!(
        problems.is_empty(),
        "{} bad ps readings of {readings}: {problems:#?}",
        problems.len()
    );
    assert!(readings >= 2, "ps ran only {readings} times");

    // Nothing of ours is left: containers, mounts, links, leases, processes.
    assert_eq!(s.ok(&["ps", "-aq"]), "");
    assert_eq!(
        s.ok(&["ps", "-a", "--format", "json"]).trim(),
        "[]",
        "ps --format json of an empty store"
    );
    assert!(
        mounts_under(s.dir.path()).is_empty(),
        "{:#?}",
        mounts_under(s.dir.path())
    );
    let db = rusqlite::Connection::open(s.root().join("storage.db")).expect("storage.db");
    let storage_containers: i64 = db
        .query_row("SELECT count(*) FROM containers", [], |r| r.get(0))
        .expect("count");
    assert_eq!(storage_containers, 0, "storage containers left");
    for dir in [
        s.root().join("overlay-containers"),
        s.runroot().join("overlay-containers"),
        s.runroot().join("netns"),
    ] {
        let left: Vec<_> = std::fs::read_dir(&dir)
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "{}: {left:?}", dir.display());
    }
    // A veth goes with its container's network namespace, deleted by the
    // kernel's namespace cleanup shortly after the teardown returns.
    let ours = || -> Vec<String> {
        let links_after = host_links();
        ids.iter()
            .map(|id| host_veth_name(id, "podman"))
            .filter(|v| links_after.contains(v))
            .collect()
    };
    poll::until(
        Duration::from_secs(30),
        "the containers' veths to go with their namespaces",
        || ours().is_empty(),
    );
    let links_after = host_links();
    let new_links: Vec<&String> = links_after
        .difference(&links_before)
        .filter(|l| l.starts_with("veth"))
        .filter(|l| ids.iter().any(|id| host_veth_name(id, "podman") == **l))
        .collect();
    assert!(new_links.is_empty(), "{new_links:?}");
    let left = s.bridge_leases("podman0");
    assert!(left.is_empty(), "leases left: {left:?}");
    poll::until(
        Duration::from_secs(20),
        "no monitor or runtime process naming our run root",
        || processes_naming(&s.runroot()).is_empty(),
    );
}

#[test]
fn four_pulls_of_one_image_at_once_store_it_once() {
    let reg = Registry::start().expect("registry");
    let image = e2e::oci_image::busybox_image().expect("image");
    reg.push("bb", "latest", &image).expect("push");
    let r = reg.reference("bb", "latest");
    let s = TestStore::new();
    let pulls = at_once(&s, 4, |_| {
        strings(&["pull", "-q", "--tls-verify=false", &r])
    });
    let id = image
        .config_digest
        .trim_start_matches("sha256:")
        .to_string();
    for o in &pulls {
        assert!(
            o.status.success(),
            "pull failed ({:?}): {}",
            o.status.code(),
            stderr(o)
        );
        assert_eq!(stdout(o).trim(), id, "pull -q prints the image id");
    }
    let images: Value =
        serde_json::from_str(&s.ok(&["images", "--format", "json"])).expect("images JSON");
    let images = images.as_array().expect("array");
    assert_eq!(images.len(), 1, "{images:?}");
    assert_eq!(images[0]["Id"], id.as_str());

    let root = s.root();
    let db = rusqlite::Connection::open(root.join("storage.db")).expect("storage.db");
    let count = |table: &str| -> i64 {
        db.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .expect("count")
    };
    assert_eq!(count("images"), 1);
    assert_eq!(count("layers"), image.layers.len() as i64);
    assert_eq!(count("image_names"), 1);

    // One directory per layer, nothing half-unpacked, no temp blob.
    let layer_dirs: Vec<String> = std::fs::read_dir(root.join("overlay-layers"))
        .expect("layers dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "l" && n != "empty")
        .collect();
    assert_eq!(layer_dirs.len(), image.layers.len(), "{layer_dirs:?}");
    let links = std::fs::read_dir(root.join("overlay-layers/l"))
        .expect("links dir")
        .count();
    assert_eq!(links, image.layers.len());
    let blobs: BTreeSet<String> = std::fs::read_dir(root.join("blobs/sha256"))
        .expect("blobs dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let want: BTreeSet<String> = image
        .blobs()
        .into_iter()
        .map(|(d, _)| d.trim_start_matches("sha256:").to_string())
        .chain([image
            .manifest_digest
            .trim_start_matches("sha256:")
            .to_string()])
        .collect();
    assert_eq!(
        blobs, want,
        "blobs: the image's manifest, config and layers, nothing else"
    );
    if let Ok(tmp) = std::fs::read_dir(root.join("tmp")) {
        let left: Vec<_> = tmp.flatten().map(|e| e.file_name()).collect();
        assert!(left.is_empty(), "scratch left: {left:?}");
    }
    // And the image works.
    assert_eq!(
        s.ok(&["run", "--rm", "--network", "none", &r, "echo", "ok"]),
        "ok\n"
    );
}

#[test]
fn creates_of_one_name_at_once_one_wins() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    let creates = at_once(&s, 6, |_| {
        strings(&["create", "--name", "X", "--network", "none", &r, "true"])
    });
    let winners: Vec<&Output> = creates.iter().filter(|o| o.status.success()).collect();
    assert_eq!(winners.len(), 1, "{creates:#?}");
    let id = stdout(winners[0]).trim().to_string();
    for o in creates.iter().filter(|o| !o.status.success()) {
        assert_eq!(o.status.code(), Some(125), "{}", stderr(o));
        let e = stderr(o);
        assert!(
            e.contains(&format!(
                "the container name \"X\" is already in use by {id}"
            )),
            "{e}"
        );
        assert_eq!(e.lines().count(), 1, "one error line: {e}");
    }
    assert_eq!(s.ok(&["ps", "-aq", "--no-trunc"]).trim(), id);
    // The losers left no storage container behind.
    let db = rusqlite::Connection::open(s.root().join("storage.db")).expect("storage.db");
    let n: i64 = db
        .query_row("SELECT count(*) FROM containers", [], |r| r.get(0))
        .expect("count");
    assert_eq!(n, 1, "storage containers");
    let dirs = std::fs::read_dir(s.root().join("overlay-containers"))
        .expect("containers dir")
        .count();
    assert_eq!(dirs, 1, "container layer directories");
    s.ok(&["rm", "X"]);
}

#[test]
fn network_creates_and_removals_of_one_name_at_once() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    let creates = at_once(&s, 4, |_| {
        strings(&["network", "create", "--subnet", "10.97.3.0/24", "racenet"])
    });
    let won = creates.iter().filter(|o| o.status.success()).count();
    assert_eq!(won, 1, "{creates:#?}");
    for o in creates.iter().filter(|o| !o.status.success()) {
        assert_eq!(o.status.code(), Some(125), "{}", stderr(o));
        assert!(
            stderr(o).contains("netavark: network already exists racenet"),
            "{}",
            stderr(o)
        );
    }
    let ls = s.ok(&["network", "ls", "--format", "{{.Name}}"]);
    assert_eq!(ls.lines().filter(|l| *l == "racenet").count(), 1, "{ls}");

    // Two removals of each of four running containers at once: one
    // removes it; the other either finds it gone (Podman's "no such
    // container", exit 1) or finishes quietly as the removal it waited for.
    for i in 0..4 {
        s.ok(&[
            "run",
            "-d",
            "--name",
            &format!("victim{i}"),
            "--network",
            "racenet",
            &r,
            "sh",
            "-c",
            "trap 'exit 0' TERM; while :; do sleep 1; done",
        ]);
    }
    let removals = at_once(&s, 8, |i| {
        strings(&["rm", "-f", &format!("victim{}", i / 2)])
    });
    for (i, pair) in removals.chunks(2).enumerate() {
        let ok = pair.iter().filter(|o| o.status.success()).count();
        assert!(ok >= 1, "victim{i}: {pair:#?}");
        for o in pair.iter().filter(|o| !o.status.success()) {
            assert_eq!(o.status.code(), Some(1), "{}", stderr(o));
            assert_eq!(
                stderr(o).trim(),
                format!(
                    "Error: no container with name or ID \"victim{i}\" found: no such container"
                )
            );
        }
    }
    assert_eq!(s.ok(&["ps", "-aq"]), "");
    let removals = at_once(&s, 2, |_| strings(&["network", "rm", "racenet"]));
    let ok = removals.iter().filter(|o| o.status.success()).count();
    assert!(ok >= 1, "{removals:#?}");
    for o in removals.iter().filter(|o| !o.status.success()) {
        assert_eq!(o.status.code(), Some(1), "{}", stderr(o));
        let e = stderr(o);
        assert!(e.contains("racenet") && e.contains("not found"), "{e}");
    }
    assert!(mounts_under(s.dir.path()).is_empty());
    poll::until(
        Duration::from_secs(20),
        "no monitor or runtime process naming our run root",
        || processes_naming(&s.runroot()).is_empty(),
    );
}
