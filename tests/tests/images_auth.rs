//! podman against registries that want credentials: an htpasswd registry
//! taking --creds or a login (login, --get-login, logout, --all), and a
//! bearer-token challenge followed by login and a pull.

#[path = "fetcher_support/mod.rs"]
#[allow(dead_code)]
mod fetcher_support;

use e2e::image_env::{assert_fails, sh, WithAuth};
use e2e::oci_image::busybox_image;
use e2e::podman::{stderr, stdout, TestStore};
use e2e::registry::Registry;
use serde_json::Value;

#[test]
fn an_htpasswd_registry_takes_creds_or_a_login() {
    let reg = Registry::start_with_htpasswd("alice", "s3cret").unwrap();
    let image = busybox_image().unwrap();
    reg.push("private/bb", "latest", &image).unwrap();
    let r = reg.reference("private/bb", "latest");
    let s = TestStore::new();
    let a = WithAuth::new(&s, s.dir.path().join("auth/auth.json"));
    let auth = a.file();

    let o = a.pull(&[], &r);
    assert_fails(&o, 125, "authentication required");
    let o = a.pull(&["--creds", "alice:wrong"], &r);
    assert_fails(&o, 125, "authentication failed for \"alice\"");
    let o = a.pull(&["--creds", "alice:s3cret"], &r);
    assert!(o.status.success(), "{}", stderr(&o));
    s.ok(&["rmi", &r]);

    // Wrong password: refused, nothing written. No terminal: no prompt.
    let o = a.login_stdin("alice", &reg.addr, "nope");
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(
        stderr(&o).trim(),
        format!(
            "Error: logging into \"{}\": invalid username/password",
            reg.addr
        )
    );
    assert!(!auth.exists());
    let o = a.run(&["login", "--tls-verify=false", &reg.addr]);
    assert_fails(&o, 125, "stdin is not a terminal");

    let o = a.login_stdin("alice", &reg.addr, "s3cret");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "Login Succeeded!\n");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(auth).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let doc: Value = serde_json::from_slice(&std::fs::read(auth).unwrap()).unwrap();
    assert_eq!(
        doc["auths"][reg.addr.as_str()]["auth"],
        e2e::registry_client::base64(b"alice:s3cret")
    );
    assert_eq!(
        stdout(&a.run(&["login", "--get-login", &reg.addr])),
        "alice\n"
    );
    // Logged in: existing credentials are checked and reused.
    let o = a.run(&["login", "--tls-verify=false", &reg.addr]);
    assert!(
        stdout(&o).contains("Existing credentials are valid"),
        "{} {}",
        stdout(&o),
        stderr(&o)
    );

    let o = a.pull(&[], &r);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(sh(&s, &r, "echo in"), "in\n");

    let o = a.run(&["logout", &reg.addr]);
    assert_eq!(
        stdout(&o),
        format!("Removed login credentials for {}\n", reg.addr)
    );
    let o = a.run(&["logout", &reg.addr]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(
        stderr(&o).trim(),
        format!("Error: not logged into {}", reg.addr)
    );
    s.ok(&["rmi", &r]);
    let o = a.pull(&[], &r);
    assert_eq!(o.status.code(), Some(125), "{}", stderr(&o));

    // -p works too; logout --all empties the file.
    let o = a.login_password("alice", &reg.addr, "s3cret");
    assert_eq!(stdout(&o), "Login Succeeded!\n", "{}", stderr(&o));
    let o = a.run(&["logout", "--all"]);
    assert_eq!(stdout(&o), "Removed login credentials for all registries\n");
    let doc: Value = serde_json::from_slice(&std::fs::read(auth).unwrap()).unwrap();
    assert_eq!(doc["auths"], serde_json::json!({}));
}

#[test]
fn login_follows_a_bearer_token_challenge() {
    let reg = Registry::start().unwrap();
    let (port, log) = fetcher_support::bearer_front(reg.addr.clone(), "bob", "tok3n").unwrap();
    let front = format!("127.0.0.1:{port}");
    let s = TestStore::new();
    let a = WithAuth::new(&s, s.dir.path().join("auth.json"));
    let o = a.login_stdin("bob", &front, "bad");
    assert_fails(&o, 125, "invalid username/password");
    let o = a.login_stdin("bob", &front, "tok3n");
    assert!(o.status.success(), "{}", stderr(&o));
    let seen = log.lock().unwrap().clone();
    assert_eq!(
        seen.iter()
            .map(|(svc, _, ok)| (svc.as_str(), *ok))
            .collect::<Vec<_>>(),
        [("e2e", false), ("e2e", true)]
    );
    // The stored token works for a pull through the same front.
    reg.push("tok/bb", "latest", &busybox_image().unwrap())
        .unwrap();
    let o = a.pull(&[], &format!("{front}/tok/bb:latest"));
    assert!(o.status.success(), "{}", stderr(&o));
}
