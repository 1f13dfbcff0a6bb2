//! Helpers for tests/network.rs: a private net-setup environment, host
//! snapshots, and probes run inside network namespaces.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use e2e::binaries::bin;
use serde_json::{json, Value};

pub static SERIAL: Mutex<()> = Mutex::new(());

pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn sh(prog: &str, args: &[&str]) -> Output {
    Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{prog}: {e}"))
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Whether a line or table belongs to a podman0, podman1... bridge: those
/// are what podman's own end-to-end tests (possibly running meanwhile) use;
/// these tests never do.
pub fn foreign(s: &str) -> bool {
    let named_podman = |w: &str| {
        let w = w.trim_matches(|c| c == '"' || c == ':');
        w.strip_prefix("podman")
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
    };
    s.split_whitespace().any(named_podman) && !s.contains("ntbr")
}

/// The host state a setup+teardown cycle must leave as it found it: every
/// link (`ip -o link`) and the whole ruleset (`nft list ruleset`), less
/// what belongs to podman's own bridges.
pub fn host_snapshot() -> (String, String) {
    let links = text(&sh("ip", &["-o", "link"]).stdout);
    let links: Vec<&str> = links.lines().filter(|l| !foreign(l)).collect();
    let rules = text(&sh("nft", &["list", "ruleset"]).stdout);
    let tables: Vec<String> = rules
        .split("\ntable ")
        .map(|t| t.strip_prefix("table ").unwrap_or(t).trim_end().to_string())
        .filter(|t| !t.trim().is_empty() && !foreign(t))
        .collect();
    (links.join("\n"), tables.join("\ntable "))
}

/// The names of the nft tables that exist now.
pub fn nft_tables() -> Vec<String> {
    text(&sh("nft", &["list", "tables"]).stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .collect()
}

/// A free TCP port on the host.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One test's private config and state dirs, and everything it started.
/// Drop tears down every container it set up, removes its netns files and
/// kills its processes, whatever state the test died in.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub driver: &'static str,
    pub containers: Mutex<Vec<(String, Vec<String>)>>,
    pub netns: Mutex<Vec<PathBuf>>,
    pub children: Mutex<Vec<Child>>,
}

impl Env {
    pub fn new() -> Env {
        Env::with_driver("auto")
    }

    pub fn with_driver(driver: &'static str) -> Env {
        let dir = tempfile::tempdir().unwrap();
        Env {
            dir,
            driver,
            containers: Mutex::default(),
            netns: Mutex::default(),
            children: Mutex::default(),
        }
    }

    pub fn cfg(&self) -> PathBuf {
        self.dir.path().join("networks")
    }

    pub fn state(&self) -> PathBuf {
        self.dir.path().join("run/networks")
    }

    pub fn args(&self) -> Vec<OsString> {
        let mut a: Vec<OsString> = vec![
            "--config-dir".into(),
            self.cfg().into(),
            "--state-dir".into(),
            self.state().into(),
        ];
        a.extend(["--firewall-driver".into(), self.driver.into()]);
        a
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin("net-setup"));
        c.args(self.args()).args(args);
        c
    }

    /// Run net-setup with `stdin`; its output.
    pub fn run(&self, args: &[&str], stdin: &str) -> Output {
        self.spawn(args, stdin).wait_with_output().unwrap()
    }

    /// Start net-setup with `stdin` written to it.
    pub fn spawn(&self, args: &[&str], stdin: &str) -> Child {
        let mut c = self.cmd(args);
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().expect("net-setup runs");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child
    }

    /// Run and parse its JSON output, failing with its stderr.
    pub fn ok(&self, args: &[&str], stdin: &str) -> Result<Value> {
        let o = self.run(args, stdin);
        ensure!(
            o.status.success(),
            "net-setup {args:?} failed: {}",
            text(&o.stderr)
        );
        if o.stdout.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&o.stdout)
            .with_context(|| format!("output of {args:?}: {}", text(&o.stdout)))
    }

    /// Run expecting failure; its one-line error.
    pub fn fails(&self, args: &[&str], stdin: &str) -> String {
        let o = self.run(args, stdin);
        assert_eq!(
            o.status.code(),
            Some(125),
            "{args:?} should fail: {}",
            text(&o.stdout)
        );
        let err = text(&o.stderr);
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        err
    }

    pub fn network(&self, name: &str, subnet: &str, bridge: &str, extra: &[&str]) -> Result<Value> {
        let mut a = vec![
            "network-create",
            name,
            "--subnet",
            subnet,
            "--interface-name",
            bridge,
        ];
        a.extend(extra);
        self.ok(&a, "")
    }

    pub fn netns(&self, name: &str) -> Result<PathBuf> {
        let p = self.dir.path().join("run/netns").join(name);
        self.netns.lock().unwrap().push(p.clone());
        self.ok(&["create-netns", p.to_str().unwrap()], "")?;
        Ok(p)
    }

    pub fn request(id: &str, ns: &Path, nets: Value, ports: Value) -> String {
        json!({"container_id": id, "container_name": id, "netns_path": ns, "networks": nets, "port_mappings": ports})
            .to_string()
    }

    /// Set up `id` in `ns`; its status JSON.
    pub fn setup(&self, id: &str, ns: &Path, nets: Value, ports: Value) -> Result<Value> {
        self.track(id, &nets);
        self.ok(&["setup"], &Env::request(id, ns, nets, ports))
    }

    pub fn track(&self, id: &str, nets: &Value) {
        let names = nets
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| n["name"].as_str())
            .map(String::from)
            .collect();
        self.containers
            .lock()
            .unwrap()
            .push((id.to_string(), names));
    }

    pub fn teardown(&self, id: &str, nets: Value) -> Result<()> {
        self.ok(
            &["teardown"],
            &json!({"container_id": id, "networks": nets}).to_string(),
        )?;
        self.containers.lock().unwrap().retain(|(c, _)| c != id);
        Ok(())
    }

    /// busybox httpd on port 8080 inside `ns`, serving one page.
    pub fn httpd(&self, ns: &Path) -> Result<()> {
        let www = self.dir.path().join("www");
        std::fs::create_dir_all(&www)?;
        std::fs::write(www.join("index.html"), "hello from the container\n")?;
        let c = Command::new("nsenter")
            .arg(format!("--net={}", ns.display()))
            .args(["busybox", "httpd", "-f", "-p", "8080", "-h"])
            .arg(&www)
            .stdin(Stdio::null())
            .spawn()?;
        self.children.lock().unwrap().push(c);
        Ok(())
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        for mut c in self.children.lock().unwrap().drain(..) {
            let _ = c.kill();
            let _ = c.wait();
        }
        for (id, nets) in self.containers.lock().unwrap().drain(..) {
            let nets: Vec<Value> = nets.iter().map(|n| json!({"name": n})).collect();
            let o = self.run(
                &["teardown"],
                &json!({"container_id": id, "networks": nets}).to_string(),
            );
            if !o.status.success() {
                eprintln!("cleanup: teardown {id}: {}", text(&o.stderr));
            }
        }
        for p in self.netns.lock().unwrap().drain(..) {
            let _ = self.run(&["remove-netns", p.to_str().unwrap()], "");
        }
    }
}

/// Whether process `pid` still runs (a zombie awaiting its reaper does not).
pub fn running(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
    })
}

/// Run `args` inside the netns.
pub fn in_ns(ns: &Path, args: &[&str]) -> Output {
    Command::new("nsenter")
        .arg(format!("--net={}", ns.display()))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

pub fn ping(ns: &Path, ip: &str) -> bool {
    in_ns(ns, &["busybox", "ping", "-c1", "-W1", ip])
        .status
        .success()
}

/// busybox nslookup NAME SERVER: the addresses answered, or the error text.
pub fn nslookup(ns: &Path, name: &str, server: &str) -> std::result::Result<Vec<String>, String> {
    let o = in_ns(
        ns,
        &[
            "busybox", "timeout", "5", "busybox", "nslookup", name, server,
        ],
    );
    let out = text(&o.stdout);
    let addrs: Vec<String> = out
        .split("Name:")
        .skip(1)
        .flat_map(|b| {
            b.lines()
                .filter_map(|l| l.strip_prefix("Address: ").map(|a| a.trim().to_string()))
        })
        .collect();
    if o.status.success() && !addrs.is_empty() {
        Ok(addrs)
    } else {
        Err(format!("{out}{}", text(&o.stderr)))
    }
}

pub fn addr_of(status: &Value, i: usize) -> String {
    let a = status["networks"][i]["addresses"][0]["address"]
        .as_str()
        .unwrap_or_default();
    a.split('/').next().unwrap_or_default().to_string()
}

/// GET / from 127.0.0.1:port; the body. Retries while the server starts.
pub fn http_get(port: u16, deadline: Duration) -> Result<String> {
    let started = Instant::now();
    loop {
        let attempt = (|| -> std::io::Result<String> {
            let mut s =
                TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(2))?;
            s.set_read_timeout(Some(Duration::from_secs(3)))?;
            s.write_all(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")?;
            let mut resp = String::new();
            s.read_to_string(&mut resp)?;
            Ok(resp)
        })();
        match attempt {
            Ok(r) if r.contains("200 OK") => {
                return Ok(r.split("\r\n\r\n").nth(1).unwrap_or_default().to_string())
            }
            Ok(r) if started.elapsed() > deadline => bail!("unexpected answer: {r}"),
            Err(e) if started.elapsed() > deadline => bail!("127.0.0.1:{port}: {e}"),
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}
