//! The cgroup flags of `run`/`create`: `--cgroupns` (host on cgroup v1,
//! private on v2 by default, as Podman), `--cgroup-parent`, `--cgroups`
//! (enabled, no-conmon, disabled with crun; split refused), `--cgroup-conf`
//! (v2's unified files), checked before anything is made, as libpod's
//! validation does; where the container's cgroup goes; inspect's fields.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::container::model::{ContainerConfig, RunExtras};
use crate::engine_config::EngineConfig;

/// The flags as given.
#[derive(Debug, Clone, Default)]
pub struct CgroupFlags {
    pub cgroupns: Option<String>,
    pub cgroups: Option<String>,
    pub cgroup_parent: Option<String>,
    pub cgroup_conf: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CgroupFlagError {
    #[error("invalid --cgroupns {0:?}: use host, private, ns:PATH or container:ID")]
    Namespace(String),
    #[error("invalid cgroup mode {0:?}: use enabled, disabled, no-conmon or split")]
    Mode(String),
    #[error("--cgroups=disabled requires the crun runtime (this container's runtime is {0}): use --runtime crun or leave cgroups enabled")]
    DisabledNeedsCrun(String),
    #[error("--cgroups=split is not supported by podman-rs: it needs systemd to manage the container's monitor cgroup")]
    Split,
    #[error("cannot set cgroup parent if not creating cgroups: invalid argument")]
    ParentWithoutCgroups,
    #[error(
        "cannot join another container's PID namespace if not creating cgroups: invalid argument"
    )]
    PidWithoutCgroups,
    #[error("did not receive systemd slice as cgroup parent when using systemd to manage cgroups: invalid argument")]
    NotASlice,
    #[error("invalid --cgroup-parent {0:?}: give an absolute cgroup path such as /machine")]
    Parent(String),
    #[error("--cgroup-conf must be formatted KEY=VALUE")]
    ConfFormat,
    #[error(
        "--cgroup-conf {0:?}: cgroup v2 files cannot be set on this host's cgroup v1 hierarchy"
    )]
    ConfNeedsV2(String),
}

/// Check the flags and record them in `x`. `runtime` is the runtime's
/// path or name; `v2`: the host runs the unified hierarchy.
pub fn parse(
    f: &CgroupFlags,
    x: &mut RunExtras,
    cgroup_manager: &str,
    runtime: &str,
    v2: bool,
) -> Result<(), CgroupFlagError> {
    x.cgroupns = match f.cgroupns.as_deref() {
        None => {
            if v2 {
                "private".into()
            } else {
                String::new()
            }
        }
        Some("private") => "private".into(),
        Some("host") => String::new(),
        Some(v) if v.len() > 3 && v.starts_with("ns:/") => v.into(),
        Some(v) if v.len() > 10 && v.starts_with("container:") => v.into(),
        Some(v) => return Err(CgroupFlagError::Namespace(v.into())),
    };
    x.cgroups_mode = match f.cgroups.as_deref() {
        None | Some("enabled") => String::new(),
        Some("no-conmon") => "no-conmon".into(),
        Some("disabled") => {
            let name = std::path::Path::new(runtime)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name != "crun" {
                return Err(CgroupFlagError::DisabledNeedsCrun(name));
            }
            "disabled".into()
        }
        Some("split") => return Err(CgroupFlagError::Split),
        Some(other) => return Err(CgroupFlagError::Mode(other.into())),
    };
    if let Some(p) = f.cgroup_parent.as_deref().filter(|p| !p.is_empty()) {
        if x.cgroups_mode == "disabled" {
            return Err(CgroupFlagError::ParentWithoutCgroups);
        }
        if cgroup_manager == "systemd" {
            if !p.ends_with(".slice") {
                return Err(CgroupFlagError::NotASlice);
            }
        } else if !p.starts_with('/') || p.split('/').any(|c| c == "..") {
            return Err(CgroupFlagError::Parent(p.into()));
        }
        x.cgroup_parent = p.into();
    }
    if x.cgroups_mode == "disabled" && x.pid.starts_with("container:") {
        return Err(CgroupFlagError::PidWithoutCgroups);
    }
    let mut conf = BTreeMap::new();
    for c in &f.cgroup_conf {
        let (k, v) = c.split_once('=').ok_or(CgroupFlagError::ConfFormat)?;
        if !v2 {
            return Err(CgroupFlagError::ConfNeedsV2(c.clone()));
        }
        conf.insert(k.to_string(), v.to_string());
    }
    x.cgroup_conf = conf;
    Ok(())
}

/// The spec's cgroupsPath ("" with --cgroups=disabled): under
/// --cgroup-parent, else under the pod's cgroup or podman-rs's own.
pub fn cgroups_path(engine: &EngineConfig, cfg: &ContainerConfig) -> String {
    let x = &cfg.extra;
    if x.cgroups_mode == "disabled" {
        return String::new();
    }
    if x.cgroup_parent.is_empty() {
        return super::pod::cgroups_path(engine, cfg);
    }
    if engine.cgroup_manager == "systemd" {
        format!("{}:libpod:{}", x.cgroup_parent, cfg.id)
    } else {
        format!(
            "{}/libpod-{}",
            x.cgroup_parent.trim_end_matches('/'),
            cfg.id
        )
    }
}

/// Runtime options the modes need (crun's `--cgroup-manager=disabled`).
pub fn runtime_args(cfg: &ContainerConfig) -> Option<String> {
    (cfg.extra.cgroups_mode == "disabled").then(|| "--cgroup-manager=disabled".to_string())
}

/// inspect's HostConfig fields (libpod's names and values).
pub fn inspect_fields(engine: &EngineConfig, cfg: &ContainerConfig, host_config: &mut Value) {
    let x = &cfg.extra;
    let ns = match x.cgroupns.as_str() {
        "" => "host",
        other => other,
    };
    host_config["CgroupnsMode"] = json!(ns);
    host_config["CgroupParent"] = json!(x.cgroup_parent);
    host_config["CgroupManager"] = json!(engine.cgroup_manager);
    host_config["CgroupConf"] = if x.cgroup_conf.is_empty() {
        Value::Null
    } else {
        json!(x.cgroup_conf)
    };
    host_config["Cgroups"] = json!(if x.cgroups_mode.is_empty() {
        "default"
    } else {
        x.cgroups_mode.as_str()
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(
        f: CgroupFlags,
        manager: &str,
        runtime: &str,
        v2: bool,
    ) -> Result<RunExtras, CgroupFlagError> {
        let mut x = RunExtras::default();
        parse(&f, &mut x, manager, runtime, v2).map(|()| x)
    }

    #[test]
    fn defaults_and_modes_follow_podman() {
        let x = parsed(CgroupFlags::default(), "cgroupfs", "/usr/sbin/runc", false).unwrap();
        assert_eq!(x.cgroupns, "");
        let x = parsed(CgroupFlags::default(), "cgroupfs", "runc", true).unwrap();
        assert_eq!(x.cgroupns, "private");
        let f = CgroupFlags {
            cgroupns: Some("private".into()),
            cgroup_parent: Some("/machine".into()),
            cgroups: Some("no-conmon".into()),
            ..Default::default()
        };
        let x = parsed(f, "cgroupfs", "runc", false).unwrap();
        assert_eq!(
            (
                x.cgroupns.as_str(),
                x.cgroup_parent.as_str(),
                x.cgroups_mode.as_str()
            ),
            ("private", "/machine", "no-conmon")
        );
        let disabled = CgroupFlags {
            cgroups: Some("disabled".into()),
            ..Default::default()
        };
        assert!(matches!(
            parsed(disabled.clone(), "cgroupfs", "runc", false),
            Err(CgroupFlagError::DisabledNeedsCrun(_))
        ));
        assert_eq!(
            parsed(disabled, "cgroupfs", "/usr/bin/crun", false)
                .unwrap()
                .cgroups_mode,
            "disabled"
        );
    }

    #[test]
    fn bad_values_are_refused() {
        for (f, manager, v2) in [
            (
                CgroupFlags {
                    cgroupns: Some("sideways".into()),
                    ..Default::default()
                },
                "cgroupfs",
                false,
            ),
            (
                CgroupFlags {
                    cgroups: Some("maybe".into()),
                    ..Default::default()
                },
                "cgroupfs",
                false,
            ),
            (
                CgroupFlags {
                    cgroups: Some("split".into()),
                    ..Default::default()
                },
                "systemd",
                false,
            ),
            (
                CgroupFlags {
                    cgroup_parent: Some("relative".into()),
                    ..Default::default()
                },
                "cgroupfs",
                false,
            ),
            (
                CgroupFlags {
                    cgroup_parent: Some("/x".into()),
                    ..Default::default()
                },
                "systemd",
                false,
            ),
            (
                CgroupFlags {
                    cgroup_conf: vec!["memory.high".into()],
                    ..Default::default()
                },
                "cgroupfs",
                true,
            ),
            (
                CgroupFlags {
                    cgroup_conf: vec!["memory.high=1M".into()],
                    ..Default::default()
                },
                "cgroupfs",
                false,
            ),
        ] {
            assert!(parsed(f.clone(), manager, "runc", v2).is_err(), "{f:?}");
        }
    }
}
