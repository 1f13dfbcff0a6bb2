//! Podman's confinement of a container: `--security-opt` (seccomp,
//! AppArmor, SELinux labels, masked paths, no-new-privileges),
//! `--privileged`'s host devices, the masked and read-only path lists and
//! the pids limit. Parsed and checked at create; applied to the spec.

use std::path::Path;

use serde_json::{json, Value};

use super::seccomp::{self, SeccompError};
use super::security::{self, UnknownCapability};
use crate::container::model::Confinement;

/// Podman's annotations recording `--security-opt` (inspect's SecurityOpt).
pub const SECCOMP_ANNOTATION: &str = "io.podman.annotations.seccomp";
pub const APPARMOR_ANNOTATION: &str = "io.podman.annotations.apparmor";
pub const LABEL_ANNOTATION: &str = "io.podman.annotations.label";

/// containers.conf's `pids_limit` default.
pub const DEFAULT_PIDS_LIMIT: i64 = 2048;

/// Paths hidden from containers (containers/common's list; the
/// thermal_throttle directories of each CPU are added where they exist).
pub const MASKED_PATHS: &[&str] = &[
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/sys/devices/virtual/powercap",
    "/sys/firmware",
    "/sys/fs/selinux",
    "/proc/interrupts",
];

/// Paths mounted read-only in containers (containers/common's list).
pub const READONLY_PATHS: &[&str] = &[
    "/proc/asound",
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

#[derive(Debug, thiserror::Error)]
pub enum ConfinementError {
    #[error("invalid --security-opt {0:?}: use apparmor=, label=, mask=, seccomp=, systempaths=unconfined, unmask= or no-new-privileges[=BOOL]")]
    Invalid(String),
    #[error("invalid --security-opt {0:?}: no-new-privileges takes true or false")]
    Bool(String),
    #[error("apparmor profile {0:?} specified, but Apparmor is not enabled on this system")]
    AppArmorDisabled(String),
    #[error("--security-opt label={0}: SELinux is not enabled on this host, so the label cannot be applied; use label=disable or leave the option out")]
    SelinuxDisabled(String),
    #[error("--security-opt label={0}: setting SELinux labels is not implemented in podman-rs; use label=disable")]
    LabelsNotImplemented(String),
    #[error("invalid systempaths option {0:?}, only `unconfined` is supported")]
    SystemPaths(String),
    #[error("--security-opt mask={0}: {1:?} is not an absolute path")]
    MaskNotAbsolute(String, String),
    #[error("invalid --pids-limit {0:?}: give a number (-1 for no limit)")]
    PidsLimit(String),
    #[error("--pids-limit: the pids cgroup controller is not available on this host")]
    NoPidsController,
    #[error(transparent)]
    Seccomp(#[from] SeccompError),
    #[error(transparent)]
    Capability(#[from] UnknownCapability),
}

/// What create knows that bears on confinement.
#[derive(Debug, Clone, Default)]
pub struct Request<'a> {
    pub security_opt: &'a [String],
    pub privileged: bool,
    pub cap_add: &'a [String],
    pub cap_drop: &'a [String],
    /// containers.conf: `default_capabilities`, `seccomp_profile`, `pids_limit`.
    pub default_capabilities: Option<&'a [String]>,
    pub seccomp_profile: Option<&'a str>,
    pub conf_pids_limit: Option<i64>,
    /// `--pids-limit` as given.
    pub pids_limit: Option<&'a str>,
}

#[derive(Debug, Clone, Default)]
pub struct Parsed {
    pub confinement: Confinement,
    pub no_new_privileges: bool,
    /// Podman's inspect annotations for the options given.
    pub annotations: Vec<(String, String)>,
}

fn apparmor_enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.trim() == "Y")
}

fn selinux_enabled() -> bool {
    Path::new("/sys/fs/selinux/enforce").exists()
}

/// Whether containers get a pids cgroup (v1 hierarchy or v2 controller).
pub fn pids_controller() -> bool {
    crate::host_info::cgroup_controllers()
        .iter()
        .any(|c| c == "pids")
}

/// Go's strconv.ParseBool.
fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// Check every option, as Podman's FillOutSpecGen and security setup do,
/// and load the seccomp profile once so a bad one fails the create.
pub fn parse(r: &Request) -> Result<Parsed, ConfinementError> {
    let mut out = Parsed::default();
    let c = &mut out.confinement;
    let mut seccomp_given: Option<String> = None;
    for opt in r.security_opt {
        // Docker's deprecated KEY:VALUE form too.
        let (key, val) = match opt.split_once('=').or_else(|| opt.split_once(':')) {
            Some((k, v)) => (k, Some(v)),
            None => (opt.as_str(), None),
        };
        match (key, val) {
            ("no-new-privileges", None) => out.no_new_privileges = true,
            ("no-new-privileges", Some(v)) => {
                out.no_new_privileges =
                    parse_bool(v).ok_or_else(|| ConfinementError::Bool(opt.clone()))?
            }
            ("apparmor", Some(v)) => {
                if v != "unconfined" && !v.is_empty() && !apparmor_enabled() {
                    return Err(ConfinementError::AppArmorDisabled(v.into()));
                }
                c.apparmor_profile = v.into();
                out.annotations.push((APPARMOR_ANNOTATION.into(), v.into()));
            }
            ("label", Some(v)) => {
                if v != "disable" {
                    if !selinux_enabled() {
                        return Err(ConfinementError::SelinuxDisabled(v.into()));
                    }
                    return Err(ConfinementError::LabelsNotImplemented(v.into()));
                }
                c.labels.push(v.into());
            }
            ("mask", Some(v)) => {
                for p in v.split(':').filter(|p| !p.is_empty()) {
                    if !p.starts_with('/') {
                        return Err(ConfinementError::MaskNotAbsolute(v.into(), p.into()));
                    }
                    c.mask.push(p.into());
                }
            }
            ("unmask", Some(v)) => c
                .unmask
                .extend(v.split(':').filter(|p| !p.is_empty()).map(String::from)),
            ("systempaths", Some("unconfined")) => c.unmask.push("ALL".into()),
            ("systempaths", Some(v)) => return Err(ConfinementError::SystemPaths(v.into())),
            ("seccomp", Some(v)) => seccomp_given = Some(v.into()),
            ("proc-opts", Some(v)) => {
                c.proc_opts = v
                    .split(',')
                    .filter(|o| !o.is_empty())
                    .map(String::from)
                    .collect()
            }
            _ => return Err(ConfinementError::Invalid(opt.clone())),
        }
    }
    if !c.labels.is_empty() {
        out.annotations
            .push((LABEL_ANNOTATION.into(), c.labels.join(",label=")));
    }
    c.seccomp_profile = match &seccomp_given {
        Some(v) if v == "unconfined" => v.clone(),
        Some(v) => {
            out.annotations.push((SECCOMP_ANNOTATION.into(), v.clone()));
            // A relative path is the caller's: start runs elsewhere.
            std::path::absolute(v)
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| v.clone())
        }
        None => seccomp::default_profile_path(r.seccomp_profile),
    };
    if let Some(v) = &seccomp_given {
        if v == "unconfined" {
            out.annotations.push((SECCOMP_ANNOTATION.into(), v.clone()));
        }
    }
    c.capabilities =
        security::capabilities(r.default_capabilities, r.cap_add, r.cap_drop, r.privileged)?;
    seccomp_filter(c, r.privileged, &c.capabilities)?;
    c.pids_limit = match r.pids_limit {
        Some(v) => {
            let n: i64 = v
                .trim()
                .parse()
                .map_err(|_| ConfinementError::PidsLimit(v.into()))?;
            if !pids_controller() {
                return Err(ConfinementError::NoPidsController);
            }
            // 0 and any negative number: no limit, as Podman.
            if n <= 0 {
                -1
            } else {
                n
            }
        }
        None if pids_controller() => r.conf_pids_limit.unwrap_or(DEFAULT_PIDS_LIMIT).max(0),
        None => 0,
    };
    Ok(out)
}

/// The container's seccomp section: none for `unconfined`, nor for a
/// privileged container on the default profile (Podman's rule); else the
/// profile converted for its bounding set.
pub fn seccomp_filter(
    c: &Confinement,
    privileged: bool,
    bounding: &[String],
) -> Result<Option<Value>, SeccompError> {
    let p = c.seccomp_profile.as_str();
    let default = p.is_empty() || p == seccomp::OVERRIDE_PATH || p == seccomp::DEFAULT_PATH;
    if p == "unconfined" || (privileged && default) {
        return Ok(None);
    }
    // containers-common's file gone since create (package removed): the
    // built-in copy holds the same rules.
    if default && !p.is_empty() && !Path::new(p).exists() {
        tracing::debug!(
            path = p,
            "default seccomp profile is gone; using the built-in copy"
        );
        return seccomp::load("", bounding);
    }
    seccomp::load(p, bounding)
}

/// Go's filepath.Match for one pattern against a path.
fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    fn class(p: &[char], c: char) -> Option<(bool, usize)> {
        // p starts after '['; returns (matched, length including ']').
        let mut i = 0;
        let negate = p.first() == Some(&'^');
        if negate {
            i += 1;
        }
        let mut hit = false;
        let mut first = true;
        while i < p.len() {
            if p[i] == ']' && !first {
                return Some((hit != negate, i + 1));
            }
            first = false;
            let lo = if p[i] == '\\' {
                i += 1;
                *p.get(i)?
            } else {
                p[i]
            };
            i += 1;
            let hi = if p.get(i) == Some(&'-') && p.get(i + 1).is_some_and(|c| *c != ']') {
                i += 1;
                let h = if p[i] == '\\' {
                    i += 1;
                    *p.get(i)?
                } else {
                    p[i]
                };
                i += 1;
                h
            } else {
                lo
            };
            if lo <= c && c <= hi {
                hit = true;
            }
        }
        None
    }
    fn go(p: &[char], n: &[char]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some('*') => (0..=n.len())
                .take_while(|&k| k == 0 || n[k - 1] != '/')
                .any(|k| go(&p[1..], &n[k..])),
            Some('?') => n.first().is_some_and(|c| *c != '/') && go(&p[1..], &n[1..]),
            Some('[') => match n.first() {
                Some(&c) if c != '/' => match class(&p[1..], c) {
                    Some((true, len)) => go(&p[1 + len..], &n[1..]),
                    _ => false,
                },
                _ => false,
            },
            Some('\\') if p.len() > 1 => n.first() == Some(&p[1]) && go(&p[2..], &n[1..]),
            Some(c) => n.first() == Some(c) && go(&p[1..], &n[1..]),
        }
    }
    go(&p, &n)
}

/// Podman's shouldMask: kept unless `unmask` has ALL or a matching glob.
fn should_mask(path: &str, unmask: &[String]) -> bool {
    !unmask
        .iter()
        .any(|m| m.eq_ignore_ascii_case("all") || glob_match(m, path))
}

/// Masked and read-only paths: the defaults unless privileged (less what
/// `unmask` names), then the user's `mask` paths.
pub fn masked_and_readonly(c: &Confinement, privileged: bool) -> (Vec<String>, Vec<String>) {
    let mut masked: Vec<String> = Vec::new();
    let mut readonly: Vec<String> = Vec::new();
    if !privileged {
        let mut defaults: Vec<String> = MASKED_PATHS.iter().map(|s| s.to_string()).collect();
        // containers/common globs /sys/devices/system/cpu/cpu*/thermal_throttle.
        if let Ok(dir) = std::fs::read_dir("/sys/devices/system/cpu") {
            let mut found: Vec<String> = dir
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("cpu"))
                .map(|e| e.path().join("thermal_throttle"))
                .filter(|p| p.exists())
                .map(|p| p.display().to_string())
                .collect();
            found.sort();
            defaults.extend(found);
        }
        masked.extend(defaults.into_iter().filter(|p| should_mask(p, &c.unmask)));
        readonly.extend(
            READONLY_PATHS
                .iter()
                .filter(|p| should_mask(p, &c.unmask))
                .map(|s| s.to_string()),
        );
    }
    for m in &c.mask {
        if !masked.contains(m) {
            masked.push(m.clone());
        }
    }
    (masked, readonly)
}

/// AppArmor profile for the spec: only where the kernel has AppArmor
/// (create refused a named one elsewhere).
pub fn apparmor_profile(c: &Confinement) -> Option<String> {
    (!c.apparmor_profile.is_empty() && apparmor_enabled()).then(|| c.apparmor_profile.clone())
}

/// `--privileged`: every device node of the host's /dev, as Podman's
/// AddPrivilegedDevices gives a rootful container (pts, shm, fd, mqueue
/// directories, console and symlinks skipped).
pub fn host_devices() -> Vec<Value> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    fn walk(dir: &Path, out: &mut Vec<Value>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Ok(md) = std::fs::symlink_metadata(e.path()) else {
                continue;
            };
            let ft = md.file_type();
            if ft.is_dir() {
                if !["pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts"].contains(&name.as_str()) {
                    walk(&e.path(), out);
                }
                continue;
            }
            if name == "console" || ft.is_symlink() {
                continue;
            }
            let kind = if ft.is_block_device() {
                "b"
            } else if ft.is_char_device() {
                "c"
            } else if ft.is_fifo() {
                "p"
            } else {
                continue;
            };
            let rdev = md.rdev();
            out.push(json!({
                "path": e.path(), "type": kind,
                "major": nix::sys::stat::major(rdev), "minor": nix::sys::stat::minor(rdev),
                "fileMode": md.mode() & 0o7777, "uid": md.uid(), "gid": md.gid(),
            }));
        }
    }
    let mut out = Vec::new();
    walk(Path::new("/dev"), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn parse_opts(list: &[&str]) -> Result<Parsed, ConfinementError> {
        let o = opts(list);
        parse(&Request {
            security_opt: &o,
            ..Default::default()
        })
    }

    #[test]
    fn options_as_podman_parses_them() {
        assert!(
            parse_opts(&["no-new-privileges"])
                .unwrap()
                .no_new_privileges
        );
        assert!(
            parse_opts(&["no-new-privileges:true"])
                .unwrap()
                .no_new_privileges
        );
        assert!(
            !parse_opts(&["no-new-privileges=false"])
                .unwrap()
                .no_new_privileges
        );
        assert!(parse_opts(&["no-new-privileges=maybe"]).is_err());
        assert!(parse_opts(&["bogus"]).is_err());
        assert!(parse_opts(&["label"]).is_err());
        let p = parse_opts(&[
            "seccomp=unconfined",
            "label=disable",
            "mask=/a:/b",
            "unmask=/proc/*",
        ])
        .unwrap();
        assert_eq!(p.confinement.seccomp_profile, "unconfined");
        assert_eq!(p.confinement.mask, vec!["/a", "/b"]);
        assert!(p
            .annotations
            .contains(&(LABEL_ANNOTATION.into(), "disable".into())));
        assert!(p
            .annotations
            .contains(&(SECCOMP_ANNOTATION.into(), "unconfined".into())));
        assert!(matches!(
            parse_opts(&["mask=relative"]),
            Err(ConfinementError::MaskNotAbsolute(..))
        ));
        assert!(matches!(
            parse_opts(&["seccomp=/nonexistent.json"]),
            Err(ConfinementError::Seccomp(SeccompError::Open { .. }))
        ));
        if !apparmor_enabled() {
            assert!(parse_opts(&["apparmor=unconfined"]).is_ok());
            assert!(matches!(
                parse_opts(&["apparmor=foo"]),
                Err(ConfinementError::AppArmorDisabled(_))
            ));
        }
        if !selinux_enabled() {
            assert!(matches!(
                parse_opts(&["label=type:spc_t"]),
                Err(ConfinementError::SelinuxDisabled(_))
            ));
        }
    }

    #[test]
    fn masks_follow_unmask_and_privilege() {
        let mut c = Confinement::default();
        let (m, r) = masked_and_readonly(&c, false);
        assert!(m.contains(&"/sys/devices/virtual/powercap".to_string()));
        assert!(r.contains(&"/proc/sys".to_string()));
        c.unmask = vec!["/proc/k*".into()];
        let (m, _) = masked_and_readonly(&c, false);
        assert!(!m.contains(&"/proc/kcore".to_string()) && !m.contains(&"/proc/keys".to_string()));
        assert!(m.contains(&"/proc/acpi".to_string()));
        c.unmask = vec!["ALL".into()];
        c.mask = vec!["/etc/hostname".into()];
        assert_eq!(
            masked_and_readonly(&c, false),
            (vec!["/etc/hostname".to_string()], vec![])
        );
        assert_eq!(masked_and_readonly(&c, true).0, vec!["/etc/hostname"]);
    }

    #[test]
    fn go_globs() {
        assert!(glob_match("/proc/*", "/proc/kcore"));
        assert!(!glob_match("/proc/*", "/proc/a/b"));
        assert!(glob_match("/proc/k?ys", "/proc/keys"));
        assert!(glob_match("/proc/[a-k]core", "/proc/kcore"));
        assert!(!glob_match("/proc/[^k]core", "/proc/kcore"));
        assert!(glob_match("/sys/fs/selinux", "/sys/fs/selinux"));
    }

    #[test]
    fn privileged_default_profile_is_dropped() {
        let c = Confinement {
            seccomp_profile: seccomp::DEFAULT_PATH.into(),
            ..Default::default()
        };
        assert_eq!(seccomp_filter(&c, true, &[]).unwrap(), None);
        let builtin = Confinement::default();
        assert!(seccomp_filter(&builtin, false, &[]).unwrap().is_some());
    }
}
