//! `-p`/`--publish`.

use super::bad;
use super::FlagError;
use crate::container::model::PortMapping;

fn port_range(flag: &'static str, spec: &str, s: &str) -> Result<(u16, u16), FlagError> {
    let num = |x: &str| {
        x.parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| bad(flag, spec, "ports are numbers from 1 to 65535"))
    };
    match s.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (num(a)?, num(b)?);
            if b < a {
                return Err(bad(
                    flag,
                    spec,
                    "a port range must go upwards, e.g. 8000-8010",
                ));
            }
            Ok((a, b - a + 1))
        }
        None => Ok((num(s)?, 1)),
    }
}

/// `-p [[HOSTIP:]HOSTPORT:]CTRPORT[/tcp|udp|sctp]`, ranges allowed
/// (whether the network mode can forward sctp is its setup's to say).
pub fn publish(spec: &str) -> Result<PortMapping, FlagError> {
    let (addr, proto) = match spec.rsplit_once('/') {
        Some((a, p)) => (a, p),
        None => (spec, "tcp"),
    };
    if !["tcp", "udp", "sctp"].contains(&proto) {
        return Err(bad("-p", spec, "the protocol must be tcp, udp or sctp"));
    }
    // An IPv6 host address is written in brackets: [::1]:8080:80.
    let (host_ip, rest) = if let Some(r) = addr.strip_prefix('[') {
        let (ip, rest) = r
            .split_once("]:")
            .ok_or_else(|| bad("-p", spec, "expected [IPv6]:HOSTPORT:CTRPORT"))?;
        (ip.to_string(), rest.to_string())
    } else {
        let parts: Vec<&str> = addr.split(':').collect();
        match parts.len() {
            1 | 2 => (String::new(), addr.to_string()),
            3 => (parts[0].to_string(), format!("{}:{}", parts[1], parts[2])),
            _ => {
                return Err(bad(
                    "-p",
                    spec,
                    "expected [[HOSTIP:]HOSTPORT:]CONTAINERPORT[/PROTOCOL]",
                ))
            }
        }
    };
    if !host_ip.is_empty() && host_ip.parse::<std::net::IpAddr>().is_err() {
        return Err(bad("-p", spec, format!("{host_ip} is not an IP address")));
    }
    let (host, ctr) = match rest.split_once(':') {
        Some((h, c)) => (h.to_string(), c.to_string()),
        None => (String::new(), rest.clone()),
    };
    let (ctr_port, ctr_range) = port_range("-p", spec, &ctr)?;
    let (host_port, host_range) = if host.is_empty() {
        (0, ctr_range)
    } else {
        port_range("-p", spec, &host)?
    };
    if host_range != ctr_range {
        return Err(bad(
            "-p",
            spec,
            "host and container port ranges must have the same length",
        ));
    }
    Ok(PortMapping {
        host_ip,
        host_port,
        container_port: ctr_port,
        protocol: proto.into(),
        range: ctr_range,
    })
}

/// containers.conf `default_host_ips`: a mapping that names no host IP is
/// published on each of them instead of on every address.
pub fn with_default_host_ips(
    ports: Vec<PortMapping>,
    ips: &[String],
) -> anyhow::Result<Vec<PortMapping>> {
    for ip in ips {
        if ip.parse::<std::net::IpAddr>().is_err() {
            anyhow::bail!("default_host_ips {ip:?} (containers.conf [network]) is not an IP address: fix or remove it");
        }
    }
    if ips.is_empty() {
        return Ok(ports);
    }
    let mut out = Vec::new();
    for p in ports {
        if p.host_ip.is_empty() {
            out.extend(ips.iter().map(|ip| PortMapping {
                host_ip: ip.clone(),
                ..p.clone()
            }));
        } else {
            out.push(p);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports() {
        let p = publish("127.0.0.1:8080:80/udp").unwrap();
        assert_eq!(
            (
                p.host_ip.as_str(),
                p.host_port,
                p.container_port,
                p.protocol.as_str(),
                p.range
            ),
            ("127.0.0.1", 8080, 80, "udp", 1)
        );
        let p = publish("8000-8002:9000-9002").unwrap();
        assert_eq!((p.host_port, p.container_port, p.range), (8000, 9000, 3));
        assert_eq!(publish("80").unwrap().host_port, 0);
        assert_eq!(publish("[::1]:8080:80").unwrap().host_ip, "::1");
        for bad in [
            "0:80",
            "x:80",
            "8000-8001:80",
            "1.2.3:80:80",
            "80/icmp",
            "99999:80",
        ] {
            assert!(publish(bad).is_err(), "{bad}");
        }
    }
}
