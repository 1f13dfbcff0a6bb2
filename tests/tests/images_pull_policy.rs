//! `podman pull --policy` (Podman's test/system/156): which pulls happen,
//! what is printed, the refusals in Podman's words; and containers.conf's
//! retry defaults (150-login).

use e2e::podman::{stderr, stdout, with_busybox, TestStore};

fn pulled(o: &std::process::Output) -> bool {
    stderr(o).contains("Writing manifest to image destination")
}

#[test]
fn policies_pull_only_what_they_say() {
    let (s, reg, r) = with_busybox();
    let id = s
        .ok(&["image", "inspect", "--format", "{{.Id}}", &r])
        .trim()
        .to_string();

    let o = s.run(&["pull", "--tls-verify=false", "--policy", "invalid", &r]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(
        stderr(&o).trim_end(),
        "Error: unsupported pull policy \"invalid\""
    );
    let absent = reg.reference("bb", "absent");
    let o = s.run(&["pull", "--tls-verify=false", "--policy", "never", &absent]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(
        stderr(&o).trim_end(),
        format!("Error: {absent}: image not known")
    );

    // Present: missing, never and newer (the registry's is the same) use it.
    for policy in ["missing", "never", "newer"] {
        let o = s.run(&["pull", "--tls-verify=false", "--policy", policy, &r]);
        assert!(o.status.success(), "{policy}: {}", stderr(&o));
        assert_eq!(stdout(&o).trim(), id, "{policy}");
        assert!(!pulled(&o), "{policy} pulled again: {}", stderr(&o));
    }
    let o = s.run(&["pull", "--tls-verify=false", "--policy", "always", &r]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), id);
    assert!(pulled(&o), "always did not pull: {}", stderr(&o));

    // Absent: never refuses, missing pulls.
    s.ok(&["rmi", &r]);
    let o = s.run(&["pull", "--tls-verify=false", "--policy", "never", &r]);
    assert_eq!(o.status.code(), Some(125));
    assert!(stderr(&o).contains("image not known"), "{}", stderr(&o));
    let o = s.run(&["pull", "--tls-verify=false", "--policy", "missing", &r]);
    assert!(pulled(&o), "missing did not pull: {}", stderr(&o));
    assert_eq!(stdout(&o).trim(), id);
}

/// The flags' own checks and tries are in images_pull_errors.rs; here
/// containers.conf's engine `retry`/`retry_delay` are the defaults.
#[test]
fn containers_conf_retry_is_the_default() {
    let s = TestStore::new();
    let port = e2e::registry::closed_port();
    let image = format!("127.0.0.1:{port}/x/y:latest");
    let conf = s.dir.path().join("retry.conf");
    std::fs::write(&conf, "[engine]\nretry = 1\nretry_delay = \"0s\"\n").unwrap();
    let o = s
        .cmd()
        .env("CONTAINERS_CONF", &conf)
        .args(["pull", "-q", "--tls-verify=false", &image])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(125));
    let err = stderr(&o);
    assert_eq!(err.matches("Failed, retrying in 0s").count(), 1, "{err}");
    assert!(err.contains("(1/1)"), "{err}");
    // The flag wins over containers.conf.
    let o = s
        .cmd()
        .env("CONTAINERS_CONF", &conf)
        .args(["pull", "-q", "--tls-verify=false", "--retry", "0", &image])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(125));
    assert!(!stderr(&o).contains("retrying"), "{}", stderr(&o));
}
