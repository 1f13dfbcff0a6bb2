//! iptables fallback: our own chains (`<P>-POSTROUTING`, `<P>-HOSTPORTS`,
//! `<P>-FORWARD`, one `<P>-C-<hash>` per container with published ports),
//! rewritten with `iptables-restore --noflush` (declaring a chain flushes
//! it), jumped to from the built-in chains. Stale container chains are
//! deleted afterwards; with nothing left, every trace is removed.

use std::fmt::Write;

use super::{Desired, Dnat, ToolRunner};
use crate::error::Result;

struct Family {
    v4: bool,
    save: &'static str,
    restore: &'static str,
    tool: &'static str,
}

const V4: Family = Family {
    v4: true,
    save: "iptables-save",
    restore: "iptables-restore",
    tool: "iptables",
};
const V6: Family = Family {
    v4: false,
    save: "ip6tables-save",
    restore: "ip6tables-restore",
    tool: "ip6tables",
};

fn ctr_chain(p: &str, tag: &str) -> String {
    format!("{p}-C-{:08x}", crate::ids::fnv64(tag.as_bytes()) as u32)
}

/// The built-in chain jumps: (table, chain, match).
fn jumps(p: &str) -> [(&'static str, &'static str, String); 4] {
    [
        ("nat", "POSTROUTING", format!("-j {p}-POSTROUTING")),
        (
            "nat",
            "PREROUTING",
            format!("-m addrtype --dst-type LOCAL -j {p}-HOSTPORTS"),
        ),
        (
            "nat",
            "OUTPUT",
            format!("-m addrtype --dst-type LOCAL -j {p}-HOSTPORTS"),
        ),
        ("filter", "FORWARD", format!("-j {p}-FORWARD")),
    ]
}

pub(super) async fn apply(t: &ToolRunner, p: &str, d: &Desired) -> Result<()> {
    let v6_needed = d
        .networks
        .iter()
        .any(|n| n.subnets.iter().any(|s| s.addr().is_ipv6()));
    apply_family(t, &V4, p, d).await?;
    if v6_needed || common::paths::which("ip6tables-restore").is_some() {
        apply_family(t, &V6, p, d).await?;
    }
    Ok(())
}

async fn apply_family(t: &ToolRunner, f: &Family, p: &str, d: &Desired) -> Result<()> {
    let existing = our_chains(t, f, p).await?;
    if d.is_empty() {
        for (table, chain, rule) in jumps(p) {
            while t
                .run("iptables", f.tool, &cmd(table, "-D", chain, &rule), "")
                .await
                .is_ok()
            {}
        }
        for (table, chain) in &existing {
            t.run("iptables", f.tool, &["-w", "-t", table, "-F", chain], "")
                .await?;
        }
        for (table, chain) in &existing {
            t.run("iptables", f.tool, &["-w", "-t", table, "-X", chain], "")
                .await?;
        }
        return Ok(());
    }
    let script = render(f.v4, p, d);
    t.run("iptables", f.restore, &["-w", "--noflush"], &script)
        .await?;
    for (table, chain, rule) in jumps(p) {
        if t.run("iptables", f.tool, &cmd(table, "-C", chain, &rule), "")
            .await
            .is_err()
        {
            t.run("iptables", f.tool, &cmd(table, "-I", chain, &rule), "")
                .await?;
        }
    }
    let wanted: Vec<String> = d.containers.iter().map(|c| ctr_chain(p, &c.tag)).collect();
    for (table, chain) in existing
        .iter()
        .filter(|(t, c)| t == "nat" && c.starts_with(&format!("{p}-C-")))
    {
        if !wanted.contains(chain) {
            t.run("iptables", f.tool, &["-w", "-t", table, "-F", chain], "")
                .await?;
            t.run("iptables", f.tool, &["-w", "-t", table, "-X", chain], "")
                .await?;
        }
    }
    Ok(())
}

fn cmd<'a>(table: &'a str, op: &'a str, chain: &'a str, rule: &'a str) -> Vec<&'a str> {
    let mut v = vec!["-w", "-t", table, op, chain];
    v.extend(rule.split_whitespace());
    v
}

/// (table, chain) of every chain with our prefix.
async fn our_chains(t: &ToolRunner, f: &Family, p: &str) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for table in ["nat", "filter"] {
        let listing = t.run("iptables", f.save, &["-t", table], "").await?;
        for line in listing.lines() {
            if let Some(name) = line
                .strip_prefix(':')
                .and_then(|l| l.split_whitespace().next())
            {
                if name.starts_with(&format!("{p}-")) {
                    out.push((table.to_string(), name.to_string()));
                }
            }
        }
    }
    Ok(out)
}

fn render(v4: bool, p: &str, d: &Desired) -> String {
    let mut s = String::from("*nat\n");
    let _ = writeln!(s, ":{p}-POSTROUTING - [0:0]\n:{p}-HOSTPORTS - [0:0]");
    for c in &d.containers {
        let _ = writeln!(s, ":{} - [0:0]", ctr_chain(p, &c.tag));
    }
    for n in d.networks.iter().filter(|n| !n.internal) {
        let b = &n.bridge;
        if v4 {
            let _ = writeln!(s, "-A {p}-POSTROUTING -o {b} -s 127.0.0.0/8 -m conntrack --ctstate DNAT -j MASQUERADE");
        }
        for sub in n.subnets.iter().filter(|x| x.addr().is_ipv4() == v4) {
            let _ = writeln!(
                s,
                "-A {p}-POSTROUTING -o {b} -s {sub} -m conntrack --ctstate DNAT -j MASQUERADE"
            );
            let _ = writeln!(s, "-A {p}-POSTROUTING -s {sub} ! -o {b} -j MASQUERADE");
        }
    }
    for c in &d.containers {
        let chain = ctr_chain(p, &c.tag);
        let _ = writeln!(s, "-A {p}-HOSTPORTS -j {chain}");
        for dn in c.dnats.iter().filter(|x| x.target.is_ipv4() == v4) {
            for r in dnat_rules(dn) {
                let _ = writeln!(s, "-A {chain} {r}");
            }
        }
    }
    s.push_str("COMMIT\n*filter\n");
    let _ = writeln!(s, ":{p}-FORWARD - [0:0]");
    for n in &d.networks {
        let b = &n.bridge;
        if n.internal {
            let _ = writeln!(
                s,
                "-A {p}-FORWARD -i {b} ! -o {b} -j DROP\n-A {p}-FORWARD -o {b} ! -i {b} -j DROP"
            );
            continue;
        }
        if n.isolate {
            for o in d.networks.iter().filter(|o| o.bridge != *b) {
                let _ = writeln!(s, "-A {p}-FORWARD -i {b} -o {} -j DROP", o.bridge);
                let _ = writeln!(s, "-A {p}-FORWARD -i {} -o {b} -j DROP", o.bridge);
            }
        }
        let _ = writeln!(
            s,
            "-A {p}-FORWARD -o {b} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
        );
        for sub in n.subnets.iter().filter(|x| x.addr().is_ipv4() == v4) {
            let _ = writeln!(s, "-A {p}-FORWARD -i {b} -s {sub} -j ACCEPT");
        }
        let _ = writeln!(
            s,
            "-A {p}-FORWARD -o {b} -m conntrack --ctstate DNAT -j ACCEPT"
        );
    }
    s.push_str("COMMIT\n");
    s
}

fn dnat_rules(d: &Dnat) -> Vec<String> {
    let m = d.host_ip.map(|ip| format!("-d {ip} ")).unwrap_or_default();
    let p = d.protocol.as_str();
    d.matches()
        .into_iter()
        .map(|x| {
            let ports = match x.host_ports {
                (a, b) if a == b => a.to_string(),
                (a, b) => format!("{a}:{b}"),
            };
            format!(
                "{m}-p {p} -m {p} --dport {ports} -j DNAT --to-destination {}",
                x.to
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firewall::{CtrRules, NetRules};
    use crate::ports::Proto;

    #[test]
    fn renders_restore_input() {
        let d = Desired {
            networks: vec![NetRules {
                tag: "a".into(),
                bridge: "br1".into(),
                subnets: vec!["10.89.0.0/24".parse().unwrap()],
                internal: false,
                isolate: false,
            }],
            containers: vec![CtrRules {
                tag: "c".into(),
                dnats: vec![Dnat {
                    host_ip: None,
                    host_port: 8080,
                    range: 1,
                    protocol: Proto::Tcp,
                    target: "10.89.0.2".parse().unwrap(),
                    target_port: 80,
                }],
            }],
        };
        let s = render(true, "PRS", &d);
        assert!(
            s.contains("-A PRS-POSTROUTING -s 10.89.0.0/24 ! -o br1 -j MASQUERADE"),
            "{s}"
        );
        assert!(
            s.contains("-p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.89.0.2:80"),
            "{s}"
        );
        assert!(s.ends_with("COMMIT\n"));
    }
}
