//! Host ports held while a bridged container runs, as libpod's bindPorts
//! holds them: one socket bound (not listening) per host port, made before
//! the network is set up and kept by the container's monitor, so no other
//! process takes a published port and one already taken fails the start
//! with the kernel's "address already in use". A mapping without a host IP
//! holds the port on both stacks (`[::]` without IPV6_V6ONLY).

use std::net::IpAddr;
use std::os::fd::OwnedFd;

use nix::sys::socket::{
    bind, setsockopt, socket, sockopt, AddressFamily, SockFlag, SockType, SockaddrIn, SockaddrIn6,
};

use crate::container::model::{ContainerConfig, NetworkMode};
use crate::engine_config::EngineConfig;

/// The bound sockets, in mapping order.
#[derive(Default)]
pub struct Reserved(pub Vec<OwnedFd>);

/// Bind every host port `cfg` publishes, or none: the first that cannot be
/// bound is the error. Only bridged containers of root hold ports, and not
/// when containers.conf sets `enable_port_reservation = false`.
pub fn reserve(engine: &EngineConfig, cfg: &ContainerConfig) -> anyhow::Result<Reserved> {
    if !holds_ports(engine, cfg) {
        return Ok(Reserved::default());
    }
    let mut held = Vec::new();
    for p in &cfg.ports {
        let host_ip = match p.host_ip.trim_matches(['[', ']']) {
            "" => None,
            s => Some(s.parse::<IpAddr>().map_err(|_| {
                anyhow::anyhow!("port mapping host IP {:?} is not an IP address", p.host_ip)
            })?),
        };
        for proto in p.protocol.split(',') {
            let ty = match proto {
                "tcp" | "" => SockType::Stream,
                "udp" => SockType::Datagram,
                // libpod does not reserve SCTP ports either.
                _ => continue,
            };
            for i in 0..p.range.max(1) {
                let port = p.host_port.wrapping_add(i);
                held.push(bind_one(ty, host_ip, port).map_err(|e| {
                    let host = match host_ip {
                        Some(IpAddr::V6(a)) => format!("[{a}]"),
                        Some(a) => a.to_string(),
                        None => String::new(),
                    };
                    anyhow::anyhow!(
                        "cannot bind {} port {host}:{port}: {}: choose another host port",
                        if ty == SockType::Stream { "tcp" } else { "udp" },
                        e.desc().to_lowercase()
                    )
                })?);
            }
        }
    }
    Ok(Reserved(held))
}

/// Whether [`reserve`] holds `cfg`'s ports.
pub fn holds_ports(engine: &EngineConfig, cfg: &ContainerConfig) -> bool {
    engine
        .containers
        .engine
        .enable_port_reservation
        .unwrap_or(true)
        && cfg.network_mode == NetworkMode::Bridge
        && !cfg.ports.is_empty()
        && nix::unistd::geteuid().is_root()
}

fn bind_one(ty: SockType, ip: Option<IpAddr>, port: u16) -> nix::Result<OwnedFd> {
    match ip {
        Some(IpAddr::V4(a)) => {
            let fd = socket(AddressFamily::Inet, ty, SockFlag::SOCK_CLOEXEC, None)?;
            bind(
                std::os::fd::AsRawFd::as_raw_fd(&fd),
                &SockaddrIn::from(std::net::SocketAddrV4::new(a, port)),
            )?;
            Ok(fd)
        }
        Some(IpAddr::V6(a)) => {
            let fd = socket(AddressFamily::Inet6, ty, SockFlag::SOCK_CLOEXEC, None)?;
            setsockopt(&fd, sockopt::Ipv6V6Only, &true)?;
            bind(
                std::os::fd::AsRawFd::as_raw_fd(&fd),
                &SockaddrIn6::from(std::net::SocketAddrV6::new(a, port, 0, 0)),
            )?;
            Ok(fd)
        }
        None => {
            let fd = match socket(AddressFamily::Inet6, ty, SockFlag::SOCK_CLOEXEC, None) {
                Ok(fd) => fd,
                // No IPv6 on this host: the IPv4 wildcard alone.
                Err(nix::errno::Errno::EAFNOSUPPORT) => {
                    return bind_one(ty, Some(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)), port)
                }
                Err(e) => return Err(e),
            };
            setsockopt(&fd, sockopt::Ipv6V6Only, &false)?;
            bind(
                std::os::fd::AsRawFd::as_raw_fd(&fd),
                &SockaddrIn6::from(std::net::SocketAddrV6::new(
                    std::net::Ipv6Addr::UNSPECIFIED,
                    port,
                    0,
                    0,
                )),
            )?;
            Ok(fd)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_port_cannot_be_bound_again_on_either_stack() {
        let fd = bind_one(SockType::Stream, None, 0).unwrap();
        let addr: SockaddrIn6 =
            nix::sys::socket::getsockname(std::os::fd::AsRawFd::as_raw_fd(&fd)).unwrap();
        let port = addr.port();
        let again = std::net::TcpListener::bind(("127.0.0.1", port));
        assert!(again.is_err(), "the IPv4 side is held too");
        drop(fd);
        std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    }
}
