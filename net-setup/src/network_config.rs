//! A network's configuration in netavark's JSON format (what Podman keeps
//! in /etc/containers/networks/NAME.json), and the implicit default network.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// The default network exists without a file, as in Podman.
pub const DEFAULT_NETWORK: &str = "podman";
/// Podman's fixed id for the default network.
pub const DEFAULT_NETWORK_ID: &str =
    "2f259bab93aaaaa2542ba43ef33eb990d0999ee1b9924b557b7be53c0b7a1bb9";
pub const DEFAULT_BRIDGE: &str = "podman0";
pub const DEFAULT_SUBNET: &str = "10.88.0.0/16";
/// Search domain of the per-network DNS server, as aardvark-dns.
pub const DNS_DOMAIN: &str = "dns.podman";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_ip: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_ip: Option<IpAddr>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subnet {
    pub subnet: IpNet,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_range: Option<LeaseRange>,
}

impl Subnet {
    pub fn gateway(&self) -> IpAddr {
        self.gateway
            .unwrap_or_else(|| crate::subnet::first_host(&self.subnet))
    }

    /// The gateway with the subnet's prefix, as put on the bridge.
    pub fn gateway_net(&self) -> IpNet {
        IpNet::new(self.gateway(), self.subnet.prefix_len()).unwrap_or(self.subnet)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    pub name: String,
    pub id: String,
    pub driver: String,
    pub network_interface: String,
    #[serde(default)]
    pub created: String,
    #[serde(default)]
    pub subnets: Vec<Subnet>,
    #[serde(default)]
    pub ipv6_enabled: bool,
    #[serde(default)]
    pub internal: bool,
    #[serde(default)]
    pub dns_enabled: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ipam_options: BTreeMap<String, String>,
}

/// Options a bridge network accepts, with what each means.
pub const BRIDGE_OPTIONS: [&str; 4] = ["mtu", "isolate", "metric", "no_default_route"];

impl Network {
    /// Podman's implicit default network.
    pub fn default_network() -> Network {
        let subnet: IpNet = DEFAULT_SUBNET
            .parse()
            .unwrap_or_else(|_| unreachable!("constant subnet"));
        Network {
            name: DEFAULT_NETWORK.to_string(),
            id: DEFAULT_NETWORK_ID.to_string(),
            driver: "bridge".to_string(),
            network_interface: DEFAULT_BRIDGE.to_string(),
            created: common::time::now_rfc3339(),
            subnets: vec![Subnet {
                subnet,
                gateway: Some(crate::subnet::first_host(&subnet)),
                lease_range: None,
            }],
            ipv6_enabled: false,
            internal: false,
            dns_enabled: false,
            labels: BTreeMap::new(),
            options: BTreeMap::new(),
            ipam_options: BTreeMap::from([("driver".to_string(), "host-local".to_string())]),
        }
    }

    pub fn is_default(&self) -> bool {
        self.name == DEFAULT_NETWORK
    }

    pub fn mtu(&self) -> Option<u32> {
        self.options
            .get("mtu")
            .and_then(|m| m.parse().ok())
            .filter(|m| *m > 0)
    }

    /// `isolate=true|strict`: no forwarding to or from other networks' bridges.
    pub fn isolate(&self) -> bool {
        matches!(
            self.options.get("isolate").map(String::as_str),
            Some("true" | "strict")
        )
    }

    pub fn no_default_route(&self) -> bool {
        matches!(
            self.options.get("no_default_route").map(String::as_str),
            Some("true" | "1")
        )
    }

    pub fn metric(&self) -> Option<u32> {
        self.options.get("metric").and_then(|m| m.parse().ok())
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// Check bridge options: known keys, well-formed values.
pub fn validate_options(options: &BTreeMap<String, String>) -> crate::error::Result<()> {
    use crate::error::NetError;
    for (k, v) in options {
        let ok = match k.as_str() {
            "mtu" => v.parse::<u32>().is_ok_and(|m| (68..=65535).contains(&m)),
            "metric" => v.parse::<u32>().is_ok(),
            "isolate" => matches!(v.as_str(), "true" | "false" | "strict"),
            "no_default_route" => matches!(v.as_str(), "true" | "false" | "1" | "0"),
            _ => {
                return Err(NetError::InvalidArgument(format!(
                    "unsupported bridge network option {k:?}: use one of {}",
                    BRIDGE_OPTIONS.join(", ")
                )))
            }
        };
        if !ok {
            return Err(NetError::InvalidArgument(format!(
                "invalid value {v:?} for network option {k}"
            )));
        }
    }
    Ok(())
}

/// Podman's rule for network names, with c/common's error text.
pub fn validate_name(name: &str) -> crate::error::Result<()> {
    if !common::names::is_valid_name(name) || name.len() > 200 {
        return Err(crate::error::NetError::InvalidArgument(format!(
            "network name {name} invalid: {}",
            common::names::NAME_RULE_ERROR
        )));
    }
    Ok(())
}

/// Whether `name` is an interface name we put in netlink calls and firewall
/// rule text. The kernel takes 1-15 bytes (IFNAMSIZ 16 with the NUL), not
/// `.` or `..`, without '/', ':' or whitespace (c/common's
/// `ValidateInterfaceName`); nft and iptables-restore rule text has no
/// escape for a quote, so only letters, digits, '_', '.' and '-' are
/// accepted, and never a leading '-' (it would read as an option).
pub fn is_valid_ifname(name: &str) -> bool {
    (1..=15).contains(&name.len())
        && name != "."
        && name != ".."
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// [`is_valid_ifname`] as an error naming `what`.
pub fn validate_ifname(what: &str, name: &str) -> crate::error::Result<()> {
    if !is_valid_ifname(name) {
        return Err(crate::error::NetError::InvalidArgument(format!(
            "{what} {name:?} is not a valid interface name: use 1-15 letters, digits, '_', '.' or '-', not starting with '-'"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_network_matches_podman() {
        let n = Network::default_network();
        let v: serde_json::Value = serde_json::from_str(&n.to_json()).unwrap();
        assert_eq!(v["name"], "podman");
        assert_eq!(v["network_interface"], "podman0");
        assert_eq!(v["subnets"][0]["subnet"], "10.88.0.0/16");
        assert_eq!(v["subnets"][0]["gateway"], "10.88.0.1");
        assert_eq!(v["dns_enabled"], false);
        assert_eq!(v["id"].as_str().unwrap().len(), 64);
    }

    #[test]
    fn names_and_options() {
        assert!(validate_name("my-net_1.x").is_ok());
        assert!(validate_name("-bad").is_err());
        assert!(validate_name("bad/name").is_err());
        assert!(validate_ifname("bridge", "podman12").is_ok());
        assert!(validate_ifname("bridge", "a-very-long-interface").is_err());
        for bad in [
            "", ".", "..", "-br", "br 0", "br/0", "br:0", "br\"0", "br;0", "br{0}", "br\n0", "brü",
            "br$x", "br#0", "@br",
        ] {
            assert!(validate_ifname("bridge", bad).is_err(), "{bad:?}");
        }
        for ok in ["eth0", "podman1", "br-a_b.1", "123456789012345"] {
            assert!(validate_ifname("bridge", ok).is_ok(), "{ok:?}");
        }
        assert_eq!(
            validate_name("a b").unwrap_err().to_string(),
            "network name a b invalid: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: invalid argument"
        );
        let mut o = BTreeMap::new();
        o.insert("mtu".to_string(), "1400".to_string());
        assert!(validate_options(&o).is_ok());
        o.insert("vxlan".to_string(), "1".to_string());
        assert!(validate_options(&o)
            .unwrap_err()
            .to_string()
            .contains("unsupported bridge network option"));
    }

    #[test]
    fn netavark_json_parses() {
        let j = r#"{"name":"n1","id":"ab","driver":"bridge","network_interface":"podman1",
            "created":"2024-01-01T00:00:00Z","subnets":[{"subnet":"10.89.0.0/24","gateway":"10.89.0.1",
            "lease_range":{"start_ip":"10.89.0.10","end_ip":"10.89.0.20"}}],"ipv6_enabled":false,
            "internal":false,"dns_enabled":true,"ipam_options":{"driver":"host-local"}}"#;
        let n: Network = serde_json::from_str(j).unwrap();
        assert_eq!(n.subnets[0].gateway().to_string(), "10.89.0.1");
        assert_eq!(
            n.subnets[0]
                .lease_range
                .as_ref()
                .unwrap()
                .start_ip
                .unwrap()
                .to_string(),
            "10.89.0.10"
        );
    }
}
