//! Published host ports are held while the container runs (libpod's port
//! reservation): no other process can bind them, a second container asking
//! for one fails with "address already in use" (exit 126, as `podman run`),
//! a restart gets them back, and they are free once the container is gone.
//! containers.conf `default_host_ips` picks the addresses of `-p PORT:PORT`.

use std::time::Duration;

use e2e::podman::stderr;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn bindable(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

#[test]
fn published_ports_are_held_while_the_container_runs() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    let port = free_port();
    s.ok(&[
        "run",
        "-d",
        "--name",
        "holder",
        "-p",
        &format!("{port}:8080"),
        &r,
        "sleep",
        "1000",
    ]);
    assert!(!bindable(port), "port {port} is held by the container");
    for spec in [
        format!("{port}:80"),
        format!("0.0.0.0:{port}:80"),
        format!("[::]:{port}:80"),
    ] {
        let o = s.run(&["run", "--rm", "-p", &spec, &r, "true"]);
        assert_eq!(o.status.code(), Some(126), "-p {spec}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains(&port.to_string()) && err.contains("address already in use"),
            "-p {spec}: {err}"
        );
    }
    // Nothing of the refused containers stayed behind.
    assert_eq!(s.ok(&["ps", "-aq"]).lines().count(), 1);

    // A restart lets go of the ports and takes them again.
    s.ok(&["restart", "-t", "0", "holder"]);
    assert!(!bindable(port), "held again after the restart");
    s.ok(&["stop", "-t", "0", "holder"]);
    e2e::poll::until(Duration::from_secs(5), "the port let go at stop", || {
        bindable(port)
    });
    s.ok(&["start", "holder"]);
    assert!(!bindable(port));
    s.ok(&["rm", "-f", "-t", "0", "holder"]);
    e2e::poll::until(Duration::from_secs(5), "the port let go at rm", || {
        bindable(port)
    });

    // A port someone else holds fails the start in the kernel's words.
    let taken = std::net::TcpListener::bind(("0.0.0.0", 0)).unwrap();
    let tport = taken.local_addr().unwrap().port();
    let o = s.run(&["run", "--rm", "-p", &format!("{tport}:80"), &r, "true"]);
    assert_eq!(o.status.code(), Some(126), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("address already in use"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn default_host_ips_from_containers_conf() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    let conf = s.dir.path().join("override.conf");
    std::fs::write(
        &conf,
        "[network]\ndefault_host_ips = [\"127.0.0.1\", \"::1\"]\n",
    )
    .unwrap();
    let port = free_port();
    let with_conf = |args: &[&str]| {
        let o = s
            .cmd()
            .env("CONTAINERS_CONF_OVERRIDE", &conf)
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let id = with_conf(&["run", "-d", "-p", &format!("{port}:80"), &r, "sleep", "60"]);
    let b = with_conf(&[
        "inspect",
        "--format",
        "{{.HostConfig.PortBindings}}",
        id.trim(),
    ]);
    assert!(b.contains("127.0.0.1") && b.contains("::1"), "{b}");
    with_conf(&["rm", "-f", "-t", "0", id.trim()]);
    // An explicit address wins over the configured ones.
    let id = with_conf(&[
        "run",
        "-d",
        "-p",
        &format!("0.0.0.0:{port}:80"),
        &r,
        "sleep",
        "60",
    ]);
    let b = with_conf(&[
        "inspect",
        "--format",
        "{{.HostConfig.PortBindings}}",
        id.trim(),
    ]);
    assert!(b.contains("0.0.0.0") && !b.contains("127.0.0.1"), "{b}");
    with_conf(&["rm", "-f", "-t", "0", id.trim()]);
    // A configured address that is not one is refused at create.
    std::fs::write(&conf, "[network]\ndefault_host_ips = [\"nowhere\"]\n").unwrap();
    let o = s
        .cmd()
        .env("CONTAINERS_CONF_OVERRIDE", &conf)
        .args(["create", "-p", "8080:80", &r])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(125), "{}", stderr(&o));
    assert!(stderr(&o).contains("default_host_ips"), "{}", stderr(&o));
}
