//! What a failed pull says, in Podman 5's words (containers/image's
//! `initializing source docker://REF: ...`), and `--authfile` paths that do
//! not exist (Podman's `credential file is not accessible`), exit 125.

use e2e::podman::{stderr, with_busybox, TestStore};

#[test]
fn a_missing_tag_or_repository_reads_as_podmans_manifest_error() {
    let (s, reg, _r) = with_busybox();
    let missing = reg.reference("bb", "nope");
    let o = s.run(&["pull", "-q", "--tls-verify=false", &missing]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(
        stderr(&o).trim_end(),
        format!(
            "Error: initializing source docker://{missing}: reading manifest nope in {}/bb: manifest unknown",
            reg.addr
        )
    );
    let missing = reg.reference("no/such", "latest");
    let err = stderr(&s.run(&["pull", "-q", "--tls-verify=false", &missing]));
    assert!(
        err.starts_with(&format!(
            "Error: initializing source docker://{missing}: reading manifest latest in {}/no/such: ",
            reg.addr
        )),
        "{err}"
    );
    assert_eq!(s.ok(&["images", "-q"]).lines().count(), 1);
}

#[test]
fn an_unreachable_registry_reads_as_podmans_ping_error() {
    let s = TestStore::new();
    // A port nothing listens on: bound, then closed.
    let port = e2e::registry::closed_port();
    let image = format!("127.0.0.1:{port}/x/y:latest");
    let o = s.run(&["pull", "--retry", "0", "--tls-verify=false", &image]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(125), "{err}");
    let last = err.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.starts_with(&format!(
            "Error: initializing source docker://{image}: pinging container registry 127.0.0.1:{port}: Get \"https://127.0.0.1:{port}/v2/\": "
        )),
        "{err}"
    );
    assert!(last.contains("connect: connection refused"), "{err}");
    // The pull-error event carries the same text (upstream 090-events).
    let events = s.ok(&["events", "--stream=false", "--filter", "event=pull-error"]);
    assert!(
        events.contains("pinging container registry 127.0.0.1"),
        "{events}"
    );
}

#[test]
fn an_unreachable_registry_is_tried_again_as_retry_says() {
    let s = TestStore::new();
    let port = e2e::registry::closed_port();
    let image = format!("127.0.0.1:{port}/x/y:latest");
    let o = s.run(&[
        "pull",
        "-q",
        "--retry",
        "2",
        "--retry-delay",
        "100ms",
        "--tls-verify=false",
        &image,
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(125), "{err}");
    for n in ["(1/2)", "(2/2)"] {
        assert!(
            err.contains(&format!(
                "Failed, retrying in 100ms ... {n}. Error: initializing source"
            )),
            "{err}"
        );
    }
    assert!(!err.contains("(3/2)"), "{err}");
    // --platform and --arch/--os say the same thing twice: refused first.
    for flag in ["--arch", "--os"] {
        let o = s.run(&["pull", "--platform", "foo", flag, "bar", &image]);
        assert_eq!(o.status.code(), Some(125));
        assert_eq!(
            stderr(&o).trim_end(),
            "Error: --platform option can not be specified with --arch or --os"
        );
    }
    // A delay that is no Go duration: Podman's words, nothing tried.
    let o = s.run(&["pull", "--retry-delay", "bogus", &image]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(
        stderr(&o).trim_end(),
        "Error: time: invalid duration \"bogus\""
    );
}

#[test]
fn a_missing_authfile_is_refused_before_anything_else() {
    let s = TestStore::new();
    let bogus = s.dir.path().join("bogus-authfile");
    let bogus = bogus.to_str().unwrap();
    let want = format!(
        "Error: credential file is not accessible: faccessat {bogus}: no such file or directory"
    );
    for args in [
        vec!["pull", "quay.io/libpod/nosuch"],
        vec!["push", "quay.io/libpod/nosuch"],
        vec!["logout", "quay.io"],
    ] {
        let mut a = vec![args[0], "--authfile", bogus];
        a.extend_from_slice(&args[1..]);
        let o = s.run(&a);
        assert_eq!(o.status.code(), Some(125), "{a:?}");
        assert_eq!(stderr(&o).trim_end(), want, "{a:?}");
    }
}
