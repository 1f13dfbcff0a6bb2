//! Forwarding the names that are not containers, as aardvark-dns does: to
//! the asking container's own servers (`--dns`) when it has some, else to
//! the host's resolvers from /etc/resolv.conf. The server runs in the
//! host's network namespace, so the host's loopback resolvers (a local
//! cache, systemd-resolved's stub) are reachable from it and are kept.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::Path;
use std::time::Duration;

const HOST_RESOLV_CONF: &str = "/etc/resolv.conf";
const TIMEOUT: Duration = Duration::from_secs(2);

/// The nameservers of a resolv.conf, port 53.
pub fn resolvers_in(path: &Path) -> Vec<SocketAddr> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            (f.next() == Some("nameserver"))
                .then(|| f.next())
                .flatten()
                .and_then(|ip| ip.split('%').next()?.parse::<IpAddr>().ok())
        })
        .map(|ip| SocketAddr::new(ip, 53))
        .collect()
}

pub fn host_resolvers() -> Vec<SocketAddr> {
    resolvers_in(Path::new(HOST_RESOLV_CONF))
}

/// Ask each upstream in turn; the first answer with the query's id wins.
pub fn forward(req: &[u8], upstreams: &[SocketAddr]) -> Option<Vec<u8>> {
    if req.len() < 12 {
        return None;
    }
    for up in upstreams {
        let local: SocketAddr = if up.is_ipv4() {
            "0.0.0.0:0".parse().ok()?
        } else {
            "[::]:0".parse().ok()?
        };
        let Ok(sock) = UdpSocket::bind(local) else {
            continue;
        };
        if sock.set_read_timeout(Some(TIMEOUT)).is_err() || sock.connect(up).is_err() {
            continue;
        }
        if sock.send(req).is_err() {
            continue;
        }
        let mut buf = vec![0u8; 4096];
        match sock.recv(&mut buf) {
            Ok(n) if n >= 12 && buf[..2] == req[..2] => {
                buf.truncate(n);
                return Some(buf);
            }
            Ok(_) => continue,
            Err(e) => {
                tracing::debug!(upstream = %up, error = %e, "dns forward failed");
                continue;
            }
        }
    }
    None
}

/// SERVFAIL for a query no upstream answered.
pub fn servfail(req: &[u8]) -> Option<Vec<u8>> {
    let mut out = super::wire::format_error(req)?;
    out[3] = 2;
    // Keep the question section, as resolvers match on it.
    if req.len() > 12 {
        out.truncate(12);
        out[4..6].copy_from_slice(&req[4..6]);
        out.extend_from_slice(&req[12..]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nameservers_and_relays_answers() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("resolv.conf");
        std::fs::write(
            &p,
            "search x\nnameserver 127.0.0.1\nnameserver fe80::1%eth0\n",
        )
        .unwrap();
        let r = resolvers_in(&p);
        assert_eq!(r[0], "127.0.0.1:53".parse().unwrap());
        assert_eq!(r.len(), 2);
        // A real upstream on loopback echoes the query back as an answer.
        let up = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = up.local_addr().unwrap();
        let t = std::thread::spawn(move || {
            let mut b = [0u8; 512];
            let (n, from) = up.recv_from(&mut b).unwrap();
            b[2] |= 0x80;
            up.send_to(&b[..n], from).unwrap();
        });
        let q = [
            0xab, 0xcd, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, b'a', 0, 0, 1, 0, 1,
        ];
        let a = forward(&q, &[addr]).unwrap();
        assert_eq!(&a[..2], &[0xab, 0xcd]);
        assert_eq!(a[2] & 0x80, 0x80);
        t.join().unwrap();
        let f = servfail(&q).unwrap();
        assert_eq!(f[3] & 0x0f, 2);
        assert_eq!(&f[12..], &q[12..]);
    }
}
