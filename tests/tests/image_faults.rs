//! Pull faults through podman: a reference that does not parse, a registry
//! answering 500, a connection cut in the middle of a layer. Each gives one
//! clear error naming the reference and leaves the store as it was.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use e2e::oci_image::{ImageBuilder, LayerBuilder};
use e2e::podman::{stderr, TestStore};
use e2e::registry::Registry;

fn one_error_line(o: &std::process::Output) -> String {
    assert_eq!(o.status.code(), Some(125), "{}", stderr(o));
    let err = stderr(o);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("Error:")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    lines[0].to_string()
}

#[test]
fn a_reference_that_does_not_parse() {
    let s = TestStore::new();
    for bad in ["Bad/Name", "x:", "127.0.0.1:5000/a@sha256:nothex"] {
        let line = one_error_line(&s.run(&["pull", bad]));
        assert!(
            line.contains("invalid reference format") && line.contains(bad),
            "{line}"
        );
    }
    assert_eq!(s.ok(&["images", "-q"]), "");
}

#[test]
fn a_registry_answering_500() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut c in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = c.read(&mut buf);
            let _ = c.write_all(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 11\r\nConnection: close\r\n\r\nboom-broken");
        }
    });
    let s = TestStore::new();
    let r = format!("127.0.0.1:{port}/some/image:1");
    let line = one_error_line(&s.run(&["pull", "--tls-verify=false", &r]));
    assert!(line.contains("127.0.0.1") && line.contains("500"), "{line}");
    assert_eq!(s.ok(&["images", "-q"]), "");
}

/// Forwards to `upstream`; a connection that has carried more than
/// `cut_after` bytes back to the client is closed mid-stream: only the
/// first such connection unless `always`.
fn cutting_proxy(upstream: String, cut_after: usize, always: bool) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let used = Arc::new(AtomicBool::new(false));
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(&upstream) else {
                continue;
            };
            let (Ok(mut c2), Ok(mut s2)) = (client.try_clone(), server.try_clone()) else {
                continue;
            };
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c2, &mut s2);
                let _ = s2.shutdown(std::net::Shutdown::Write);
            });
            let used = used.clone();
            let (mut client, mut server) = (client, server);
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 16 << 10];
                let mut sent = 0usize;
                while let Ok(n) = server.read(&mut buf) {
                    if n == 0 || client.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    sent += n;
                    if sent > cut_after && (always || !used.swap(true, Ordering::SeqCst)) {
                        break; // cut: the client sees the connection end mid-body
                    }
                }
                let _ = client.shutdown(std::net::Shutdown::Both);
                let _ = server.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    port
}

#[test]
fn a_connection_cut_in_the_middle_of_a_layer() {
    let reg = Registry::start().unwrap();
    // A 2 MB layer of incompressible bytes: big enough to be cut mid-way.
    let mut data = vec![0u8; 2 << 20];
    let mut x: u32 = 0x1234_5678;
    for b in data.iter_mut() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    let image = ImageBuilder::busybox()
        .unwrap()
        .layer(
            LayerBuilder::new()
                .file("big", data, 0o644)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    reg.push("cut/img", "latest", &image).unwrap();
    let s = TestStore::new();
    // Every large response cut: the bounded retries give up with one line
    // naming the image, and nothing is stored.
    let always = cutting_proxy(reg.addr.clone(), 256 << 10, true);
    let o = s.run(&[
        "pull",
        "-q",
        "--tls-verify=false",
        &format!("127.0.0.1:{always}/cut/img:latest"),
    ]);
    let line = one_error_line(&o);
    assert!(line.contains("cut/img"), "{line}");
    assert_eq!(s.ok(&["images", "-q"]), "");
    // One cut: the fetcher's retry completes the pull and the content is whole.
    let port = cutting_proxy(reg.addr.clone(), 256 << 10, false);
    let r = format!("127.0.0.1:{port}/cut/img:latest");
    let id = s.ok(&["pull", "-q", "--tls-verify=false", &r]);
    assert_eq!(id.trim(), image.config_digest.trim_start_matches("sha256:"));
    let sum = s.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        &r,
        "sh",
        "-c",
        "wc -c < /big",
    ]);
    assert_eq!(sum.trim(), (2 << 20).to_string());
}
