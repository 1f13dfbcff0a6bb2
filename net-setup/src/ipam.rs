//! IP address management: one JSON file per network, changed only under
//! that file's flock and replaced atomically, so concurrent net-setup
//! processes never hand out the same address. Addresses are handed out
//! sequentially after the last one given (so a just-released address is
//! not reused at once), static requests are honoured or refused by name,
//! and a container's lease survives a retry.
//!
//! A bridge is one link on the host, whichever store made its network, so
//! a bridge network's leases live in one host-wide file named after the
//! bridge: two stores on the default `podman0` (as Podman's stores share
//! /run/containers/networks) never give out one address twice. Each lease
//! there names the store (its state dir) and network it belongs to; a
//! store whose state dir is gone holds nothing.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::error::{NetError, Result};
use crate::network_config::Network;
use crate::state_files;
use crate::subnet;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// Addresses with their subnet's prefix, e.g. 10.89.0.2/24.
    pub ips: Vec<IpNet>,
    pub mac: String,
}

/// A lease in a file, with whose it is (empty in a store's own file).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Held {
    #[serde(flatten)]
    lease: Lease,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    owner: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    network_id: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct IpamFile {
    #[serde(default)]
    network_id: String,
    #[serde(default)]
    leases: BTreeMap<String, Held>,
    /// Per subnet: the last address handed out.
    #[serde(default)]
    last: BTreeMap<String, IpAddr>,
}

/// Where one network's leases are.
struct Place {
    json: PathBuf,
    lock: PathBuf,
    shared: bool,
}

pub struct Ipam {
    /// This store's own leases (networks without a bridge, and leases
    /// given before bridges' leases were shared).
    dir: PathBuf,
    /// The host-wide files of bridge networks.
    host_dir: PathBuf,
    /// This store, as leases in host-wide files name it.
    owner: String,
}

impl Ipam {
    pub fn new(state_dir: &Path, host_dir: &Path) -> Ipam {
        Ipam {
            dir: state_dir.join("ipam"),
            host_dir: host_dir.to_path_buf(),
            owner: state_dir.display().to_string(),
        }
    }

    fn own(&self, network: &str) -> Place {
        Place {
            json: self.dir.join(format!("{network}.json")),
            lock: self.dir.join(format!("{network}.lock")),
            shared: false,
        }
    }

    fn bridge(&self, bridge: &str) -> Place {
        Place {
            json: self.host_dir.join(format!("bridge-{bridge}.json")),
            lock: self.host_dir.join(format!("bridge-{bridge}.lock")),
            shared: true,
        }
    }

    fn place(&self, net: &Network) -> Place {
        if net.driver == "bridge" && crate::network_config::is_valid_ifname(&net.network_interface)
        {
            self.bridge(&net.network_interface)
        } else {
            self.own(&net.name)
        }
    }

    fn mine(&self, h: &Held, net: &Network) -> bool {
        h.owner == self.owner && h.network_id == net.id
    }

    fn load(&self, place: &Place, net: Option<&Network>) -> Result<IpamFile> {
        let mut file: IpamFile = state_files::read_json(&place.json)?.unwrap_or_default();
        if place.shared {
            file.leases.retain(|_, h| {
                let stale_here = h.owner == self.owner && net.is_some_and(|n| n.id != h.network_id);
                !stale_here && Path::new(&h.owner).is_dir()
            });
            return Ok(file);
        }
        match net {
            // Leases of a removed network that had the same name are stale.
            Some(n) if file.network_id != n.id => Ok(IpamFile {
                network_id: n.id.clone(),
                ..IpamFile::default()
            }),
            _ => Ok(file),
        }
    }

    /// This store's leases on `net` kept in its own file before bridges'
    /// leases were shared: still in use until released.
    fn own_leftovers(&self, net: &Network) -> Result<IpamFile> {
        let place = self.own(&net.name);
        if !place.json.exists() {
            return Ok(IpamFile::default());
        }
        self.load(&place, Some(net))
    }

    /// Give `container` one address per subnet of `net` (the requested
    /// static ones where given) and a MAC address.
    pub fn allocate(
        &self,
        net: &Network,
        container: &str,
        static_ips: &[IpAddr],
        static_mac: Option<&str>,
    ) -> Result<Lease> {
        let place = self.place(net);
        let _lock = state_files::lock(&place.lock)?;
        let mut file = self.load(&place, Some(net))?;
        if place.shared {
            for (c, h) in self.own_leftovers(net)?.leases {
                file.leases.entry(c).or_insert(Held {
                    owner: self.owner.clone(),
                    network_id: net.id.clone(),
                    ..h
                });
            }
        }
        for ip in static_ips {
            if !net.subnets.iter().any(|s| s.subnet.contains(ip)) {
                let subnets: Vec<String> =
                    net.subnets.iter().map(|s| s.subnet.to_string()).collect();
                return Err(NetError::InvalidArgument(format!(
                    "requested IP {ip} is not in any subnet of network {} ({}): choose an address inside it",
                    net.name,
                    subnets.join(", ")
                )));
            }
        }
        if let Some(old) = file
            .leases
            .get(container)
            .filter(|h| !place.shared || self.mine(h, net))
        {
            let old = &old.lease;
            let keeps_statics = static_ips
                .iter()
                .all(|ip| old.ips.iter().any(|n| n.addr() == *ip));
            let keeps_mac = static_mac.is_none_or(|m| m.eq_ignore_ascii_case(&old.mac));
            if keeps_statics && keeps_mac {
                return Ok(old.clone());
            }
            file.leases.remove(container);
        }
        let mut used: HashSet<IpAddr> = file
            .leases
            .values()
            .flat_map(|h| h.lease.ips.iter().map(|n| n.addr()))
            .collect();
        let mut ips = Vec::new();
        for s in &net.subnets {
            used.insert(s.gateway());
            let wanted = static_ips.iter().find(|ip| s.subnet.contains(*ip));
            let ip = match wanted {
                Some(ip) => {
                    check_static(net, s, *ip, &file, container)?;
                    *ip
                }
                None => {
                    let key = s.subnet.to_string();
                    let ip =
                        next_free(s, file.last.get(&key).copied(), &used).ok_or_else(|| {
                            NetError::AlreadyExists(format!(
                                "no free IP address left in subnet {} of network {}",
                                s.subnet, net.name
                            ))
                        })?;
                    file.last.insert(key, ip);
                    ip
                }
            };
            used.insert(ip);
            ips.push(
                IpNet::new(ip, s.subnet.prefix_len())
                    .map_err(|e| NetError::InvalidArgument(e.to_string()))?,
            );
        }
        let mac = match static_mac {
            Some(m) => normalize_mac(m)?,
            None => generate_mac()?,
        };
        let lease = Lease { ips, mac };
        let (owner, network_id) = if place.shared {
            (self.owner.clone(), net.id.clone())
        } else {
            Default::default()
        };
        file.leases.insert(
            container.to_string(),
            Held {
                lease: lease.clone(),
                owner,
                network_id,
            },
        );
        state_files::write_json(&place.json, &file)?;
        if place.shared {
            // The leftovers are in the shared file now.
            self.forget_own(&net.name, container)?;
        }
        tracing::debug!(network = %net.name, container, ips = ?lease.ips, "ipam: allocated");
        Ok(lease)
    }

    /// Read-only check, before anything is touched, that `ip` is free for
    /// `container` (allocation checks again under the lock).
    pub fn check_static(&self, net: &Network, container: &str, ip: IpAddr) -> Result<()> {
        let place = self.place(net);
        let mut file = self.load(&place, Some(net))?;
        if place.shared {
            file.leases.extend(self.own_leftovers(net)?.leases);
        }
        match net.subnets.iter().find(|s| s.subnet.contains(&ip)) {
            Some(s) => check_static(net, s, ip, &file, container),
            None => Ok(()),
        }
    }

    fn forget_own(&self, network: &str, container: &str) -> Result<bool> {
        let place = self.own(network);
        if !place.json.exists() {
            return Ok(false);
        }
        let _lock = state_files::lock(&place.lock)?;
        common::atomic_file::remove_stale_temps(&place.json);
        let mut file = self.load(&place, None)?;
        let had = file.leases.remove(container).is_some();
        if had {
            state_files::write_json(&place.json, &file)?;
        }
        Ok(had)
    }

    /// Drop `container`'s lease on `network` (whose bridge is `bridge`,
    /// empty when unknown); false when it had none.
    pub fn release(&self, network: &str, bridge: &str, container: &str) -> Result<bool> {
        let mut had = self.forget_own(network, container)?;
        if crate::network_config::is_valid_ifname(bridge) {
            let place = self.bridge(bridge);
            if place.json.exists() {
                let _lock = state_files::lock(&place.lock)?;
                common::atomic_file::remove_stale_temps(&place.json);
                let mut file = self.load(&place, None)?;
                if file
                    .leases
                    .get(container)
                    .is_some_and(|h| h.owner == self.owner)
                {
                    file.leases.remove(container);
                    state_files::write_json(&place.json, &file)?;
                    had = true;
                }
            }
        }
        if had {
            tracing::debug!(network, container, "ipam: released");
        }
        Ok(had)
    }

    /// Containers of this store holding a lease on `net`.
    pub fn users(&self, net: &Network) -> Result<Vec<String>> {
        let place = self.place(net);
        let mut users: Vec<String> = self
            .load(&place, Some(net))?
            .leases
            .into_iter()
            .filter(|(_, h)| !place.shared || self.mine(h, net))
            .map(|(c, _)| c)
            .collect();
        if place.shared {
            users.extend(self.own_leftovers(net)?.leases.into_keys());
            users.sort();
            users.dedup();
        }
        Ok(users)
    }

    /// Forget a removed network's leases.
    pub fn remove_network(&self, net: &Network) -> Result<()> {
        let own = self.own(&net.name);
        {
            let _lock = state_files::lock(&own.lock)?;
            state_files::remove_file_if_exists(&own.json)?;
        }
        let place = self.place(net);
        if place.shared && place.json.exists() {
            let _lock = state_files::lock(&place.lock)?;
            let mut file = self.load(&place, None)?;
            file.leases.retain(|_, h| !self.mine(h, net));
            store_shared(&place, &file)?;
        }
        Ok(())
    }
}

/// Write a host-wide file back after a network's removal; one that holds
/// no lease goes, so removing every network leaves no lease file. (A
/// release keeps the file: its cursor is what keeps a just-released
/// address from being handed out again at once, as in Podman's IPAM.)
/// Its lock file stays: a lock removed while someone waits on it no
/// longer excludes.
fn store_shared(place: &Place, file: &IpamFile) -> Result<()> {
    if file.leases.is_empty() {
        state_files::remove_file_if_exists(&place.json)?;
        return Ok(());
    }
    state_files::write_json(&place.json, file)
}

fn check_static(
    net: &Network,
    s: &crate::network_config::Subnet,
    ip: IpAddr,
    file: &IpamFile,
    container: &str,
) -> Result<()> {
    if !subnet::is_usable_host(&s.subnet, ip) || ip == s.gateway() {
        return Err(NetError::InvalidArgument(format!(
            "requested IP {ip} cannot be used in subnet {} of network {}: it is the {}",
            s.subnet,
            net.name,
            if ip == s.gateway() {
                "gateway"
            } else {
                "network or broadcast address"
            }
        )));
    }
    if let Some((owner, _)) = file
        .leases
        .iter()
        .find(|(c, h)| c.as_str() != container && h.lease.ips.iter().any(|n| n.addr() == ip))
    {
        return Err(NetError::AlreadyExists(format!(
            "requested IP {ip} is already allocated to container {} on network {}: choose another address",
            short(owner),
            net.name
        )));
    }
    Ok(())
}

/// The next address after `last` inside the subnet's lease range that is
/// not in `used`, wrapping around once.
fn next_free(
    s: &crate::network_config::Subnet,
    last: Option<IpAddr>,
    used: &HashSet<IpAddr>,
) -> Option<IpAddr> {
    let v4 = s.subnet.addr().is_ipv4();
    let (mut lo, mut hi) = subnet::host_bounds(&s.subnet);
    if let Some(r) = &s.lease_range {
        if let Some(a) = r.start_ip {
            lo = lo.max(subnet::to_u128(a));
        }
        if let Some(b) = r.end_ip {
            hi = hi.min(subnet::to_u128(b));
        }
    }
    if lo > hi {
        return None;
    }
    let span = hi - lo + 1;
    let start = last
        .map(subnet::to_u128)
        .filter(|l| (lo..hi).contains(l))
        .map_or(lo, |l| l + 1);
    // Pigeonhole: among used.len()+1 consecutive candidates one is free.
    let tries = span.min(used.len() as u128 + 1);
    (0..tries)
        .map(|i| lo + (start - lo + i) % span)
        .map(|n| subnet::from_u128(v4, n))
        .find(|ip| !used.contains(ip))
}

pub fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// "aa:bb:cc:dd:ee:ff" in lower case; refuses anything else and multicast.
pub fn normalize_mac(m: &str) -> Result<String> {
    let bytes = parse_mac(m)?;
    if bytes[0] & 1 == 1 {
        return Err(NetError::InvalidArgument(format!(
            "MAC address {m} is a multicast address: use a unicast one"
        )));
    }
    // The kernel's answer to it (EADDRNOTAVAIL), given before anything is made.
    if bytes == [0; 6] {
        return Err(NetError::InvalidArgument(format!(
            "MAC address {m} is the all-zero address: Cannot assign requested address: use another"
        )));
    }
    Ok(format_mac(&bytes))
}

pub fn parse_mac(m: &str) -> Result<[u8; 6]> {
    let parts: Vec<&str> = m.split([':', '-']).collect();
    let bad = || {
        NetError::InvalidArgument(format!(
            "MAC address {m:?} is invalid: use the form 92:d0:c6:0a:29:33"
        ))
    };
    if parts.len() != 6 {
        return Err(bad());
    }
    let mut out = [0u8; 6];
    for (o, p) in out.iter_mut().zip(parts) {
        if p.len() != 2 {
            return Err(bad());
        }
        *o = u8::from_str_radix(p, 16).map_err(|_| bad())?;
    }
    Ok(out)
}

pub fn format_mac(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// A random locally administered unicast address.
pub fn generate_mac() -> Result<String> {
    let mut b = crate::ids::random_bytes::<6>()?;
    b[0] = (b[0] & 0xfe) | 0x02;
    Ok(format_mac(&b))
}

#[cfg(test)]
mod tests;
