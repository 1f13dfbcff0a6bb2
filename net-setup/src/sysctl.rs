//! The few kernel settings networking needs, written only when they differ.

use crate::error::{NetError, Result};

fn set(key: &str, value: &str) -> Result<()> {
    let path = format!("/proc/sys/{}", key.replace('.', "/"));
    if std::fs::read_to_string(&path).is_ok_and(|v| v.trim() == value) {
        return Ok(());
    }
    std::fs::write(&path, value).map_err(|e| NetError::io("setting sysctl", path, e))?;
    tracing::debug!(key, value, "sysctl set");
    Ok(())
}

pub fn enable_ipv4_forwarding() -> Result<()> {
    set("net.ipv4.ip_forward", "1")
}

pub fn enable_ipv6_forwarding() -> Result<()> {
    set("net.ipv6.conf.all.forwarding", "1")
}

/// Let DNAT'd packets from 127.0.0.1 leave through `bridge` (so a host's
/// 127.0.0.1:PORT reaches a container).
pub fn enable_route_localnet(bridge: &str) -> Result<()> {
    // Interface names may contain '.', which sysctl paths spell as '/'.
    let path = format!("/proc/sys/net/ipv4/conf/{bridge}/route_localnet");
    if std::fs::read_to_string(&path).is_ok_and(|v| v.trim() == "1") {
        return Ok(());
    }
    std::fs::write(&path, "1").map_err(|e| NetError::io("setting sysctl", path, e))
}
