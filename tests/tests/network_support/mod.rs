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

/// FNV-1a, 64 bits: how net-setup derives its table name and veth names
/// (net-setup/src/ids.rs), so a test can name exactly its own objects.
fn fnv64(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in data {
        h ^= *b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// What one [`Env`] can have made on the host: its nft table (or iptables
/// chain prefix), its veths, and the bridges these tests name `ntbr*`.
/// Other tools (Podman's netavark, other test binaries) change the host
/// meanwhile, and their packets move counters: a snapshot compares only
/// these objects, and without counters.
#[derive(Debug, Clone)]
pub struct Ours {
    pub table: String,
    pub chain_prefix: String,
    pub veths: Vec<String>,
}

impl Ours {
    fn link_is_ours(&self, line: &str) -> bool {
        let name = line
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .trim_end_matches(':');
        let name = name.split('@').next().unwrap_or_default();
        name.starts_with("ntbr")
            || line.contains(" master ntbr")
            || self.veths.iter().any(|v| v == name)
    }

    fn rule_is_ours(&self, line: &str) -> bool {
        line.contains(&self.chain_prefix) || line.contains("ntbr")
    }
}

/// The host's links (`ip -o link`) and its ruleset without counters
/// (`nft -s list ruleset`), as found; compare them with [`same_for`].
#[derive(Debug, Clone)]
pub struct Snapshot {
    links: String,
    rules: String,
}

pub fn host_snapshot() -> Snapshot {
    Snapshot {
        links: text(&sh("ip", &["-o", "link"]).stdout),
        rules: text(&sh("nft", &["-s", "list", "ruleset"]).stdout),
    }
}

impl Snapshot {
    /// Only `ours`: (our links, our table plus every rule naming our chains
    /// or bridges in other tables).
    pub fn of(&self, ours: &Ours) -> (String, String) {
        let links: Vec<&str> = self
            .links
            .lines()
            .filter(|l| ours.link_is_ours(l))
            .map(|l| l.split_once(": ").map_or(l, |(_, rest)| rest))
            .collect();
        let header = format!("table inet {}", ours.table);
        let mut rules = Vec::new();
        for t in self.rules.split("\ntable ") {
            let t = t.strip_prefix("table ").unwrap_or(t).trim_end();
            let t = format!("table {t}");
            if t.lines()
                .next()
                .is_some_and(|h| h.trim_end_matches(" {") == header)
            {
                rules.push(t);
            } else {
                rules.extend(
                    t.lines()
                        .filter(|l| ours.rule_is_ours(l))
                        .map(|l| l.trim().to_string()),
                );
            }
        }
        // Link indexes differ between a link and its re-creation.
        (links.join("\n"), rules.join("\n"))
    }
}

/// Assert the host holds exactly the objects of `ours` it held at `before`.
pub fn assert_same_for(before: &Snapshot, ours: &Ours) {
    let (now, then) = (host_snapshot().of(ours), before.of(ours));
    assert_eq!(now.0, then.0, "our links changed");
    assert_eq!(now.1, then.1, "our firewall rules changed");
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
    /// Networks made with [`Env::network`]: removed on drop (their bridges
    /// and chains stay until then).
    pub networks: Mutex<Vec<String>>,
    /// Every (container, network) ever set up: their veth names.
    pub seen: Mutex<Vec<(String, String)>>,
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
            seen: Mutex::default(),
            networks: Mutex::default(),
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

    /// This environment's own host objects (net-setup's naming: the table
    /// suffix hashes the state dir, a veth name the container and network).
    pub fn ours(&self) -> Ours {
        let state = self.state();
        let suffix = format!("{:08x}", fnv64(state.as_os_str().as_encoded_bytes()) as u32);
        let veths = self
            .seen
            .lock()
            .unwrap()
            .iter()
            .map(|(c, n)| {
                let h = fnv64(format!("{c}\0{n}").as_bytes());
                format!("veth{:08x}", (h ^ (h >> 32)) as u32)
            })
            .collect();
        Ours {
            table: format!("podman_rs_{suffix}"),
            chain_prefix: format!("PRS{}", &suffix[..6]),
            veths,
        }
    }

    /// This test's stand-in for the host-wide state (bridges' leases).
    pub fn host_state(&self) -> PathBuf {
        self.dir.path().join("run/host")
    }

    pub fn args(&self) -> Vec<OsString> {
        let mut a: Vec<OsString> = vec![
            "--config-dir".into(),
            self.cfg().into(),
            "--state-dir".into(),
            self.state().into(),
            "--host-state-dir".into(),
            self.host_state().into(),
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
        let made = self.ok(&a, "")?;
        self.networks.lock().unwrap().push(name.to_string());
        Ok(made)
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
            .collect::<Vec<String>>();
        self.seen
            .lock()
            .unwrap()
            .extend(names.iter().map(|n| (id.to_string(), n.clone())));
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
        for n in self.networks.lock().unwrap().drain(..) {
            let o = self.run(&["network-rm", &n], "");
            if !o.status.success() && !text(&o.stderr).contains("not found") {
                eprintln!("cleanup: network-rm {n}: {}", text(&o.stderr));
            }
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
