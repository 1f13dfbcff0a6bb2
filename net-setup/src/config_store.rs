//! Network configuration files: one netavark-format JSON file per network in
//! the config dir, written atomically; creation validated under a lock so
//! two concurrent creates cannot take the same name, bridge or subnet.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ipnet::IpNet;

use crate::error::{NetError, Result};
use crate::network_config::{self as nc, LeaseRange, Network, Subnet};
use crate::state_files;
use crate::subnet;

/// What `CreateNetwork` asks for (strings as the user typed them).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct CreateSpec {
    pub name: String,
    pub driver: String,
    pub network_interface: String,
    pub subnets: Vec<SubnetSpec>,
    pub ipv6_enabled: bool,
    pub internal: bool,
    pub dns_enabled: Option<bool>,
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
    pub ignore_if_exists: bool,
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct SubnetSpec {
    pub subnet: String,
    pub gateway: String,
    pub start_ip: String,
    pub end_ip: String,
}

/// The host's own networks, which a new subnet must not overlap, and its
/// interface names, which a new bridge must not reuse.
#[derive(Debug, Clone, Default)]
pub struct HostNets {
    pub nets: Vec<IpNet>,
    pub links: Vec<String>,
}

pub struct ConfigStore {
    dir: PathBuf,
    lock_path: PathBuf,
}

impl ConfigStore {
    pub fn new(dir: &Path, state_dir: &Path) -> ConfigStore {
        ConfigStore {
            dir: dir.to_path_buf(),
            lock_path: state_dir.join("config.lock"),
        }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    /// Every network, the default one included, sorted by name.
    pub fn list(&self) -> Result<Vec<Network>> {
        let mut nets = Vec::new();
        match std::fs::read_dir(&self.dir) {
            Ok(rd) => {
                for e in rd.flatten() {
                    let p = e.path();
                    if p.extension().and_then(|x| x.to_str()) != Some("json") {
                        continue;
                    }
                    if let Some(n) = state_files::read_json::<Network>(&p)? {
                        // A hand-edited file must not smuggle a name or an
                        // interface into paths and firewall rules; c/common
                        // skips such files with a warning too.
                        if let Err(e) = nc::validate_name(&n.name).and_then(|()| {
                            nc::validate_ifname("network interface", &n.network_interface)
                        }) {
                            tracing::warn!(file = %p.display(), error = %e, "skipping invalid network config file");
                            continue;
                        }
                        nets.push(n);
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(NetError::io("reading network config dir", &self.dir, e)),
        }
        if !nets.iter().any(|n| n.name == nc::DEFAULT_NETWORK) {
            nets.push(Network::default_network());
        }
        nets.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(nets)
    }

    /// A network by name, full id or unique id prefix.
    pub fn find(&self, name_or_id: &str) -> Result<Network> {
        let nets = self.list()?;
        if let Some(n) = nets
            .iter()
            .find(|n| n.name == name_or_id || n.id == name_or_id)
        {
            return Ok(n.clone());
        }
        let by_prefix: Vec<&Network> = if name_or_id.len() >= 3 {
            nets.iter()
                .filter(|n| n.id.starts_with(name_or_id))
                .collect()
        } else {
            Vec::new()
        };
        match by_prefix.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(NetError::NotFound(format!(
                "network {name_or_id} not found: see `podman network ls`"
            ))),
            _ => Err(NetError::InvalidArgument(format!(
                "network id prefix {name_or_id} is ambiguous: give more characters"
            ))),
        }
    }

    /// Validate and write a new network; returns the existing one with
    /// `ignore_if_exists`.
    pub fn create(&self, spec: &CreateSpec, host: &HostNets) -> Result<Network> {
        let _lock = state_files::lock(&self.lock_path)?;
        let existing = self.list()?;
        let name = if spec.name.is_empty() {
            next_free_name(&existing)
        } else {
            spec.name.clone()
        };
        nc::validate_name(&name)?;
        if let Some(n) = existing.iter().find(|n| n.name == name) {
            if spec.ignore_if_exists {
                return Ok(n.clone());
            }
            return Err(NetError::AlreadyExists(format!(
                "netavark: network already exists {name}"
            )));
        }
        let driver = if spec.driver.is_empty() {
            "bridge"
        } else {
            spec.driver.as_str()
        };
        if driver != "bridge" {
            return Err(NetError::InvalidArgument(format!(
                "network driver {driver:?} is not supported: use bridge"
            )));
        }
        nc::validate_options(&spec.options)?;
        let bridge = if spec.network_interface.is_empty() {
            next_free_bridge(&existing, &host.links)
        } else {
            nc::validate_ifname("network interface", &spec.network_interface)?;
            if let Some(o) = existing
                .iter()
                .find(|n| n.network_interface == spec.network_interface)
            {
                return Err(NetError::AlreadyExists(format!(
                    "bridge name {} is already used by network {}: choose another interface name",
                    spec.network_interface, o.name
                )));
            }
            spec.network_interface.clone()
        };
        let subnets = build_subnets(spec, &existing, host)?;
        let ipv6_enabled = spec.ipv6_enabled || subnets.iter().any(|s| s.subnet.addr().is_ipv6());
        let id = crate::ids::new_id()?;
        let net = Network {
            name: name.clone(),
            id,
            driver: driver.to_string(),
            network_interface: bridge,
            created: common::time::now_rfc3339(),
            subnets,
            ipv6_enabled,
            internal: spec.internal,
            dns_enabled: spec.dns_enabled.unwrap_or(true),
            labels: spec.labels.clone(),
            options: spec.options.clone(),
            ipam_options: BTreeMap::from([("driver".to_string(), "host-local".to_string())]),
        };
        state_files::write_json_durable(&self.file(&name), &net)?;
        tracing::debug!(network = %name, bridge = %net.network_interface, "network created");
        Ok(net)
    }

    /// Remove a network's file. `users` are containers still holding leases.
    pub fn remove(&self, name_or_id: &str, force: bool, users: &[String]) -> Result<Network> {
        let _lock = state_files::lock(&self.lock_path)?;
        let net = self.find(name_or_id)?;
        if net.is_default() {
            return Err(NetError::FailedPrecondition(format!(
                "default network {} cannot be removed",
                nc::DEFAULT_NETWORK
            )));
        }
        if !force && !users.is_empty() {
            return Err(NetError::FailedPrecondition(format!(
                "network {} is in use by container(s) {}: remove them first or use --force",
                net.name,
                users.join(", ")
            )));
        }
        state_files::remove_file_if_exists(&self.file(&net.name))?;
        Ok(net)
    }
}

fn next_free_name(existing: &[Network]) -> String {
    (1..)
        .map(|i| format!("podman{i}"))
        .find(|n| !existing.iter().any(|e| &e.name == n))
        .unwrap_or_default()
}

fn next_free_bridge(existing: &[Network], links: &[String]) -> String {
    (0..)
        .map(|i| format!("podman{i}"))
        .find(|n| !existing.iter().any(|e| &e.network_interface == n) && !links.contains(n))
        .unwrap_or_default()
}

fn build_subnets(spec: &CreateSpec, existing: &[Network], host: &HostNets) -> Result<Vec<Subnet>> {
    let mut taken: Vec<(IpNet, String)> = existing
        .iter()
        .flat_map(|n| {
            n.subnets
                .iter()
                .map(move |s| (s.subnet, format!("network {}", n.name)))
        })
        .collect();
    taken.extend(
        host.nets
            .iter()
            .map(|n| (*n, "a route or address on this host".to_string())),
    );
    let mut out: Vec<Subnet> = Vec::new();
    for s in &spec.subnets {
        let net = subnet::parse_subnet(&s.subnet)?;
        let max = if net.addr().is_ipv4() { 30 } else { 126 };
        if net.prefix_len() > max {
            return Err(NetError::InvalidArgument(format!(
                "subnet {net} is too small: use a prefix of /{max} or shorter"
            )));
        }
        if let Some((t, owner)) = taken.iter().find(|(t, _)| subnet::overlaps(t, &net)) {
            return Err(NetError::AlreadyExists(format!(
                "subnet {net} overlaps with {t} of {owner}: choose another subnet"
            )));
        }
        let gateway = if s.gateway.is_empty() {
            subnet::first_host(&net)
        } else {
            let gw = subnet::parse_ip("gateway", &s.gateway)?;
            if !subnet::is_usable_host(&net, gw) {
                return Err(NetError::InvalidArgument(format!(
                    "gateway {gw} is not a usable address in subnet {net}"
                )));
            }
            gw
        };
        let lease_range = lease_range(&net, &s.start_ip, &s.end_ip)?;
        taken.push((net, "another subnet of this network".to_string()));
        out.push(Subnet {
            subnet: net,
            gateway: Some(gateway),
            lease_range,
        });
    }
    let all: Vec<IpNet> = taken.iter().map(|(n, _)| *n).collect();
    if out.is_empty() {
        let net = subnet::pick_free_v4(&all)?;
        out.insert(
            0,
            Subnet {
                subnet: net,
                gateway: Some(subnet::first_host(&net)),
                lease_range: None,
            },
        );
    }
    if spec.ipv6_enabled && !out.iter().any(|s| s.subnet.addr().is_ipv6()) {
        let net = subnet::pick_free_v6(&all)?;
        out.push(Subnet {
            subnet: net,
            gateway: Some(subnet::first_host(&net)),
            lease_range: None,
        });
    }
    Ok(out)
}

fn lease_range(net: &IpNet, start: &str, end: &str) -> Result<Option<LeaseRange>> {
    if start.is_empty() && end.is_empty() {
        return Ok(None);
    }
    let check = |what: &str, s: &str| -> Result<Option<std::net::IpAddr>> {
        if s.is_empty() {
            return Ok(None);
        }
        let ip = subnet::parse_ip(what, s)?;
        if !subnet::is_usable_host(net, ip) {
            return Err(NetError::InvalidArgument(format!(
                "ip range {what} {ip} is not inside subnet {net}"
            )));
        }
        Ok(Some(ip))
    };
    let (s, e) = (check("start", start)?, check("end", end)?);
    if let (Some(s), Some(e)) = (s, e) {
        if subnet::to_u128(s) > subnet::to_u128(e) {
            return Err(NetError::InvalidArgument(format!(
                "ip range start {s} is after its end {e}"
            )));
        }
    }
    Ok(Some(LeaseRange {
        start_ip: s,
        end_ip: e,
    }))
}

/// Parse `--ip-range` as a CIDR inside the subnet or "START-END".
pub fn parse_ip_range(s: &str) -> Result<(String, String)> {
    if let Some((a, b)) = s.split_once('-') {
        return Ok((a.trim().to_string(), b.trim().to_string()));
    }
    let net: IpNet = s
        .parse()
        .map_err(|_| NetError::InvalidArgument(format!("ip range {s:?}: use CIDR or START-END")))?;
    let (lo, hi) = subnet::host_bounds(&net.trunc());
    let v4 = net.addr().is_ipv4();
    Ok((
        subnet::from_u128(v4, lo).to_string(),
        subnet::from_u128(v4, hi).to_string(),
    ))
}

/// `podman network ls --filter` semantics.
pub fn matches_filters(net: &Network, filters: &[String]) -> Result<bool> {
    let mut by_key: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for f in filters {
        let (k, v) = f.split_once('=').ok_or_else(|| {
            NetError::InvalidArgument(format!(
                "filter {f:?} must be KEY=VALUE (name, id, driver, label)"
            ))
        })?;
        by_key.entry(k).or_default().push(v);
    }
    for (k, values) in by_key {
        let any = values.iter().any(|v| match k {
            "name" => net.name.contains(v),
            "id" => net.id.starts_with(v),
            "driver" => net.driver == *v,
            "label" => match v.split_once('=') {
                Some((lk, lv)) => net.labels.get(lk).is_some_and(|x| x == lv),
                None => net.labels.contains_key(*v),
            },
            _ => false,
        });
        if !matches!(k, "name" | "id" | "driver" | "label") {
            return Err(NetError::InvalidArgument(format!(
                "unknown network filter {k:?}: use name, id, driver or label"
            )));
        }
        if !any {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::HelperError;

    fn store() -> (tempfile::TempDir, ConfigStore) {
        let d = tempfile::tempdir().unwrap();
        let s = ConfigStore::new(&d.path().join("cfg"), &d.path().join("state"));
        (d, s)
    }

    fn spec(name: &str, subnet: &str) -> CreateSpec {
        CreateSpec {
            name: name.into(),
            subnets: if subnet.is_empty() {
                vec![]
            } else {
                vec![SubnetSpec {
                    subnet: subnet.into(),
                    ..Default::default()
                }]
            },
            ..Default::default()
        }
    }

    #[test]
    fn create_picks_names_bridges_and_subnets_like_podman() {
        let (_d, s) = store();
        let host = HostNets {
            nets: vec!["10.89.0.0/24".parse().unwrap()],
            links: vec!["podman1".into()],
        };
        let a = s.create(&spec("", ""), &host).unwrap();
        assert_eq!(a.name, "podman1");
        assert_eq!(a.network_interface, "podman2");
        assert_eq!(a.subnets[0].subnet.to_string(), "10.89.1.0/24");
        assert_eq!(a.subnets[0].gateway().to_string(), "10.89.1.1");
        assert!(a.dns_enabled && a.id.len() == 64);
        let b = s.create(&spec("b", ""), &host).unwrap();
        assert_eq!(b.subnets[0].subnet.to_string(), "10.89.2.0/24");
        assert_eq!(s.find("b").unwrap(), b);
        assert_eq!(s.find(&b.id[..12]).unwrap().name, "b");
        assert_eq!(s.list().unwrap().len(), 3);
    }

    #[test]
    fn create_refuses_bad_input_with_one_line() {
        let (_d, s) = store();
        let host = HostNets {
            nets: vec!["192.0.2.0/24".parse().unwrap()],
            links: vec![],
        };
        let e = s
            .create(&spec("x", "10.89.0.5/24"), &host)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "subnet 10.89.0.5/24 is not a network address: use 10.89.0.0/24"
        );
        let e = s
            .create(&spec("x", "192.0.2.0/25"), &host)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("overlaps with 192.0.2.0/24 of a route or address on this host"),
            "{e}"
        );
        s.create(&spec("x", "10.90.0.0/16"), &host).unwrap();
        let e = s
            .create(&spec("y", "10.90.5.0/24"), &host)
            .unwrap_err()
            .to_string();
        assert!(e.contains("overlaps with 10.90.0.0/16 of network x"), "{e}");
        let e = s.create(&spec("x", ""), &host).unwrap_err().to_string();
        assert!(e.contains("netavark: network already exists x"), "{e}");
        assert_eq!(
            s.create(
                &CreateSpec {
                    ignore_if_exists: true,
                    ..spec("x", "")
                },
                &host
            )
            .unwrap()
            .name,
            "x"
        );
        let mut sp = spec("z", "10.91.0.0/24");
        sp.subnets[0].gateway = "10.92.0.1".into();
        assert!(s
            .create(&sp, &host)
            .unwrap_err()
            .to_string()
            .contains("not a usable address in subnet"));
        let mut sp = spec("z", "10.91.0.0/24");
        sp.subnets[0].start_ip = "10.91.1.10".into();
        assert!(s
            .create(&sp, &host)
            .unwrap_err()
            .to_string()
            .contains("not inside subnet"));
        assert!(s
            .create(&spec("podman", ""), &host)
            .unwrap_err()
            .to_string()
            .contains("network already exists podman"));
    }

    #[test]
    fn hostile_names_never_reach_files_or_rules() {
        let (d, s) = store();
        let host = HostNets::default();
        let e = s.create(&spec("../x", ""), &host).unwrap_err();
        assert_eq!(e.code(), proto::ErrorCode::InvalidArgument);
        assert_eq!(
            e.to_string(),
            "network name ../x invalid: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: invalid argument"
        );
        for bridge in ["br\"x", "br;x", "-br", ".."] {
            let sp = CreateSpec {
                network_interface: bridge.into(),
                ..spec("n", "")
            };
            let e = s.create(&sp, &host).unwrap_err().to_string();
            assert!(e.contains("is not a valid interface name"), "{e}");
        }
        assert!(!d.path().join("x.json").exists());
        // A hand-edited file with an interface that would inject nft text
        // is skipped, as c/common skips it.
        let good = s.create(&spec("good", ""), &host).unwrap();
        let mut evil = good.clone();
        evil.name = "evil".into();
        evil.network_interface = "x\" accept }".into();
        std::fs::write(d.path().join("cfg/evil.json"), evil.to_json()).unwrap();
        let names: Vec<String> = s.list().unwrap().into_iter().map(|n| n.name).collect();
        assert_eq!(names, ["good", "podman"]);
        assert_eq!(
            s.find("evil").unwrap_err().code(),
            proto::ErrorCode::NotFound
        );
    }

    #[test]
    fn remove_refuses_default_and_busy() {
        let (_d, s) = store();
        let e = s.remove("podman", false, &[]).unwrap_err();
        assert_eq!(e.code(), proto::ErrorCode::FailedPrecondition);
        s.create(&spec("n", ""), &HostNets::default()).unwrap();
        assert!(s
            .remove("n", false, &["c1".into()])
            .unwrap_err()
            .to_string()
            .contains("in use"));
        s.remove("n", false, &[]).unwrap();
        assert_eq!(s.find("n").unwrap_err().code(), proto::ErrorCode::NotFound);
    }

    #[test]
    fn filters() {
        let mut n = Network::default_network();
        n.labels.insert("team".into(), "a".into());
        let f = |v: &[&str]| {
            matches_filters(&n, &v.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
        };
        assert!(f(&["name=pod", "driver=bridge"]));
        assert!(f(&["name=zzz", "name=podman"]));
        assert!(!f(&["name=podman", "driver=macvlan"]));
        assert!(f(&["label=team", "label=team=a"]) && !f(&["label=team=b"]));
        assert!(f(&["id=2f259bab"]));
        assert_eq!(
            parse_ip_range("10.89.0.128/25").unwrap(),
            ("10.89.0.129".into(), "10.89.0.254".into())
        );
    }
}
