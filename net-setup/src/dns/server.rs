//! The `net-setup dns-serve` process: UDP on the network's gateway
//! address(es), port 53; re-reads the records file when it changes and
//! exits by itself once the file is gone (its network was torn down, or
//! the state dir was removed).

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::socket::{self, sockopt, AddressFamily, SockFlag, SockType, SockaddrStorage};

use super::wire::{self, Answer};
use super::Records;
use crate::error::{NetError, Result};

pub struct ServeOptions {
    pub network: String,
    pub records: PathBuf,
    pub pid_file: PathBuf,
    pub listen: Vec<IpAddr>,
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
            let (cache, path) = (cache.clone(), opts.records.clone());
            std::thread::spawn(move || serve_socket(sock, &cache, &path))
        })
        .collect();
    for h in handles {
        let _ = h.join();
    }
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

fn serve_socket(sock: UdpSocket, cache: &Mutex<Cache>, path: &Path) {
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
                    tracing::info!("records file gone; exiting");
                    std::process::exit(0);
                }
                continue;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                tracing::warn!(error = %e, "dns receive failed");
                continue;
            }
        };
        let Some(records) = current(cache, path) else {
            tracing::info!("records file gone; exiting");
            std::process::exit(0);
        };
        if let Some(resp) = answer(&buf[..n], &records) {
            let _ = sock.send_to(&resp, peer);
        }
    }
}

/// The response to one datagram (None: not a query, stay silent).
pub fn answer(req: &[u8], records: &Records) -> Option<Vec<u8>> {
    let Some(q) = wire::parse_query(req) else {
        return wire::format_error(req);
    };
    if q.name.ends_with(".in-addr.arpa") || q.name.ends_with(".ip6.arpa") {
        return Some(
            match wire::reverse_name_to_ip(&q.name).and_then(|ip| records.reverse(ip)) {
                Some(name) => wire::respond(req, &q, wire::RCODE_NOERROR, Answer::Ptr(&name)),
                None => wire::respond(req, &q, wire::RCODE_REFUSED, Answer::Addrs(&[])),
            },
        );
    }
    let resp = match records.lookup(&q.name) {
        Some(ips) => wire::respond(req, &q, wire::RCODE_NOERROR, Answer::Addrs(&ips)),
        None if q.name.ends_with(crate::network_config::DNS_DOMAIN) => {
            wire::respond(req, &q, wire::RCODE_NXDOMAIN, Answer::Addrs(&[]))
        }
        // Not ours, and we never forward off this machine.
        None => wire::respond(req, &q, wire::RCODE_REFUSED, Answer::Addrs(&[])),
    };
    tracing::debug!(name = %q.name, qtype = q.qtype, rcode = resp[3] & 0x0f, "dns query");
    Some(resp)
}
