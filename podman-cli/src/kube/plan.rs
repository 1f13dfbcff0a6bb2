//! Kubernetes objects as what our lifecycle makes: a pod's options, its
//! containers' options, and the volumes they need. Pure: nothing is made
//! here, so a YAML that cannot be played is refused before anything
//! exists.

use std::collections::BTreeMap;

use crate::lifecycle::create_options::CreateOptions;
use crate::lifecycle::pod::PodCreateOptions;

use super::model::{DeploymentSpec, Object, PodSpec};

mod container;
mod quantity;

use container::container;
#[cfg(test)]
use container::latest_or_untagged;
#[cfg(test)]
use quantity::{memory, millicpu};

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

#[cfg(test)]
mod tests;
