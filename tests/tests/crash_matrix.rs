//! The kill matrix: podman SIGKILLs itself at each stage of pull, create,
//! start, run, stop, cleanup, rm and network setup/teardown
//! (`PODMAN_RS_TEST_KILL_AT`), and then `ps -a`, `images`, `rm -a -f`,
//! `rmi` and `network rm` must work and the host must hold exactly the
//! mounts, links, firewall rules, netns files, processes and files it held
//! before. Each case has its own store, network (subnet, bridge) and
//! container command, so cases run in parallel and compare only what is
//! theirs: other tools' bridges and rules exist on this machine.

use std::collections::BTreeSet;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use e2e::podman::TestStore;

const KILL_AT: &str = "PODMAN_RS_TEST_KILL_AT";
/// Set on every command of a case: its processes (helpers, monitors, exit
/// commands) are the ones whose environment holds it.
const MARKER: &str = "PODMAN_RS_CRASH_CASE";

struct Case {
    /// Distinct per case: subnet, bridge name and container command.
    index: u8,
    stage: &'static str,
    /// Commands run before the killed one (`{img}`, `{net}`, `{cmd}` are
    /// replaced).
    prepare: &'static [&'static [&'static str]],
    killed: &'static [&'static str],
}

struct Env<'a> {
    store: &'a TestStore,
    image: String,
    net: String,
    bridge: String,
    subnet_prefix: String,
    sleep: String,
    marker: String,
}

impl Env<'_> {
    fn expand(&self, args: &[&str]) -> Vec<String> {
        let mut out = Vec::new();
        for a in args {
            match *a {
                "{img}" => out.push(self.image.clone()),
                "{net}" => out.push(self.net.clone()),
                // A command no other test runs: its processes are findable.
                "{cmd}" => out.extend(["sleep".to_string(), self.sleep.clone()]),
                other => out.push(other.to_string()),
            }
        }
        out
    }

    fn ok(&self, args: &[&str]) -> String {
        self.ok_killing_at(args, "")
    }

    /// `ok` with the kill point set: the container's monitor and its exit
    /// command inherit it from the command that started them.
    fn ok_killing_at(&self, args: &[&str], stage: &str) -> String {
        let args = self.expand(args);
        let o = self
            .store
            .cmd()
            .env(MARKER, &self.marker)
            .env(KILL_AT, stage)
            .args(&args)
            .output()
            .expect("run podman");
        assert!(
            o.status.success(),
            "podman {args:?} failed ({:?}): {}",
            o.status.code(),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
}

/// What the host holds that is this case's.
#[derive(Debug)]
struct Snapshot {
    mounts: BTreeSet<String>,
    links: BTreeSet<String>,
    rules: BTreeSet<String>,
    netns: BTreeSet<String>,
    files: BTreeSet<String>,
}

/// (what, gained or lost, item) for each difference.
fn differences(before: &Snapshot, after: &Snapshot) -> Vec<String> {
    let mut out = Vec::new();
    for (what, b, a) in [
        ("mount", &before.mounts, &after.mounts),
        ("link", &before.links, &after.links),
        ("rule", &before.rules, &after.rules),
        ("netns", &before.netns, &after.netns),
        ("file", &before.files, &after.files),
    ] {
        out.extend(a.difference(b).map(|x| format!("{what} gained: {x}")));
        out.extend(b.difference(a).map(|x| format!("{what} lost: {x}")));
    }
    out
}

fn snapshot(env: &Env) -> Snapshot {
    let top = env.store.dir.path();
    let top_s = top.display().to_string();
    let mounts = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| l.split(' ').nth(4).is_some_and(|m| m.starts_with(&top_s)))
        .map(|l| l.split(' ').nth(4).unwrap().to_string())
        .collect();
    let out = std::process::Command::new("ip")
        .args(["-o", "link", "show"])
        .output()
        .unwrap();
    let links = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| {
            l.contains(&format!(": {}:", env.bridge))
                || l.contains(&format!("master {} ", env.bridge))
        })
        .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        .collect();
    let out = std::process::Command::new("nft")
        .args(["list", "ruleset"])
        .output()
        .unwrap();
    let rules = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(&env.subnet_prefix) || l.contains(&env.bridge))
        .map(|l| l.trim().to_string())
        .collect();
    let netns = std::fs::read_dir(env.store.runroot().join("netns"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let mut files = BTreeSet::new();
    walk(top, top, &mut files);
    Snapshot {
        mounts,
        links,
        rules,
        netns,
        files,
    }
}

/// Regular files and symlinks under `dir`, relative to `top`. Mount points
/// are not entered (a leaked mount shows up in `mounts`).
fn walk(top: &Path, dir: &Path, out: &mut BTreeSet<String>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            walk(top, &p, out);
        } else if ft.is_symlink() && p.parent().is_some_and(|d| d.ends_with("overlay-layers/l")) {
            // Short layer links get a random name each time a layer is
            // unpacked: what they point at is what counts.
            let target = std::fs::read_link(&p).unwrap_or_default();
            out.insert(format!("overlay-layers/l/* -> {}", target.display()));
        } else {
            out.insert(p.strip_prefix(top).unwrap().display().to_string());
        }
    }
}

/// Live (not zombie) processes of this case: helpers, monitors, exit
/// commands (by the marker in their environment) and the container's
/// command (by its unique command line).
fn our_processes(env: &Env) -> Vec<(i32, String)> {
    let marker = format!("{MARKER}={}", env.marker);
    let sleep_cmd = format!("sleep\0{}\0", env.sleep);
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if !e2e::poll::running(pid) {
            continue;
        }
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let ours = environ.split(|b| *b == 0).any(|v| v == marker.as_bytes())
            || String::from_utf8_lossy(&cmdline).ends_with(&sleep_cmd);
        if ours {
            out.push((pid, String::from_utf8_lossy(&cmdline).replace('\0', " ")));
        }
    }
    out
}

/// Removes the case's network (and whatever uses it) if the case fails
/// half-way, so a failure leaves no bridge or rules behind.
struct NetworkGuard<'a>(&'a TestStore, String);

impl Drop for NetworkGuard<'_> {
    fn drop(&mut self) {
        let _ = self
            .0
            .cmd()
            .args(["network", "rm", "-f", "-t", "0", &self.1])
            .output();
    }
}

/// Stages of the cleanup after an exit. `stop` and the monitor's exit
/// command both run it and whichever takes the container lock first does
/// the work (as in Podman, the lock is not held while the container
/// stops). With the kill point in the exit command's environment too,
/// `stop` dies at the stage either way: first, or when it redoes the
/// half-done cleanup of the exit command that died there.
fn reached_by_exit_cleanup(stage: &str) -> bool {
    stage.starts_with("cleanup-") || stage.starts_with("net-teardown-")
}

fn run_case(case: &Case) {
    let (store, _registry, image) = e2e::podman::with_busybox();
    let env = Env {
        store: &store,
        image,
        net: format!("crash{}", case.index),
        bridge: format!("pcrash{}", case.index),
        subnet_prefix: format!("10.97.{}.", case.index),
        sleep: format!("97{:03}1", case.index),
        marker: format!("{}-{}", case.stage, std::process::id()),
    };
    env.ok(&[
        "network",
        "create",
        "--subnet",
        &format!("10.97.{}.0/24", case.index),
        "--interface-name",
        &env.bridge.clone(),
        "{net}",
    ]);
    let _guard = NetworkGuard(&store, env.net.clone());
    // One whole run first: the database, the runtime probe's cache and the
    // bridge exist from then on, as they would on any used machine.
    env.ok(&["run", "--rm", "--network", "{net}", "{img}", "true"]);
    // That run's veth goes with its namespace, shortly after it returns:
    // the host to compare with has only the bridge.
    e2e::poll::until(
        Duration::from_secs(30),
        &format!("{}: the first run's veth to go", case.stage),
        || snapshot(&env).links.len() == 1,
    );
    let before = snapshot(&env);
    for p in case.prepare {
        if reached_by_exit_cleanup(case.stage) {
            env.ok_killing_at(p, case.stage);
        } else {
            env.ok(p);
        }
    }
    let args = env.expand(case.killed);
    let status = store
        .cmd()
        .env(KILL_AT, case.stage)
        .env(MARKER, &env.marker)
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(
        status.signal(),
        Some(libc::SIGKILL),
        "podman {args:?} was to die at {} but ended with {status:?}",
        case.stage
    );

    // Recovery: the commands a user runs next all work.
    env.ok(&["ps", "-a"]);
    env.ok(&["images"]);
    env.ok(&["rm", "-a", "-f", "-t", "0"]);
    let left = env.ok(&["ps", "-a", "--external", "-q"]);
    assert_eq!(left, "", "{}: containers left after rm -a -f", case.stage);
    if case.stage.starts_with("pull") {
        // A second pull finishes what the first left.
        env.ok(&["pull", "-q", "--tls-verify=false", "{img}"]);
    }
    e2e::poll::until(
        Duration::from_secs(30),
        &format!("{}: the case's processes to end", case.stage),
        || our_processes(&env).is_empty(),
    );
    // A veth goes with its container's network namespace, deleted by the
    // kernel's namespace cleanup shortly after the teardown returns.
    e2e::poll::until(
        Duration::from_secs(30),
        &format!(
            "{}: the case's veths to go with their namespaces",
            case.stage
        ),
        || snapshot(&env).links == before.links,
    );
    let after = snapshot(&env);
    let differences = differences(&before, &after);
    assert!(
        differences.is_empty(),
        "{}: the host differs from before the kill: {differences:#?}",
        case.stage
    );
    env.ok(&["rmi", "{img}"]);
    assert_eq!(env.ok(&["images", "-q"]), "", "{}: images left", case.stage);
    env.ok(&["network", "rm", "{net}"]);
    let gone = snapshot(&env);
    assert!(
        gone.links.is_empty() && gone.rules.is_empty(),
        "{}: network left links {:?} or rules {:?}",
        case.stage,
        gone.links,
        gone.rules
    );
}

const RUN_D: &[&str] = &[
    "run",
    "-d",
    "--name",
    "c",
    "--network",
    "{net}",
    "-p",
    "80",
    "{img}",
    "{cmd}",
];
const CREATE: &[&str] = &[
    "create",
    "--name",
    "c",
    "--network",
    "{net}",
    "-p",
    "80",
    "{img}",
    "{cmd}",
];

macro_rules! case {
    ($name:ident, $index:expr, $stage:expr, [$($prep:expr),*], $killed:expr) => {
        #[test]
        fn $name() {
            run_case(&Case {
                index: $index,
                stage: $stage,
                prepare: &[$($prep),*],
                killed: $killed,
            });
        }
    };
}

case!(
    create_killed_after_storage_create,
    1,
    "create-after-storage",
    [],
    CREATE
);
case!(
    create_killed_after_state_insert,
    2,
    "create-after-insert",
    [],
    CREATE
);
case!(
    start_killed_after_mount,
    3,
    "start-after-mount",
    [CREATE],
    &["start", "c"]
);
case!(
    start_killed_after_netns,
    4,
    "net-after-netns",
    [CREATE],
    &["start", "c"]
);
case!(
    start_killed_after_network_setup,
    5,
    "start-after-network",
    [CREATE],
    &["start", "c"]
);
case!(
    run_killed_after_runtime_start,
    6,
    "start-after-runtime",
    [],
    RUN_D
);
case!(
    run_killed_after_state_update,
    7,
    "start-after-update",
    [],
    RUN_D
);
case!(
    run_rm_killed_after_runtime_start,
    8,
    "start-after-runtime",
    [],
    &[
        "run",
        "--rm",
        "--network",
        "{net}",
        "-p",
        "80",
        "{img}",
        "{cmd}"
    ]
);
case!(
    stop_killed_after_signal,
    9,
    "stop-after-signal",
    [RUN_D],
    &["stop", "-t", "0", "c"]
);
case!(
    stop_killed_after_network_teardown,
    10,
    "cleanup-after-teardown",
    [RUN_D],
    &["stop", "-t", "0", "c"]
);
case!(
    stop_killed_between_teardown_and_netns_removal,
    11,
    "net-teardown-after-teardown",
    [RUN_D],
    &["stop", "-t", "0", "c"]
);
case!(
    stop_killed_after_unmount,
    12,
    "cleanup-after-unmount",
    [RUN_D],
    &["stop", "-t", "0", "c"]
);
case!(
    rm_killed_after_release,
    13,
    "rm-after-release",
    [RUN_D],
    &["rm", "-f", "-t", "0", "c"]
);
case!(
    rm_killed_after_storage_removal,
    14,
    "rm-after-storage",
    [RUN_D],
    &["rm", "-f", "-t", "0", "c"]
);
case!(
    rm_killed_after_state_delete,
    15,
    "rm-after-delete",
    [RUN_D],
    &["rm", "-f", "-t", "0", "c"]
);
case!(
    pull_killed_after_fetch,
    16,
    "pull-after-fetch",
    [&["rmi", "{img}"]],
    &["pull", "-q", "--tls-verify=false", "{img}"]
);
case!(
    pull_killed_after_import,
    17,
    "pull-after-import",
    [&["rmi", "{img}"]],
    &["pull", "-q", "--tls-verify=false", "{img}"]
);
