//! Capabilities: Podman's defaults and the flags that change them.

use crate::host_info::DEFAULT_CAPABILITIES;

/// Every capability the kernel knows, for `--privileged` and `--cap-add all`.
pub const ALL_CAPABILITIES: &[&str] = &[
    "CAP_AUDIT_CONTROL",
    "CAP_AUDIT_READ",
    "CAP_AUDIT_WRITE",
    "CAP_BLOCK_SUSPEND",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_KILL",
    "CAP_LEASE",
    "CAP_LINUX_IMMUTABLE",
    "CAP_MAC_ADMIN",
    "CAP_MAC_OVERRIDE",
    "CAP_MKNOD",
    "CAP_NET_ADMIN",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_RAW",
    "CAP_PERFMON",
    "CAP_SETFCAP",
    "CAP_SETGID",
    "CAP_SETPCAP",
    "CAP_SETUID",
    "CAP_SYSLOG",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_CHROOT",
    "CAP_SYS_MODULE",
    "CAP_SYS_NICE",
    "CAP_SYS_PACCT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_WAKE_ALARM",
];

#[derive(Debug, thiserror::Error)]
#[error("unknown capability {0:?}: use a name such as NET_ADMIN or CAP_NET_ADMIN, or ALL")]
pub struct UnknownCapability(pub String);

/// `net_admin`, `NET_ADMIN`, `CAP_NET_ADMIN` -> `CAP_NET_ADMIN`; `all` -> `ALL`.
pub fn normalize(cap: &str) -> Result<String, UnknownCapability> {
    let up = cap.trim().to_ascii_uppercase();
    if up == "ALL" {
        return Ok(up);
    }
    let full = if up.starts_with("CAP_") {
        up
    } else {
        format!("CAP_{up}")
    };
    if ALL_CAPABILITIES.contains(&full.as_str()) {
        Ok(full)
    } else {
        Err(UnknownCapability(cap.to_string()))
    }
}

/// The container's capability set: the defaults (or all with privileged),
/// plus `add`, minus `drop`. `ALL` works on either side, as in Podman.
pub fn capabilities(
    defaults: Option<&[String]>,
    add: &[String],
    drop: &[String],
    privileged: bool,
) -> Result<Vec<String>, UnknownCapability> {
    let mut set: Vec<String> = if privileged {
        all_in_bounding_set()
    } else {
        match defaults {
            Some(d) => d.iter().map(|c| normalize(c)).collect::<Result<_, _>>()?,
            None => DEFAULT_CAPABILITIES.iter().map(|s| s.to_string()).collect(),
        }
    };
    let drop: Vec<String> = drop
        .iter()
        .map(|c| normalize(c))
        .collect::<Result<_, _>>()?;
    if drop.iter().any(|c| c == "ALL") {
        set.clear();
    } else {
        set.retain(|c| !drop.contains(c));
    }
    for c in add {
        let c = normalize(c)?;
        if c == "ALL" {
            set = all_in_bounding_set();
        } else if !set.contains(&c) {
            set.push(c);
        }
    }
    // As Podman: only what podman itself holds can be handed on.
    let held = all_in_bounding_set();
    set.retain(|c| held.contains(c));
    set.sort();
    set.dedup();
    Ok(set)
}

/// Capability names by number (linux/capability.h).
const BY_NUMBER: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// Every capability podman itself may hand on (its bounding set), as
/// Podman gives privileged containers: runc cannot apply one it lacks.
pub(crate) fn all_in_bounding_set() -> Vec<String> {
    let bnd = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("CapBnd:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        });
    ALL_CAPABILITIES
        .iter()
        .filter(|c| match (bnd, BY_NUMBER.iter().position(|n| n == *c)) {
            (Some(mask), Some(bit)) => mask & (1u64 << bit) != 0,
            _ => true,
        })
        .map(|s| s.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_arithmetic() {
        let caps = capabilities(None, &["net_admin".into()], &["CAP_CHOWN".into()], false).unwrap();
        assert!(caps.contains(&"CAP_NET_ADMIN".to_string()));
        assert!(!caps.contains(&"CAP_CHOWN".to_string()));
        assert!(caps.contains(&"CAP_KILL".to_string()));
        assert_eq!(
            capabilities(None, &[], &["all".into()], false).unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            capabilities(None, &[], &[], true).unwrap().len(),
            all_in_bounding_set().len()
        );
        assert!(capabilities(None, &["bogus".into()], &[], false).is_err());
    }
}
