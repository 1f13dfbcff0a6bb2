//! slirp4netns as Podman runs it (containers/common libnetwork/slirp4netns):
//! `-c` configures tap0 in the netns at the CIDR's .100, the gateway .2
//! reaches the host, .3 forwards DNS to the host's resolvers. Published
//! ports go through slirp4netns's API socket (`add_hostfwd`).

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use ipnet::Ipv4Net;

use super::{Outcome, Record, Request, UserNetStore};
use crate::error::{NetError, Result};

/// The options after `slirp4netns:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub allow_host_loopback: bool,
    pub cidr: Ipv4Net,
    pub enable_ipv6: bool,
    pub outbound_addr: Option<String>,
    pub outbound_addr6: Option<String>,
    pub mtu: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            allow_host_loopback: false,
            cidr: "10.0.2.0/24".parse().expect("a valid CIDR"),
            enable_ipv6: false,
            outbound_addr: None,
            outbound_addr6: None,
            mtu: 65520,
        }
    }
}

fn bad(m: String) -> NetError {
    NetError::InvalidArgument(m)
}

fn boolean(key: &str, v: &str) -> Result<bool> {
    match v {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(bad(format!(
            "slirp4netns option {key}={v:?}: use true or false"
        ))),
    }
}

/// An outbound address of the option's family, or an interface of this
/// host (checked here, as Podman does, since slirp4netns reports it only
/// in its log).
fn outbound(key: &str, v: &str, v6: bool) -> Result<String> {
    let family_ok = v.parse::<IpAddr>().is_ok_and(|a| a.is_ipv6() == v6);
    let interface =
        !v.is_empty() && !v.contains('/') && Path::new("/sys/class/net").join(v).exists();
    if family_ok || interface {
        return Ok(v.to_string());
    }
    Err(bad(format!(
        "slirp4netns option {key}={v:?}: not an IPv{} address or an interface of this host",
        if v6 { 6 } else { 4 }
    )))
}

pub fn parse_options(opts: &[String]) -> Result<Options> {
    let mut o = Options::default();
    for opt in opts {
        let (k, v) = opt.split_once('=').unwrap_or((opt.as_str(), ""));
        match k {
            "allow_host_loopback" => o.allow_host_loopback = boolean(k, v)?,
            "enable_ipv6" => o.enable_ipv6 = boolean(k, v)?,
            "cidr" => {
                let net: Ipv4Net = v.parse().map_err(|_| {
                    bad(format!("slirp4netns option cidr={v:?}: not an IPv4 CIDR such as 10.0.2.0/24"))
                })?;
                if net.prefix_len() > 25 {
                    return Err(bad(format!(
                        "slirp4netns option cidr={v}: the network must hold at least 128 addresses (prefix /25 or shorter)"
                    )));
                }
                o.cidr = net.trunc();
            }
            "outbound_addr" => o.outbound_addr = Some(outbound(k, v, false)?),
            "outbound_addr6" => o.outbound_addr6 = Some(outbound(k, v, true)?),
            "mtu" => {
                o.mtu = v
                    .parse()
                    .ok()
                    .filter(|m| (68..=65521).contains(m))
                    .ok_or_else(|| {
                        bad(format!(
                            "slirp4netns option mtu={v:?}: give a number from 68 to 65521"
                        ))
                    })?
            }
            "port_handler" => match v {
                "slirp4netns" => {}
                "rootlesskit" => {
                    return Err(bad(
                        "slirp4netns option port_handler=rootlesskit needs Podman's rootlessport, which podman-rs does not ship: use port_handler=slirp4netns"
                            .to_string(),
                    ))
                }
                _ => {
                    return Err(bad(format!(
                        "slirp4netns option port_handler={v:?}: use slirp4netns"
                    )))
                }
            },
            _ => {
                return Err(bad(format!(
                    "unknown option for slirp4netns: {opt:?} (known: allow_host_loopback, cidr, enable_ipv6, mtu, outbound_addr, outbound_addr6, port_handler)"
                )))
            }
        }
    }
    Ok(o)
}

fn nth(net: &Ipv4Net, n: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(net.network()) + n)
}

/// The container's address, the gateway (the host) and the DNS forwarder.
pub fn addresses(o: &Options) -> (Ipv4Addr, Ipv4Addr, Ipv4Addr) {
    (nth(&o.cidr, 100), nth(&o.cidr, 2), nth(&o.cidr, 3))
}

pub fn arguments(o: &Options, ready_fd: i32, api: Option<&Path>, netns: &Path) -> Vec<String> {
    let mut a = Vec::new();
    if !o.allow_host_loopback {
        a.push("--disable-host-loopback".to_string());
    }
    a.push(format!("--mtu={}", o.mtu));
    a.push("--enable-sandbox".to_string());
    a.push("--enable-seccomp".to_string());
    if o.enable_ipv6 {
        a.push("--enable-ipv6".to_string());
    }
    if o.cidr != Options::default().cidr {
        a.push(format!("--cidr={}", o.cidr));
    }
    if let Some(x) = &o.outbound_addr {
        a.push(format!("--outbound-addr={x}"));
    }
    if let Some(x) = &o.outbound_addr6 {
        a.push(format!("--outbound-addr6={x}"));
    }
    if let Some(p) = api {
        a.push(format!("--api-socket={}", p.display()));
    }
    a.extend([
        "-c".to_string(),
        "-r".to_string(),
        ready_fd.to_string(),
        "--netns-type=path".to_string(),
        netns.display().to_string(),
        "tap0".to_string(),
    ]);
    a
}

pub async fn setup(store: &UserNetStore, bin: &Path, req: &Request) -> Result<Outcome> {
    let o = parse_options(&req.options)?;
    for p in &req.ports {
        if !matches!(p.protocol.as_str(), "" | "tcp" | "udp") {
            return Err(bad(format!(
                "slirp4netns cannot forward {} ports: publish tcp or udp ports",
                p.protocol
            )));
        }
    }
    let id = &req.container_id;
    let api = store.api_socket(id);
    crate::state_files::remove_file_if_exists(&api)?;
    let netns = req.netns_path.clone();
    let with_api = !req.ports.is_empty();
    let log = store.log_path(id);
    let pid = super::process::spawn_with_ready_fd(
        bin,
        |fd| arguments(&o, fd, with_api.then_some(api.as_path()), &netns),
        &log,
    )
    .await?;
    crate::state_files::write_json(
        &store.record_path(id),
        &Record {
            tool: super::Tool::Slirp4netns,
            pid,
            netns_path: req.netns_path.clone(),
        },
    )?;
    for p in &req.ports {
        forward(&api, p)?;
    }
    let (ip, gw, dns) = addresses(&o);
    let host_ip = if o.allow_host_loopback {
        gw.to_string()
    } else {
        String::new()
    };
    Ok(Outcome {
        addresses: vec![(format!("{ip}/{}", o.cidr.prefix_len()), gw.to_string())],
        dns_server_ips: vec![dns.to_string()],
        host_ip,
        pid: pid as u32,
        interface_name: "tap0".to_string(),
        mac_address: String::new(),
    })
}

/// One `add_hostfwd` per port of the mapping.
fn forward(api: &Path, p: &crate::types::PortMapping) -> Result<()> {
    let proto = if p.protocol.is_empty() {
        "tcp"
    } else {
        p.protocol.as_str()
    };
    let host_addr = if p.host_ip.is_empty() {
        "0.0.0.0"
    } else {
        p.host_ip.as_str()
    };
    if host_addr
        .parse::<IpAddr>()
        .map(|a| a.is_ipv6())
        .unwrap_or(false)
    {
        return Err(bad(format!(
            "slirp4netns forwards IPv4 host addresses only: publish {host_addr} another way"
        )));
    }
    let host_port = if p.host_port == 0 {
        p.container_port
    } else {
        p.host_port
    };
    for i in 0..p.range.max(1) {
        let req = serde_json::json!({
            "execute": "add_hostfwd",
            "arguments": {
                "proto": proto, "host_addr": host_addr,
                "host_port": host_port + i, "guest_port": p.container_port + i,
            }
        });
        let mut s = std::os::unix::net::UnixStream::connect(api)
            .map_err(|e| NetError::io("connecting to slirp4netns's API socket", api, e))?;
        s.write_all(req.to_string().as_bytes())
            .and_then(|_| s.shutdown(std::net::Shutdown::Write))
            .map_err(|e| NetError::io("writing to slirp4netns's API socket", api, e))?;
        let mut out = String::new();
        s.read_to_string(&mut out)
            .map_err(|e| NetError::io("reading slirp4netns's API socket", api, e))?;
        let v: serde_json::Value = serde_json::from_str(&out)
            .map_err(|e| NetError::json("slirp4netns's API answer".to_string(), e))?;
        if let Some(err) = v.get("error") {
            let desc = err["desc"].as_str().unwrap_or("refused");
            return Err(NetError::AlreadyExists(format!(
                "slirp4netns could not publish {host_addr}:{}/{proto}: {desc}",
                host_port + i
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        let o = parse_options(&["cidr=10.5.0.0/16".into(), "mtu=1500".into()]).unwrap();
        assert_eq!(addresses(&o).0, "10.5.0.100".parse::<Ipv4Addr>().unwrap());
        assert_eq!(o.mtu, 1500);
        assert!(parse_options(&["bogus=1".into()]).is_err());
        assert!(parse_options(&["allow_host_loopback=maybe".into()]).is_err());
        assert!(parse_options(&["port_handler=rootlesskit".into()]).is_err());
        let a = arguments(&Options::default(), 5, None, Path::new("/n"));
        assert!(a.contains(&"--disable-host-loopback".to_string()));
        assert_eq!(&a[a.len() - 2..], ["/n", "tap0"]);
    }
}
