//! The configuration one `podman` invocation runs with: Podman's files,
//! then the global flags on top. Everything is read and validated here,
//! before anything is written anywhere.

use std::path::PathBuf;

use common::containers_conf::ContainersConf;
use common::policy::Policy;
use common::registries_conf::RegistriesConf;
use common::storage_conf::StorageConf;

/// What this invocation overrides (Podman's global flags); `None` or empty
/// means "as configured".
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    pub root: Option<PathBuf>,
    pub runroot: Option<PathBuf>,
    pub log_level: String,
    pub runtime: Option<String>,
    pub runtime_flags: Vec<String>,
    pub cgroup_manager: Option<String>,
    pub storage_driver: Option<String>,
    pub storage_opts: Vec<String>,
    pub network_config_dir: Option<PathBuf>,
    pub tmpdir: Option<PathBuf>,
    /// Extra containers.conf modules, loaded on top of the others.
    pub modules: Vec<PathBuf>,
    /// `--volumepath`: where volume data lives.
    pub volume_path: Option<PathBuf>,
    /// `--default-mounts-file`: the mounts.conf containers get.
    pub default_mounts_file: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub containers: ContainersConf,
    /// storage.conf as read (driver and options come from it; kept for `info`).
    pub storage: StorageConf,
    /// registries.conf and policy.json, read on first use: most commands
    /// never resolve a short name or check a signature policy.
    registries: std::sync::OnceLock<RegistriesConf>,
    policy: std::sync::OnceLock<Policy>,
    pub graph_root: PathBuf,
    pub run_root: PathBuf,
    pub storage_driver: String,
    pub storage_opts: Vec<String>,
    pub cgroup_manager: String,
    /// `--runtime` or containers.conf `runtime`, unresolved; `None` means
    /// "detect": crun where it works, else runc.
    pub runtime: Option<String>,
    pub runtime_flags: Vec<String>,
    pub network_config_dir: PathBuf,
    pub tmp_dir: PathBuf,
    pub volume_path: PathBuf,
    pub log_level: String,
    /// mounts.conf named by the flag or containers.conf; `None`: the
    /// default files (/etc/containers/mounts.conf, then
    /// /usr/share/containers/mounts.conf).
    pub default_mounts_file: Option<PathBuf>,
}

impl EngineConfig {
    /// registries.conf (and its drop-ins), read the first time it is needed.
    pub fn registries(&self) -> anyhow::Result<&RegistriesConf> {
        if let Some(r) = self.registries.get() {
            return Ok(r);
        }
        let r = RegistriesConf::load()?;
        Ok(self.registries.get_or_init(|| r))
    }

    /// The signature policy (policy.json), read the first time it is needed.
    pub fn policy(&self) -> anyhow::Result<&Policy> {
        if let Some(p) = self.policy.get() {
            return Ok(p);
        }
        let p = Policy::load(&Policy::default_path())?;
        Ok(self.policy.get_or_init(|| p))
    }

    pub fn load(g: &EngineOptions) -> anyhow::Result<Self> {
        let mut files = ContainersConf::candidate_files();
        files.extend(g.modules.iter().cloned());
        for m in &g.modules {
            if !m.exists() {
                anyhow::bail!(
                    "containers.conf module {} does not exist: check the --module path",
                    m.display()
                );
            }
        }
        let containers =
            ContainersConf::load_files(&files, std::env::var_os("CONTAINERS_CONF").is_some())?;
        let storage = StorageConf::load()?;

        let graph_root = g
            .root
            .clone()
            .or_else(|| storage.storage.graphroot.as_ref().map(PathBuf::from))
            .unwrap_or_else(common::paths::default_graph_root);
        let run_root = g
            .runroot
            .clone()
            .or_else(|| storage.storage.runroot.as_ref().map(PathBuf::from))
            .unwrap_or_else(common::paths::default_run_root);
        for (what, p) in [("--root", &graph_root), ("--runroot", &run_root)] {
            if !p.is_absolute() {
                anyhow::bail!(
                    "{what} {} is not an absolute path: pass a path starting with /",
                    p.display()
                );
            }
        }
        let storage_driver = g
            .storage_driver
            .clone()
            .or_else(|| {
                // containers-storage's override of storage.conf's driver.
                std::env::var("STORAGE_DRIVER")
                    .ok()
                    .filter(|d| !d.is_empty())
            })
            .or_else(|| storage.storage.driver.clone().filter(|d| !d.is_empty()))
            .unwrap_or_else(|| "overlay".into());
        if !common::storage_conf::DRIVERS.contains(&storage_driver.as_str()) {
            anyhow::bail!(
                "unknown storage driver {storage_driver:?}: use one of {}",
                common::storage_conf::DRIVERS.join(", ")
            );
        }
        if let Some(o) = g.storage_opts.first() {
            if !o.contains('=') {
                anyhow::bail!(
                    "invalid --storage-opt {o:?}: expected key=value, e.g. overlay.mountopt=nodev"
                );
            }
            // storage-helper has no driver options (no additional image
            // stores, mount options or mount program): an option it would
            // not honour is refused rather than reported as in effect.
            anyhow::bail!(
                "--storage-opt {o:?}: storage-helper takes no storage driver options (additional image stores, mount options): remove it, or pass --storage-opt '' for none"
            );
        }
        let cgroup_manager = g
            .cgroup_manager
            .clone()
            .or_else(|| containers.engine.cgroup_manager.clone())
            .unwrap_or_else(default_cgroup_manager);
        let runtime = g
            .runtime
            .clone()
            .or_else(|| containers.engine.runtime.clone());
        let network_config_dir = g
            .network_config_dir
            .clone()
            .or_else(|| {
                containers
                    .network
                    .network_config_dir
                    .as_ref()
                    .map(PathBuf::from)
            })
            .unwrap_or_else(|| {
                // Podman's own place: network files are netavark's JSON,
                // so Podman's networks are ours and ours are Podman's.
                if common::paths::is_root() {
                    PathBuf::from("/etc/containers/networks")
                } else {
                    graph_root.join("networks")
                }
            });
        let tmp_dir = g
            .tmpdir
            .clone()
            .or_else(|| containers.engine.tmp_dir.as_ref().map(PathBuf::from))
            .unwrap_or_else(|| run_root.join("libpod-tmp"));
        let volume_path = g
            .volume_path
            .clone()
            .or_else(|| containers.engine.volume_path.as_ref().map(PathBuf::from))
            .unwrap_or_else(|| graph_root.join("volumes"));
        let default_mounts_file = g.default_mounts_file.clone().or_else(|| {
            containers
                .containers
                .default_mounts_file
                .as_ref()
                .filter(|f| !f.is_empty())
                .map(PathBuf::from)
        });
        Ok(EngineConfig {
            containers,
            storage,
            registries: std::sync::OnceLock::new(),
            policy: std::sync::OnceLock::new(),
            graph_root,
            run_root,
            storage_driver,
            storage_opts: g.storage_opts.clone(),
            cgroup_manager,
            runtime,
            runtime_flags: g.runtime_flags.clone(),
            network_config_dir,
            tmp_dir,
            volume_path,
            log_level: g.log_level.clone(),
            default_mounts_file,
        })
    }

    /// The runtime's global flags: `--runtime-flag` when given, else
    /// containers.conf `runtimes_flags` of the runtime's name (the base
    /// name of its path), as Podman chooses them.
    pub fn runtime_flags_for(&self, runtime: &str) -> Vec<String> {
        if !self.runtime_flags.is_empty() {
            return self.runtime_flags.clone();
        }
        let name = std::path::Path::new(runtime)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.containers
            .engine
            .runtimes_flags
            .get(&name)
            .cloned()
            .unwrap_or_default()
    }

    /// Podman's database: in containers.conf `static_dir` when set (as
    /// libpod's sqlite state), else in the graph root.
    pub fn db_path(&self) -> PathBuf {
        match self.containers.engine.static_dir.as_deref() {
            Some(d) if !d.is_empty() => PathBuf::from(d).join("db.sql"),
            _ => self.graph_root.join("db.sql"),
        }
    }

    /// The containers.conf file Podman reports as `store.configFile`.
    pub fn config_file(&self) -> String {
        self.containers
            .files
            .last()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    }
}

/// systemd when it runs this machine, else cgroupfs (as Podman falls back).
fn default_cgroup_manager() -> String {
    if std::path::Path::new("/run/systemd/system").is_dir() {
        "systemd".into()
    } else {
        "cgroupfs".into()
    }
}
