//! The foundation end to end: `podman version` and `info` talk to all four
//! real helpers over socketpairs; bad input gives one line and exit 125 and
//! writes nothing; a helper that is missing or dies is named; killing podman
//! mid-call leaves no helper behind; helpers serve on unix sockets too.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use e2e::binaries::{bin, bin_dir, HELPERS};

/// A private store for one test: graph root and run root in a temp dir.
struct Store {
    dir: tempfile::TempDir,
}

impl Store {
    fn new() -> Store {
        Store {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }
    fn runroot(&self) -> PathBuf {
        self.dir.path().join("run")
    }
    fn podman(&self) -> Command {
        let mut c = Command::new(bin("podman"));
        c.arg("--root")
            .arg(self.root())
            .arg("--runroot")
            .arg(self.runroot());
        c.env_remove("PODMAN_HELPER_DIR")
            .env_remove("CONTAINERS_CONF");
        c
    }
}

fn run(mut c: Command) -> Output {
    c.stdin(Stdio::null()).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts the Podman error convention: exit 125 and one `Error:` line.
fn assert_engine_error(o: &Output, must_contain: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(125), "stderr: {err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "want one line, got: {err}");
    assert!(lines[0].starts_with("Error: "), "{err}");
    for m in must_contain {
        assert!(err.contains(m), "{err:?} should mention {m:?}");
    }
}

#[test]
fn version_shows_every_helper_version_fetched_over_rpc() {
    let s = Store::new();
    let mut c = s.podman();
    c.args(["version", "--format", "json"]);
    let o = run(c);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // Podman's version (the contract), and our own build beside it.
    assert_eq!(v["Client"]["Version"], "5.4.0");
    assert_eq!(
        v["Client"]["BuildOrigin"],
        format!("podman-rs {}", env!("CARGO_PKG_VERSION"))
    );
    let helpers = v["Helpers"].as_array().unwrap();
    let names: Vec<&str> = helpers
        .iter()
        .map(|h| h["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, HELPERS);
    for h in helpers {
        assert_eq!(h["Version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(h["APIVersion"], 1);
        assert!(Path::new(h["Path"].as_str().unwrap()).starts_with(bin_dir()));
    }
    // Plain output and Go templates.
    let o = run({
        let mut c = s.podman();
        c.arg("version");
        c
    });
    let out = stdout(&o);
    for h in HELPERS {
        assert!(out.contains(h), "{out}");
    }
    let o = run({
        let mut c = s.podman();
        c.args(["version", "--format", "{{.Client.Version}}"]);
        c
    });
    assert_eq!(stdout(&o), "5.4.0\n");
    // version needs no store: nothing was created.
    assert!(!s.root().exists() && !s.runroot().exists());
}

#[test]
fn debug_log_shows_each_spawn_and_call_with_durations() {
    let s = Store::new();
    let mut c = s.podman();
    c.args(["--log-level", "debug", "version"]);
    let o = run(c);
    assert!(o.status.success());
    let err = stderr(&o);
    for h in HELPERS {
        let spawned = err
            .lines()
            .find(|l| l.contains("msg=\"spawned helper\"") && l.contains(&format!("helper={h} ")));
        let spawned = spawned.unwrap_or_else(|| panic!("no spawn line for {h}: {err}"));
        assert!(spawned.contains("elapsed_ms="), "{spawned}");
        let done = err.lines().find(|l| {
            l.contains("msg=\"call done\"")
                && l.contains(&format!("helper={h} "))
                && l.contains("method=Info")
        });
        assert!(
            done.is_some_and(|l| l.contains("elapsed_ms=")),
            "no timed call line for {h}: {err}"
        );
        assert!(
            err.lines()
                .any(|l| l.contains("msg=\"helper exited\"") && l.contains(&format!("helper={h} "))),
            "{err}"
        );
    }
    // Frame-level HTTP/2 chatter stays out of debug output.
    assert!(!err.contains("send frame"), "{err}");
}

#[test]
fn info_reports_host_store_runtimes_and_helpers_in_podmans_shape() {
    let s = Store::new();
    let mut c = s.podman();
    c.args(["info", "--format", "json"]);
    let o = run(c);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        a => a,
    };
    assert_eq!(v["host"]["arch"], arch);
    assert_eq!(v["host"]["os"], "linux");
    assert_eq!(v["store"]["graphRoot"], s.root().display().to_string());
    assert_eq!(v["store"]["runRoot"], s.runroot().display().to_string());
    assert_eq!(v["store"]["graphDriverName"], "overlay");
    assert_eq!(v["store"]["containerStore"]["number"], 0);
    assert_eq!(v["store"]["imageStore"]["number"], 0);
    // The chosen runtime is one the monitor proved works here.
    let chosen = v["host"]["ociRuntime"]["path"].as_str().unwrap();
    let runtimes = v["host"]["ociRuntimes"].as_array().unwrap();
    let entry = runtimes.iter().find(|r| r["path"] == chosen).unwrap();
    assert_eq!(entry["works"], true, "{entry}");
    // A runtime that is installed but fails (crun 1.8 on cgroup v1 hybrid) carries its own error.
    for r in runtimes.iter().filter(|r| r["works"] == false) {
        assert!(!r["error"].as_str().unwrap().is_empty(), "{r}");
    }
    assert!(v["host"]["networkBackendInfo"]["firewallBackend"].is_string());
    // net-setup speaks netavark's files and DNS behaviour, under its name.
    assert_eq!(v["host"]["networkBackend"], "netavark");
    assert_eq!(v["helpers"].as_array().unwrap().len(), 4);
    // Templates use Go field names.
    let o = run({
        let mut c = s.podman();
        c.args([
            "info",
            "--format",
            "{{.Host.Arch}} {{.Host.OCIRuntime.Name}} {{.Store.GraphRoot}}",
        ]);
        c
    });
    assert_eq!(
        stdout(&o),
        format!(
            "{arch} {} {}\n",
            v["host"]["ociRuntime"]["name"].as_str().unwrap(),
            s.root().display()
        )
    );
    // The state database exists, in WAL mode, at the current schema version.
    let db = s.root().join("db.sql");
    let header = std::fs::read(&db).unwrap();
    assert_eq!(&header[..16], b"SQLite format 3\0");
    assert_eq!((header[18], header[19]), (2, 2), "journal mode is not WAL");
    // The schema version may still sit in the WAL (podman does not
    // checkpoint on every close): ask SQLite, as any reader would.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let user_version: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert!(user_version >= 1, "schema version {user_version}");
}

#[test]
fn info_selects_the_runtime_named_by_flag_and_refuses_unknown_ones() {
    let s = Store::new();
    let o = run({
        let mut c = s.podman();
        c.args([
            "--runtime",
            "runc",
            "info",
            "--format",
            "{{.Host.OCIRuntime.Name}}",
        ]);
        c
    });
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "runc\n");
    let o = run({
        let mut c = s.podman();
        c.args(["--runtime", "no-such-runtime", "info"]);
        c
    });
    assert_engine_error(&o, &["no-such-runtime", "--runtime"]);
}

#[test]
fn many_concurrent_podman_processes_share_a_fresh_store() {
    let s = Store::new();
    let children: Vec<_> = (0..8)
        .map(|_| {
            let mut c = s.podman();
            c.args(["info", "--format", "{{.Store.ContainerStore.Number}}"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            c.spawn().unwrap()
        })
        .collect();
    for ch in children {
        let o = ch.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(stdout(&o), "0\n");
    }
}

#[test]
fn unknown_commands_and_flags_are_one_line_exit_125() {
    let s = Store::new();
    // Podman's (cobra's) texts: the error line, then where to look.
    for args in [
        vec!["frobnicate"],
        vec!["--no-such-flag", "version"],
        vec!["version", "--bogus"],
    ] {
        let mut c = s.podman();
        c.args(&args);
        let o = run(c);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(125), "stderr: {err}");
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 2, "{err}");
        assert!(lines[0].starts_with("Error: "), "{err}");
        assert!(lines[1].contains(" --help'"), "{err}");
    }
    // An unknown log level is exit 1, as in Podman.
    let o = run({
        let mut c = s.podman();
        c.args(["--log-level", "loud", "version"]);
        c
    });
    assert_eq!(o.status.code(), Some(1));
    assert!(
        !s.root().exists() && !s.runroot().exists(),
        "nothing may be written on bad input"
    );
    // Help and --version still succeed.
    let o = run({
        let mut c = s.podman();
        c.arg("--help");
        c
    });
    assert!(o.status.success() && stdout(&o).contains("info"));
}

#[test]
fn malformed_config_files_name_the_file_and_write_nothing() {
    let s = Store::new();
    let conf = s.dir.path().join("containers.conf");
    std::fs::write(&conf, "[engine]\nruntime = \n").unwrap();
    let o = run({
        let mut c = s.podman();
        c.env("CONTAINERS_CONF", &conf).arg("info");
        c
    });
    assert_engine_error(&o, &[conf.to_str().unwrap(), "line 2"]);

    std::fs::write(&conf, "[engine]\ncgroup_manager = \"upstart\"\n").unwrap();
    let o = run({
        let mut c = s.podman();
        c.env("CONTAINERS_CONF", &conf).arg("info");
        c
    });
    assert_engine_error(&o, &["cgroup_manager", "upstart"]);

    let missing = s.dir.path().join("missing.conf");
    let o = run({
        let mut c = s.podman();
        c.env("CONTAINERS_CONF", &missing).arg("version");
        c
    });
    assert_engine_error(&o, &["missing.conf"]);

    let reg = s.dir.path().join("registries.conf");
    std::fs::write(&reg, "unqualified-search-registries = [\"docker.io\"\n").unwrap();
    let o = run({
        let mut c = s.podman();
        c.env("CONTAINERS_REGISTRIES_CONF", &reg).arg("info");
        c
    });
    assert_engine_error(&o, &["registries.conf"]);

    let unreadable = s.dir.path().join("dir.conf");
    std::fs::create_dir(&unreadable).unwrap();
    let o = run({
        let mut c = s.podman();
        c.env("CONTAINERS_CONF", &unreadable).arg("info");
        c
    });
    assert_engine_error(&o, &["dir.conf"]);
    assert!(
        !s.root().exists() && !s.runroot().exists(),
        "nothing may be written on bad config"
    );
}

#[test]
fn a_missing_helper_is_named_with_the_fix() {
    let s = Store::new();
    // A podman binary alone in a directory, with no helpers beside it.
    let lonely = s.dir.path().join("lonely");
    std::fs::create_dir(&lonely).unwrap();
    std::fs::copy(bin("podman"), lonely.join("podman")).unwrap();
    let o = Command::new(lonely.join("podman"))
        .arg("--root")
        .arg(s.root())
        .arg("--runroot")
        .arg(s.runroot())
        .arg("version")
        .env_remove("PODMAN_HELPER_DIR")
        .output()
        .unwrap();
    assert_engine_error(&o, &["helper binary", "not found", "helper_binaries_dir"]);
}

/// A helper directory with the real helpers except `replace`, which is the
/// given shell script.
fn helper_dir_with(dir: &Path, replace: &str, script: &str) -> PathBuf {
    let d = dir.join("helpers");
    std::fs::create_dir_all(&d).unwrap();
    for h in HELPERS {
        let p = d.join(h);
        if h == replace {
            std::fs::write(&p, script).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        } else {
            std::os::unix::fs::symlink(bin(h), &p).unwrap();
        }
    }
    d
}

#[test]
fn a_helper_that_dies_mid_call_is_named_with_how_it_died() {
    let s = Store::new();
    // Reads the request, then dies by SIGKILL before answering.
    let d = helper_dir_with(
        s.dir.path(),
        "storage-helper",
        "#!/bin/sh\nsleep 0.3\nkill -9 $$\n",
    );
    let o = run({
        let mut c = s.podman();
        c.env("PODMAN_HELPER_DIR", &d).arg("info");
        c
    });
    assert_engine_error(&o, &["storage-helper", "SIGKILL", "Info"]);

    let d2 = s.dir.path().join("second");
    std::fs::create_dir(&d2).unwrap();
    let d2 = helper_dir_with(&d2, "net-setup", "#!/bin/sh\nexit 3\n");
    let o = run({
        let mut c = s.podman();
        c.env("PODMAN_HELPER_DIR", &d2).arg("version");
        c
    });
    assert_engine_error(&o, &["net-setup", "exited with code 3"]);
}

fn alive(pid: i32) -> bool {
    // A zombie is dead for our purposes; only a running helper counts.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => {
            s.rsplit(')')
                .next()
                .and_then(|r| r.split_whitespace().next())
                != Some("Z")
        }
        Err(_) => false,
    }
}

#[test]
#[allow(unsafe_code)]
fn sigkill_of_podman_mid_call_leaves_no_helper_behind() {
    // Orphans are re-parented to us, as to init on a normal machine, and we
    // reap them (this sandbox's PID 1 does not).
    // SAFETY: prctl with plain integer arguments on our own process.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    for attempt in 0..3 {
        let s = Store::new();
        let mut c = s.podman();
        // A fresh run root makes ctr-monitor run its trial containers: a slow call.
        c.args(["--log-level", "debug", "info"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        let reader = BufReader::new(child.stderr.take().unwrap());
        let mut pids = Vec::new();
        let mut calls_in_flight = 0;
        for line in reader.lines() {
            let line = line.unwrap();
            if line.contains("spawned helper") {
                let pid: i32 = line
                    .split("pid=")
                    .nth(1)
                    .unwrap()
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap();
                pids.push(pid);
            }
            let is_call = line.contains("msg=\"call\"");
            if is_call {
                calls_in_flight += 1;
            }
            if line.contains("call done") {
                calls_in_flight -= 1;
            }
            if pids.len() == 4 && is_call && line.contains("helper=ctr-monitor") {
                break;
            }
        }
        assert_eq!(pids.len(), 4, "did not see four helpers start");
        child.kill().unwrap();
        child.wait().unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while pids.iter().any(|p| alive(*p)) && Instant::now() < deadline {
            // Reap the helpers re-parented to us, and only them: waiting for
            // any child would steal the children of tests running beside
            // this one in other threads.
            for p in &pids {
                let _ = nix::sys::wait::waitpid(
                    nix::unistd::Pid::from_raw(*p),
                    Some(nix::sys::wait::WaitPidFlag::WNOHANG),
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let left: Vec<i32> = pids.iter().copied().filter(|p| alive(*p)).collect();
        assert!(
            left.is_empty(),
            "helpers still running after podman was killed: {left:?}"
        );
        if calls_in_flight > 0 {
            return; // We killed podman in the middle of at least one call.
        }
        eprintln!("attempt {attempt}: every call had finished before the kill; trying again");
    }
    panic!("could not catch podman in the middle of a helper call");
}

#[test]
fn helpers_serve_many_clients_on_a_unix_socket_and_stop_on_sigterm() {
    let s = Store::new();
    let sock = s.dir.path().join("sh.sock");
    let mut child = Command::new(bin("storage-helper"))
        .arg("--root")
        .arg(s.root())
        .arg("serve")
        .arg("--listen")
        .arg(format!("unix:{}", sock.display()))
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !sock.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        for _ in 0..3 {
            let ch = proto::transport::connect_unix(&sock).await.unwrap();
            let mut c = proto::storage::v1::storage_client::StorageClient::new(ch);
            let r = c
                .info(proto::common::v1::InfoRequest::default())
                .await
                .unwrap()
                .into_inner();
            assert_eq!(r.identity.unwrap().name, "storage-helper");
            assert_eq!(r.graph_root, s.root().display().to_string());
        }
    });
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let st = child.wait().unwrap();
    assert!(st.success(), "{st}");
    assert!(!sock.exists(), "socket file left behind");
}

#[test]
fn helpers_answer_alone_from_a_shell() {
    let s = Store::new();
    let o = Command::new(bin("ctr-monitor"))
        .arg("--runroot")
        .arg(s.runroot())
        .args(["info", "--probe", "--json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let runc = v
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "runc")
        .expect("runc is installed");
    assert_eq!(runc["works"], true, "{runc}");
    // The probe result is cached for the next caller.
    assert!(s.runroot().join("runtime-probe.json").exists());

    let o = Command::new(bin("storage-helper"))
        .arg("--root")
        .arg(s.root())
        .args(["info", "--probe", "--json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["overlay_usable"], true, "{v}");

    let o = Command::new(bin("net-setup"))
        .args(["info", "--json"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        v["nftables"]["available"] == true || v["iptables"]["available"] == true,
        "{v}"
    );

    let o = Command::new(bin("image-fetcher"))
        .args(["info", "--json"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["certificate_count"].as_u64().unwrap() > 0, "{v}");

    // Run without podman, the fd face refuses a descriptor that is not a socket.
    let o = Command::new(bin("net-setup"))
        .args(["serve", "--grpc-fd", "0"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(125));
    assert!(stderr(&o).contains("not a socket"), "{}", stderr(&o));
}
