//! Kubernetes objects as what our lifecycle makes: a pod's options, its
//! containers' options, and the volumes they need. Pure: nothing is made
//! here, so a YAML that cannot be played is refused before anything
//! exists.

use std::collections::BTreeMap;

use crate::lifecycle::create_options::CreateOptions;
use crate::lifecycle::pod::PodCreateOptions;

use super::model::{Container, DeploymentSpec, Object, PodSpec, Probe, VolumeMount};

#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    #[error("kube play: {0}: give it a name in metadata.name")]
    NoName(String),
    #[error("kube play: container {0:?} has no image: set containers[].image")]
    NoImage(String),
    #[error("kube play: {0} has no containers: set spec.containers")]
    NoContainers(String),
    #[error("kube play: volume mount {volume:?} of container {container:?} is not in the pod's volumes: add it to spec.volumes")]
    UnknownVolume { volume: String, container: String },
    #[error("no such ConfigMap {0:?}: define it in the YAML or pass its file with --configmap")]
    NoConfigMap(String),
    #[error("kube play: ConfigMap {map:?} has no key {key:?}")]
    NoConfigKey { map: String, key: String },
    #[error("kube play: {0} is not supported by this podman; remove it from the YAML")]
    Unsupported(String),
    #[error("kube play: invalid {what} {value:?}: {why}")]
    Invalid {
        what: &'static str,
        value: String,
        why: String,
    },
}

/// The `kube play` flags that shape what is made.
#[derive(Debug, Clone, Default)]
pub struct PlayOptions {
    pub network: Vec<String>,
    pub publish: Vec<String>,
    pub annotations: Vec<String>,
    pub log_driver: Option<String>,
    pub tls_verify: Option<bool>,
    pub quiet: bool,
}

/// A volume a pod needs made before its containers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodVolume {
    /// An emptyDir: one anonymous volume the pod's containers share.
    Empty {
        volume: String,
    },
    /// A ConfigMap as files in a volume named after the map.
    Config {
        name: String,
        files: BTreeMap<String, String>,
    },
    /// A hostPath of a type that wants it made when missing.
    HostDir(String),
    HostFile(String),
}

#[derive(Debug, Clone)]
pub struct PodPlan {
    pub name: String,
    pub pod: PodCreateOptions,
    pub volumes: Vec<PodVolume>,
    pub containers: Vec<CreateOptions>,
    /// hostPath checks (path, type) done just before creation.
    pub host_paths: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// PersistentVolumeClaims: named volumes, made when missing.
    pub claims: Vec<String>,
    pub pods: Vec<PodPlan>,
}

/// The pod names the objects would make, for `kube down` and `--replace`.
pub fn pod_names(objects: &[Object]) -> Vec<String> {
    objects
        .iter()
        .filter_map(|o| match o.kind.as_str() {
            "Pod" => Some(o.metadata.name.clone()),
            "Deployment" => Some(format!("{}-pod", o.metadata.name)),
            _ => None,
        })
        .filter(|n| !n.is_empty() && n != "-pod")
        .collect()
}

pub fn plan(objects: &[Object], extra_maps: &[Object], o: &PlayOptions) -> Result<Plan, KubeError> {
    let maps: BTreeMap<&str, &BTreeMap<String, String>> = objects
        .iter()
        .chain(extra_maps)
        .filter(|x| x.kind == "ConfigMap")
        .map(|x| (x.metadata.name.as_str(), &x.data))
        .collect();
    let mut out = Plan::default();
    for obj in objects {
        match obj.kind.as_str() {
            "Pod" => {
                let spec: PodSpec = from_value(&obj.spec, "Pod spec")?;
                if obj.metadata.name.is_empty() {
                    return Err(KubeError::NoName("pod".into()));
                }
                out.pods
                    .push(pod(&obj.metadata.name, obj, &spec, &maps, o)?);
            }
            "Deployment" => {
                let spec: DeploymentSpec = from_value(&obj.spec, "Deployment spec")?;
                if obj.metadata.name.is_empty() {
                    return Err(KubeError::NoName("deployment".into()));
                }
                if spec.replicas.is_some_and(|r| r > 1) {
                    eprintln!("Limiting replica count to 1, more than one replica is not supported by Podman");
                }
                let mut tmpl = Object {
                    metadata: spec.template.metadata.clone(),
                    ..Default::default()
                };
                // The deployment's own labels and annotations reach its pod.
                tmpl.metadata.labels.extend(obj.metadata.labels.clone());
                tmpl.metadata
                    .annotations
                    .extend(obj.metadata.annotations.clone());
                let name = format!("{}-pod", obj.metadata.name);
                out.pods
                    .push(pod(&name, &tmpl, &spec.template.spec, &maps, o)?);
            }
            "PersistentVolumeClaim" => {
                if obj.metadata.name.is_empty() {
                    return Err(KubeError::NoName("persistent volume claim".into()));
                }
                out.claims.push(obj.metadata.name.clone());
            }
            // Read by the pods that use them.
            "ConfigMap" => {}
            // Podman skips kinds it does not play (Services, ...).
            other => tracing::info!(kind = other, "kube kind not supported, skipped"),
        }
    }
    Ok(out)
}

fn from_value<T: serde::de::DeserializeOwned>(
    v: &serde_yaml_ng::Value,
    what: &'static str,
) -> Result<T, KubeError> {
    serde_yaml_ng::from_value(v.clone()).map_err(|e| KubeError::Invalid {
        what,
        value: String::new(),
        why: e.to_string(),
    })
}

fn pod(
    name: &str,
    obj: &Object,
    spec: &PodSpec,
    maps: &BTreeMap<&str, &BTreeMap<String, String>>,
    o: &PlayOptions,
) -> Result<PodPlan, KubeError> {
    if spec.containers.is_empty() {
        return Err(KubeError::NoContainers(format!("pod {name:?}")));
    }
    if !spec.init_containers.is_empty() {
        return Err(KubeError::Unsupported("spec.initContainers".into()));
    }
    if spec.host_pid || spec.host_ipc {
        return Err(KubeError::Unsupported("spec.hostPID/hostIPC".into()));
    }
    let restart = match spec.restart_policy.as_deref().unwrap_or("Always") {
        "Always" => "always",
        "OnFailure" => "on-failure",
        "Never" => "no",
        other => {
            return Err(KubeError::Invalid {
                what: "restartPolicy",
                value: other.into(),
                why: "use Always, OnFailure or Never".into(),
            })
        }
    };
    let mut publish: Vec<String> = o.publish.clone();
    let overridden: Vec<u16> = o
        .publish
        .iter()
        .filter_map(|p| flag_container_port(p))
        .collect();
    for c in &spec.containers {
        for p in &c.ports {
            let Some(host) = p.host_port.filter(|h| *h != 0) else {
                continue;
            };
            let inside = if p.container_port == 0 {
                host
            } else {
                p.container_port
            };
            if overridden.contains(&inside) {
                continue;
            }
            let proto = p.protocol.as_deref().unwrap_or("TCP").to_ascii_lowercase();
            let ip = p
                .host_ip
                .as_deref()
                .map(|i| format!("{i}:"))
                .unwrap_or_default();
            publish.push(format!("{ip}{host}:{inside}/{proto}"));
        }
    }
    let network = if spec.host_network {
        vec!["host".to_string()]
    } else {
        o.network.clone()
    };
    let dns = spec.dns_config.clone().unwrap_or_default();
    let pod = PodCreateOptions {
        name: Some(name.to_string()),
        publish,
        network,
        infra: true,
        hostname: spec.hostname.clone(),
        labels: obj
            .metadata
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
        exit_policy: Some("stop".into()),
        dns: dns.nameservers,
        dns_search: dns.searches,
        dns_option: dns
            .options
            .iter()
            .map(|x| match &x.value {
                Some(v) => format!("{}:{v}", x.name),
                None => x.name.clone(),
            })
            .collect(),
        add_host: spec
            .host_aliases
            .iter()
            .flat_map(|a| a.hostnames.iter().map(move |h| format!("{h}:{}", a.ip)))
            .collect(),
        restart: Some(restart.into()),
        create_command: std::env::args().collect(),
        ..Default::default()
    };
    let mut volumes = Vec::new();
    let mut host_paths = Vec::new();
    // Each pod volume as what a container's -v or --mount names.
    let mut sources: BTreeMap<&str, Source> = BTreeMap::new();
    for v in &spec.volumes {
        let src = if let Some(h) = &v.host_path {
            let kind = h.kind.clone().unwrap_or_default();
            match kind.as_str() {
                "DirectoryOrCreate" => volumes.push(PodVolume::HostDir(h.path.clone())),
                "FileOrCreate" => volumes.push(PodVolume::HostFile(h.path.clone())),
                "" | "Directory" | "File" | "Socket" | "CharDevice" | "BlockDevice" => {
                    host_paths.push((h.path.clone(), kind))
                }
                other => {
                    return Err(KubeError::Invalid {
                        what: "hostPath type",
                        value: other.into(),
                        why: "use Directory, DirectoryOrCreate, File, FileOrCreate, Socket, CharDevice or BlockDevice".into(),
                    })
                }
            }
            Source::Bind(h.path.clone())
        } else if let Some(e) = &v.empty_dir {
            if e.medium.as_deref() == Some("Memory") {
                Source::Tmpfs
            } else {
                let volume = v.name.clone();
                volumes.push(PodVolume::Empty {
                    volume: volume.clone(),
                });
                Source::Named(volume)
            }
        } else if let Some(c) = &v.persistent_volume_claim {
            Source::Claim(c.claim_name.clone(), c.read_only)
        } else if let Some(cm) = &v.config_map {
            let data = match maps.get(cm.name.as_str()) {
                Some(d) => (*d).clone(),
                None if cm.optional => BTreeMap::new(),
                None => return Err(KubeError::NoConfigMap(cm.name.clone())),
            };
            let files = if cm.items.is_empty() {
                data
            } else {
                let mut f = BTreeMap::new();
                for it in &cm.items {
                    let value = data.get(&it.key).ok_or_else(|| KubeError::NoConfigKey {
                        map: cm.name.clone(),
                        key: it.key.clone(),
                    })?;
                    f.insert(it.path.clone(), value.clone());
                }
                f
            };
            for f in files.keys() {
                relative_path("configMap item path", f)?;
            }
            volumes.push(PodVolume::Config {
                name: cm.name.clone(),
                files,
            });
            Source::Named(cm.name.clone())
        } else if v.secret.is_some() {
            return Err(KubeError::Unsupported(format!(
                "secret volume {:?}",
                v.name
            )));
        } else if v.image.is_some() {
            return Err(KubeError::Unsupported(format!("image volume {:?}", v.name)));
        } else {
            return Err(KubeError::Invalid {
                what: "volume",
                value: v.name.clone(),
                why: "give it a hostPath, emptyDir, persistentVolumeClaim or configMap".into(),
            });
        };
        sources.insert(v.name.as_str(), src);
    }
    let mut containers = Vec::new();
    for c in &spec.containers {
        containers.push(container(name, obj, c, &sources, maps, restart, o)?);
    }
    Ok(PodPlan {
        name: name.to_string(),
        pod,
        volumes,
        containers,
        host_paths,
    })
}

enum Source {
    Bind(String),
    Named(String),
    Claim(String, bool),
    Tmpfs,
}

/// The container port of a `--publish` value ([[ip:]host:]ctr[/proto]).
fn flag_container_port(p: &str) -> Option<u16> {
    let spec = p.split('/').next()?;
    spec.rsplit(':').next()?.parse().ok()
}

/// A path that must stay below the directory it is joined to.
fn relative_path(what: &'static str, p: &str) -> Result<(), KubeError> {
    let bad = p.starts_with('/') || p.split('/').any(|c| c == "..") || p.is_empty();
    if bad {
        return Err(KubeError::Invalid {
            what,
            value: p.into(),
            why: "it must be a relative path without '..'".into(),
        });
    }
    Ok(())
}

fn container(
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
        a.read_only = s.read_only_root_filesystem.unwrap_or(false);
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
fn latest_or_untagged(image: &str) -> bool {
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

/// A Kubernetes memory quantity in bytes ("128Mi", "1G", "1e6", "512").
fn memory(v: &serde_yaml_ng::Value) -> Result<u64, KubeError> {
    let s = quantity_text(v);
    let bad = || KubeError::Invalid {
        what: "memory quantity",
        value: s.clone(),
        why: "use a number with an optional suffix Ki, Mi, Gi, Ti, k, M, G or T".into(),
    };
    let split = s
        .find(|ch: char| !(ch.is_ascii_digit() || ch == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().map_err(|_| bad())?;
    let mult: f64 = match unit {
        "" => 1.0,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        u if u.starts_with('e') => 10f64.powi(u[1..].parse().map_err(|_| bad())?),
        _ => return Err(bad()),
    };
    Ok((n * mult).round() as u64)
}

/// A Kubernetes CPU quantity in thousandths of a CPU ("500m", "2", "0.5").
fn millicpu(v: &serde_yaml_ng::Value) -> Result<u64, KubeError> {
    let s = quantity_text(v);
    let parsed = match s.strip_suffix('m') {
        Some(m) => m.parse::<u64>().ok(),
        None => s
            .parse::<f64>()
            .ok()
            .filter(|f| *f >= 0.0)
            .map(|f| (f * 1000.0).round() as u64),
    };
    parsed.ok_or_else(|| KubeError::Invalid {
        what: "cpu quantity",
        value: s.clone(),
        why: "use a number of CPUs (0.5) or millicores (500m)".into(),
    })
}

fn quantity_text(v: &serde_yaml_ng::Value) -> String {
    match v {
        serde_yaml_ng::Value::String(s) => s.trim().to_string(),
        serde_yaml_ng::Value::Number(n) => n.to_string(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests;
