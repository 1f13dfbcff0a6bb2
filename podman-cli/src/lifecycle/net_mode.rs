//! `--network`: the mode and the networks with their options, parsed as
//! Podman 5 parses them (pkg/specgen ParseNetworkFlag): the first value
//! picks the mode (`bridge[:OPTS]`, `none`, `host`, `private`, `ns:PATH`,
//! `container:ID`, `slirp4netns[:OPTS]`, `pasta[:OPTS]`, or a network
//! `NAME[:OPTS]`, or `a,b` names for backwards compatibility); more
//! `--network` values may only add networks to a bridge mode.

use crate::container::model::{NetworkAttachment, NetworkMode};

/// The flags that shape a container's networks.
pub struct NetFlags<'a> {
    pub network: &'a [String],
    /// containers.conf `netns` (the mode when `--network` is not given).
    pub default_mode: Option<&'a str>,
    pub default_network: &'a str,
    pub aliases: &'a [String],
    pub ip: Option<&'a str>,
    pub ip6: Option<&'a str>,
    pub mac: Option<&'a str>,
}

fn invalid(m: String) -> anyhow::Error {
    anyhow::anyhow!("{m}: invalid argument")
}

/// `ip=`, `ip6=`, `mac=`, `alias=`, `interface_name=` onto `att`.
fn network_options(att: &mut NetworkAttachment, opts: &str) -> anyhow::Result<()> {
    for opt in opts.split(',').filter(|o| !o.is_empty()) {
        let (k, v) = opt.split_once('=').unwrap_or((opt, ""));
        match k {
            "ip" | "ip6" => {
                let ip: std::net::IpAddr = v
                    .parse()
                    .map_err(|_| anyhow::anyhow!("invalid ip address {v:?}"))?;
                let slot = if ip.is_ipv4() {
                    &mut att.static_ip
                } else {
                    &mut att.static_ip6
                };
                *slot = Some(ip.to_string());
            }
            "mac" => {
                valid_mac(v)?;
                att.static_mac = Some(v.to_lowercase());
            }
            "alias" => {
                if v.is_empty() {
                    anyhow::bail!("alias cannot be empty");
                }
                att.aliases.push(v.to_string());
            }
            "interface_name" => {
                if v.is_empty() {
                    anyhow::bail!("interface_name cannot be empty");
                }
                if v.len() > 15 || v.contains('/') || v.chars().any(char::is_whitespace) {
                    anyhow::bail!("interface_name {v:?} is not a valid interface name (at most 15 characters, no '/' or spaces)");
                }
                att.interface_name = v.to_string();
            }
            _ => anyhow::bail!(
                "unknown network option {opt:?}: use ip=, ip6=, mac=, alias= or interface_name="
            ),
        }
    }
    Ok(())
}

/// A MAC address as Go's net.ParseMAC takes the usual form: six hex pairs
/// separated by ':' or '-'.
pub fn valid_mac(v: &str) -> anyhow::Result<()> {
    let parts: Vec<&str> = v.split([':', '-']).collect();
    if parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()))
    {
        Ok(())
    } else {
        anyhow::bail!("address {v}: invalid MAC address")
    }
}

const MODES: [&str; 10] = [
    "bridge",
    "pasta",
    "slirp4netns",
    "pod",
    "none",
    "default",
    "private",
    "ns",
    "container",
    "host",
];

pub fn parse(f: &NetFlags) -> anyhow::Result<(NetworkMode, Vec<NetworkAttachment>)> {
    let base = |name: &str| NetworkAttachment {
        name: name.to_string(),
        aliases: f.aliases.to_vec(),
        static_ip: f.ip.map(String::from),
        static_ip6: f.ip6.map(String::from),
        static_mac: f.mac.map(String::from),
        ..Default::default()
    };
    for (flag, v, v6) in [("--ip", f.ip, false), ("--ip6", f.ip6, true)] {
        if let Some(v) = v {
            match v.parse::<std::net::IpAddr>() {
                Ok(a) if a.is_ipv6() == v6 => {}
                _ => {
                    return Err(invalid(format!(
                        "{flag} {v:?} is not an IPv{} address",
                        if v6 { 6 } else { 4 }
                    )))
                }
            }
        }
    }
    let first = f
        .network
        .first()
        .map(String::as_str)
        .or(f.default_mode)
        .unwrap_or("");
    let (key, opts) = match first.split_once(':') {
        Some((k, o)) => (k, Some(o)),
        None => (first, None),
    };
    let split = |o: Option<&str>| -> Vec<String> {
        o.map(|o| {
            o.split(',')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
    };
    let (mode, mut nets) = match key {
        "" | "default" | "private" if opts.is_none() => {
            (NetworkMode::Bridge, vec![base(f.default_network)])
        }
        "bridge" => {
            let mut a = base(f.default_network);
            if let Some(o) = opts {
                network_options(&mut a, o)
                    .map_err(|e| invalid(format!("invalid option for network bridge: {e}")))?;
            }
            (NetworkMode::Bridge, vec![a])
        }
        "none" if opts.is_none() => (NetworkMode::None, vec![]),
        "host" if opts.is_none() => (NetworkMode::Host, vec![]),
        "ns" => {
            let p = opts.unwrap_or("");
            if p.is_empty() {
                return Err(invalid("--network ns: needs a path: ns:/run/netns/NAME".into()));
            }
            (NetworkMode::Path(p.to_string()), vec![])
        }
        "container" => {
            let c = opts.unwrap_or("");
            if c.is_empty() {
                return Err(invalid(
                    "--network container: needs a container name or ID".into(),
                ));
            }
            (NetworkMode::Container(c.to_string()), vec![])
        }
        "slirp4netns" => (NetworkMode::Slirp4netns(split(opts)), vec![]),
        "pasta" => (NetworkMode::Pasta(split(opts)), vec![]),
        name => match opts {
            Some(o) => {
                if name.is_empty() {
                    return Err(anyhow::anyhow!("network name cannot be empty"));
                }
                let mut a = base(name);
                network_options(&mut a, o)
                    .map_err(|e| invalid(format!("invalid option for network {name}: {e}")))?;
                (NetworkMode::Bridge, vec![a])
            }
            None => (
                NetworkMode::Bridge,
                first
                    .split(',')
                    .filter(|n| !n.is_empty())
                    .map(|n| {
                        if MODES.contains(&n) && n != "bridge" {
                            Err(invalid(format!(
                                "can only set extra network names, selected mode {n} conflicts with bridge"
                            )))
                        } else if n == "bridge" {
                            Ok(base(f.default_network))
                        } else {
                            Ok(base(n))
                        }
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?,
            ),
        },
    };
    if f.network.len() > 1 {
        if mode != NetworkMode::Bridge {
            return Err(invalid(format!(
                "cannot set multiple networks without bridge network mode, selected mode {}",
                mode.name()
            )));
        }
        for n in &f.network[1..] {
            let (name, o) = match n.split_once(':') {
                Some((k, o)) => (k, Some(o)),
                None => (n.as_str(), None),
            };
            if name.is_empty() {
                return Err(invalid("network name cannot be empty".into()));
            }
            if MODES.contains(&name) {
                return Err(invalid(format!(
                    "can only set extra network names, selected mode {name} conflicts with bridge"
                )));
            }
            let mut a = base(name);
            if let Some(o) = o {
                network_options(&mut a, o)
                    .map_err(|e| invalid(format!("invalid option for network {name}: {e}")))?;
            }
            nets.push(a);
        }
    }
    let mut seen = std::collections::HashSet::new();
    for n in &nets {
        if !seen.insert(n.name.as_str()) {
            return Err(invalid(format!(
                "network {} is given more than once",
                n.name
            )));
        }
    }
    Ok((mode, nets))
}

/// `--dns` (IP addresses, or `none` for the image's own resolv.conf) and
/// `--add-host` (`NAME[;NAME]:IP|host-gateway`), checked at create.
pub fn check_names(dns: &[String], add_host: &[String]) -> anyhow::Result<()> {
    for d in dns {
        if d != "none" && d.parse::<std::net::IpAddr>().is_err() {
            anyhow::bail!("{d} is not an ip address: give --dns an IPv4 or IPv6 address");
        }
    }
    if dns.len() > 1 && dns.iter().any(|d| d == "none") {
        anyhow::bail!("--dns none cannot be combined with other --dns servers");
    }
    for h in add_host {
        super::etc_files::parse_add_host(h)?;
    }
    Ok(())
}

/// The names of bridge networks in `--network` values (for pods, which
/// check they exist before making anything).
pub fn named_networks(values: &[String]) -> Vec<String> {
    let f = NetFlags {
        network: values,
        default_mode: None,
        default_network: "",
        aliases: &[],
        ip: None,
        ip6: None,
        mac: None,
    };
    match parse(&f) {
        Ok((NetworkMode::Bridge, nets)) => nets
            .into_iter()
            .map(|n| n.name)
            .filter(|n| !n.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(v: &[&str]) -> anyhow::Result<(NetworkMode, Vec<NetworkAttachment>)> {
        let v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
        parse(&NetFlags {
            network: &v,
            default_mode: None,
            default_network: "podman",
            aliases: &[],
            ip: None,
            ip6: None,
            mac: None,
        })
    }

    #[test]
    fn modes() {
        assert_eq!(p(&[]).unwrap().0, NetworkMode::Bridge);
        assert_eq!(p(&["private"]).unwrap().1[0].name, "podman");
        assert_eq!(
            p(&["ns:/run/netns/x"]).unwrap().0,
            NetworkMode::Path("/run/netns/x".into())
        );
        assert_eq!(
            p(&["slirp4netns:cidr=10.5.0.0/16,mtu=1500"]).unwrap().0,
            NetworkMode::Slirp4netns(vec!["cidr=10.5.0.0/16".into(), "mtu=1500".into()])
        );
        assert_eq!(p(&["pasta"]).unwrap().0, NetworkMode::Pasta(vec![]));
        let (_, n) = p(&[
            "a:ip=10.1.0.5,mac=AA:bb:cc:dd:ee:ff,alias=x,interface_name=net1",
            "b",
        ])
        .unwrap();
        assert_eq!(n[0].static_ip.as_deref(), Some("10.1.0.5"));
        assert_eq!(n[0].static_mac.as_deref(), Some("aa:bb:cc:dd:ee:ff"));
        assert_eq!(
            (n[0].aliases.clone(), n[0].interface_name.as_str()),
            (vec!["x".to_string()], "net1")
        );
        assert_eq!(n[1].name, "b");
        let (_, n) = p(&["a,b"]).unwrap();
        assert_eq!(n.len(), 2);
        assert!(p(&["host", "a"])
            .unwrap_err()
            .to_string()
            .contains("cannot set multiple networks"));
        assert!(p(&["a", "host"])
            .unwrap_err()
            .to_string()
            .contains("conflicts with bridge"));
        assert!(p(&["a:bogus=1"])
            .unwrap_err()
            .to_string()
            .contains("unknown network option"));
        assert!(p(&["a:ip=nope"]).is_err());
        assert!(p(&["ns:"]).is_err());
    }
}
