//! The `net-setup dns-serve` process: UDP on the network's gateway
//! address(es), port 53; re-reads the records file when it changes and
//! exits by itself once the file is gone (its network was torn down, or
//! the state dir was removed).
//!
//! It answers only queries whose source address is inside one of the
//! network's subnets and drops the rest without a word: the gateway
//! address is reachable from the host and, through forwarding, from other
//! networks, and aardvark-dns likewise serves container names only to
//! requesters it knows as containers of the network.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ipnet::IpNet;
use nix::sys::socket::{self, sockopt, AddressFamily, SockFlag, SockType, SockaddrStorage};

use super::wire::{self, Answer};
use super::Records;
use crate::error::{NetError, Result};

pub struct ServeOptions {
    pub network: String,
    pub records: PathBuf,
    pub pid_file: PathBuf,
    pub listen: Vec<IpAddr>,
    /// Only sources inside these subnets get an answer.
    pub allow: Vec<IpNet>,
    pub port: u16,
    /// Write "ok" or "error: ..." here once listening (then close it).
    pub ready_fd: Option<RawFd>,
    /// A descriptor of the starter's lock, closed once ready: the lock
    /// stays held until this server has written its pid file, even if the
    /// starter is killed meanwhile.
    pub hold_fd: Option<RawFd>,
}

type Stamp = (u64, i64, i64, u64);

struct Cache {
    stamp: Option<Stamp>,
    records: Records,
}

pub fn run(opts: ServeOptions) -> Result<()> {
    // SAFETY: descriptors handed to us at exec, owned from here on.
    let ready = opts.ready_fd.map(|fd| unsafe { OwnedFd::from_raw_fd(fd) });
    // SAFETY: as above.
    let hold = opts.hold_fd.map(|fd| unsafe { OwnedFd::from_raw_fd(fd) });
    let report = |ready: Option<OwnedFd>, msg: &str| {
        if let Some(fd) = ready {
            let mut f = std::fs::File::from(fd);
            let _ = std::io::Write::write_all(&mut f, msg.as_bytes());
        }
    };
    let sockets = match bind_all(&opts.listen, opts.port) {
        Ok(s) => s,
        Err(e) => {
            report(ready, &format!("error: {e}\n"));
            return Err(e);
        }
    };
    if let Err(e) = crate::state_files::write(
        &opts.pid_file,
        format!("{}\n", std::process::id()).as_bytes(),
    ) {
        report(ready, &format!("error: {e}\n"));
        return Err(e);
    }
    report(ready, "ok\n");
    drop(hold);
    tracing::info!(network = %opts.network, listen = ?opts.listen, "dns server ready");
    let cache = Arc::new(Mutex::new(Cache {
        stamp: None,
        records: Records::default(),
    }));
    let handles: Vec<_> = sockets
        .into_iter()
        .map(|sock| {
            let (cache, path, allow) = (cache.clone(), opts.records.clone(), opts.allow.clone());
            std::thread::spawn(move || serve_socket(&sock, &cache, &path, &allow))
        })
        .collect();
    for h in handles {
        let _ = h.join();
    }
    tracing::info!("records file gone; exiting");
    Ok(())
}

fn bind_all(listen: &[IpAddr], port: u16) -> Result<Vec<UdpSocket>> {
    listen
        .iter()
        .map(|ip| bind(SocketAddr::new(*ip, port)))
        .collect()
}

/// Bind with IP_FREEBIND so a just-added bridge address never races us.
fn bind(addr: SocketAddr) -> Result<UdpSocket> {
    let family = if addr.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    let what = || format!("binding {addr}");
    let fd = socket::socket(family, SockType::Datagram, SockFlag::SOCK_CLOEXEC, None)
        .map_err(|e| NetError::sys(what(), e))?;
    if addr.is_ipv4() {
        socket::setsockopt(&fd, sockopt::IpFreebind, &true)
            .map_err(|e| NetError::sys(what(), e))?;
    } else {
        socket::setsockopt(&fd, sockopt::Ipv6V6Only, &true)
            .map_err(|e| NetError::sys(what(), e))?;
    }
    socket::bind(
        std::os::fd::AsRawFd::as_raw_fd(&fd),
        &SockaddrStorage::from(addr),
    )
    .map_err(|e| NetError::sys(what(), e))?;
    let sock = UdpSocket::from(fd);
    sock.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| NetError::io("configuring dns socket", "", e))?;
    Ok(sock)
}

fn stamp(path: &Path) -> Option<Stamp> {
    std::fs::metadata(path)
        .ok()
        .map(|m| (m.ino(), m.mtime(), m.mtime_nsec(), m.len()))
}

/// Current records, re-read when the file changed; None once it is gone.
fn current(cache: &Mutex<Cache>, path: &Path) -> Option<Records> {
    let st = stamp(path)?;
    let mut c = cache.lock().unwrap_or_else(|p| p.into_inner());
    if c.stamp != Some(st) {
        match crate::state_files::read_json::<Records>(path) {
            Ok(Some(r)) => {
                c.records = r;
                c.stamp = Some(st);
            }
            Ok(None) => return None,
            Err(e) => {
                tracing::warn!(error = %e, "dns records unreadable; keeping the previous ones")
            }
        }
    }
    Some(c.records.clone())
}

/// Whether `peer` may ask: inside one of `allow`. An IPv4 peer seen as an
/// IPv4-mapped IPv6 address counts as its IPv4 self.
pub fn allowed(allow: &[IpNet], peer: IpAddr) -> bool {
    let peer = match peer {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(peer, IpAddr::V4),
        v4 => v4,
    };
    allow.iter().any(|n| n.contains(&peer))
}

/// Answer datagrams on `sock` until the records file is gone.
fn serve_socket(sock: &UdpSocket, cache: &Mutex<Cache>, path: &Path, allow: &[IpNet]) {
    let mut buf = [0u8; 1500];
    loop {
        let (n, peer) = match sock.recv_from(&mut buf) {
            Ok(x) => x,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                if stamp(path).is_none() {
                    return;
                }
                continue;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                tracing::warn!(error = %e, "dns receive failed");
                continue;
            }
        };
        if !allowed(allow, peer.ip()) {
            tracing::debug!(%peer, "dns query from outside the network's subnets; dropped");
            continue;
        }
        let Some(records) = current(cache, path) else {
            return;
        };
        match answer(&buf[..n], &records) {
            Some(Reply::Send(resp)) => {
                let _ = sock.send_to(&resp, peer);
            }
            Some(Reply::Forward) => forward_in_background(sock, &buf[..n], peer, &records),
            None => {}
        }
    }
}

/// What to do with one datagram.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    Send(Vec<u8>),
    /// Not a container's name: ask the upstream resolvers.
    Forward,
}

/// The response to one datagram (None: not a query, stay silent).
pub fn answer(req: &[u8], records: &Records) -> Option<Reply> {
    let Some(q) = wire::parse_query(req) else {
        return wire::format_error(req).map(Reply::Send);
    };
    if q.name.ends_with(".in-addr.arpa") || q.name.ends_with(".ip6.arpa") {
        return Some(
            match wire::reverse_name_to_ip(&q.name).and_then(|ip| records.reverse(ip)) {
                Some(name) => Reply::Send(wire::respond(
                    req,
                    &q,
                    wire::RCODE_NOERROR,
                    Answer::Ptr(&name),
                )),
                None => Reply::Forward,
            },
        );
    }
    let resp = match records.lookup(&q.name) {
        Some(ips) => wire::respond(req, &q, wire::RCODE_NOERROR, Answer::Addrs(&ips)),
        None if q.name.ends_with(crate::network_config::DNS_DOMAIN) => {
            wire::respond(req, &q, wire::RCODE_NXDOMAIN, Answer::Addrs(&[]))
        }
        None => {
            tracing::debug!(name = %q.name, qtype = q.qtype, "dns query forwarded");
            return Some(Reply::Forward);
        }
    };
    tracing::debug!(name = %q.name, qtype = q.qtype, rcode = resp[3] & 0x0f, "dns query");
    Some(Reply::Send(resp))
}

/// Forward on a thread of its own, so a slow upstream never holds up the
/// container names; the asking container's own servers first.
fn forward_in_background(sock: &UdpSocket, req: &[u8], peer: SocketAddr, records: &Records) {
    let Ok(reply_sock) = sock.try_clone() else {
        return;
    };
    let upstreams: Vec<SocketAddr> = match records.upstreams_of(peer.ip()) {
        Some(ips) if !ips.is_empty() => ips.iter().map(|ip| SocketAddr::new(*ip, 53)).collect(),
        _ => super::forward::host_resolvers(),
    };
    let req = req.to_vec();
    std::thread::spawn(move || {
        let resp =
            super::forward::forward(&req, &upstreams).or_else(|| super::forward::servfail(&req));
        if let Some(r) = resp {
            let _ = reply_sock.send_to(&r, peer);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn query(id: u16, name: &str) -> Vec<u8> {
        let mut q = id.to_be_bytes().to_vec();
        q.extend_from_slice(&[1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
        for label in name.split('.') {
            q.push(label.len() as u8);
            q.extend_from_slice(label.as_bytes());
        }
        q.extend_from_slice(&[0, 0, 1, 0, 1]);
        q
    }

    fn client(ip: [u8; 4]) -> UdpSocket {
        let c = UdpSocket::bind((Ipv4Addr::from(ip), 0)).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        c
    }

    #[test]
    fn allowed_is_subnet_membership() {
        let allow: Vec<IpNet> = vec![
            "10.89.0.0/24".parse().unwrap(),
            "fd00::/64".parse().unwrap(),
        ];
        assert!(allowed(&allow, "10.89.0.7".parse().unwrap()));
        assert!(allowed(&allow, "::ffff:10.89.0.7".parse().unwrap()));
        assert!(allowed(&allow, "fd00::5".parse().unwrap()));
        assert!(!allowed(&allow, "10.89.1.7".parse().unwrap()));
        assert!(!allowed(&allow, "127.0.0.1".parse().unwrap()));
        assert!(!allowed(&[], "10.89.0.7".parse().unwrap()));
    }

    /// A real server socket on 127.0.0.1 allowing 127.0.0.1/32 only: a
    /// query from 127.0.0.2 is dropped, one from 127.0.0.1 answered; the
    /// server ends once its records file is removed.
    #[test]
    fn answers_only_its_subnets_over_real_sockets() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("n.json");
        let mut r = Records {
            network: "n".into(),
            ..Records::default()
        };
        r.containers.insert(
            "c1".into(),
            super::super::Entry {
                names: vec!["web".into()],
                ips: vec!["10.89.0.5".parse().unwrap()],
                upstreams: vec![],
            },
        );
        std::fs::write(&path, serde_json::to_vec(&r).unwrap()).unwrap();
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        server
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let addr = server.local_addr().unwrap();
        let cache = Arc::new(Mutex::new(Cache {
            stamp: None,
            records: Records::default(),
        }));
        let allow: Vec<IpNet> = vec!["127.0.0.1/32".parse().unwrap()];
        let p = path.clone();
        let t = std::thread::spawn(move || serve_socket(&server, &cache, &p, &allow));

        let outsider = client([127, 0, 0, 2]);
        outsider.send_to(&query(7, "web"), addr).unwrap();
        let insider = client([127, 0, 0, 1]);
        insider.send_to(&query(8, "web"), addr).unwrap();
        let mut buf = [0u8; 512];
        let (n, from) = insider.recv_from(&mut buf).unwrap();
        assert_eq!(from, addr);
        assert_eq!(&buf[..2], &8u16.to_be_bytes());
        assert_eq!(buf[3] & 0x0f, wire::RCODE_NOERROR);
        assert_eq!(&buf[n - 4..n], &[10, 89, 0, 5]);
        // The server handles datagrams in order on one socket: the
        // outsider's came first, so had it been answered, the answer
        // would be queued by now.
        outsider.set_nonblocking(true).unwrap();
        let e = outsider.recv_from(&mut buf).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);

        std::fs::remove_file(&path).unwrap();
        t.join().unwrap();
    }
}
