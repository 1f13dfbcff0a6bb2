//! containers.conf(5): engine, containers and network defaults.
//!
//! Files are read in Podman's order and merged table by table:
//! `/usr/share/containers/containers.conf`, `/etc/containers/containers.conf`,
//! `/etc/containers/containers.conf.d/*.conf`, then for non-root users
//! `$XDG_CONFIG_HOME/containers/containers.conf{,.d/*.conf}`. When
//! `CONTAINERS_CONF` is set only that file is read; `CONTAINERS_CONF_OVERRIDE`
//! is read last on top of everything.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use crate::toml_files::{decode, drop_ins, read_stack};
use crate::ConfigError;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ContainersConf {
    pub containers: ContainersSection,
    pub engine: EngineSection,
    pub network: NetworkSection,
    /// The files that were read, in order.
    #[serde(skip)]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ContainersSection {
    /// `name=soft[:hard]` entries, e.g. `nofile=1024:2048`.
    pub default_ulimits: Vec<String>,
    pub default_capabilities: Option<Vec<String>>,
    pub env: Vec<String>,
    /// `--mount` values every container gets (`type=bind,src=..,dst=..`).
    pub mounts: Vec<String>,
    pub log_driver: Option<String>,
    pub log_size_max: Option<i64>,
    pub pids_limit: Option<i64>,
    /// The containers' oom_score_adj unless `--oom-score-adj` is given.
    pub oom_score_adj: Option<i32>,
    /// The seccomp profile containers get by default (a path).
    pub seccomp_profile: Option<String>,
    pub init_path: Option<String>,
    pub tz: Option<String>,
    /// Whether containers' root file systems are read-only unless
    /// `--read-only=false` says otherwise.
    pub read_only: Option<bool>,
    /// The containers' umask (`0022` when unset).
    pub umask: Option<String>,
    /// The network mode when `--network` is not given (e.g. "bridge", "pasta").
    pub netns: Option<String>,
    /// resolv.conf defaults beside `--dns`, `--dns-option`, `--dns-search`.
    pub dns_servers: Vec<String>,
    pub dns_options: Vec<String>,
    pub dns_searches: Vec<String>,
    /// The hosts file containers' /etc/hosts starts from: a path, "image"
    /// (the image's own), "none"; empty: the host's /etc/hosts.
    pub base_hosts_file: Option<String>,
    /// The address of host.containers.internal ("none": no such entry).
    pub host_containers_internal_ip: Option<String>,
    /// Whether podman writes /etc/hosts (Podman's `no_hosts`).
    pub no_hosts: Option<bool>,
    /// mounts.conf: `SRC:DST` lines copied into every container and RUN
    /// step (default /etc/containers/mounts.conf, else
    /// /usr/share/containers/mounts.conf).
    pub default_mounts_file: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct EngineSection {
    /// Runtime name (a key of `runtimes`) or path.
    pub runtime: Option<String>,
    /// Candidate paths per runtime name.
    pub runtimes: BTreeMap<String, Vec<String>>,
    /// Global flags per runtime name (without their leading `--`), given
    /// to every call of that runtime unless `--runtime-flag` is.
    pub runtimes_flags: BTreeMap<String, Vec<String>>,
    pub cgroup_manager: Option<String>,
    pub helper_binaries_dir: Vec<String>,
    pub events_logger: Option<String>,
    pub events_logfile_path: Option<String>,
    /// A size: bytes as a number, or a string such as "1m" (decimal units).
    pub events_logfile_max_size: Option<toml::Value>,
    pub events_container_create_inspect_data: Option<bool>,
    pub tmp_dir: Option<String>,
    /// Where libpod's database lives (default: the graph root).
    pub static_dir: Option<String>,
    pub volume_path: Option<String>,
    pub detach_keys: Option<String>,
    /// What an image's VOLUMEs become: "anonymous" (or "bind"), "tmpfs", "ignore".
    pub image_volume_mode: Option<String>,
    /// Whether published host ports are held (bound) while a container runs.
    pub enable_port_reservation: Option<bool>,
    /// The image of pods' infra containers (default: a local pause image).
    pub infra_image: Option<String>,
    /// How often a failed pull or push is tried again, and after how
    /// long (a Go duration; unset: 2 s, doubling).
    pub retry: Option<u32>,
    pub retry_delay: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NetworkSection {
    pub default_network: Option<String>,
    pub default_subnet: Option<String>,
    pub network_config_dir: Option<String>,
    pub firewall_driver: Option<String>,
    /// The user-mode network of rootless containers ("pasta" when unset).
    pub default_rootless_network_cmd: Option<String>,
    /// Options given to pasta before the mode's own.
    pub pasta_options: Vec<String>,
    /// The host addresses `-p` binds to when it names none (empty: all).
    pub default_host_ips: Vec<String>,
}

impl ContainersConf {
    /// The files Podman would read, given the environment.
    pub fn candidate_files() -> Vec<PathBuf> {
        if let Some(only) = std::env::var_os("CONTAINERS_CONF").filter(|v| !v.is_empty()) {
            let mut v = vec![PathBuf::from(only)];
            v.extend(override_file());
            return v;
        }
        let mut v = vec![
            PathBuf::from("/usr/share/containers/containers.conf"),
            PathBuf::from("/etc/containers/containers.conf"),
        ];
        v.extend(drop_ins(&PathBuf::from("/etc/containers/containers.conf.d")).unwrap_or_default());
        if !nix::unistd::geteuid().is_root() {
            if let Some(home) = crate::paths::config_home() {
                let c = home.join("containers");
                v.push(c.join("containers.conf"));
                v.extend(drop_ins(&c.join("containers.conf.d")).unwrap_or_default());
            }
        }
        v.extend(override_file());
        v
    }

    /// Load and validate the configuration from Podman's places.
    pub fn load() -> Result<Self, ConfigError> {
        Self::load_files(
            &Self::candidate_files(),
            std::env::var_os("CONTAINERS_CONF").is_some(),
        )
    }

    /// Load from an explicit list. With `must_exist`, the first file is
    /// required (an explicit `CONTAINERS_CONF` that is missing is an error).
    pub fn load_files(files: &[PathBuf], must_exist: bool) -> Result<Self, ConfigError> {
        if must_exist {
            if let Some(first) = files.first() {
                if !first.exists() {
                    return Err(ConfigError::Read {
                        path: first.clone(),
                        source: std::io::Error::from(std::io::ErrorKind::NotFound),
                    });
                }
            }
        }
        let (table, found) = read_stack(files)?;
        let mut conf: ContainersConf = decode(table, &found)?;
        conf.files = found;
        conf.validate()?;
        Ok(conf)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let blame = self.files.last().cloned().unwrap_or_default();
        let invalid = |message: String| ConfigError::Invalid {
            path: blame.clone(),
            message,
        };
        if let Some(m) = &self.engine.cgroup_manager {
            if m != "systemd" && m != "cgroupfs" {
                return Err(invalid(format!(
                    "engine.cgroup_manager {m:?} is not \"systemd\" or \"cgroupfs\""
                )));
            }
        }
        if let Some(d) = &self.containers.log_driver {
            if !LOG_DRIVERS.contains(&d.as_str()) {
                return Err(invalid(format!(
                    "containers.log_driver {d:?} is not one of {}",
                    LOG_DRIVERS.join(", ")
                )));
            }
        }
        if let Some(r) = &self.engine.runtime {
            if r.trim().is_empty() {
                return Err(invalid(
                    "engine.runtime is empty: name a runtime such as \"runc\" or remove the key"
                        .into(),
                ));
            }
        }
        for u in &self.containers.default_ulimits {
            crate::rlimits::Ulimit::parse(u)
                .map_err(|e| invalid(format!("containers.default_ulimits: {e}")))?;
        }
        Ok(())
    }

    /// Candidate paths for runtime `name`: containers.conf's `runtimes`
    /// table first, then the usual install places.
    pub fn runtime_paths(&self, name: &str) -> Vec<PathBuf> {
        if let Some(paths) = self.engine.runtimes.get(name) {
            return paths.iter().map(PathBuf::from).collect();
        }
        [
            "/usr/bin",
            "/usr/sbin",
            "/usr/local/bin",
            "/usr/local/sbin",
            "/sbin",
            "/bin",
        ]
        .iter()
        .map(|d| PathBuf::from(d).join(name))
        .collect()
    }

    /// Runtime names worth probing, in order of preference.
    pub fn runtime_names(&self) -> Vec<String> {
        let mut names: Vec<String> = vec!["crun".into(), "runc".into()];
        for k in self.engine.runtimes.keys() {
            if !names.contains(k) {
                names.push(k.clone());
            }
        }
        names
    }
}

pub const LOG_DRIVERS: &[&str] = &["k8s-file", "journald", "none", "passthrough", "json-file"];

fn override_file() -> Option<PathBuf> {
    std::env::var_os("CONTAINERS_CONF_OVERRIDE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &std::path::Path, name: &str, body: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        p
    }

    #[test]
    fn later_files_win_and_sections_merge() {
        let d = tempfile::tempdir().unwrap();
        let a = write(d.path(), "a.conf", "[engine]\nruntime = \"crun\"\ncgroup_manager = \"cgroupfs\"\n[network]\ndefault_network = \"podman\"\n");
        let b = write(d.path(), "b.conf", "[engine]\nruntime = \"runc\"\n");
        let c = ContainersConf::load_files(&[a, b], false).unwrap();
        assert_eq!(c.engine.runtime.as_deref(), Some("runc"));
        assert_eq!(c.engine.cgroup_manager.as_deref(), Some("cgroupfs"));
        assert_eq!(c.network.default_network.as_deref(), Some("podman"));
        assert_eq!(c.files.len(), 2);
    }

    #[test]
    fn unknown_keys_are_ignored_but_bad_values_are_not() {
        let d = tempfile::tempdir().unwrap();
        let ok = write(
            d.path(),
            "ok.conf",
            "[engine]\nsome_future_key = 3\n[machine]\ncpus = 2\n",
        );
        assert!(ContainersConf::load_files(&[ok], false).is_ok());
        let bad = write(
            d.path(),
            "bad.conf",
            "[engine]\ncgroup_manager = \"upstart\"\n",
        );
        let e = ContainersConf::load_files(&[bad], false)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("bad.conf") && e.contains("cgroup_manager"),
            "{e}"
        );
        let wrong_type = write(d.path(), "type.conf", "[engine]\nruntime = 5\n");
        let e = ContainersConf::load_files(&[wrong_type], false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("type.conf"), "{e}");
    }

    #[test]
    fn an_explicit_missing_file_is_an_error() {
        let e =
            ContainersConf::load_files(&[PathBuf::from("/nonexistent/c.conf")], true).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/c.conf"));
        assert!(ContainersConf::load_files(&[PathBuf::from("/nonexistent/c.conf")], false).is_ok());
    }
}
