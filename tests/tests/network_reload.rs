//! `podman network reload`: the rules someone else flushed come back, and
//! bad input is refused as Podman refuses it.

use std::io::{Read, Write};
use std::time::Duration;

use e2e::podman::stderr;

fn answers(port: u16) -> bool {
    let Ok(mut c) = std::net::TcpStream::connect_timeout(
        &([127, 0, 0, 1], port).into(),
        Duration::from_millis(500),
    ) else {
        return false;
    };
    let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
    let mut body = String::new();
    c.write_all(b"GET /i HTTP/1.0\r\n\r\n").is_ok()
        && c.read_to_string(&mut body).is_ok()
        && body.contains("reloaded")
}

#[test]
fn reload_restores_flushed_rules_and_refuses_bad_input() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    s.ok(&["network", "create", "--subnet", "10.98.9.0/24", "rlnet"]);
    let id = s.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "--network",
        "rlnet",
        "-p",
        &format!("127.0.0.1:{port}:8080"),
        &r,
        "sh",
        "-c",
        "echo reloaded > /tmp/i; httpd -f -p 8080 -h /tmp",
    ]);
    let id = id.trim();
    e2e::poll::until(Duration::from_secs(10), "the published port", || {
        answers(port)
    });

    // Someone deletes our table (as `nft flush ruleset` would).
    let table = s.nft_table();
    let o = std::process::Command::new("nft")
        .args(["delete", "table", "inet", &table])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!answers(port), "no DNAT, no answer");

    assert_eq!(s.ok(&["network", "reload", "web"]), format!("{id}\n"));
    e2e::poll::until(Duration::from_secs(5), "the port after reload", || {
        answers(port)
    });
    assert_eq!(s.ok(&["network", "reload", "--all"]), format!("{id}\n"));

    for (args, want) in [
        (
            vec!["network", "reload"],
            "you must provide at least one name or id",
        ),
        (
            vec!["network", "reload", "-a", "web"],
            "no arguments are needed with --all",
        ),
        (
            vec!["network", "reload", "nosuch"],
            "no container with name or ID \"nosuch\" found",
        ),
    ] {
        let o = s.run(&args);
        assert_eq!(o.status.code(), Some(125), "{args:?}");
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
    }
    s.ok(&["rm", "-af", "-t", "0"]);
    s.ok(&["network", "rm", "rlnet"]);
}
