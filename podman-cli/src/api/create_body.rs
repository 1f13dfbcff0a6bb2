//! Docker's container create body (`POST /containers/create`) as the
//! CLI's create options: the same create runs for both. Settings with no
//! equivalent here are refused by name, never dropped.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::errors::ApiError;
use crate::lifecycle::create_options::CreateOptions;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateBody {
    pub hostname: String,
    pub domainname: String,
    pub user: String,
    pub attach_stdin: bool,
    pub tty: bool,
    pub open_stdin: bool,
    pub stdin_once: bool,
    pub env: Option<Vec<String>>,
    pub cmd: Option<StrOrVec>,
    pub entrypoint: Option<StrOrVec>,
    pub image: String,
    pub labels: Option<BTreeMap<String, String>>,
    pub working_dir: String,
    pub exposed_ports: Option<BTreeMap<String, Value>>,
    pub volumes: Option<BTreeMap<String, Value>>,
    pub stop_signal: String,
    pub stop_timeout: Option<i64>,
    pub healthcheck: Option<Health>,
    pub mac_address: String,
    pub network_disabled: bool,
    pub host_config: HostConfig,
    pub networking_config: Option<NetworkingConfig>,
}

/// Docker accepts Cmd and Entrypoint as a list or a string.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum StrOrVec {
    Str(String),
    Vec(Vec<String>),
}

impl StrOrVec {
    fn into_vec(self) -> Vec<String> {
        match self {
            StrOrVec::Str(s) if s.is_empty() => vec![],
            StrOrVec::Str(s) => vec![s],
            StrOrVec::Vec(v) => v,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Health {
    pub test: Vec<String>,
    pub interval: i64,
    pub timeout: i64,
    pub retries: i64,
    pub start_period: i64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RestartPolicy {
    pub name: String,
    pub maximum_retry_count: i64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PortBinding {
    pub host_ip: String,
    pub host_port: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Mount {
    #[serde(rename = "Type")]
    pub kind: String,
    pub source: String,
    pub target: String,
    pub read_only: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct LogConfig {
    #[serde(rename = "Type")]
    pub kind: String,
    pub config: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Ulimit {
    pub name: String,
    pub soft: i64,
    pub hard: i64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct HostConfig {
    pub binds: Option<Vec<String>>,
    pub network_mode: String,
    pub port_bindings: Option<BTreeMap<String, Option<Vec<PortBinding>>>>,
    pub restart_policy: RestartPolicy,
    pub auto_remove: bool,
    pub volumes_from: Option<Vec<String>>,
    pub cap_add: Option<Vec<String>>,
    pub cap_drop: Option<Vec<String>>,
    pub dns: Option<Vec<String>>,
    pub dns_options: Option<Vec<String>>,
    pub dns_search: Option<Vec<String>>,
    pub extra_hosts: Option<Vec<String>>,
    pub group_add: Option<Vec<String>>,
    pub ipc_mode: String,
    pub pid_mode: String,
    pub uts_mode: String,
    pub userns_mode: String,
    pub privileged: bool,
    pub publish_all_ports: bool,
    pub readonly_rootfs: bool,
    pub security_opt: Option<Vec<String>>,
    pub tmpfs: Option<BTreeMap<String, String>>,
    pub shm_size: i64,
    pub sysctls: Option<BTreeMap<String, String>>,
    pub init: Option<bool>,
    pub mounts: Option<Vec<Mount>>,
    pub log_config: LogConfig,
    pub memory: i64,
    pub memory_reservation: i64,
    pub memory_swap: i64,
    pub nano_cpus: i64,
    pub cpu_shares: i64,
    pub cpu_period: i64,
    pub cpu_quota: i64,
    pub cpuset_cpus: String,
    pub cpuset_mems: String,
    pub blkio_weight: i64,
    pub pids_limit: Option<i64>,
    pub ulimits: Option<Vec<Ulimit>>,
    pub oom_score_adj: i64,
    pub devices: Option<Vec<Value>>,
    pub links: Option<Vec<String>>,
    pub runtime: String,
    pub cgroup_parent: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EndpointSettings {
    pub aliases: Option<Vec<String>>,
    #[serde(rename = "IPAMConfig")]
    pub ipam_config: Option<IpamConfig>,
    pub mac_address: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct IpamConfig {
    #[serde(rename = "IPv4Address")]
    pub ipv4_address: String,
    #[serde(rename = "IPv6Address")]
    pub ipv6_address: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkingConfig {
    pub endpoints_config: Option<BTreeMap<String, EndpointSettings>>,
}

fn refuse(field: &str) -> ApiError {
    ApiError::bad_request(format!(
        "HostConfig.{field} is not supported by podman-rs: leave it unset"
    ))
}

/// Go duration text for nanoseconds (what the health flags parse).
fn ns(v: i64) -> String {
    format!("{v}ns")
}

impl CreateBody {
    /// The create options; `name` from the query.
    pub fn into_options(self, name: Option<String>) -> Result<CreateOptions, ApiError> {
        let h = self.host_config;
        if h.links.as_ref().is_some_and(|l| !l.is_empty()) {
            return Err(ApiError::bad_request("link is not supported"));
        }
        if h.devices.as_ref().is_some_and(|d| !d.is_empty()) {
            return Err(refuse("Devices"));
        }
        if !h.cgroup_parent.is_empty() {
            return Err(refuse("CgroupParent"));
        }
        if self.image.is_empty() {
            return Err(ApiError::bad_request("no image given: Image is required"));
        }
        let mut o = CreateOptions {
            name: name.filter(|n| !n.is_empty()),
            image: self.image,
            env: self.env.unwrap_or_default(),
            workdir: Some(self.working_dir).filter(|s| !s.is_empty()),
            user: Some(self.user).filter(|s| !s.is_empty()),
            hostname: Some(self.hostname).filter(|s| !s.is_empty()),
            label: self
                .labels
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
            read_only: Some(h.readonly_rootfs),
            privileged: h.privileged,
            cap_add: h.cap_add.unwrap_or_default(),
            cap_drop: h.cap_drop.unwrap_or_default(),
            security_opt: h.security_opt.unwrap_or_default(),
            init: h.init.unwrap_or(false),
            stop_signal: Some(self.stop_signal).filter(|s| !s.is_empty()),
            stop_timeout: self.stop_timeout.and_then(|t| u32::try_from(t).ok()),
            interactive: self.open_stdin,
            tty: self.tty,
            rm: h.auto_remove,
            volume: h.binds.unwrap_or_default(),
            volumes_from: h.volumes_from.unwrap_or_default(),
            dns: h.dns.unwrap_or_default(),
            dns_search: h.dns_search.unwrap_or_default(),
            add_host: h.extra_hosts.unwrap_or_default(),
            group_add: h.group_add.unwrap_or_default(),
            publish_all: h.publish_all_ports,
            mac_address: Some(self.mac_address).filter(|s| !s.is_empty()),
            // The client pulls what is missing (a 404 tells it to).
            pull: "never".into(),
            quiet: true,
            ..Default::default()
        };
        o.more.dns_option = h.dns_options.unwrap_or_default();
        if let Some(cmd) = self.cmd {
            o.command = cmd.into_vec();
        }
        if let Some(ep) = self.entrypoint {
            let v = ep.into_vec();
            o.entrypoint = Some(if v.is_empty() {
                String::new()
            } else {
                serde_json::to_string(&v).unwrap_or_default()
            });
        }
        if !h.restart_policy.name.is_empty() && h.restart_policy.name != "no" {
            o.restart = Some(
                if h.restart_policy.name == "on-failure" && h.restart_policy.maximum_retry_count > 0
                {
                    format!("on-failure:{}", h.restart_policy.maximum_retry_count)
                } else {
                    h.restart_policy.name.clone()
                },
            );
        }
        for (port, bindings) in h.port_bindings.unwrap_or_default() {
            let bindings = bindings.unwrap_or_default();
            if bindings.is_empty() {
                o.publish.push(port.clone());
            }
            for b in bindings {
                let host = match (b.host_ip.as_str(), b.host_port.as_str()) {
                    ("", "") => String::new(),
                    ("", p) => format!("{p}:"),
                    (ip, p) => format!("{ip}:{p}:"),
                };
                o.publish.push(format!("{host}{port}"));
            }
        }
        o.more.expose = self.exposed_ports.unwrap_or_default().into_keys().collect();
        for m in h.mounts.unwrap_or_default() {
            let mut s = format!("type={},destination={}", m.kind, m.target);
            if !m.source.is_empty() {
                s.push_str(&format!(",source={}", m.source));
            }
            if m.read_only {
                s.push_str(",ro");
            }
            o.mount.push(s);
        }
        for (path, opts) in h.tmpfs.unwrap_or_default() {
            o.tmpfs.push(if opts.is_empty() {
                path
            } else {
                format!("{path}:{opts}")
            });
        }
        // Anonymous volumes named in Config.Volumes.
        for path in self.volumes.unwrap_or_default().into_keys() {
            o.volume.push(path);
        }
        for (k, v) in h.sysctls.unwrap_or_default() {
            o.more.sysctl.push(format!("{k}={v}"));
        }
        for u in h.ulimits.unwrap_or_default() {
            o.ulimit.push(format!("{}={}:{}", u.name, u.soft, u.hard));
        }
        if h.shm_size > 0 {
            o.more.shm_size = Some(h.shm_size.to_string());
        }
        if h.oom_score_adj != 0 {
            o.more.oom_score_adj = Some(h.oom_score_adj.to_string());
        }
        if let Some(p) = h.pids_limit.filter(|p| *p != 0) {
            o.more.pids_limit = Some(p.to_string());
        }
        for (v, dst) in [
            (&h.ipc_mode, &mut o.more.ipc),
            (&h.pid_mode, &mut o.more.pid),
            (&h.uts_mode, &mut o.more.uts),
            (&h.userns_mode, &mut o.more.userns),
        ] {
            if !v.is_empty() {
                *dst = Some(v.clone());
            }
        }
        let r = &mut o.resources;
        let num = |v: i64| (v != 0).then(|| v.to_string());
        r.memory = num(h.memory);
        r.memory_reservation = num(h.memory_reservation);
        r.memory_swap = num(h.memory_swap);
        r.cpu_shares = num(h.cpu_shares);
        r.cpu_period = num(h.cpu_period);
        r.cpu_quota = num(h.cpu_quota);
        r.blkio_weight = num(h.blkio_weight);
        r.cpuset_cpus = Some(h.cpuset_cpus).filter(|s| !s.is_empty());
        r.cpuset_mems = Some(h.cpuset_mems).filter(|s| !s.is_empty());
        if h.nano_cpus != 0 {
            r.cpus = Some(format!("{}", h.nano_cpus as f64 / 1e9));
        }
        if !h.log_config.kind.is_empty() {
            let driver = match h.log_config.kind.as_str() {
                "json-file" => "k8s-file".to_string(),
                other => other.to_string(),
            };
            o.log_driver = Some(driver);
            o.more.log_opt = h
                .log_config
                .config
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
        }
        if let Some(hc) = self.healthcheck {
            match hc.test.first().map(String::as_str) {
                None => {}
                Some("NONE") => o.health.none = true,
                Some(_) => {
                    o.health.cmd = Some(serde_json::to_string(&hc.test).unwrap_or_default());
                    if hc.interval > 0 {
                        o.health.interval = Some(ns(hc.interval));
                    }
                    if hc.timeout > 0 {
                        o.health.timeout = Some(ns(hc.timeout));
                    }
                    if hc.start_period > 0 {
                        o.health.start_period = Some(ns(hc.start_period));
                    }
                    if hc.retries > 0 {
                        o.health.retries = Some(hc.retries.to_string());
                    }
                }
            }
        }
        // Networks: the mode, then each endpoint named.
        let mut networks = Vec::new();
        if self.network_disabled {
            networks.push("none".to_string());
        } else {
            match h.network_mode.as_str() {
                "" | "default" | "bridge" => {}
                m => networks.push(m.to_string()),
            }
            let endpoints = self
                .networking_config
                .and_then(|n| n.endpoints_config)
                .unwrap_or_default();
            for (net, ep) in endpoints {
                if net != h.network_mode && net != "bridge" && net != "default" {
                    networks.push(net.clone());
                }
                o.network_alias.extend(ep.aliases.unwrap_or_default());
                if let Some(i) = ep.ipam_config {
                    if !i.ipv4_address.is_empty() {
                        o.ip = Some(i.ipv4_address);
                    }
                    if !i.ipv6_address.is_empty() {
                        o.more.ip6 = Some(i.ipv6_address);
                    }
                }
            }
        }
        if !networks.is_empty() {
            o.network = vec![networks.join(",")];
        }
        if !self.domainname.is_empty() {
            return Err(ApiError::bad_request(
                "Domainname is not supported by podman-rs: set the full name in Hostname",
            ));
        }
        if !h.runtime.is_empty() && h.runtime != "runc" && h.runtime != "crun" {
            return Err(refuse("Runtime"));
        }
        let _ = (self.attach_stdin, self.stdin_once);
        Ok(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_cli_body() {
        let b: CreateBody = serde_json::from_str(r#"{"Image":"busybox","Cmd":["sh","-c","exit 3"],"Env":["A=1"],"Tty":false,"OpenStdin":true,"Labels":{"k":"v"},"HostConfig":{"AutoRemove":true,"PortBindings":{"80/tcp":[{"HostIp":"","HostPort":"8080"}]},"NetworkMode":"default","Binds":["/a:/b:ro"],"RestartPolicy":{"Name":"no"}},"NetworkingConfig":{"EndpointsConfig":{}}}"#).unwrap();
        let o = b.into_options(Some("x".into())).unwrap();
        assert_eq!(o.image, "busybox");
        assert_eq!(o.command, ["sh", "-c", "exit 3"]);
        assert!(o.rm && o.interactive && !o.tty);
        assert_eq!(o.publish, ["8080:80/tcp"]);
        assert_eq!(o.label, ["k=v"]);
        assert_eq!(o.volume, ["/a:/b:ro"]);
        assert!(o.network.is_empty());
        assert_eq!(o.pull, "never");
        assert_eq!(o.restart, None);
    }

    #[test]
    fn refusals() {
        let b: CreateBody =
            serde_json::from_str(r#"{"Image":"x","HostConfig":{"Links":["a:b"]}}"#).unwrap();
        assert!(b.into_options(None).is_err());
        let b: CreateBody = serde_json::from_str(r#"{"Cmd":["x"]}"#).unwrap();
        assert!(b.into_options(None).is_err());
    }
}
