//! `podman system service --tls-cert/--tls-key/--tls-client-ca`: HTTPS on
//! TCP, driven by curl and the real docker CLI with certificates made by
//! openssl; and the refusals of upstream 251.

use std::path::Path;
use std::process::{Child, Command, Output};
use std::time::Duration;

use e2e::podman::{stderr, TestStore};
use e2e::poll;

fn openssl(dir: &Path, args: &[&str]) {
    let o = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl");
    assert!(o.status.success(), "openssl {args:?}: {}", stderr(&o));
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate,
/// both signed by the CA.
fn make_certs(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=test-ca",
            "-keyout",
            "ca-key.pem",
            "-out",
            "ca.pem",
        ],
    );
    std::fs::write(dir.join("server.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    for (name, ext) in [("server", "server.ext"), ("client", "client.ext")] {
        let key = format!("{name}-key.pem");
        let csr = format!("{name}.csr");
        let cert = format!("{name}.pem");
        let subj = format!("/CN={name}");
        openssl(
            dir,
            &[
                "req", "-newkey", "rsa:2048", "-nodes", "-subj", &subj, "-keyout", &key, "-out",
                &csr,
            ],
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca-key.pem",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                ext,
                "-out",
                &cert,
            ],
        );
    }
}

fn start(s: &TestStore, port: u16, extra: &[&str]) -> Child {
    let d = s.dir.path();
    let mut c = s.cmd();
    c.args(["system", "service", "--time", "0"])
        .arg(format!("--tls-cert={}", d.join("server.pem").display()))
        .arg(format!("--tls-key={}", d.join("server-key.pem").display()))
        .args(extra)
        .arg(format!("tcp://127.0.0.1:{port}"))
        .stderr(std::process::Stdio::piped());
    let child = c.spawn().unwrap();
    poll::until(Duration::from_secs(20), "the TLS service to listen", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    child
}

fn curl(dir: &Path, port: u16, client: bool) -> Output {
    let mut c = Command::new("curl");
    c.current_dir(dir)
        .args(["-sS", "--max-time", "20", "--cacert", "ca.pem"]);
    if client {
        c.args(["--cert", "client.pem", "--key", "client-key.pem"]);
    }
    c.arg(format!("https://127.0.0.1:{port}/_ping"))
        .output()
        .unwrap()
}

#[test]
fn tls_and_client_certificates() {
    let (s, _reg, image) = e2e::podman::with_busybox();
    let d = s.dir.path().to_path_buf();
    make_certs(&d);

    // Server TLS only: curl trusts the CA; plain HTTP gets nothing useful.
    let port = e2e::registry::free_port().unwrap();
    let mut svc = start(&s, port, &[]);
    let o = curl(&d, port, false);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "OK", "{}", stderr(&o));
    let o = Command::new("curl")
        .args(["-sS", "--max-time", "20"])
        .arg(format!("http://127.0.0.1:{port}/_ping"))
        .output()
        .unwrap();
    assert_ne!(String::from_utf8_lossy(&o.stdout), "OK");
    svc.kill().unwrap();
    let out = svc.wait_with_output().unwrap();
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("without TLS"),
        "no plain-TCP warning when serving TLS"
    );

    // With a client CA: no client certificate, no answer; with one, the
    // docker CLI runs a container through it.
    let port = e2e::registry::free_port().unwrap();
    let ca = format!("--tls-client-ca={}", d.join("ca.pem").display());
    let mut svc = start(&s, port, &[&ca]);
    let o = curl(&d, port, false);
    assert!(!o.status.success(), "a client without a certificate got in");
    let o = curl(&d, port, true);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "OK", "{}", stderr(&o));
    let o = Command::new("docker")
        .current_dir(&d)
        .env("DOCKER_CONFIG", &d)
        .env_remove("DOCKER_HOST")
        .args([
            "--tlsverify",
            "--tlscacert",
            "ca.pem",
            "--tlscert",
            "client.pem",
        ])
        .args(["--tlskey", "client-key.pem", "-H"])
        .arg(format!("tcp://127.0.0.1:{port}"))
        .args(["run", "--rm", &image, "echo", "over-tls"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "over-tls\n",
        "{}",
        stderr(&o)
    );
    svc.kill().unwrap();
    svc.wait().unwrap();
}

#[test]
fn tls_flags_are_checked_before_listening() {
    let s = TestStore::new();
    let port = e2e::registry::free_port().unwrap();
    let url = format!("tcp://127.0.0.1:{port}");
    for (args, want) in [
        (
            vec!["--tls-cert=x.pem"],
            "--tls-cert provided without --tls-key",
        ),
        (
            vec!["--tls-key=x.pem"],
            "--tls-key provided without --tls-cert",
        ),
        (
            vec!["--tls-cert=no-such-file.pem", "--tls-key=k.pem"],
            "open no-such-file.pem: no such file or directory",
        ),
        (
            vec!["--tls-client-ca=ca.pem"],
            "--tls-client-ca needs --tls-cert and --tls-key",
        ),
    ] {
        let mut a = vec!["system", "service"];
        a.extend(args);
        a.push(&url);
        e2e::podman::refused(&s, &a, want);
    }
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nothing listens after a refusal"
    );
}

#[test]
fn malformed_pem_files_are_refused_in_gos_words() {
    let s = TestStore::new();
    let dir = s.dir.path();
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let junk = write("not-a-cert.pem", "this is not PEM\n");
    let cert = write(
        "cert.pem",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    );
    let key = write(
        "key.pem",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    );
    let port = e2e::registry::free_port().unwrap();
    let url = format!("tcp://127.0.0.1:{port}");
    let flag = |name: &str, path: &str| format!("--{name}={path}");
    for (args, want) in [
        (
            vec![flag("tls-cert", &cert), flag("tls-key", &junk)],
            "tls: failed to find any PEM data in key input".to_string(),
        ),
        (
            vec![flag("tls-cert", &junk), flag("tls-key", &key)],
            "tls: failed to find any PEM data in certificate input".to_string(),
        ),
        (
            vec![flag("tls-cert", &cert), flag("tls-key", &cert)],
            "tls: found a certificate rather than a key in the PEM for the private key".to_string(),
        ),
        (
            vec![flag("tls-cert", &key), flag("tls-key", &key)],
            "but did find a private key; PEM inputs may have been switched".to_string(),
        ),
        (
            vec![
                flag("tls-cert", &cert),
                flag("tls-key", &key),
                flag("tls-client-ca", &junk),
            ],
            format!("{junk}: non-PEM data found"),
        ),
        (
            vec![
                flag("tls-cert", &cert),
                flag("tls-key", &key),
                flag("tls-client-ca", &key),
            ],
            format!("{key}: non-certificate type `PRIVATE KEY` PEM data found"),
        ),
    ] {
        let mut a: Vec<&str> = vec!["system", "service"];
        a.extend(args.iter().map(String::as_str));
        a.push(&url);
        e2e::podman::refused(&s, &a, &want);
    }
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nothing listens after a refusal"
    );
}

/// The remote client over TLS: a connection that trusts the CA reaches a
/// TLS service, and one with a client certificate a service that demands
/// one; without the certificate the handshake fails in one line.
#[test]
fn remote_client_connects_over_tls_and_mutual_tls() {
    let (s, _reg, _image) = e2e::podman::with_busybox();
    let d = s.dir.path().to_path_buf();
    make_certs(&d);
    let conns = d.join("podman-connections.json");
    let client = || {
        let mut c = Command::new(e2e::binaries::bin("podman"));
        c.env("PODMAN_CONNECTIONS_CONF", &conns)
            .env_remove("CONTAINER_HOST")
            .env_remove("CONTAINER_CONNECTION");
        c
    };
    let pem = |n: &str| d.join(n).display().to_string();
    let graph = s.root().display().to_string();

    let port = e2e::registry::free_port().unwrap();
    let mut svc = start(&s, port, &[]);
    let url = format!("tcp://127.0.0.1:{port}");
    let o = client()
        .args([
            "system",
            "connection",
            "add",
            "tls",
            &url,
            "--tls-ca",
            &pem("ca.pem"),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let o = client()
        .args([
            "-c",
            "tls",
            "info",
            "--format",
            "{{.Host.RemoteSocket.Path}} {{.Store.GraphRoot}}",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        format!("{url} {graph}")
    );
    svc.kill().unwrap();
    svc.wait().unwrap();

    let port = e2e::registry::free_port().unwrap();
    let ca = format!("--tls-client-ca={}", pem("ca.pem"));
    let mut svc = start(&s, port, &[&ca]);
    let url = format!("tcp://127.0.0.1:{port}");
    for (name, cert) in [("anon", false), ("mtls", true)] {
        let mut c = client();
        c.args([
            "system",
            "connection",
            "add",
            name,
            &url,
            "--tls-ca",
            &pem("ca.pem"),
        ]);
        if cert {
            c.args([
                "--tls-cert",
                &pem("client.pem"),
                "--tls-key",
                &pem("client-key.pem"),
            ]);
        }
        assert!(c.status().unwrap().success());
    }
    let o = client()
        .args(["-c", "mtls", "info", "--format", "{{.Store.GraphRoot}}"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), graph);
    let o = client()
        .args(["-c", "anon", "info", "--format", "{{.Store.GraphRoot}}"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(125), "{}", stderr(&o));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    svc.kill().unwrap();
    svc.wait().unwrap();
}
