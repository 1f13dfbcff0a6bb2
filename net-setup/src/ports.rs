//! Port mappings: validation, conflicts with other containers' mappings, and
//! whether another process on the host already listens on the port. Nothing
//! is held after the check (the kernel's DNAT does the forwarding).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, UdpSocket};

use serde::{Deserialize, Serialize};

use crate::error::{NetError, Result};
use crate::types::PortMapping;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
    Sctp,
}

impl Proto {
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Sctp => "sctp",
        }
    }
}

/// A validated mapping: host [host_ip]:host_port..+range -> container_port..+range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortForward {
    /// None: every host address.
    pub host_ip: Option<IpAddr>,
    pub host_port: u16,
    pub container_port: u16,
    pub protocol: Proto,
    pub range: u16,
}

impl PortForward {
    fn host_ports(&self) -> std::ops::RangeInclusive<u32> {
        self.host_port as u32..=self.host_port as u32 + self.range as u32 - 1
    }

    pub fn describe(&self) -> String {
        let ip = self
            .host_ip
            .map_or("0.0.0.0".to_string(), |i| i.to_string());
        if self.range > 1 {
            format!(
                "{ip}:{}-{}/{}",
                self.host_port,
                self.host_port as u32 + self.range as u32 - 1,
                self.protocol.as_str()
            )
        } else {
            format!("{ip}:{}/{}", self.host_port, self.protocol.as_str())
        }
    }
}

/// Whether two mappings would claim the same host port.
pub fn overlaps(a: &PortForward, b: &PortForward) -> bool {
    let ips = match (a.host_ip, b.host_ip) {
        (None, _) | (_, None) => true,
        (Some(x), Some(y)) => x == y,
    };
    let (ra, rb) = (a.host_ports(), b.host_ports());
    a.protocol == b.protocol && ips && ra.start() <= rb.end() && rb.start() <= ra.end()
}

pub fn validate(mappings: &[PortMapping]) -> Result<Vec<PortForward>> {
    let mut out: Vec<PortForward> = Vec::new();
    for m in mappings {
        let protos: Vec<&str> = if m.protocol.trim().is_empty() {
            vec!["tcp"]
        } else {
            m.protocol.split(',').collect()
        };
        let range = if m.range == 0 { 1 } else { m.range };
        let bad = |why: &str| {
            NetError::InvalidArgument(format!(
                "port mapping {}:{}: {why}",
                m.host_port, m.container_port
            ))
        };
        if m.container_port == 0 || m.container_port > 65535 {
            return Err(bad("container port must be 1-65535"));
        }
        let host_port = if m.host_port == 0 {
            m.container_port
        } else {
            m.host_port
        };
        if host_port > 65535
            || host_port + range - 1 > 65535
            || m.container_port + range - 1 > 65535
        {
            return Err(bad("ports must be 1-65535 (with the range)"));
        }
        let host_ip = match m.host_ip.trim() {
            "" => None,
            s => match s.trim_matches(['[', ']']).parse::<IpAddr>() {
                Ok(ip) if ip.is_unspecified() => None,
                Ok(ip) => Some(ip),
                Err(_) => return Err(bad(&format!("host IP {s:?} is not an IP address"))),
            },
        };
        for p in protos {
            let protocol = match p.trim().to_ascii_lowercase().as_str() {
                "tcp" => Proto::Tcp,
                "udp" => Proto::Udp,
                "sctp" => Proto::Sctp,
                other => return Err(bad(&format!("protocol {other:?} is not tcp, udp or sctp"))),
            };
            let f = PortForward {
                host_ip,
                host_port: host_port as u16,
                container_port: m.container_port as u16,
                protocol,
                range: range as u16,
            };
            if let Some(o) = out.iter().find(|o| overlaps(o, &f)) {
                return Err(NetError::InvalidArgument(format!(
                    "port mappings {} and {} claim the same host port: remove one",
                    o.describe(),
                    f.describe()
                )));
            }
            out.push(f);
        }
    }
    Ok(out)
}

/// Refuse a mapping whose host port another container already publishes.
pub fn check_against(
    forwards: &[PortForward],
    others: &[(String, Vec<PortForward>)],
) -> Result<()> {
    for f in forwards {
        for (ctr, theirs) in others {
            if let Some(t) = theirs.iter().find(|t| overlaps(t, f)) {
                return Err(NetError::AlreadyExists(format!(
                    "host port {}: address already in use: it is already published by container {} ({}): choose another host port",
                    f.describe(),
                    crate::ipam::short(ctr),
                    t.describe()
                )));
            }
        }
    }
    Ok(())
}

/// Refuse a mapping whose host port a process on the host already holds:
/// try to bind it (and let go at once).
pub fn check_host_free(forwards: &[PortForward]) -> Result<()> {
    for f in forwards {
        if f.protocol == Proto::Sctp {
            continue;
        }
        let ips: Vec<IpAddr> = match f.host_ip {
            Some(ip) => vec![ip],
            None => vec![
                IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            ],
        };
        for port in f.host_ports() {
            for ip in &ips {
                let addr = SocketAddr::new(*ip, port as u16);
                let res = match f.protocol {
                    Proto::Tcp => TcpListener::bind(addr).map(drop),
                    _ => UdpSocket::bind(addr).map(drop),
                };
                match res {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                        return Err(NetError::AlreadyExists(format!(
                            "host port {port}/{} on {ip}: bind: address already in use (another process holds it): choose another host port",
                            f.protocol.as_str()
                        )))
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::AddrNotAvailable && f.host_ip.is_some() => {
                        return Err(NetError::InvalidArgument(format!(
                            "host IP {ip} of port mapping {} is not an address of this host",
                            f.describe()
                        )))
                    }
                    // No IPv6 on this host and the like: nothing to conflict with.
                    Err(e) => tracing::debug!(%addr, error = %e, "port probe skipped"),
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pm(host: u32, ctr: u32, proto: &str) -> PortMapping {
        PortMapping {
            host_port: host,
            container_port: ctr,
            protocol: proto.into(),
            ..Default::default()
        }
    }

    #[test]
    fn validation() {
        let v = validate(&[pm(0, 80, ""), pm(8443, 443, "tcp,udp")]).unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!((v[0].host_port, v[0].protocol), (80, Proto::Tcp));
        assert!(validate(&[pm(8080, 0, "")]).is_err());
        assert!(validate(&[pm(8080, 80, "icmp")])
            .unwrap_err()
            .to_string()
            .contains("icmp"));
        assert!(validate(&[pm(8080, 80, ""), pm(8080, 81, "")])
            .unwrap_err()
            .to_string()
            .contains("same host port"));
        assert!(validate(&[pm(8080, 80, "tcp"), pm(8080, 80, "udp")]).is_ok());
        let mut r = pm(65535, 80, "");
        r.range = 2;
        assert!(validate(&[r]).is_err());
    }

    #[test]
    fn held_port_is_refused() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port() as u32;
        let f = validate(&[pm(port, 80, "")]).unwrap();
        let e = check_host_free(&f).unwrap_err().to_string();
        assert!(
            e.contains(&format!("host port {port}/tcp")) && e.contains("in use"),
            "{e}"
        );
        drop(l);
        check_host_free(&f).unwrap();
        let others = vec![("abcdef0123456789".to_string(), f.clone())];
        let e = check_against(&f, &others).unwrap_err().to_string();
        assert!(
            e.contains("already published by container abcdef012345"),
            "{e}"
        );
    }
}
