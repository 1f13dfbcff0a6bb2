//! The files podman manages inside a container: /etc/hosts,
//! /etc/resolv.conf and /etc/hostname, written into the bundle and
//! bind-mounted over the image's.

use std::path::{Path, PathBuf};

use super::etc_files;
use super::network::NetResult;
use crate::container::model::{ContainerConfig, NetworkMode};
use crate::engine_config::EngineConfig;
use crate::spec::NetNs;

/// The address of host.containers.internal, as libpod picks it:
/// containers.conf's, 127.0.0.1 on the host's network, a bridge network's
/// IPv4 gateway, the tool's host address (slirp4netns with
/// allow_host_loopback), else the host's first global address that is not
/// the container's own.
fn host_internal_ip(engine: &EngineConfig, cfg: &ContainerConfig, net: &NetResult) -> String {
    match engine
        .containers
        .containers
        .host_containers_internal_ip
        .as_deref()
    {
        Some("none") => return String::new(),
        Some(ip) if !ip.is_empty() => return ip.to_string(),
        _ => {}
    }
    if matches!(net.netns, NetNs::Host) {
        return "127.0.0.1".into();
    }
    let statuses: Vec<&serde_json::Value> = net.status.as_array().into_iter().flatten().collect();
    if cfg.network_mode == NetworkMode::Bridge {
        let gateways: Vec<&str> = statuses
            .iter()
            .flat_map(|s| s["addresses"].as_array().into_iter().flatten())
            .filter_map(|a| a["gateway"].as_str())
            .filter(|g| !g.is_empty())
            .collect();
        if let Some(g) = gateways
            .iter()
            .find(|g| !g.contains(':'))
            .or(gateways.first())
        {
            return g.to_string();
        }
    }
    if let Some(ip) = statuses
        .iter()
        .filter_map(|s| s["host_ip"].as_str())
        .find(|s| !s.is_empty())
    {
        return ip.to_string();
    }
    local_ip(&net.ips)
}

/// The host's first global unicast address (IPv4 preferred), skipping `except`.
fn local_ip(except: &[String]) -> String {
    let Ok(addrs) = nix::ifaddrs::getifaddrs() else {
        return String::new();
    };
    let mut v6 = String::new();
    for a in addrs {
        let Some(addr) = a.address else { continue };
        let ip: std::net::IpAddr = if let Some(s) = addr.as_sockaddr_in() {
            s.ip().into()
        } else if let Some(s) = addr.as_sockaddr_in6() {
            s.ip().into()
        } else {
            continue;
        };
        let global = match ip {
            std::net::IpAddr::V4(v) => {
                !v.is_loopback() && !v.is_link_local() && !v.is_unspecified()
            }
            std::net::IpAddr::V6(v) => {
                !v.is_loopback() && (v.segments()[0] & 0xffc0) != 0xfe80 && !v.is_unspecified()
            }
        };
        if !global || except.iter().any(|e| *e == ip.to_string()) {
            continue;
        }
        if ip.is_ipv4() {
            return ip.to_string();
        }
        if v6.is_empty() {
            v6 = ip.to_string();
        }
    }
    v6
}

/// The file /etc/hosts starts from (containers.conf `base_hosts_file`).
fn base_hosts(
    engine: &EngineConfig,
    cfg: &ContainerConfig,
    rootfs: &Path,
) -> anyhow::Result<String> {
    let chosen = if cfg.extra.hosts_file.is_empty() {
        engine.containers.containers.base_hosts_file.as_deref()
    } else {
        Some(cfg.extra.hosts_file.as_str())
    };
    match chosen {
        None | Some("") => Ok(std::fs::read_to_string("/etc/hosts").unwrap_or_default()),
        Some("none") => Ok(String::new()),
        Some("image") => {
            let b = common::in_root::read_regular_in_root(rootfs, Path::new("etc/hosts"), 1 << 20)
                .map_err(|e| anyhow::anyhow!("reading the image's /etc/hosts: {e}"))?;
            Ok(b.map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default())
        }
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("reading base_hosts_file {path} (containers.conf): {e}")),
    }
}

/// Write hosts, resolv.conf and hostname into `bundle`; returns the
/// (destination, host path) pairs to bind-mount.
pub fn write(
    bundle: &Path,
    engine: &EngineConfig,
    cfg: &ContainerConfig,
    net: &NetResult,
    rootfs: &Path,
) -> anyhow::Result<Vec<(String, PathBuf)>> {
    // The bundle is private; the files in it keep 0644, as users inside
    // the container read them through their bind mounts.
    common::private_dir::create(bundle)?;
    let conf = &engine.containers.containers;
    let host_network = matches!(net.netns, NetNs::Host);
    let no_hosts = cfg.extra.no_hosts || (conf.no_hosts == Some(true) && cfg.add_hosts.is_empty());
    let hosts = if no_hosts {
        String::new()
    } else {
        let internal = host_internal_ip(engine, cfg, net);
        let mut extra = Vec::new();
        for h in &cfg.add_hosts {
            let (names, mut ip) = etc_files::parse_add_host(h)?;
            if ip == "host-gateway" {
                if internal.is_empty() {
                    anyhow::bail!("--add-host {h}: host-gateway has no address here (host_containers_internal_ip is \"none\" or no host address was found): give an IP");
                }
                ip = internal.clone();
            }
            extra.push((names, ip));
        }
        let own: Vec<String> = match &cfg.network_mode {
            NetworkMode::None => vec!["127.0.0.1".into()],
            NetworkMode::Pasta(_) => net.ips.iter().take(1).cloned().collect(),
            _ if host_network => Vec::new(),
            _ => net.ips.clone(),
        };
        let mut names = vec![cfg.hostname.clone()];
        if !cfg.name.is_empty() && cfg.name != cfg.hostname {
            names.push(cfg.name.clone());
        }
        etc_files::hosts(&etc_files::HostsParams {
            extra,
            base: &base_hosts(engine, cfg, rootfs)?,
            host_internal_ip: &internal,
            container_ips: &own,
            names,
        })
    };
    let host = etc_files::host_resolv();
    // containers.conf's entries first, then the flags', as libpod joins them.
    let servers: Vec<String> = conf
        .dns_servers
        .iter()
        .chain(cfg.dns_servers.iter())
        .cloned()
        .collect();
    let searches: Vec<String> = conf
        .dns_searches
        .iter()
        .chain(cfg.dns_search.iter())
        .cloned()
        .collect();
    let options: Vec<String> = conf
        .dns_options
        .iter()
        .chain(cfg.extra.dns_options.iter())
        .cloned()
        .collect();
    let network_searches: Vec<String> =
        if cfg.network_mode == NetworkMode::Bridge && !net.dns.is_empty() {
            vec![crate::lifecycle::etc_files::PODMAN_DNS_DOMAIN.to_string()]
        } else {
            Vec::new()
        };
    let resolv = etc_files::resolv(&etc_files::ResolvParams {
        host: &host,
        servers: &servers,
        searches: &searches,
        options: &options,
        network_servers: &net.dns,
        network_searches: &network_searches,
        host_network,
        ipv6: net.ips.iter().any(|i| i.contains(':')),
    });
    // `--dns none`: the image's own resolv.conf stays.
    let image_resolv = cfg.dns_servers.iter().any(|s| s == "none");
    let files = [
        ("/etc/hosts", "hosts", hosts),
        ("/etc/resolv.conf", "resolv.conf", resolv),
        ("/etc/hostname", "hostname", format!("{}\n", cfg.hostname)),
    ];
    let mut out = Vec::new();
    for (dest, name, body) in files {
        if (no_hosts && name == "hosts")
            || (cfg.extra.no_hostname && name == "hostname")
            || (image_resolv && name == "resolv.conf")
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

/// Rewrite `path` in place (same inode: running containers see it through
/// their bind mounts) with what `change` makes of its text (None: leave
/// it), holding an exclusive lock on it meanwhile.
pub fn edit_in_place(
    path: &Path,
    change: impl FnOnce(&str) -> Option<String>,
) -> std::io::Result<()> {
    use std::io::{Read, Seek, Write};
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)?;
    let lock = common::file_lock::FileLock::on_file(f, common::file_lock::LockMode::Exclusive)?;
    let mut f = lock.file();
    let mut now = String::new();
    f.read_to_string(&mut now)?;
    if let Some(new) = change(&now) {
        f.set_len(0)?;
        f.seek(std::io::SeekFrom::Start(0))?;
        f.write_all(new.as_bytes())?;
    }
    Ok(())
}

/// `/etc/mtab` as a link to `/proc/mounts` when the image has none, so
/// `mount` and `df` work inside (libpod makes the same link). The `etc`
/// directory is resolved (or made) inside the root; an existing entry,
/// whatever it is, is left alone.
pub fn mtab_link(rootfs: &Path) -> anyhow::Result<()> {
    use std::os::fd::{AsFd, AsRawFd};
    let root = common::in_root::open_dir(rootfs)?;
    let etc = common::in_root::mkdir_all_in_root(root.as_fd(), Path::new("etc"))
        .map_err(|e| anyhow::anyhow!("making /etc in the container: {e}"))?;
    match nix::unistd::symlinkat("/proc/mounts", Some(etc.as_raw_fd()), "mtab") {
        Ok(()) | Err(nix::errno::Errno::EEXIST) => Ok(()),
        Err(e) => Err(anyhow::anyhow!("linking /etc/mtab in the container: {e}")),
    }
}
