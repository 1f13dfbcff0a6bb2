//! The `run`/`create` flags beyond the first set, checked before anything
//! is touched: sysctls, devices, namespaces, time zone, log options, pid
//! files, platform and the environment from the host.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::create_options::CreateOptions;
use crate::container::model::{DeviceRule, DeviceSpec, RunExtras};

/// Podman's annotation that records `--cidfile` (removed with the container).
pub const CIDFILE_ANNOTATION: &str = "io.podman.annotations.cid-file";

/// Where IANA zone files are looked up.
pub const ZONEINFO: &str = "/usr/share/zoneinfo";

/// What the extra flags add to the container.
#[derive(Debug, Default)]
pub struct More {
    pub extras: RunExtras,
    /// Variables from `--env-host` and `--http-proxy`, before `--env-file`/`-e`.
    pub host_env: Vec<String>,
    /// `--label-file` labels, before `-l`.
    pub file_labels: Vec<(String, String)>,
    /// `--expose` as "PORT/PROTO".
    pub expose: Vec<String>,
    /// `--log-opt driver=` (over `--log-driver`, as libpod).
    pub log_driver: Option<String>,
    /// `--log-opt path=`.
    pub log_path: Option<PathBuf>,
    /// `--cidfile`, made absolute.
    pub cidfile: Option<PathBuf>,
    /// `-a stdin` alone: print the ID, do not attach output.
    pub attach_stdin_only: bool,
    /// The user namespace asked for (allocated at create).
    pub userns: super::create_userns::Request,
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}

/// `--rootfs PATH[:O]`: the exploded root file system a container runs on.
#[derive(Debug, Clone)]
pub struct Rootfs {
    pub path: std::path::PathBuf,
    /// `:O`: an overlay on it keeps the directory untouched.
    pub overlay: bool,
}

/// Podman's `--rootfs` argument: a directory, then `:O` for an overlay.
pub fn rootfs(arg: &str) -> anyhow::Result<Rootfs> {
    let (path, overlay) = match arg.rsplit_once(':') {
        Some((p, "O")) => (p, true),
        Some((_, o)) if o == "idmap" || o.starts_with("idmap=") => anyhow::bail!(
            "--rootfs {arg}: the idmap option is not implemented yet in podman-rs: drop it or use --uidmap with an image"
        ),
        _ => (arg, false),
    };
    let p = absolute(Path::new(path));
    if !p.is_dir() {
        anyhow::bail!(
            "--rootfs {path}: not a directory: give the directory of an exploded root file system"
        );
    }
    let path = std::fs::canonicalize(&p).map_err(|e| anyhow::anyhow!("--rootfs {path}: {e}"))?;
    Ok(Rootfs { path, overlay })
}

/// Every extra flag checked; `host_network` is `--network host`.
/// A umask as Podman takes it: one to four octal digits.
pub fn umask(v: &str) -> anyhow::Result<String> {
    if (1..=4).contains(&v.len()) && v.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        Ok(v.to_string())
    } else {
        anyhow::bail!(
            "invalid umask string {v}: give 1 to 4 octal digits such as 0022: invalid argument"
        )
    }
}

pub fn parse(a: &CreateOptions, host_network: bool) -> anyhow::Result<More> {
    conflicts(a)?;
    if let Some(flag) = a.not_yet.first() {
        anyhow::bail!("{flag} is not implemented yet in podman-rs");
    }
    let m = &a.more;
    let mut out = More::default();
    let x = &mut out.extras;

    match m.systemd.as_deref() {
        None | Some("true") | Some("false") => {}
        Some("always") => {}
        Some(other) => anyhow::bail!("invalid value {other:?} systemd option requires 'true, false, always': invalid argument"),
    }
    out.userns = super::create_userns::parse(m)?;
    platform(m)?;

    for s in &m.sysctl {
        let (k, v) = s.split_once('=').ok_or_else(|| {
            anyhow::anyhow!("{s} is invalid, sysctl values must be in the form of KEY=VALUE")
        })?;
        sysctl_allowed(
            k,
            host_network,
            m.ipc.as_deref() == Some("host"),
            m.uts.as_deref() == Some("host"),
        )?;
        x.sysctls.insert(k.to_string(), v.to_string());
    }
    for d in &m.device {
        x.devices.push(device(d)?);
    }
    for r in &m.device_cgroup_rule {
        x.device_rules.push(device_rule(r)?);
    }
    x.ipc = namespace("--ipc", m.ipc.as_deref(), &["shareable", "none"])?;
    x.ipc_kind = match m.ipc.as_deref() {
        Some(k @ ("private" | "none")) => k.to_string(),
        _ => String::new(),
    };
    x.pid = namespace("--pid", m.pid.as_deref(), &[])?;
    x.uts = namespace("--uts", m.uts.as_deref(), &[])?;
    if x.uts == "host" && a.hostname.is_some() {
        anyhow::bail!(
            "cannot set hostname when running in the host UTS namespace: invalid configuration"
        );
    }
    if let Some(tz) = &m.tz {
        timezone(tz)?;
        x.timezone = tz.clone();
    }
    x.read_only_tmpfs = m.read_only_tmpfs;
    if let Some(p) = &m.pidfile {
        x.pid_file = absolute(p).display().to_string();
    }
    if let Some(p) = &m.conmon_pidfile {
        x.monitor_pid_file = absolute(p).display().to_string();
    }
    out.cidfile = m.cidfile.as_deref().map(absolute);
    // libpod's --log-opt: KEY=VALUE, keys case-blind, max-size in decimal
    // units; the options libpod would ignore are refused so none is lost.
    for o in &m.log_opt {
        let Some((k, v)) = o.split_once('=') else {
            anyhow::bail!("invalid log option {o:?}");
        };
        match k.to_ascii_lowercase().as_str() {
            "driver" => out.log_driver = Some(v.to_string()),
            "path" => {
                if v.is_empty() {
                    anyhow::bail!("invalid log option {o:?}: path= needs a file path");
                }
                out.log_path = Some(absolute(Path::new(v)));
            }
            "max-size" => {
                x.log_size_max = common::units::from_human_size(v)
                    .map(|n| n as u64)
                    .map_err(|e| anyhow::anyhow!("invalid log option {o:?}: {e}"))?;
            }
            "tag" => x.log_tag = v.to_string(),
            "label" => anyhow::bail!("log labels can only be used with journald log driver"),
            _ => anyhow::bail!(
                "invalid log option {o:?}: supported are driver=, path=, max-size= and tag="
            ),
        }
    }
    let mut streams = Vec::new();
    for s in m.attach.iter().flat_map(|s| s.split(',')) {
        let s = s.to_ascii_lowercase();
        if !["stdin", "stdout", "stderr"].contains(&s.as_str()) {
            anyhow::bail!("invalid stream {s:?} for --attach - must be one of stdin, stdout, or stderr: invalid argument");
        }
        streams.push(s);
    }
    if !streams.is_empty() && streams.iter().all(|s| s == "stdin") {
        out.attach_stdin_only = true;
    }
    match m.sdnotify.as_deref() {
        None | Some("ignore") | Some("conmon") => {}
        Some(v @ ("container" | "healthy")) => {
            if std::env::var_os("NOTIFY_SOCKET").is_some() {
                anyhow::bail!(
                    "--sdnotify={v} is not implemented yet in podman-rs: use conmon or ignore"
                );
            }
        }
        Some(other) => {
            anyhow::bail!("invalid --sdnotify {other:?}: use container, conmon, healthy or ignore")
        }
    }
    x.sdnotify = m.sdnotify.clone().unwrap_or_default();
    x.unsetenv = m.unsetenv.clone();
    x.unsetenv_all = m.unsetenv_all;
    if let Some(v) = &m.umask {
        x.umask = umask(v)?;
    }
    if let Some(v) = &m.oom_score_adj {
        let n: i32 = v.parse().map_err(|_| {
            anyhow::anyhow!("invalid --oom-score-adj {v:?}: give a number from -1000 to 1000")
        })?;
        if !(-1000..=1000).contains(&n) {
            anyhow::bail!("oom-score-adj {n} is out of range: must be between -1000 and 1000");
        }
        x.oom_score_adj = Some(n);
    }
    if let Some(v) = &m.shm_size {
        let n = common::units::ram_in_bytes(v)
            .ok()
            .filter(|n| *n > 0)
            .map(|n| n as u64)
            .ok_or_else(|| anyhow::anyhow!("invalid --shm-size {v:?}: give a size such as 64m"))?;
        x.shm_size = Some(n);
    }
    x.dns_options = m.dns_option.clone();
    x.hosts_file = m.hosts_file.clone().unwrap_or_default();
    x.no_hosts = m.no_hosts;
    x.no_hostname = m.no_hostname;
    if let Some(p) = &m.init_path {
        if !common::paths::is_executable(Path::new(p)) {
            anyhow::bail!("invalid --init-path {p:?}: not an executable file");
        }
        x.init_path = p.clone();
    }
    x.remove_image = m.remove_image;
    x.timeout = m.timeout.unwrap_or(0);

    if m.env_host {
        out.host_env
            .extend(std::env::vars().map(|(k, v)| format!("{k}={v}")));
    }
    if m.http_proxy {
        for k in [
            "http_proxy",
            "HTTP_PROXY",
            "https_proxy",
            "HTTPS_PROXY",
            "ftp_proxy",
            "FTP_PROXY",
            "no_proxy",
            "NO_PROXY",
        ] {
            if let Ok(v) = std::env::var(k) {
                out.host_env.push(format!("{k}={v}"));
            }
        }
    }
    for f in &m.label_file {
        let text = std::fs::read_to_string(f)
            .map_err(|e| anyhow::anyhow!("invalid --label-file {}: {e}", f.display()))?;
        out.file_labels.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(crate::container::parse::label),
        );
    }
    for e in &m.expose {
        out.expose.extend(expose(e)?);
    }
    Ok(out)
}

/// Options that cannot be set together, with Podman's words
/// (620-option-conflicts.bats).
fn conflicts(a: &CreateOptions) -> anyhow::Result<()> {
    let r = &a.resources;
    if r.cpus.is_some() {
        for (x, given) in [
            ("--cpu-period", r.cpu_period.is_some()),
            ("--cpu-quota", r.cpu_quota.is_some()),
        ] {
            if given {
                anyhow::bail!("{x} and --cpus cannot be set together");
            }
        }
    }
    if a.more.no_hosts && !a.add_host.is_empty() {
        anyhow::bail!("--no-hosts and --add-host cannot be set together");
    }
    let m = &a.more;
    if m.platform.is_some() && (m.arch.is_some() || m.os.is_some()) {
        anyhow::bail!("--platform option can not be specified with --arch or --os");
    }
    if a.group_add.iter().any(|g| g == "keep-groups") {
        if a.group_add.len() > 1 {
            anyhow::bail!("the '--group-add keep-groups' option is not allowed with any other --group-add options");
        }
        // Podman hands this to crun (run.oci.keep_original_groups); runc,
        // the runtime here, has no such switch.
        anyhow::bail!("--group-add keep-groups is not supported with runc: it needs crun's run.oci.keep_original_groups");
    }
    Ok(())
}

fn platform(m: &super::create_options::MoreOptions) -> anyhow::Result<()> {
    let arch = crate::host_info::go_arch();
    let host = format!("linux/{arch}");
    let refuse = |what: &str| {
        anyhow::anyhow!("{what}: only the host platform {host} is supported in podman-rs")
    };
    if let Some(p) = &m.platform {
        let parts: Vec<&str> = p.split('/').collect();
        let ok = match parts.as_slice() {
            [os] => *os == "linux",
            [os, a] => *os == "linux" && *a == arch,
            [os, a, _variant] => *os == "linux" && *a == arch,
            _ => false,
        };
        if !ok {
            return Err(refuse(&format!("--platform {p}")));
        }
    }
    if let Some(a) = &m.arch {
        if a != arch {
            return Err(refuse(&format!("--arch {a}")));
        }
    }
    if let Some(v) = &m.variant {
        // The host's own variant is the only one there is here.
        tracing::debug!(variant = %v, "--variant accepted for the host platform");
    }
    if let Some(o) = &m.os {
        if o != "linux" {
            return Err(refuse(&format!("--os {o}")));
        }
    }
    Ok(())
}

/// Podman's sysctl whitelist: the namespaced ones.
fn sysctl_allowed(key: &str, host_net: bool, host_ipc: bool, host_uts: bool) -> anyhow::Result<()> {
    const IPC: &[&str] = &[
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    if IPC.contains(&key) || key.starts_with("fs.mqueue.") {
        if host_ipc {
            anyhow::bail!("sysctl {key:?} is not allowed in the hosts ipc namespace");
        }
        return Ok(());
    }
    if key.starts_with("net.") {
        if host_net {
            anyhow::bail!("sysctl {key:?} is not allowed in the hosts network namespace");
        }
        return Ok(());
    }
    if key == "kernel.domainname" || key == "kernel.hostname" {
        if host_uts {
            anyhow::bail!("sysctl {key:?} is not allowed in the hosts UTS namespace");
        }
        return Ok(());
    }
    anyhow::bail!("sysctl '{key}' is not allowed")
}

/// `--device HOST[:CONTAINER][:PERMISSIONS]`.
pub fn device(spec: &str) -> anyhow::Result<DeviceSpec> {
    let parts: Vec<&str> = spec.split(':').collect();
    let valid_perms =
        |p: &str| !p.is_empty() && p.len() <= 3 && p.chars().all(|c| "rwm".contains(c));
    let (src, dst, perms) = match parts.as_slice() {
        [s] => (*s, *s, "rwm"),
        [s, x] if valid_perms(x) => (*s, *s, *x),
        [s, d] => (*s, *d, "rwm"),
        [s, d, p] => (*s, *d, *p),
        _ => anyhow::bail!("invalid device specification: {spec}"),
    };
    if !valid_perms(perms) {
        anyhow::bail!("invalid device mode: {perms}");
    }
    if !dst.starts_with('/') {
        anyhow::bail!("invalid device mode: {dst}");
    }
    let st = nix::sys::stat::stat(src)
        .map_err(|e| anyhow::anyhow!("stat {src}: {}", e.desc().to_lowercase()))?;
    let kind = match st.st_mode & libc::S_IFMT {
        libc::S_IFCHR => "c",
        libc::S_IFBLK => "b",
        _ => {
            anyhow::bail!("{src} is not a device node: --device takes a character or block device")
        }
    };
    Ok(DeviceSpec {
        host_path: src.to_string(),
        container_path: dst.to_string(),
        kind: kind.into(),
        major: libc::major(st.st_rdev) as i64,
        minor: libc::minor(st.st_rdev) as i64,
        file_mode: st.st_mode & 0o7777,
        uid: st.st_uid,
        gid: st.st_gid,
        access: perms.to_string(),
    })
}

/// `--device-cgroup-rule "TYPE MAJOR:MINOR ACCESS"`, with Podman's errors.
pub fn device_rule(rule: &str) -> anyhow::Result<DeviceRule> {
    let f: Vec<&str> = rule.split_whitespace().collect();
    let [kind, nums, access] = f.as_slice() else {
        anyhow::bail!(
            "invalid device cgroup rule requires type, major:Minor, and access rules: {rule:?}"
        );
    };
    if !["a", "b", "c"].contains(kind) {
        anyhow::bail!("invalid device type in device-access-add: {kind}");
    }
    let num = |s: &str| -> anyhow::Result<Option<i64>> {
        if s == "*" {
            return Ok(None);
        }
        s.parse::<u64>()
            .map(|n| Some(n as i64))
            .map_err(|_| anyhow::anyhow!("strconv.ParseUint: parsing {s:?}: invalid syntax"))
    };
    let (major, minor) = match nums.split_once(':') {
        Some((a, b)) => (num(a)?, num(b)?),
        None => (num(nums)?, None),
    };
    if let Some(c) = access.chars().find(|c| !"rwm".contains(*c)) {
        anyhow::bail!("invalid device access in device-access-add: {c}");
    }
    Ok(DeviceRule {
        kind: kind.to_string(),
        major,
        minor,
        access: access.to_string(),
    })
}

/// `--ipc/--pid/--uts`: "" for private, "host", "ns:PATH", "container:NAME".
fn namespace(flag: &str, v: Option<&str>, extra: &[&str]) -> anyhow::Result<String> {
    let Some(v) = v else { return Ok(String::new()) };
    match v {
        "" | "private" => Ok(String::new()),
        "host" => Ok("host".into()),
        v if extra.contains(&v) => Ok(String::new()),
        v if v.starts_with("ns:") && v.len() > 3 => {
            if !v[3..].starts_with('/') {
                anyhow::bail!("invalid {flag} {v:?}: ns: needs an absolute path");
            }
            Ok(v.to_string())
        }
        v if v.starts_with("container:") && v.len() > 10 => Ok(v.to_string()),
        _ => {
            let more = if extra.is_empty() {
                String::new()
            } else {
                format!(", {}", extra.join(", "))
            };
            anyhow::bail!("invalid {flag} {v:?}: use host, private{more}, ns:PATH or container:ID")
        }
    }
}

/// The zone file for `--tz` ("local": the host's /etc/localtime).
pub fn timezone(tz: &str) -> anyhow::Result<PathBuf> {
    if tz == "local" {
        return std::fs::canonicalize("/etc/localtime")
            .map_err(|e| anyhow::anyhow!("finding local timezone for container: {e}"));
    }
    let bad = || anyhow::anyhow!("finding timezone: unknown time zone {tz}");
    if tz.is_empty()
        || tz.starts_with('/')
        || tz.split('/').any(|c| c == ".." || c == "." || c.is_empty())
    {
        return Err(bad());
    }
    let p = Path::new(ZONEINFO).join(tz);
    if !p.is_file() {
        return Err(bad());
    }
    Ok(p)
}

/// `--expose PORT[-END][/PROTO]` as "PORT/PROTO" strings.
fn expose(spec: &str) -> anyhow::Result<Vec<String>> {
    let (ports, proto) = spec.split_once('/').unwrap_or((spec, "tcp"));
    if !["tcp", "udp", "sctp"].contains(&proto) {
        anyhow::bail!("invalid --expose {spec:?}: protocol must be tcp, udp or sctp");
    }
    let bad = || anyhow::anyhow!("invalid --expose {spec:?}: expected PORT[-END][/PROTO]");
    let (a, b) = ports.split_once('-').unwrap_or((ports, ports));
    let a: u16 = a.parse().map_err(|_| bad())?;
    let b: u16 = b.parse().map_err(|_| bad())?;
    if a == 0 || b < a {
        return Err(bad());
    }
    Ok((a..=b).map(|p| format!("{p}/{proto}")).collect())
}

/// Write `--cidfile` (truncating an old one, as Podman does).
pub fn write_cidfile(path: &Path, id: &str) -> anyhow::Result<()> {
    std::fs::write(path, id).map_err(|e| anyhow::anyhow!("creating idfile: {e}"))
}

/// Labels merged: `--label-file` first, `-l` wins.
pub fn merge_labels(
    file: Vec<(String, String)>,
    flags: BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut m: BTreeMap<String, String> = file.into_iter().collect();
    m.extend(flags);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_rules_as_podman() {
        assert!(device_rule("b 7:* rmw").is_ok());
        assert_eq!(device_rule("a 7 rmw").unwrap().minor, None);
        assert_eq!(
            device_rule("b 7:* rmX").unwrap_err().to_string(),
            "invalid device access in device-access-add: X"
        );
        assert_eq!(
            device_rule("b 7:2").unwrap_err().to_string(),
            "invalid device cgroup rule requires type, major:Minor, and access rules: \"b 7:2\""
        );
        assert_eq!(
            device_rule("x 7:* rmw").unwrap_err().to_string(),
            "invalid device type in device-access-add: x"
        );
        assert_eq!(
            device_rule("a a:* rmw").unwrap_err().to_string(),
            "strconv.ParseUint: parsing \"a\": invalid syntax"
        );
    }

    #[test]
    fn sysctls() {
        assert!(sysctl_allowed("net.ipv4.ip_forward", false, false, false).is_ok());
        assert!(sysctl_allowed("net.ipv4.ip_forward", true, false, false).is_err());
        assert!(sysctl_allowed("kernel.shmmax", false, false, false).is_ok());
        assert_eq!(
            sysctl_allowed("vm.swappiness", false, false, false)
                .unwrap_err()
                .to_string(),
            "sysctl 'vm.swappiness' is not allowed"
        );
        assert_eq!(expose("80").unwrap(), vec!["80/tcp"]);
        assert_eq!(expose("53-54/udp").unwrap(), vec!["53/udp", "54/udp"]);
        assert!(timezone("../etc/passwd").is_err());
        assert!(device("/dev/null").unwrap().kind == "c");
        assert!(device("/etc/passwd").is_err());
    }
}
