//! IP address management: one JSON file per network under the state dir,
//! changed only under that network's flock and replaced atomically, so
//! concurrent net-setup processes never hand out the same address.
//! Addresses are handed out sequentially after the last one given (so a
//! just-released address is not reused at once), static requests are
//! honoured or refused by name, and a container's lease survives a retry.

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

#[derive(Debug, Default, Serialize, Deserialize)]
struct IpamFile {
    network_id: String,
    #[serde(default)]
    leases: BTreeMap<String, Lease>,
    /// Per subnet: the last address handed out.
    #[serde(default)]
    last: BTreeMap<String, IpAddr>,
}

pub struct Ipam {
    dir: PathBuf,
}

impl Ipam {
    pub fn new(state_dir: &Path) -> Ipam {
        Ipam {
            dir: state_dir.join("ipam"),
        }
    }

    fn paths(&self, network: &str) -> (PathBuf, PathBuf) {
        (
            self.dir.join(format!("{network}.json")),
            self.dir.join(format!("{network}.lock")),
        )
    }

    fn load(&self, path: &Path, net: Option<&Network>) -> Result<IpamFile> {
        let file: IpamFile = state_files::read_json(path)?.unwrap_or_default();
        match net {
            // Leases of a removed network that had the same name are stale.
            Some(n) if file.network_id != n.id => Ok(IpamFile {
                network_id: n.id.clone(),
                ..IpamFile::default()
            }),
            _ => Ok(file),
        }
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
        let (path, lock) = self.paths(&net.name);
        let _lock = state_files::lock(&lock)?;
        let mut file = self.load(&path, Some(net))?;
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
        if let Some(old) = file.leases.get(container) {
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
            .flat_map(|l| l.ips.iter().map(|n| n.addr()))
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
        file.leases.insert(container.to_string(), lease.clone());
        state_files::write_json(&path, &file)?;
        tracing::debug!(network = %net.name, container, ips = ?lease.ips, "ipam: allocated");
        Ok(lease)
    }

    /// Read-only check, before anything is touched, that `ip` is free for
    /// `container` (allocation checks again under the lock).
    pub fn check_static(&self, net: &Network, container: &str, ip: IpAddr) -> Result<()> {
        let (path, _) = self.paths(&net.name);
        let file = self.load(&path, Some(net))?;
        match net.subnets.iter().find(|s| s.subnet.contains(&ip)) {
            Some(s) => check_static(net, s, ip, &file, container),
            None => Ok(()),
        }
    }

    /// Drop `container`'s lease on `network`; false when it had none.
    pub fn release(&self, network: &str, container: &str) -> Result<bool> {
        let (path, lock) = self.paths(network);
        if !path.exists() {
            return Ok(false);
        }
        let _lock = state_files::lock(&lock)?;
        common::atomic_file::remove_stale_temps(&path);
        let mut file = self.load(&path, None)?;
        let had = file.leases.remove(container).is_some();
        if had {
            state_files::write_json(&path, &file)?;
            tracing::debug!(network, container, "ipam: released");
        }
        Ok(had)
    }

    /// Containers holding a lease on `net`.
    pub fn users(&self, net: &Network) -> Result<Vec<String>> {
        let (path, _) = self.paths(&net.name);
        Ok(self.load(&path, Some(net))?.leases.into_keys().collect())
    }

    /// Forget a removed network's leases.
    pub fn remove_network(&self, network: &str) -> Result<()> {
        let (path, lock) = self.paths(network);
        let _lock = state_files::lock(&lock)?;
        state_files::remove_file_if_exists(&path)?;
        Ok(())
    }
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
        .find(|(c, l)| c.as_str() != container && l.ips.iter().any(|n| n.addr() == ip))
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
mod tests {
    use super::*;

    fn net(subnet: &str) -> Network {
        let mut n = Network::default_network();
        n.name = "t".into();
        n.id = "id1".into();
        let s: IpNet = subnet.parse().unwrap();
        n.subnets = vec![crate::network_config::Subnet {
            subnet: s,
            gateway: None,
            lease_range: None,
        }];
        n
    }

    #[test]
    fn sequential_static_and_release() {
        let d = tempfile::tempdir().unwrap();
        let ipam = Ipam::new(d.path());
        let n = net("10.89.0.0/29");
        let a = ipam.allocate(&n, "a", &[], None).unwrap();
        assert_eq!(a.ips[0].to_string(), "10.89.0.2/29");
        assert_eq!(
            ipam.allocate(&n, "a", &[], None).unwrap(),
            a,
            "retry keeps the lease"
        );
        let b = ipam
            .allocate(
                &n,
                "b",
                &["10.89.0.5".parse().unwrap()],
                Some("02:00:00:00:00:0B"),
            )
            .unwrap();
        assert_eq!(
            (b.ips[0].addr().to_string(), b.mac.as_str()),
            ("10.89.0.5".into(), "02:00:00:00:00:0b")
        );
        let e = ipam
            .allocate(&n, "c", &["10.89.0.5".parse().unwrap()], None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("already allocated to container b"), "{e}");
        let e = ipam
            .allocate(&n, "c", &["10.90.0.5".parse().unwrap()], None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not in any subnet"), "{e}");
        let e = ipam
            .allocate(&n, "c", &["10.89.0.1".parse().unwrap()], None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("gateway"), "{e}");
        assert_eq!(
            ipam.allocate(&n, "c", &[], None).unwrap().ips[0]
                .addr()
                .to_string(),
            "10.89.0.3"
        );
        assert!(ipam.release(&n.name, "a").unwrap());
        // .2 was just released: the next one after the last handed out comes first.
        assert_eq!(
            ipam.allocate(&n, "d", &[], None).unwrap().ips[0]
                .addr()
                .to_string(),
            "10.89.0.4"
        );
        assert_eq!(
            ipam.allocate(&n, "e", &[], None).unwrap().ips[0]
                .addr()
                .to_string(),
            "10.89.0.6"
        );
        assert_eq!(
            ipam.allocate(&n, "f", &[], None).unwrap().ips[0]
                .addr()
                .to_string(),
            "10.89.0.2"
        );
        assert!(ipam
            .allocate(&n, "g", &[], None)
            .unwrap_err()
            .to_string()
            .contains("no free IP"));
        let mut users = ipam.users(&n).unwrap();
        users.sort();
        assert_eq!(users, ["b", "c", "d", "e", "f"]);
    }

    #[test]
    fn concurrent_threads_get_distinct_addresses() {
        let d = tempfile::tempdir().unwrap();
        let n = net("10.89.0.0/24");
        let ips: Vec<IpNet> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..16)
                .map(|i| {
                    let (dir, n) = (d.path(), &n);
                    s.spawn(move || {
                        Ipam::new(dir)
                            .allocate(n, &format!("c{i}"), &[], None)
                            .unwrap()
                            .ips[0]
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let set: HashSet<_> = ips.iter().collect();
        assert_eq!(set.len(), 16);
    }

    #[test]
    fn mac_parsing() {
        assert!(normalize_mac("01:00:00:00:00:01")
            .unwrap_err()
            .to_string()
            .contains("multicast"));
        assert!(parse_mac("zz").is_err());
        let m = generate_mac().unwrap();
        assert_eq!(parse_mac(&m).unwrap()[0] & 3, 2);
    }
}
