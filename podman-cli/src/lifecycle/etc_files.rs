//! The contents of a container's /etc/hosts and /etc/resolv.conf as
//! Podman 5 writes them (containers/common libnetwork/etchosts and
//! libnetwork/resolvconf, libpod's getHostsEntries/generateResolvConf).
//! Pure functions: the caller gathers the inputs.

use std::net::IpAddr;

/// The search domain of networks with DNS.
pub const PODMAN_DNS_DOMAIN: &str = "dns.podman";

/// Names podman gives the host in every container.
pub const HOST_NAMES: [&str; 2] = ["host.containers.internal", "host.docker.internal"];

/// Parsed `--add-host` entries: `NAME[;NAME…]:IP` (IP may be
/// `host-gateway`). The first ':' separates, so IPv6 addresses work.
pub fn parse_add_host(entry: &str) -> anyhow::Result<(Vec<String>, String)> {
    let Some((names, ip)) = entry.split_once(':') else {
        anyhow::bail!("invalid add-host {entry:?}: use NAME:IP (or NAME:host-gateway)");
    };
    let names: Vec<String> = names
        .split(';')
        .filter(|n| !n.is_empty())
        .map(String::from)
        .collect();
    if names.is_empty() {
        anyhow::bail!("hostname in host entry {entry:?} is empty");
    }
    let ip = ip.trim_start_matches('[').trim_end_matches(']');
    if ip != "host-gateway" && ip.parse::<IpAddr>().is_err() {
        anyhow::bail!("invalid IP address in add-host: {ip:?}");
    }
    Ok((names, ip.to_string()))
}

/// `ip<TAB>names` lines of a hosts file, comments and address-only lines dropped.
pub fn parse_hosts(text: &str) -> Vec<(String, Vec<String>)> {
    text.lines()
        .filter_map(|l| {
            let l = l.split('#').next().unwrap_or("");
            let mut f = l.split_whitespace();
            let ip = f.next()?;
            let names: Vec<String> = f.map(String::from).collect();
            (!names.is_empty()).then(|| (ip.to_string(), names))
        })
        .collect()
}

pub struct HostsParams<'a> {
    /// `--add-host` entries, `host-gateway` already resolved.
    pub extra: Vec<(Vec<String>, String)>,
    /// The base file's contents (host's, image's, a configured one, or none).
    pub base: &'a str,
    /// host.containers.internal's address; empty: no entry.
    pub host_internal_ip: &'a str,
    /// The container's addresses, each with these names.
    pub container_ips: &'a [String],
    pub names: Vec<String>,
}

/// User entries first (--add-host, then the base file), then localhost,
/// host.containers.internal and the container's own addresses, each with
/// only the names the user entries did not give already.
pub fn hosts(p: &HostsParams) -> String {
    let mut user: Vec<(String, Vec<String>)> = p
        .extra
        .iter()
        .map(|(n, ip)| (ip.clone(), n.clone()))
        .collect();
    user.extend(parse_hosts(p.base));
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut out = String::new();
    for (ip, names) in &user {
        seen.extend(names.iter().cloned());
        out.push_str(&format!("{ip}\t{}\n", names.join(" ")));
    }
    let lh = vec!["localhost".to_string()];
    let mut ours: Vec<(String, Vec<String>)> =
        vec![("127.0.0.1".into(), lh.clone()), ("::1".into(), lh)];
    if !p.host_internal_ip.is_empty() {
        ours.push((
            p.host_internal_ip.to_string(),
            HOST_NAMES.iter().map(|s| s.to_string()).collect(),
        ));
    }
    for ip in p.container_ips {
        ours.push((ip.clone(), p.names.clone()));
    }
    for (ip, names) in ours {
        let free: Vec<&String> = names.iter().filter(|n| !seen.contains(*n)).collect();
        if !free.is_empty() {
            let free: Vec<&str> = free.iter().map(|s| s.as_str()).collect();
            out.push_str(&format!("{ip}\t{}\n", free.join(" ")));
        }
    }
    out
}

/// The host's resolv.conf, read as resolvconf reads it.
#[derive(Debug, Default, Clone)]
pub struct HostResolv {
    pub nameservers: Vec<String>,
    pub search: Vec<String>,
    pub options: Vec<String>,
}

pub fn parse_resolv(text: &str) -> HostResolv {
    let mut r = HostResolv::default();
    for l in text.lines() {
        let mut f = l.split_whitespace();
        match f.next() {
            Some("nameserver") => r.nameservers.extend(f.next().map(String::from)),
            Some("search") | Some("domain") => r.search = f.map(String::from).collect(),
            Some("options") => r.options.extend(f.map(String::from)),
            _ => {}
        }
    }
    r
}

/// The host's resolvers: /etc/resolv.conf, or systemd-resolved's upstream
/// list when /etc/resolv.conf only names its stub.
pub fn host_resolv() -> HostResolv {
    let r = parse_resolv(&std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default());
    if r.nameservers.iter().all(|n| n == "127.0.0.53") && !r.nameservers.is_empty() {
        if let Ok(t) = std::fs::read_to_string("/run/systemd/resolve/resolv.conf") {
            return parse_resolv(&t);
        }
    }
    r
}

fn is_loopback(ns: &str) -> bool {
    ns.parse::<IpAddr>()
        .map(|a| a.is_loopback())
        .unwrap_or(false)
}

pub struct ResolvParams<'a> {
    pub host: &'a HostResolv,
    /// containers.conf `dns_servers` then `--dns`.
    pub servers: &'a [String],
    /// containers.conf `dns_searches` then `--dns-search` ("." clears).
    pub searches: &'a [String],
    /// containers.conf `dns_options` then `--dns-option`.
    pub options: &'a [String],
    /// The networks' DNS servers (they forward to the host's resolvers).
    pub network_servers: &'a [String],
    pub network_searches: &'a [String],
    /// The host's network namespace: its loopback resolvers work.
    pub host_network: bool,
    pub ipv6: bool,
}

/// search, nameserver and options lines, in resolvconf's order.
pub fn resolv(p: &ResolvParams) -> String {
    let servers: Vec<String> = if !p.network_servers.is_empty()
        && p.network_servers.iter().all(|s| !s.is_empty())
        && !p.host_network
        && p.network_searches.iter().any(|d| d == "dns.podman")
    {
        // A network's own DNS server forwards everything else: it is the
        // only one (netavark with aardvark-dns).
        p.network_servers.to_vec()
    } else if !p.servers.is_empty() {
        p.servers.to_vec()
    } else {
        let mut v = p.network_servers.to_vec();
        let host: Vec<String> = p
            .host
            .nameservers
            .iter()
            .filter(|n| p.host_network || !is_loopback(n))
            .filter(|n| p.ipv6 || p.host_network || !n.contains(':'))
            .cloned()
            .collect();
        v.extend(host);
        if v.is_empty() {
            // resolvconf's fallback when nothing usable is left.
            v = vec!["8.8.8.8".into(), "8.8.4.4".into()];
        }
        v
    };
    let searches: Vec<String> = if !p.searches.is_empty() {
        if p.searches.iter().any(|s| s == ".") {
            Vec::new()
        } else {
            p.searches.to_vec()
        }
    } else {
        p.network_searches
            .iter()
            .chain(p.host.search.iter())
            .cloned()
            .collect()
    };
    let options: Vec<String> = if p.options.is_empty() {
        p.host.options.clone()
    } else {
        p.options.to_vec()
    };
    let mut out = String::new();
    if !searches.is_empty() {
        out.push_str(&format!("search {}\n", searches.join(" ")));
    }
    for s in servers {
        out.push_str(&format!("nameserver {s}\n"));
    }
    if !options.is_empty() {
        out.push_str(&format!("options {}\n", options.join(" ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_as_podman_writes_them() {
        let base = "10.1.1.1 one\n10.1.1.2 two #c\n# x\n10.9.9.9\n";
        let h = hosts(&HostsParams {
            extra: vec![parse_add_host("three:10.1.1.3").unwrap()],
            base,
            host_internal_ip: "10.88.0.1",
            container_ips: &["10.88.0.5".to_string()],
            names: vec!["web".into(), "c1".into()],
        });
        assert_eq!(
            h,
            "10.1.1.3\tthree\n10.1.1.1\tone\n10.1.1.2\ttwo\n127.0.0.1\tlocalhost\n::1\tlocalhost\n10.88.0.1\thost.containers.internal host.docker.internal\n10.88.0.5\tweb c1\n"
        );
        // A name given by the user is not repeated.
        let h = hosts(&HostsParams {
            extra: vec![],
            base,
            host_internal_ip: "",
            container_ips: &["10.88.0.5".to_string()],
            names: vec!["one".into()],
        });
        assert_eq!(h.lines().count(), 4, "{h}");
        assert!(parse_add_host("a;b:::1").unwrap().0.len() == 2);
        assert!(parse_add_host("a:nope").is_err());
        assert!(parse_add_host(":1.2.3.4").is_err());
        assert_eq!(parse_add_host("gw:host-gateway").unwrap().1, "host-gateway");
    }

    #[test]
    fn resolv_as_podman_writes_it() {
        let host = parse_resolv("search lan\nnameserver 127.0.0.53\nnameserver 10.0.0.1\nnameserver fd00::1\noptions edns0\n");
        let base = |servers: &'static [String], net: &'static [String], dom: &'static [String]| {
            ResolvParams {
                host: &host,
                servers,
                searches: &[],
                options: &[],
                network_servers: net,
                network_searches: dom,
                host_network: false,
                ipv6: false,
            }
        };
        assert_eq!(
            resolv(&base(&[], &[], &[])),
            "search lan\nnameserver 10.0.0.1\noptions edns0\n"
        );
        let r = resolv(&ResolvParams {
            host_network: true,
            ..base(&[], &[], &[])
        });
        assert!(r.contains("nameserver 127.0.0.53") && r.contains("fd00::1"));
        static NET: [String; 1] = [String::new()];
        let _ = &NET;
        let ns = Box::leak(Box::new(vec!["10.89.0.1".to_string()]));
        let dom = Box::leak(Box::new(vec!["dns.podman".to_string()]));
        assert_eq!(
            resolv(&base(&[], ns, dom)),
            "search dns.podman lan\nnameserver 10.89.0.1\noptions edns0\n"
        );
        let custom = Box::leak(Box::new(vec!["1.1.1.1".to_string()]));
        assert_eq!(
            resolv(&base(custom, &[], &[])),
            "search lan\nnameserver 1.1.1.1\noptions edns0\n"
        );
        let opts = Box::leak(Box::new(vec!["ndots:3".to_string()]));
        let dot = Box::leak(Box::new(vec![".".to_string()]));
        let r = resolv(&ResolvParams {
            options: opts,
            searches: dot,
            ..base(&[], &[], &[])
        });
        assert_eq!(r, "nameserver 10.0.0.1\noptions ndots:3\n");
    }
}
