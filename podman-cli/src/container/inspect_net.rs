//! A container's `NetworkSettings` in `podman inspect`: libpod's
//! `getContainerNetworkInfo` shape, built from what net-setup reported at
//! setup (the state's network status) and the networks chosen at create.

use serde_json::{json, Map, Value};

use crate::container::model::{ContainerConfig, ContainerState, NetworkMode};

/// libpod's `InspectBasicNetworkConfig` for one network's status: the first
/// IPv4 and IPv6 addresses with their gateways, the rest as secondaries.
fn basic(status: Option<&Value>) -> Map<String, Value> {
    let mut ip4 = ("", 0u32, "");
    let mut ip6 = ("", 0u32, "");
    let (mut more4, mut more6) = (Vec::new(), Vec::new());
    for a in status
        .and_then(|s| s["addresses"].as_array())
        .into_iter()
        .flatten()
    {
        let cidr = a["address"].as_str().unwrap_or("");
        let (addr, len) = match cidr.split_once('/') {
            Some((ip, n)) => (ip, n.parse().unwrap_or(0)),
            None => (cidr, 0),
        };
        let gateway = a["gateway"].as_str().unwrap_or("");
        let (first, more) = if addr.contains(':') {
            (&mut ip6, &mut more6)
        } else {
            (&mut ip4, &mut more4)
        };
        if first.0.is_empty() {
            *first = (addr, len, gateway);
        } else {
            more.push(json!({"Addr": addr, "PrefixLength": len}));
        }
    }
    let mut m = Map::new();
    m.insert("EndpointID".into(), json!(""));
    m.insert("Gateway".into(), json!(ip4.2));
    m.insert("IPAddress".into(), json!(ip4.0));
    m.insert("IPPrefixLen".into(), json!(ip4.1));
    if !more4.is_empty() {
        m.insert("SecondaryIPAddresses".into(), json!(more4));
    }
    m.insert("IPv6Gateway".into(), json!(ip6.2));
    m.insert("GlobalIPv6Address".into(), json!(ip6.0));
    m.insert("GlobalIPv6PrefixLen".into(), json!(ip6.1));
    if !more6.is_empty() {
        m.insert("SecondaryIPv6Addresses".into(), json!(more6));
    }
    let mac = status.and_then(|s| s["mac"].as_str()).unwrap_or("");
    m.insert("MacAddress".into(), json!(mac));
    m
}

/// `NetworkSettings`: `default_network` is containers.conf's (the top
/// level carries the addresses only when that network is the one joined).
pub fn network_settings(
    cfg: &ContainerConfig,
    st: &ContainerState,
    ports: Map<String, Value>,
    default_network: &str,
) -> Value {
    let statuses: Vec<&Value> = st.network_status.as_array().into_iter().flatten().collect();
    let status_of = |name: &str| statuses.iter().copied().find(|s| s["network"] == name);
    let running = !st.netns_path.is_empty() && !statuses.is_empty();
    let mut top = basic(None);
    let mut networks = Map::new();
    match &cfg.network_mode {
        NetworkMode::Bridge => {
            for n in &cfg.networks {
                let status = status_of(&n.name).filter(|_| running);
                let mut m = basic(status);
                let id = status
                    .and_then(|s| s["network_id"].as_str())
                    .filter(|s| !s.is_empty())
                    .unwrap_or(&n.name);
                m.insert("NetworkID".into(), json!(id));
                m.insert("DriverOpts".into(), Value::Null);
                m.insert("IPAMConfig".into(), Value::Null);
                m.insert("Links".into(), Value::Null);
                m.insert("Aliases".into(), json!(cfg.network_aliases(&n.aliases)));
                networks.insert(n.name.clone(), Value::Object(m));
            }
            if let [only] = cfg.networks.as_slice() {
                if only.name == default_network && running {
                    top = basic(status_of(&only.name));
                }
            }
        }
        NetworkMode::Host
        | NetworkMode::None
        | NetworkMode::Slirp4netns(_)
        | NetworkMode::Pasta(_) => {
            let name = cfg.network_mode.name();
            // slirp4netns and pasta report their address as a network of
            // the mode's name, at the top level too.
            let status = status_of(&name).filter(|_| running);
            if status.is_some() {
                top = basic(status);
            }
            let mut m = basic(status);
            m.insert("NetworkID".into(), json!(name));
            m.insert("DriverOpts".into(), Value::Null);
            m.insert("IPAMConfig".into(), Value::Null);
            m.insert("Links".into(), Value::Null);
            networks.insert(name, Value::Object(m));
        }
        NetworkMode::Container(_) | NetworkMode::Path(_) => {}
    }
    let mut m = top;
    m.insert("Bridge".into(), json!(""));
    m.insert("SandboxID".into(), json!(""));
    m.insert("HairpinMode".into(), json!(false));
    m.insert("LinkLocalIPv6Address".into(), json!(""));
    m.insert("LinkLocalIPv6PrefixLen".into(), json!(0));
    m.insert("Ports".into(), Value::Object(ports));
    // --network none: the runtime made the netns; libpod names it by pid.
    let key = if st.netns_path.is_empty()
        && cfg.network_mode == NetworkMode::None
        && st.status.is_active()
        && st.pid > 0
    {
        format!("/proc/{}/ns/net", st.pid)
    } else {
        st.netns_path.clone()
    };
    m.insert("SandboxKey".into(), json!(key));
    // Empty for a joined ns:PATH, as libpod leaves it (templates still
    // read the field: `{{.NetworkSettings.Networks}}` is `map[]`).
    m.insert("Networks".into(), Value::Object(networks));
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::model::NetworkAttachment;

    fn container(networks: &[&str]) -> (ContainerConfig, ContainerState) {
        let cfg = ContainerConfig {
            id: "0123456789abcdef0123".into(),
            hostname: "web".into(),
            network_mode: NetworkMode::Bridge,
            networks: networks
                .iter()
                .map(|n| NetworkAttachment {
                    name: n.to_string(),
                    aliases: vec!["a1".into()],
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        let st = ContainerState {
            netns_path: "/run/netns/x".into(),
            network_status: json!([{
                "network": networks[0], "network_id": "f".repeat(64), "mac": "aa:bb:cc:dd:ee:ff",
                "addresses": [
                    {"address": "10.88.0.5/16", "gateway": "10.88.0.1"},
                    {"address": "fd00::5/64", "gateway": "fd00::1"},
                    {"address": "10.88.0.6/16", "gateway": "10.88.0.1"},
                ],
            }]),
            ..Default::default()
        };
        (cfg, st)
    }

    #[test]
    fn the_default_network_fills_the_top_level_and_the_map() {
        let (cfg, st) = container(&["podman"]);
        let v = network_settings(&cfg, &st, Map::new(), "podman");
        assert_eq!(v["IPAddress"], "10.88.0.5");
        assert_eq!(v["IPPrefixLen"], 16);
        assert_eq!(v["Gateway"], "10.88.0.1");
        assert_eq!(v["GlobalIPv6Address"], "fd00::5");
        assert_eq!(v["MacAddress"], "aa:bb:cc:dd:ee:ff");
        let n = &v["Networks"]["podman"];
        assert_eq!(n["IPAddress"], "10.88.0.5");
        assert_eq!(n["NetworkID"], "f".repeat(64));
        assert_eq!(n["SecondaryIPAddresses"][0]["Addr"], "10.88.0.6");
        assert_eq!(n["Aliases"], json!(["a1", "0123456789ab", "web"]));
    }

    #[test]
    fn another_network_leaves_the_top_level_empty() {
        let (cfg, st) = container(&["mynet"]);
        let v = network_settings(&cfg, &st, Map::new(), "podman");
        assert_eq!(v["IPAddress"], "");
        assert_eq!(v["Networks"]["mynet"]["IPAddress"], "10.88.0.5");
        // Stopped: the networks are listed without addresses.
        let st = ContainerState::default();
        let v = network_settings(&cfg, &st, Map::new(), "podman");
        assert_eq!(v["Networks"]["mynet"]["IPAddress"], "");
        assert_eq!(v["Networks"]["mynet"]["NetworkID"], "mynet");
    }
}
