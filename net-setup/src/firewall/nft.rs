//! nftables backend: render the whole table and replace it in one `nft -f -`
//! transaction (add-then-delete the old table, then define the new one), so
//! the kernel never sees a half-applied rule set. With nothing to do the
//! table is removed entirely.

use std::fmt::Write;
use std::net::IpAddr;

use ipnet::IpNet;

use super::{CtrRules, Desired, Dnat, NetRules};
use crate::error::Result;

pub(super) async fn apply(tool: &super::ToolRunner, table: &str, d: &Desired) -> Result<()> {
    let script = render(table, d);
    tracing::trace!(%script, "nft script");
    tool.run("nftables", "nft", &["-f", "-"], &script)
        .await
        .map(drop)
}

fn fam(ip: &IpAddr) -> &'static str {
    if ip.is_ipv4() {
        "ip"
    } else {
        "ip6"
    }
}

fn net_fam(n: &IpNet) -> &'static str {
    fam(&n.addr())
}

pub fn render(table: &str, d: &Desired) -> String {
    let mut s = format!("table inet {table}\ndelete table inet {table}\n");
    if d.is_empty() {
        return s;
    }
    let _ = writeln!(s, "table inet {table} {{");
    // Base chains: dispatch only.
    s.push_str("  chain forward {\n    type filter hook forward priority filter; policy accept;\n");
    for n in &d.networks {
        let _ = writeln!(s, "    jump nw_{}_fwd", n.tag);
    }
    s.push_str("  }\n  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n");
    for n in d.networks.iter().filter(|n| !n.internal) {
        let _ = writeln!(s, "    jump nw_{}_nat", n.tag);
    }
    s.push_str(
        "  }\n  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n",
    );
    s.push_str("    fib daddr type local jump hostports\n  }\n");
    s.push_str("  chain output {\n    type nat hook output priority -100; policy accept;\n");
    s.push_str("    fib daddr type local jump hostports\n  }\n");
    s.push_str("  chain hostports {\n");
    for c in &d.containers {
        let _ = writeln!(s, "    jump ct_{}", c.tag);
    }
    s.push_str("  }\n");
    for n in &d.networks {
        network_chains(&mut s, n, d);
    }
    for c in &d.containers {
        container_chain(&mut s, c);
    }
    s.push_str("}\n");
    s
}

fn network_chains(s: &mut String, n: &NetRules, d: &Desired) {
    let b = &n.bridge;
    let _ = writeln!(s, "  chain nw_{}_fwd {{", n.tag);
    if n.internal {
        // Internal: containers reach each other and nothing else.
        let _ = writeln!(s, "    iifname \"{b}\" oifname != \"{b}\" drop");
        let _ = writeln!(s, "    oifname \"{b}\" iifname != \"{b}\" drop");
    } else {
        if n.isolate {
            let others: Vec<String> = d
                .networks
                .iter()
                .filter(|o| o.bridge != *b)
                .map(|o| format!("\"{}\"", o.bridge))
                .collect();
            if !others.is_empty() {
                let set = others.join(", ");
                let _ = writeln!(s, "    iifname \"{b}\" oifname {{ {set} }} drop");
                let _ = writeln!(s, "    oifname \"{b}\" iifname {{ {set} }} drop");
            }
        }
        let _ = writeln!(s, "    oifname \"{b}\" ct state established,related accept");
        for sub in &n.subnets {
            let _ = writeln!(s, "    iifname \"{b}\" {} saddr {sub} accept", net_fam(sub));
        }
        // Published ports (DNAT'd to a container on this bridge).
        let _ = writeln!(s, "    oifname \"{b}\" ct status dnat accept");
    }
    s.push_str("  }\n");
    if !n.internal {
        let _ = writeln!(s, "  chain nw_{}_nat {{", n.tag);
        // 127.0.0.1:PORT from the host: give the packet a source the
        // container can answer (route_localnet lets it leave lo's range).
        let _ = writeln!(
            s,
            "    oifname \"{b}\" ip saddr 127.0.0.0/8 ct status dnat masquerade"
        );
        for sub in &n.subnets {
            let f = net_fam(sub);
            // Hairpin: a container reaching its own published port via the host.
            let _ = writeln!(
                s,
                "    oifname \"{b}\" {f} saddr {sub} ct status dnat masquerade"
            );
            // Outbound.
            let _ = writeln!(s, "    {f} saddr {sub} oifname != \"{b}\" masquerade");
        }
        s.push_str("  }\n");
    }
}

fn container_chain(s: &mut String, c: &CtrRules) {
    let _ = writeln!(s, "  chain ct_{} {{", c.tag);
    for d in &c.dnats {
        for rule in dnat_rules(d) {
            let _ = writeln!(s, "    {rule}");
        }
    }
    s.push_str("  }\n");
}

fn dnat_rules(d: &Dnat) -> Vec<String> {
    let f = fam(&d.target);
    let m = match d.host_ip {
        Some(ip) => format!("{} daddr {ip}", fam(&ip)),
        None => format!(
            "meta nfproto {}",
            if d.target.is_ipv4() { "ipv4" } else { "ipv6" }
        ),
    };
    let p = d.protocol.as_str();
    d.matches()
        .into_iter()
        .map(|x| {
            let ports = match x.host_ports {
                (a, b) if a == b => a.to_string(),
                (a, b) => format!("{a}-{b}"),
            };
            format!("{m} {p} dport {ports} dnat {f} to {}", x.to)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::Proto;

    #[test]
    fn empty_desired_only_deletes_the_table() {
        assert_eq!(
            render("t", &Desired::default()),
            "table inet t\ndelete table inet t\n"
        );
    }

    #[test]
    fn renders_network_and_container_chains() {
        let d = Desired {
            networks: vec![
                NetRules {
                    tag: "aaa".into(),
                    bridge: "br1".into(),
                    subnets: vec!["10.89.0.0/24".parse().unwrap()],
                    internal: false,
                    isolate: true,
                },
                NetRules {
                    tag: "bbb".into(),
                    bridge: "br2".into(),
                    subnets: vec![],
                    internal: true,
                    isolate: false,
                },
            ],
            containers: vec![CtrRules {
                tag: "c1".into(),
                dnats: vec![
                    Dnat {
                        host_ip: None,
                        host_port: 8080,
                        range: 1,
                        protocol: Proto::Tcp,
                        target: "10.89.0.2".parse().unwrap(),
                        target_port: 80,
                    },
                    Dnat {
                        host_ip: Some("127.0.0.1".parse().unwrap()),
                        host_port: 9000,
                        range: 2,
                        protocol: Proto::Udp,
                        target: "10.89.0.2".parse().unwrap(),
                        target_port: 9100,
                    },
                ],
            }],
        };
        let s = render("podman_rs", &d);
        for want in [
            "jump nw_aaa_fwd",
            "jump nw_bbb_fwd",
            "jump nw_aaa_nat",
            "jump ct_c1",
            "iifname \"br1\" oifname { \"br2\" } drop",
            "ip saddr 10.89.0.0/24 oifname != \"br1\" masquerade",
            "iifname \"br2\" oifname != \"br2\" drop",
            "meta nfproto ipv4 tcp dport 8080 dnat ip to 10.89.0.2:80",
            "ip daddr 127.0.0.1 udp dport 9001 dnat ip to 10.89.0.2:9101",
        ] {
            assert!(s.contains(want), "missing {want:?} in\n{s}");
        }
        assert!(
            !s.contains("jump nw_bbb_nat"),
            "internal networks get no NAT"
        );
    }
}
