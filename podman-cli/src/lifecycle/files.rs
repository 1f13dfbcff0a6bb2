//! The files podman manages inside a container: /etc/hosts,
//! /etc/resolv.conf and /etc/hostname, written into the bundle and
//! bind-mounted over the image's.

use std::path::{Path, PathBuf};

use crate::container::model::ContainerConfig;

/// Nameservers from the host's resolv.conf that a container can reach:
/// loopback resolvers (systemd-resolved's 127.0.0.53) are useless inside a
/// network namespace and are dropped.
fn host_resolv() -> (Vec<String>, Vec<String>, Vec<String>) {
    let text = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let (mut ns, mut search, mut opts) = (Vec::new(), Vec::new(), Vec::new());
    for l in text.lines() {
        let mut f = l.split_whitespace();
        match f.next() {
            Some("nameserver") => {
                if let Some(ip) = f.next() {
                    if !ip.starts_with("127.") && ip != "::1" {
                        ns.push(ip.to_string());
                    }
                }
            }
            Some("search") | Some("domain") => search.extend(f.map(String::from)),
            Some("options") => opts.extend(f.map(String::from)),
            _ => {}
        }
    }
    (ns, search, opts)
}

/// Write hosts, resolv.conf and hostname into `bundle`; returns the
/// (destination, host path) pairs to bind-mount.
pub fn write(
    bundle: &Path,
    cfg: &ContainerConfig,
    own_ips: &[String],
    network_dns: &[String],
    host_network: bool,
) -> std::io::Result<Vec<(String, PathBuf)>> {
    // The bundle is private; the files in it keep 0644, as users inside
    // the container read them through their bind mounts.
    common::private_dir::create(bundle)?;
    let mut hosts = String::from(
        "127.0.0.1\tlocalhost localhost.localdomain\n::1\tlocalhost localhost.localdomain\n",
    );
    if host_network {
        hosts = std::fs::read_to_string("/etc/hosts").unwrap_or(hosts);
    }
    for h in &cfg.add_hosts {
        if let Some((name, ip)) = h.split_once(':') {
            hosts.push_str(&format!("{ip}\t{name}\n"));
        }
    }
    for ip in own_ips {
        hosts.push_str(&format!("{ip}\t{} {}\n", cfg.hostname, cfg.name));
    }
    if own_ips.is_empty() && !host_network {
        hosts.push_str(&format!("127.0.1.1\t{} {}\n", cfg.hostname, cfg.name));
    }
    let (host_ns, host_search, opts) = host_resolv();
    // The network's own DNS server answers container names only and never
    // forwards: the host's servers follow it for everything else.
    let servers: Vec<String> = if !cfg.dns_servers.is_empty() {
        cfg.dns_servers.clone()
    } else {
        network_dns.iter().cloned().chain(host_ns).collect()
    };
    let search = if cfg.dns_search.is_empty() {
        host_search
    } else {
        cfg.dns_search.clone()
    };
    let mut resolv = String::new();
    if !search.is_empty() {
        resolv.push_str(&format!("search {}\n", search.join(" ")));
    }
    for s in servers {
        resolv.push_str(&format!("nameserver {s}\n"));
    }
    let opts: Vec<String> = opts
        .into_iter()
        .chain(cfg.extra.dns_options.iter().cloned())
        .collect();
    if !opts.is_empty() {
        resolv.push_str(&format!("options {}\n", opts.join(" ")));
    }
    let files = [
        ("/etc/hosts", "hosts", hosts),
        ("/etc/resolv.conf", "resolv.conf", resolv),
        ("/etc/hostname", "hostname", format!("{}\n", cfg.hostname)),
    ];
    let mut out = Vec::new();
    for (dest, name, body) in files {
        if (cfg.extra.no_hosts && name == "hosts") || (cfg.extra.no_hostname && name == "hostname")
        {
            continue;
        }
        let p = bundle.join(name);
        // Run-root files: atomic, not fsynced.
        common::atomic_file::write_atomic(
            &p,
            body.as_bytes(),
            common::atomic_file::Durability::NoSync,
        )?;
        out.push((dest.to_string(), p));
    }
    Ok(out)
}

/// `/run/.containerenv`, as Podman writes it: empty, except for privileged
/// containers, which learn their engine, name, id and image.
pub fn containerenv(bundle: &Path, cfg: &ContainerConfig) -> std::io::Result<PathBuf> {
    let body = if cfg.privileged {
        format!(
            "engine=\"podman-{}\"\nname=\"{}\"\nid=\"{}\"\nimage=\"{}\"\nimageid=\"{}\"\nrootless=0\n",
            crate::compat::PODMAN_VERSION,
            cfg.name,
            cfg.id,
            cfg.image_name,
            cfg.image_id
        )
    } else {
        String::new()
    };
    let p = bundle.join("containerenv");
    // A run-root file: atomic, not fsynced.
    common::atomic_file::write_atomic(
        &p,
        body.as_bytes(),
        common::atomic_file::Durability::NoSync,
    )?;
    Ok(p)
}
