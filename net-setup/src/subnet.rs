//! Subnet arithmetic: network-address checks, overlap, usable host ranges,
//! and picking a free subnet as Podman does.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::error::{NetError, Result};

/// Parse "10.89.0.0/24"; a host address with a prefix is refused with the
/// network address to use instead.
pub fn parse_subnet(s: &str) -> Result<IpNet> {
    let net: IpNet = s.trim().parse().map_err(|_| {
        NetError::InvalidArgument(format!(
            "subnet {s:?} is not a CIDR subnet: use e.g. 10.89.0.0/24"
        ))
    })?;
    if net.addr() != net.network() {
        return Err(NetError::InvalidArgument(format!(
            "subnet {s} is not a network address: use {}/{}",
            net.network(),
            net.prefix_len()
        )));
    }
    Ok(net)
}

pub fn parse_ip(what: &str, s: &str) -> Result<IpAddr> {
    s.trim()
        .parse()
        .map_err(|_| NetError::InvalidArgument(format!("{what} {s:?} is not an IP address")))
}

pub fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

pub fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u32::from(v4) as u128,
        IpAddr::V6(v6) => u128::from(v6),
    }
}

pub fn from_u128(v4: bool, n: u128) -> IpAddr {
    if v4 {
        IpAddr::V4(Ipv4Addr::from(n as u32))
    } else {
        IpAddr::V6(Ipv6Addr::from(n))
    }
}

/// First and last address a container or gateway may use: IPv4 skips the
/// network and broadcast addresses, IPv6 the subnet-router anycast address.
pub fn host_bounds(net: &IpNet) -> (u128, u128) {
    let first = to_u128(net.network());
    let last = to_u128(net.broadcast());
    match net {
        IpNet::V4(n) if n.prefix_len() >= 31 => (first, last),
        IpNet::V4(_) => (first + 1, last - 1),
        IpNet::V6(n) if n.prefix_len() == 128 => (first, last),
        IpNet::V6(_) => (first + 1, last),
    }
}

/// Whether `ip` is an address a host in `net` may have.
pub fn is_usable_host(net: &IpNet, ip: IpAddr) -> bool {
    if !net.contains(&ip) {
        return false;
    }
    let (lo, hi) = host_bounds(net);
    (lo..=hi).contains(&to_u128(ip))
}

/// The first usable host: the default gateway.
pub fn first_host(net: &IpNet) -> IpAddr {
    from_u128(net.addr().is_ipv4(), host_bounds(net).0)
}

/// The next free 10.89.N.0/24 ... 10.255.255.0/24 that overlaps none of
/// `taken` (other networks' subnets, host routes and addresses).
pub fn pick_free_v4(taken: &[IpNet]) -> Result<IpNet> {
    for second in 89u8..=255 {
        for third in 0u8..=255 {
            let Ok(n) = Ipv4Net::new(Ipv4Addr::new(10, second, third, 0), 24) else {
                continue;
            };
            let n = IpNet::V4(n);
            if !taken.iter().any(|t| overlaps(t, &n)) {
                return Ok(n);
            }
        }
    }
    Err(NetError::AlreadyExists(
        "no free subnet left in 10.89.0.0/16-10.255.0.0/16: pass --subnet".to_string(),
    ))
}

/// A random unique-local /64 (fdXX:XXXX:XXXX:XXXX::/64) overlapping none of `taken`.
pub fn pick_free_v6(taken: &[IpNet]) -> Result<IpNet> {
    for _ in 0..64 {
        let r = crate::ids::random_bytes::<7>()?;
        let segs = [
            0xfd00 | r[0] as u16,
            u16::from_be_bytes([r[1], r[2]]),
            u16::from_be_bytes([r[3], r[4]]),
            u16::from_be_bytes([r[5], r[6]]),
            0,
            0,
            0,
            0,
        ];
        let Ok(n) = Ipv6Net::new(Ipv6Addr::from(segs), 64) else {
            continue;
        };
        let n = IpNet::V6(n);
        if !taken.iter().any(|t| overlaps(t, &n)) {
            return Ok(n);
        }
    }
    Err(NetError::AlreadyExists(
        "no free IPv6 subnet found: pass --subnet".to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_address_check_names_the_fix() {
        let e = parse_subnet("10.89.0.5/24").unwrap_err().to_string();
        assert_eq!(
            e,
            "subnet 10.89.0.5/24 is not a network address: use 10.89.0.0/24"
        );
        assert!(parse_subnet("10.89.0.0/24").is_ok());
        assert!(parse_subnet("fd00:1::/64").is_ok());
        assert!(parse_subnet("nonsense")
            .unwrap_err()
            .to_string()
            .contains("not a CIDR"));
    }

    #[test]
    fn overlap_and_bounds() {
        let a = parse_subnet("10.89.0.0/16").unwrap();
        let b = parse_subnet("10.89.3.0/24").unwrap();
        let c = parse_subnet("10.90.0.0/24").unwrap();
        assert!(overlaps(&a, &b) && overlaps(&b, &a) && !overlaps(&a, &c));
        assert_eq!(first_host(&b).to_string(), "10.89.3.1");
        assert!(!is_usable_host(&b, "10.89.3.255".parse().unwrap()));
        assert!(!is_usable_host(&b, "10.89.3.0".parse().unwrap()));
        assert!(is_usable_host(&b, "10.89.3.254".parse().unwrap()));
        let v6 = parse_subnet("fd00::/64").unwrap();
        assert_eq!(first_host(&v6).to_string(), "fd00::1");
    }

    #[test]
    fn picks_the_next_free_24() {
        let taken = vec![
            parse_subnet("10.89.0.0/24").unwrap(),
            parse_subnet("10.89.1.0/24").unwrap(),
        ];
        assert_eq!(pick_free_v4(&taken).unwrap().to_string(), "10.89.2.0/24");
        let v6 = pick_free_v6(&[]).unwrap();
        assert_eq!(v6.prefix_len(), 64);
        assert!(v6.to_string().starts_with("fd"));
    }
}
