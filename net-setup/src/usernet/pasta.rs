//! pasta as Podman 5 runs it (containers/common libnetwork/pasta): the
//! user's options first, then `--config-net`, `-t/-u` for published ports
//! (`none` when there are none), `-T none -U none`, `--no-map-gw` unless
//! `--map-gw` was given, `--dns-forward 169.254.1.1` unless one was given,
//! `--quiet`, `--netns PATH`. pasta copies the host's addresses and routes
//! into the netns, daemonizes once they are set, and quits by itself when
//! the netns file goes away.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;

use super::{Outcome, Record, Request, UserNetStore};
use crate::error::{NetError, Result};
use crate::netlink::Netlink;

/// pasta's DNS forwarder address in Podman 5.
pub const DNS_FORWARD_IP: &str = "169.254.1.1";

/// The command line, from the user's options (split at commas) and the
/// published ports; also the DNS forward addresses and the pid file pasta
/// writes (the user's `--pid FILE`, else `pid_file`).
pub fn arguments(
    user: &[String],
    ports: &[crate::types::PortMapping],
    netns: &Path,
    pid_file: &Path,
) -> Result<(Vec<String>, Vec<String>, PathBuf)> {
    let mut args = Vec::new();
    let mut pid_file = pid_file.to_path_buf();
    let (mut tcp, mut udp, mut tcp_ns, mut udp_ns) = (false, false, false, false);
    let (mut map_gw, mut dns_fwd, mut runas) = (false, Vec::new(), false);
    let mut it = user.iter().peekable();
    while let Some(o) = it.next() {
        match o.as_str() {
            "--map-gw" => {
                map_gw = true;
                continue;
            }
            "-t" | "--tcp-ports" => tcp = true,
            "-u" | "--udp-ports" => udp = true,
            "-T" | "--tcp-ns" => tcp_ns = true,
            "-U" | "--udp-ns" => udp_ns = true,
            "--runas" => runas = true,
            "--dns-forward" => {
                if let Some(v) = it.peek() {
                    dns_fwd.push(v.to_string());
                }
            }
            // The user's pid file replaces ours (pasta takes one).
            "-P" | "--pid" => {
                if let Some(v) = it.next() {
                    pid_file = PathBuf::from(v);
                }
                continue;
            }
            s if s.starts_with("--pid=") => {
                pid_file = PathBuf::from(&s["--pid=".len()..]);
                continue;
            }
            "--netns" | "--netns-only" | "-f" | "--foreground" => {
                return Err(NetError::InvalidArgument(format!(
                    "pasta option {o} is set by podman: leave it out of --network pasta:..."
                )))
            }
            _ => {}
        }
        args.push(o.clone());
    }
    args.push("--config-net".to_string());
    for p in ports {
        let flag = match p.protocol.as_str() {
            "" | "tcp" => {
                tcp = true;
                "-t"
            }
            "udp" => {
                udp = true;
                "-u"
            }
            other => {
                return Err(NetError::InvalidArgument(format!(
                    "pasta can't forward protocol: {other} (publish tcp or udp ports)"
                )))
            }
        };
        let n = p.range.max(1);
        let host = if p.host_port == 0 {
            p.container_port
        } else {
            p.host_port
        };
        let addr = if p.host_ip.is_empty() {
            String::new()
        } else {
            format!("{}/", p.host_ip)
        };
        let spec = if n == 1 {
            format!("{addr}{host}:{}", p.container_port)
        } else {
            format!(
                "{addr}{host}-{}:{}-{}",
                host + n - 1,
                p.container_port,
                p.container_port + n - 1
            )
        };
        args.push(flag.to_string());
        args.push(spec);
    }
    for (given, flag) in [(tcp, "-t"), (udp, "-u"), (tcp_ns, "-T"), (udp_ns, "-U")] {
        if !given {
            args.push(flag.to_string());
            args.push("none".to_string());
        }
    }
    if !map_gw {
        args.push("--no-map-gw".to_string());
    }
    if dns_fwd.is_empty() {
        args.push("--dns-forward".to_string());
        args.push(DNS_FORWARD_IP.to_string());
        dns_fwd.push(DNS_FORWARD_IP.to_string());
    }
    // This passt release, started by root without a user namespace, drops
    // to "nobody" and then cannot enter the netns: keep root, as the
    // netns is root's.
    if !runas && nix::unistd::geteuid().is_root() {
        args.push("--runas".to_string());
        args.push("0:0".to_string());
    }
    args.push("--quiet".to_string());
    args.push("--pid".to_string());
    args.push(pid_file.display().to_string());
    args.push("--netns".to_string());
    args.push(netns.display().to_string());
    Ok((args, dns_fwd, pid_file))
}

pub async fn setup(store: &UserNetStore, bin: &Path, req: &Request) -> Result<Outcome> {
    let id = &req.container_id;
    let (args, dns, pid_file) = arguments(
        &req.options,
        &req.ports,
        &req.netns_path,
        &store.pid_file(id),
    )?;
    crate::state_files::remove_file_if_exists(&pid_file)?;
    let out = tokio::process::Command::new(bin)
        .args(&args)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .map_err(|e| NetError::FailedPrecondition(format!("starting {}: {e}", bin.display())))?;
    // Without a syslog socket pasta complains on every line; those are noise.
    let stderr: Vec<String> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| !l.starts_with("Failed to send") && !l.trim().is_empty())
        // After a bad option pasta prints its whole usage: the option's
        // own line says it all.
        .take_while(|l| !l.starts_with("Usage:"))
        .map(String::from)
        .collect();
    if !out.status.success() {
        return Err(NetError::FailedPrecondition(format!(
            "pasta failed ({}): {}",
            out.status,
            stderr.join("; ")
        )));
    }
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| {
            NetError::FailedPrecondition(format!(
                "pasta started but wrote no pid to {}",
                pid_file.display()
            ))
        })?;
    crate::state_files::write_json(
        &store.record_path(id),
        &Record {
            tool: super::Tool::Pasta,
            pid,
            netns_path: req.netns_path.clone(),
        },
    )?;
    let (iface, addrs) = container_addresses(&req.netns_path).await?;
    let gateway = default_gateway().map(|g| g.to_string()).unwrap_or_default();
    let own: Vec<IpAddr> = addrs.iter().map(|a| a.addr()).collect();
    let host_ip = host_addresses()
        .await
        .ok()
        .and_then(|h| super::first_host_ip(&own, &h))
        .map(|a| a.to_string())
        .unwrap_or_default();
    Ok(Outcome {
        addresses: addrs
            .iter()
            .filter(
                |a| !matches!(a.addr(), IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80),
            )
            .map(|a| {
                let gw = if a.addr().is_ipv4() {
                    gateway.clone()
                } else {
                    String::new()
                };
                (a.to_string(), gw)
            })
            .collect(),
        dns_server_ips: dns,
        host_ip,
        pid: pid as u32,
        interface_name: iface,
        mac_address: String::new(),
    })
}

/// The interface pasta configured in the netns and its addresses.
async fn container_addresses(netns: &Path) -> Result<(String, Vec<IpNet>)> {
    let f = crate::netns::open(netns)?;
    let nl = Netlink::in_netns(&f)?;
    for l in nl.links().await? {
        if l.name == "lo" {
            continue;
        }
        let a = nl.addresses_of(l.index).await?;
        return Ok((l.name, a));
    }
    Ok((String::new(), Vec::new()))
}

async fn host_addresses() -> Result<Vec<IpAddr>> {
    let nl = Netlink::host()?;
    let mut out = Vec::new();
    for l in nl.links().await? {
        out.extend(nl.addresses_of(l.index).await?.iter().map(|a| a.addr()));
    }
    Ok(out)
}

/// The host's IPv4 default gateway (pasta gives the container the same).
fn default_gateway() -> Option<std::net::Ipv4Addr> {
    let t = std::fs::read_to_string("/proc/net/route").ok()?;
    t.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() > 2 && f[1] == "00000000" {
            u32::from_str_radix(f[2], 16)
                .ok()
                .map(|g| std::net::Ipv4Addr::from(u32::from_be(g)))
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn podman_defaults() {
        let ports = vec![crate::types::PortMapping {
            host_port: 8080,
            container_port: 80,
            protocol: "tcp".into(),
            ..Default::default()
        }];
        let (a, dns, _) = arguments(&[], &ports, Path::new("/n"), Path::new("/p")).unwrap();
        let s = a.join(" ");
        assert!(s.starts_with("--config-net -t 8080:80 -u none -T none -U none --no-map-gw --dns-forward 169.254.1.1"), "{s}");
        assert!(s.ends_with("--netns /n"));
        assert_eq!(dns, vec![DNS_FORWARD_IP]);
        let (a, _, _) = arguments(
            &["--map-gw".into(), "-T".into(), "5201".into()],
            &[],
            Path::new("/n"),
            Path::new("/p"),
        )
        .unwrap();
        let s = a.join(" ");
        assert!(
            !s.contains("map-gw") && s.contains("-T 5201") && !s.contains("-T none"),
            "{s}"
        );
        let (a, _, pid) = arguments(
            &["--pid".into(), "/mine".into()],
            &[],
            Path::new("/n"),
            Path::new("/p"),
        )
        .unwrap();
        assert_eq!(pid, Path::new("/mine"));
        assert_eq!(a.iter().filter(|x| *x == "--pid").count(), 1, "{a:?}");
        assert!(arguments(
            &["--netns".into(), "/x".into()],
            &[],
            Path::new("/n"),
            Path::new("/p")
        )
        .is_err());
    }
}
