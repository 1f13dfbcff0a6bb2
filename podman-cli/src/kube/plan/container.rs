//! One Kubernetes container as `create`'s options: command and args,
//! env from values and ConfigMaps, mounts of the pod's volumes,
//! securityContext, resources and the liveness probe.

use std::collections::BTreeMap;

use crate::lifecycle::create_options::CreateOptions;

use super::super::model::{Container, Object, Probe, VolumeMount};
use super::quantity::{memory, millicpu};
use super::{relative_path, KubeError, PlayOptions, Source};

pub(super) fn container(
    pod: &str,
    obj: &Object,
    c: &Container,
    sources: &BTreeMap<&str, Source>,
    maps: &BTreeMap<&str, &BTreeMap<String, String>>,
    restart: &str,
    o: &PlayOptions,
) -> Result<CreateOptions, KubeError> {
    if c.image.is_empty() {
        return Err(KubeError::NoImage(c.name.clone()));
    }
    if c.startup_probe.is_some() {
        return Err(KubeError::Unsupported(format!(
            "startupProbe of container {:?}",
            c.name
        )));
    }
    if c.lifecycle.is_some() {
        return Err(KubeError::Unsupported(format!(
            "lifecycle hooks of container {:?}",
            c.name
        )));
    }
    let mut a = CreateOptions {
        name: Some(format!("{pod}-{}", c.name)),
        image: c.image.clone(),
        pod: Some(pod.to_string()),
        workdir: c.working_dir.clone(),
        tty: c.tty,
        interactive: c.stdin,
        log_driver: o.log_driver.clone(),
        tls_verify: o.tls_verify,
        quiet: o.quiet,
        ..Default::default()
    };
    // command replaces the image's ENTRYPOINT (and drops its CMD), args
    // its CMD, as Kubernetes defines them.
    if let Some(cmd) = &c.command {
        a.entrypoint = Some(serde_json::to_string(cmd).unwrap_or_default());
    }
    a.command = c.args.clone().unwrap_or_default();
    a.pull = match c
        .image_pull_policy
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        // As Podman: an image without a tag, or tagged latest, is pulled
        // when the registry has a newer one.
        None if latest_or_untagged(&c.image) => "newer",
        None | Some("ifnotpresent") => "missing",
        Some("always") => "always",
        Some("never") => "never",
        Some(other) => {
            return Err(KubeError::Invalid {
                what: "imagePullPolicy",
                value: other.into(),
                why: "use Always, IfNotPresent or Never".into(),
            })
        }
    }
    .into();
    a.annotation = obj
        .metadata
        .annotations
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .chain(o.annotations.iter().cloned())
        .collect();
    a.env = env(c, maps)?;
    for m in &c.volume_mounts {
        mount(&mut a, c, m, sources)?;
    }
    if let Some(s) = &c.security_context {
        // SELinux labels mean nothing where SELinux is off, and Podman
        // plays such YAML there without them; this podman runs no SELinux.
        if s.se_linux_options.is_some() {
            tracing::debug!(container = %c.name, "seLinuxOptions: SELinux is not in use");
        }
        a.privileged = s.privileged.unwrap_or(false);
        a.read_only = Some(s.read_only_root_filesystem.unwrap_or(false));
        match (s.run_as_user, s.run_as_group) {
            (Some(u), Some(g)) => a.user = Some(format!("{u}:{g}")),
            (Some(u), None) => a.user = Some(u.to_string()),
            (None, Some(_)) => {
                return Err(KubeError::Unsupported(format!(
                    "runAsGroup without runAsUser in container {:?}",
                    c.name
                )))
            }
            (None, None) => {}
        }
        if s.allow_privilege_escalation == Some(false) {
            a.security_opt.push("no-new-privileges".into());
        }
        if let Some(caps) = &s.capabilities {
            a.cap_add = caps.add.clone();
            a.cap_drop = caps.drop.clone();
        }
    }
    if let Some(r) = &c.resources {
        if let Some(m) = r.limits.get("memory") {
            a.resources.memory = Some(memory(m)?.to_string());
        }
        if let Some(cpu) = r.limits.get("cpu") {
            a.resources.cpus = Some(format!("{}", millicpu(cpu)? as f64 / 1000.0));
        }
        if let Some(m) = r.requests.get("memory") {
            a.resources.memory_reservation = Some(memory(m)?.to_string());
        }
        if let Some(cpu) = r.requests.get("cpu") {
            // Kubernetes' conversion of a CPU request to shares.
            let shares = (millicpu(cpu)? * 1024 / 1000).max(2);
            a.resources.cpu_shares = Some(shares.to_string());
        }
    }
    if let Some(p) = &c.liveness_probe {
        a.health.cmd = Some(probe_command(p, c)?);
        a.health.interval = Some(format!(
            "{}s",
            if p.period_seconds < 1 {
                10
            } else {
                p.period_seconds
            }
        ));
        a.health.retries = Some(
            (if p.failure_threshold < 1 {
                3
            } else {
                p.failure_threshold
            })
            .to_string(),
        );
        a.health.timeout = Some(format!("{}s", p.timeout_seconds.max(1)));
        a.health.start_period = Some(format!("{}s", p.initial_delay_seconds.max(0)));
        // A liveness failure restarts the container where the pod restarts them.
        if restart == "always" || restart == "on-failure" {
            a.health.on_failure = Some("restart".into());
        }
    }
    Ok(a)
}

/// Whether a reference names no tag or the tag "latest" (and no digest).
pub(super) fn latest_or_untagged(image: &str) -> bool {
    if image.contains('@') {
        return false;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((_, tag)) => tag == "latest",
        None => true,
    }
}

/// Podman's healthcheck command for a probe.
fn probe_command(p: &Probe, c: &Container) -> Result<String, KubeError> {
    let port_of = |v: &serde_yaml_ng::Value| -> Result<u16, KubeError> {
        if let Some(n) = v.as_u64() {
            return u16::try_from(n).map_err(|_| KubeError::Invalid {
                what: "probe port",
                value: n.to_string(),
                why: "out of range".into(),
            });
        }
        let name = v.as_str().unwrap_or_default();
        if let Ok(n) = name.parse() {
            return Ok(n);
        }
        c.ports
            .iter()
            .find(|cp| cp.name.as_deref() == Some(name))
            .map(|cp| cp.container_port)
            .ok_or_else(|| KubeError::Invalid {
                what: "probe port",
                value: name.into(),
                why: "unknown port: name one of the container's ports".into(),
            })
    };
    if let Some(e) = &p.exec {
        if e.command.is_empty() {
            return Err(KubeError::Invalid {
                what: "livenessProbe",
                value: c.name.clone(),
                why: "exec.command is empty".into(),
            });
        }
        return Ok(serde_json::to_string(&e.command).unwrap_or_default());
    }
    if let Some(h) = &p.http_get {
        let scheme = h.scheme.as_deref().unwrap_or("HTTP");
        let host = h.host.as_deref().unwrap_or("localhost");
        let path = h.path.as_deref().unwrap_or("/");
        let port = port_of(&h.port)?;
        return Ok(format!("curl -f {scheme}://{host}:{port}{path} || exit 1"));
    }
    if let Some(t) = &p.tcp_socket {
        let host = t.host.as_deref().unwrap_or("localhost");
        let port = port_of(&t.port)?;
        return Ok(format!("nc -z -v {host} {port} || exit 1"));
    }
    Err(KubeError::Invalid {
        what: "livenessProbe",
        value: c.name.clone(),
        why: "give it exec, httpGet or tcpSocket".into(),
    })
}

fn env(
    c: &Container,
    maps: &BTreeMap<&str, &BTreeMap<String, String>>,
) -> Result<Vec<String>, KubeError> {
    let mut out = Vec::new();
    for from in &c.env_from {
        if from.secret_ref.is_some() {
            return Err(KubeError::Unsupported(format!(
                "envFrom.secretRef in container {:?}",
                c.name
            )));
        }
        let Some(r) = &from.config_map_ref else {
            continue;
        };
        match maps.get(r.name.as_str()) {
            Some(d) => {
                let prefix = from.prefix.clone().unwrap_or_default();
                out.extend(d.iter().map(|(k, v)| format!("{prefix}{k}={v}")));
            }
            None if r.optional => {}
            None => return Err(KubeError::NoConfigMap(r.name.clone())),
        }
    }
    for e in &c.env {
        if let Some(v) = &e.value {
            out.push(format!("{}={v}", e.name));
            continue;
        }
        let Some(from) = &e.value_from else {
            out.push(format!("{}=", e.name));
            continue;
        };
        if let Some(k) = &from.config_map_key_ref {
            match maps.get(k.name.as_str()).and_then(|d| d.get(&k.key)) {
                Some(v) => out.push(format!("{}={v}", e.name)),
                None if k.optional => {}
                None if maps.contains_key(k.name.as_str()) => {
                    return Err(KubeError::NoConfigKey {
                        map: k.name.clone(),
                        key: k.key.clone(),
                    })
                }
                None => return Err(KubeError::NoConfigMap(k.name.clone())),
            }
        } else if from.secret_key_ref.is_some() {
            return Err(KubeError::Unsupported(format!(
                "env {:?} from a secretKeyRef",
                e.name
            )));
        } else {
            return Err(KubeError::Unsupported(format!(
                "env {:?} from a fieldRef or resourceFieldRef",
                e.name
            )));
        }
    }
    Ok(out)
}

fn mount(
    a: &mut CreateOptions,
    c: &Container,
    m: &VolumeMount,
    sources: &BTreeMap<&str, Source>,
) -> Result<(), KubeError> {
    let src = sources
        .get(m.name.as_str())
        .ok_or_else(|| KubeError::UnknownVolume {
            volume: m.name.clone(),
            container: c.name.clone(),
        })?;
    if let Some(sub) = &m.sub_path {
        relative_path("subPath", sub)?;
    }
    // Podman reads "PATH:OPTIONS" in mountPath (e.g. /data:z or /data:ro),
    // the options of `-v`.
    let (path, opts) = match m.mount_path.split_once(':') {
        Some((p, o)) => (
            p,
            o.split(',').filter(|x| !x.is_empty()).collect::<Vec<_>>(),
        ),
        None => (m.mount_path.as_str(), Vec::new()),
    };
    let read_only = m.read_only || opts.contains(&"ro");
    let m = &VolumeMount {
        mount_path: path.to_string(),
        ..m.clone()
    };
    match src {
        Source::Bind(host) => {
            let host = match &m.sub_path {
                Some(sub) => format!("{}/{sub}", host.trim_end_matches('/')),
                None => host.clone(),
            };
            let mut o: Vec<&str> = opts
                .iter()
                .copied()
                .filter(|x| *x != "ro" && *x != "rw")
                .collect();
            if read_only {
                o.push("ro");
            }
            let suffix = if o.is_empty() {
                String::new()
            } else {
                format!(":{}", o.join(","))
            };
            a.volume.push(format!("{host}:{}{suffix}", m.mount_path));
        }
        Source::Named(v) | Source::Claim(v, _) => {
            let claim_ro = matches!(src, Source::Claim(_, true));
            if let Some(bad) = opts.iter().find(|x| !["ro", "rw", "z", "Z"].contains(x)) {
                return Err(KubeError::Invalid {
                    what: "mountPath option",
                    value: bad.to_string(),
                    why: format!("volume {:?} takes ro, rw, z or Z", m.name),
                });
            }
            a.mount.push(named_mount(v, m, read_only || claim_ro));
        }
        Source::Tmpfs => {
            if m.sub_path.is_some() {
                return Err(KubeError::Unsupported(
                    "subPath on a Memory emptyDir".into(),
                ));
            }
            a.mount.push(format!(
                "type=tmpfs,destination={}{}",
                m.mount_path,
                if read_only { ",ro" } else { "" }
            ));
        }
    }
    Ok(())
}

fn named_mount(volume: &str, m: &VolumeMount, ro: bool) -> String {
    let mut s = format!("type=volume,source={volume},destination={}", m.mount_path);
    if let Some(sub) = &m.sub_path {
        s.push_str(&format!(",subpath={sub}"));
    }
    if ro {
        s.push_str(",ro");
    }
    s
}
