//! libpod's SpecGenerator (the body of `POST /libpod/containers/create`)
//! from the create options the local CLI parses. Files named by flags
//! (`--env-file`, `--label-file`, `--pod-id-file`) and `-e KEY` are read
//! here, on the client, as Podman's remote client reads them. A flag the
//! SpecGenerator cannot carry is refused by name, never dropped.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::container::parse;
use crate::lifecycle::create_options::CreateOptions;

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("{flag} is not available with the remote client of podman-rs: run the command where the containers are")]
    Unsupported { flag: &'static str },
    #[error("{0}")]
    Flag(#[from] parse::FlagError),
    #[error("{0}")]
    Ulimit(#[from] parse::UlimitError),
    #[error("{0}")]
    Health(#[from] crate::lifecycle::health_flags::HealthFlagError),
    #[error("invalid {flag} {value:?}: {why}")]
    Value {
        flag: &'static str,
        value: String,
        why: String,
    },
    #[error("reading {path}: {err}")]
    Read { path: String, err: std::io::Error },
}

fn bad(flag: &'static str, value: &str, why: impl ToString) -> SpecError {
    SpecError::Value {
        flag,
        value: value.to_string(),
        why: why.to_string(),
    }
}

/// The flags with no SpecGenerator field here, each refused when given.
fn refuse_unsupported(o: &CreateOptions) -> Result<(), SpecError> {
    let m = &o.more;
    let x = &o.extra;
    let r = &o.resources;
    let given: &[(bool, &'static str)] = &[
        (m.env_host, "--env-host"),
        (!m.device.is_empty(), "--device"),
        (!m.device_cgroup_rule.is_empty(), "--device-cgroup-rule"),
        (!m.uidmap.is_empty(), "--uidmap"),
        (!m.gidmap.is_empty(), "--gidmap"),
        (m.subuidname.is_some(), "--subuidname"),
        (m.subgidname.is_some(), "--subgidname"),
        (m.no_hostname, "--no-hostname"),
        (m.rootfs, "--rootfs"),
        (m.remove_image, "--rmi"),
        (o.detach_keys.is_some(), "--detach-keys"),
        (
            o.mac_address.is_some() && o.network.is_empty(),
            "--mac-address",
        ),
        (!x.secret.is_empty(), "--secret"),
        (!x.env_merge.is_empty(), "--env-merge"),
        (!x.requires.is_empty(), "--requires"),
        (!x.chrootdirs.is_empty(), "--chrootdirs"),
        (x.personality.is_some(), "--personality"),
        (x.retry.is_some(), "--retry"),
        (x.retry_delay.is_some(), "--retry-delay"),
        (!x.gpus.is_empty(), "--gpus"),
        (x.rdt_class.is_some(), "--rdt-class"),
        (!x.decryption_key.is_empty(), "--decryption-key"),
        (!x.hostuser.is_empty(), "--hostuser"),
        (x.passwd_entry.is_some(), "--passwd-entry"),
        (x.group_entry.is_some(), "--group-entry"),
        (x.authfile.is_some(), "--authfile"),
        (r.kernel_memory.is_some(), "--kernel-memory"),
        (r.cpu_rt_period.is_some(), "--cpu-rt-period"),
        (r.cpu_rt_runtime.is_some(), "--cpu-rt-runtime"),
        (!r.blkio_weight_device.is_empty(), "--blkio-weight-device"),
        (!r.device_read_bps.is_empty(), "--device-read-bps"),
        (!r.device_write_bps.is_empty(), "--device-write-bps"),
        (!r.device_read_iops.is_empty(), "--device-read-iops"),
        (!r.device_write_iops.is_empty(), "--device-write-iops"),
    ];
    let h = &o.health;
    let more: &[(bool, &'static str)] = &[
        (h.max_log_count.is_some(), "--health-max-log-count"),
        (h.max_log_size.is_some(), "--health-max-log-size"),
        (h.log_destination.is_some(), "--health-log-destination"),
        (h.startup.cmd.is_some(), "--health-startup-cmd"),
        (!o.cgroups.cgroup_conf.is_empty(), "--cgroup-conf"),
    ];
    if let Some(flag) = o.not_yet.first() {
        return Err(SpecError::Unsupported { flag });
    }
    match given.iter().chain(more.iter()).find(|(set, _)| *set) {
        Some((_, flag)) => Err(SpecError::Unsupported { flag }),
        None => Ok(()),
    }
}

/// `-e`, `--env-file` (files first, as Podman layers them): KEY=VALUE
/// pairs, `KEY` alone from this client's environment.
fn environment(o: &CreateOptions) -> Result<Map<String, Value>, SpecError> {
    let mut env = Map::new();
    let mut put = |kv: String| {
        let (k, v) = kv.split_once('=').unwrap_or((&kv, ""));
        env.insert(k.to_string(), Value::String(v.to_string()));
    };
    for f in &o.env_file {
        parse::env_file(f)?.into_iter().for_each(&mut put);
    }
    for e in &o.env {
        parse::env_var(e).into_iter().for_each(&mut put);
    }
    Ok(env)
}

fn labels(o: &CreateOptions) -> Result<Map<String, Value>, SpecError> {
    let mut out = Map::new();
    for f in &o.more.label_file {
        let text = std::fs::read_to_string(f).map_err(|err| SpecError::Read {
            path: f.display().to_string(),
            err,
        })?;
        for l in text.lines().map(str::trim) {
            if !l.is_empty() && !l.starts_with('#') {
                let (k, v) = parse::label(l);
                out.insert(k, v.into());
            }
        }
    }
    for l in &o.label {
        let (k, v) = parse::label(l);
        out.insert(k, v.into());
    }
    Ok(out)
}

/// `host`, `private`, `container:NAME`, `ns:PATH`, `keep-id[:opts]`...
fn namespace(v: &str) -> Value {
    let (mode, value) = v.split_once(':').unwrap_or((v, ""));
    json!({"nsmode": mode, "value": value})
}

/// `-v` and `--mount`, `--tmpfs` into mounts (binds and tmpfs) and named
/// or anonymous volumes.
fn storage(o: &CreateOptions, spec: &mut Map<String, Value>) -> Result<(), SpecError> {
    let mut mounts = Vec::new();
    let mut volumes = Vec::new();
    for v in &o.volume {
        let parts: Vec<&str> = v.splitn(3, ':').collect();
        let opts: Vec<&str> = parts
            .get(2)
            .map(|s| s.split(',').filter(|p| !p.is_empty()).collect())
            .unwrap_or_default();
        match parts.as_slice() {
            [dest] => {
                volumes.push(json!({"Name": "", "Dest": dest, "Options": [], "IsAnonymous": true}))
            }
            [src, dest, ..] if src.starts_with('/') || src.starts_with('.') => mounts
                .push(json!({"type": "bind", "source": src, "destination": dest, "options": opts})),
            [name, dest, ..] => volumes.push(json!({"Name": name, "Dest": dest, "Options": opts})),
            [] => return Err(bad("--volume", v, "expected SOURCE:DESTINATION[:OPTIONS]")),
        }
    }
    for m in &o.mount {
        let mut kind = String::new();
        let (mut src, mut dst) = (String::new(), String::new());
        let mut opts = Vec::new();
        for kv in m.split(',') {
            match kv.split_once('=') {
                Some(("type", v)) => kind = v.to_string(),
                Some(("source" | "src", v)) => src = v.to_string(),
                Some(("destination" | "dst" | "target", v)) => dst = v.to_string(),
                _ => opts.push(kv.to_string()),
            }
        }
        if kind.is_empty() || dst.is_empty() {
            return Err(bad("--mount", m, "type= and destination= are required"));
        }
        mounts.push(json!({"type": kind, "source": src, "destination": dst, "options": opts}));
    }
    for t in &o.tmpfs {
        let (dest, opts) = t.split_once(':').unwrap_or((t, ""));
        let opts: Vec<&str> = opts.split(',').filter(|s| !s.is_empty()).collect();
        mounts.push(
            json!({"type": "tmpfs", "source": "tmpfs", "destination": dest, "options": opts}),
        );
    }
    spec.insert("mounts".into(), mounts.into());
    spec.insert("volumes".into(), volumes.into());
    Ok(())
}

/// `--network` with `--ip`, `--ip6`, `--mac-address`, `--network-alias`.
fn networking(o: &CreateOptions, spec: &mut Map<String, Value>) -> Result<(), SpecError> {
    let modes: Vec<&str> = o
        .network
        .iter()
        .flat_map(|n| n.split(','))
        .filter(|n| !n.is_empty())
        .collect();
    let mut nets = Map::new();
    for n in &modes {
        let (kind, value) = n.split_once(':').unwrap_or((n, ""));
        match kind {
            "bridge" | "default" if value.is_empty() => {}
            "host" | "none" | "private" | "slirp4netns" | "pasta" | "container" | "ns" => {
                spec.insert("netns".into(), json!({"nsmode": kind, "value": value}));
            }
            _ if !value.is_empty() => {
                return Err(bad("--network", n, "per-network options are not carried by the remote client: give the network's name"));
            }
            name => {
                nets.insert(name.to_string(), json!({}));
            }
        }
    }
    let statics = o.ip.is_some() || o.more.ip6.is_some() || o.mac_address.is_some();
    if (statics || !o.network_alias.is_empty()) && nets.is_empty() && !spec.contains_key("netns") {
        nets.insert("podman".into(), json!({}));
    }
    if let Some((_, per)) = nets.iter_mut().next() {
        let ips: Vec<&String> = o.ip.iter().chain(o.more.ip6.iter()).collect();
        per["aliases"] = json!(o.network_alias);
        per["static_ips"] = json!(ips);
        if let Some(mac) = &o.mac_address {
            per["static_mac"] = json!(mac);
        }
    } else if statics || !o.network_alias.is_empty() {
        return Err(SpecError::Unsupported {
            flag: "--ip/--mac-address/--network-alias without a network",
        });
    }
    if !nets.is_empty() {
        spec.insert("networks".into(), nets.into());
    }
    let mut ports = Vec::new();
    for p in &o.publish {
        let m = parse::publish(p)?;
        ports.push(json!({
            "host_ip": m.host_ip, "container_port": m.container_port,
            "host_port": m.host_port, "range": m.range, "protocol": m.protocol,
        }));
    }
    spec.insert("portmappings".into(), ports.into());
    spec.insert("publish_image_ports".into(), o.publish_all.into());
    let mut expose = Map::new();
    for e in &o.more.expose {
        let (port, proto) = e.split_once('/').unwrap_or((e, "tcp"));
        let (a, b) = port.split_once('-').unwrap_or((port, port));
        let num = |s: &str| {
            s.parse::<u16>()
                .map_err(|_| bad("--expose", e, "a port or range"))
        };
        for p in num(a)?..=num(b)? {
            expose.insert(p.to_string(), proto.into());
        }
    }
    spec.insert("expose".into(), expose.into());
    spec.insert("dns_server".into(), json!(o.dns));
    spec.insert("dns_search".into(), json!(o.dns_search));
    spec.insert("dns_option".into(), json!(o.more.dns_option));
    spec.insert("hostadd".into(), json!(o.add_host));
    if o.more.no_hosts {
        spec.insert("use_image_hosts".into(), true.into());
    }
    if let Some(f) = &o.more.hosts_file {
        spec.insert("base_hosts_file".into(), json!(f));
    }
    Ok(())
}

fn num(flag: &'static str, v: &str) -> Result<i64, SpecError> {
    v.parse().map_err(|e| bad(flag, v, e))
}

fn bytes(flag: &'static str, v: &str) -> Result<i64, SpecError> {
    common::units::ram_in_bytes(v).map_err(|e| bad(flag, v, e))
}

/// `resource_limits` (OCI's LinuxResources), `r_limits`, `oom_score_adj`.
fn resources(o: &CreateOptions, spec: &mut Map<String, Value>) -> Result<(), SpecError> {
    let r = &o.resources;
    let mut memory = Map::new();
    if let Some(v) = &r.memory {
        memory.insert("limit".into(), bytes("--memory", v)?.into());
    }
    if let Some(v) = &r.memory_reservation {
        memory.insert(
            "reservation".into(),
            bytes("--memory-reservation", v)?.into(),
        );
    }
    if let Some(v) = &r.memory_swap {
        let n = if v == "-1" {
            -1
        } else {
            bytes("--memory-swap", v)?
        };
        memory.insert("swap".into(), n.into());
    }
    if let Some(v) = &r.memory_swappiness {
        memory.insert("swappiness".into(), num("--memory-swappiness", v)?.into());
    }
    if r.oom_kill_disable {
        memory.insert("disableOOMKiller".into(), true.into());
    }
    let mut cpu = Map::new();
    if let Some(v) = &r.cpus {
        let c: f64 = v.parse().map_err(|e| bad("--cpus", v, e))?;
        cpu.insert("period".into(), 100_000.into());
        cpu.insert("quota".into(), ((c * 100_000.0) as i64).into());
    }
    for (v, flag, key) in [
        (&r.cpu_shares, "--cpu-shares", "shares"),
        (&r.cpu_period, "--cpu-period", "period"),
        (&r.cpu_quota, "--cpu-quota", "quota"),
    ] {
        if let Some(v) = v {
            cpu.insert(key.into(), num(flag, v)?.into());
        }
    }
    if let Some(v) = &r.cpuset_cpus {
        cpu.insert("cpus".into(), v.clone().into());
    }
    if let Some(v) = &r.cpuset_mems {
        cpu.insert("mems".into(), v.clone().into());
    }
    let mut limits = Map::new();
    if !memory.is_empty() {
        limits.insert("memory".into(), memory.into());
    }
    if !cpu.is_empty() {
        limits.insert("cpu".into(), cpu.into());
    }
    if let Some(v) = &o.more.pids_limit {
        limits.insert("pids".into(), json!({"limit": num("--pids-limit", v)?}));
    }
    if let Some(v) = &r.blkio_weight {
        limits.insert(
            "blockIO".into(),
            json!({"weight": num("--blkio-weight", v)?}),
        );
    }
    if !limits.is_empty() {
        spec.insert("resource_limits".into(), limits.into());
    }
    let mut rl = Vec::new();
    for u in &o.ulimit {
        let l = parse::ulimit(u)?;
        rl.push(json!({"type": l.kind, "soft": l.soft, "hard": l.hard}));
    }
    spec.insert("r_limits".into(), rl.into());
    if let Some(v) = &o.more.oom_score_adj {
        spec.insert("oom_score_adj".into(), num("--oom-score-adj", v)?.into());
    }
    if let Some(v) = &o.more.shm_size {
        spec.insert("shm_size".into(), bytes("--shm-size", v)?.into());
    }
    Ok(())
}

/// `--security-opt` as the SpecGenerator's fields.
fn security(o: &CreateOptions, spec: &mut Map<String, Value>) -> Result<(), SpecError> {
    let mut selinux = Vec::new();
    for s in &o.security_opt {
        let (k, v) = s.split_once(['=', ':']).unwrap_or((s, ""));
        match k {
            "seccomp" => {
                spec.insert("seccomp_profile_path".into(), v.into());
            }
            "no-new-privileges" => {
                spec.insert("no_new_privileges".into(), (v != "false").into());
            }
            "apparmor" => {
                spec.insert("apparmor_profile".into(), v.into());
            }
            "label" => selinux.push(v.to_string()),
            "mask" => {
                spec.insert("mask".into(), json!(v.split(':').collect::<Vec<_>>()));
            }
            "unmask" => {
                spec.insert("unmask".into(), json!(v.split(':').collect::<Vec<_>>()));
            }
            _ => {
                return Err(bad(
                    "--security-opt",
                    s,
                    "not a security option the remote client carries",
                ))
            }
        }
    }
    spec.insert("selinux_opts".into(), selinux.into());
    Ok(())
}

fn health(o: &CreateOptions, spec: &mut Map<String, Value>) -> Result<(), SpecError> {
    if o.health.none {
        spec.insert("healthconfig".into(), json!({"Test": ["NONE"]}));
        return Ok(());
    }
    if let Some(h) = crate::lifecycle::health_flags::parse(&o.health)? {
        spec.insert(
            "healthconfig".into(),
            json!({
                "Test": h.test, "Interval": h.interval_ns, "Timeout": h.timeout_ns,
                "StartPeriod": h.start_period_ns, "Retries": h.retries,
            }),
        );
        // libpod's HealthCheckOnFailureAction numbers (0 is invalid).
        let action = ["none", "kill", "restart", "stop"]
            .iter()
            .position(|a| *a == h.on_failure)
            .map_or(1, |i| i + 1);
        spec.insert("health_check_on_failure_action".into(), action.into());
    }
    Ok(())
}

/// The SpecGenerator for `o`; `pod` is the pod's name or ID already read
/// from `--pod-id-file` when one was given.
pub fn spec_generator(o: &CreateOptions, pod: Option<String>) -> Result<Value, SpecError> {
    refuse_unsupported(o)?;
    let mut s = Map::new();
    let put = |s: &mut Map<String, Value>, k: &str, v: Value| {
        s.insert(k.to_string(), v);
    };
    put(&mut s, "image", o.image.clone().into());
    put(&mut s, "raw_image_name", o.image.clone().into());
    if let Some(n) = &o.name {
        put(&mut s, "name", n.clone().into());
    }
    put(&mut s, "command", json!(o.command));
    if let Some(ep) = &o.entrypoint {
        let v: Vec<String> = match serde_json::from_str::<Vec<String>>(ep) {
            Ok(v) => v,
            Err(_) if ep.is_empty() => vec![],
            Err(_) => vec![ep.clone()],
        };
        put(&mut s, "entrypoint", json!(v));
    }
    put(&mut s, "env", environment(o)?.into());
    put(&mut s, "labels", labels(o)?.into());
    let ann: BTreeMap<String, String> = o.annotation.iter().map(|a| parse::label(a)).collect();
    put(&mut s, "annotations", json!(ann));
    put(&mut s, "terminal", o.tty.into());
    put(&mut s, "stdin", o.interactive.into());
    put(&mut s, "remove", o.rm.into());
    if let Some(p) = o.extra.passwd {
        put(&mut s, "manage_password", p.into());
    }
    for (k, v) in [
        ("systemd", &o.more.systemd),
        ("sdnotifyMode", &o.more.sdnotify),
        ("seccomp_policy", &o.extra.seccomp_policy),
        ("image_volume_mode", &o.image_volume),
        ("work_dir", &o.workdir),
        ("user", &o.user),
        ("hostname", &o.hostname),
        ("init_path", &o.more.init_path),
        ("timezone", &o.more.tz),
        ("umask", &o.more.umask),
        ("cgroups_mode", &o.cgroups.cgroups),
        ("cgroup_parent", &o.cgroups.cgroup_parent),
        ("log_configuration_driver", &o.log_driver),
    ] {
        if let Some(v) = v {
            put(&mut s, k, v.clone().into());
        }
    }
    if let Some(d) = s.remove("log_configuration_driver") {
        let opts: BTreeMap<String, String> =
            o.more.log_opt.iter().map(|l| parse::label(l)).collect();
        put(
            &mut s,
            "log_configuration",
            json!({"driver": d, "options": opts}),
        );
    } else if !o.more.log_opt.is_empty() {
        let opts: BTreeMap<String, String> =
            o.more.log_opt.iter().map(|l| parse::label(l)).collect();
        put(&mut s, "log_configuration", json!({"options": opts}));
    }
    for (k, v) in [
        ("pidfile", &o.more.pidfile),
        ("conmon_pid_file", &o.more.conmon_pidfile),
    ] {
        if let Some(p) = v {
            put(&mut s, k, p.display().to_string().into());
        }
    }
    for (k, v) in [
        ("ipcns", &o.more.ipc),
        ("pidns", &o.more.pid),
        ("utsns", &o.more.uts),
        ("userns", &o.more.userns),
        ("cgroupns", &o.cgroups.cgroupns),
    ] {
        if let Some(v) = v {
            put(&mut s, k, namespace(v));
        }
    }
    put(&mut s, "privileged", o.privileged.into());
    put(
        &mut s,
        "read_only_filesystem",
        o.read_only.unwrap_or(false).into(),
    );
    put(&mut s, "read_write_tmpfs", o.more.read_only_tmpfs.into());
    put(&mut s, "httpproxy", o.more.http_proxy.into());
    put(&mut s, "cap_add", json!(o.cap_add));
    put(&mut s, "cap_drop", json!(o.cap_drop));
    put(&mut s, "groups", json!(o.group_add));
    put(&mut s, "volumes_from", json!(o.volumes_from));
    put(&mut s, "init", o.init.into());
    put(&mut s, "unsetenv", json!(o.more.unsetenv));
    put(&mut s, "unsetenvall", o.more.unsetenv_all.into());
    let sysctl: BTreeMap<String, String> = o.more.sysctl.iter().map(|l| parse::label(l)).collect();
    put(&mut s, "sysctl", json!(sysctl));
    if let Some(sig) = &o.stop_signal {
        let n = parse::signal(sig).map_err(|e| bad("--stop-signal", sig, e))?;
        put(&mut s, "stop_signal", n.into());
    }
    if let Some(t) = o.stop_timeout {
        put(&mut s, "stop_timeout", t.into());
    }
    if let Some(t) = o.more.timeout {
        put(&mut s, "timeout", t.into());
    }
    if let Some(r) = &o.restart {
        let p = parse::restart(r)?;
        put(&mut s, "restart_policy", p.name.into());
        if p.max_retries > 0 {
            put(&mut s, "restart_tries", p.max_retries.into());
        }
    }
    if let Some(p) = pod {
        put(&mut s, "pod", p.into());
    }
    storage(o, &mut s)?;
    networking(o, &mut s)?;
    resources(o, &mut s)?;
    security(o, &mut s)?;
    health(o, &mut s)?;
    Ok(Value::Object(s))
}
