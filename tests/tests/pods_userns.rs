//! `pod create --userns` (root): the infra container gets the user
//! namespace, members join it unless they ask for their own.

use e2e::podman::{stderr, TestStore};

fn userns_of(s: &TestStore, ctr: &str) -> String {
    let pid = s.ok(&["inspect", "--format", "{{.State.Pid}}", ctr]);
    std::fs::read_link(format!("/proc/{}/ns/user", pid.trim()))
        .unwrap()
        .display()
        .to_string()
}

#[test]
fn pod_members_join_the_pods_user_namespace() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    let host = std::fs::read_link("/proc/self/ns/user")
        .unwrap()
        .display()
        .to_string();
    let pod = s.ok(&["pod", "create", "--network", "none", "--userns=keep-id"]);
    let pod = pod.trim();
    let infra = s.ok(&["pod", "inspect", "--format", "{{.InfraContainerID}}", pod]);
    let infra = infra.trim();
    let a = s.ok(&["run", "-d", "--pod", pod, &r, "sleep", "600"]);
    let b = s.ok(&["run", "-d", "--pod", pod, &r, "sleep", "600"]);
    let ns = userns_of(&s, infra);
    assert_ne!(
        ns, host,
        "the infra container has a user namespace of its own"
    );
    assert_eq!(userns_of(&s, a.trim()), ns);
    assert_eq!(userns_of(&s, b.trim()), ns);
    let mode = s.ok(&[
        "inspect",
        "--format",
        "{{.HostConfig.UsernsMode}}",
        a.trim(),
    ]);
    assert_eq!(mode.trim(), format!("container:{infra}"));
    // A member that asks for the host's stays there.
    let c = s.ok(&[
        "run",
        "-d",
        "--pod",
        pod,
        "--userns=host",
        &r,
        "sleep",
        "600",
    ]);
    assert_eq!(userns_of(&s, c.trim()), host);
    // One of its own is refused, in Podman's words, and nothing is made.
    let before = s.ok(&["ps", "-aq"]);
    for own in [
        &["--uidmap", "0:1000:1000"][..],
        &["--gidmap", "0:1000:1000"][..],
        &["--userns", "keep-id"][..],
    ] {
        let mut args = vec!["create", "--pod", pod];
        args.extend_from_slice(own);
        args.extend([r.as_str(), "true"]);
        let o = s.run(&args);
        assert_eq!(o.status.code(), Some(125), "{own:?}: {}", stderr(&o));
        assert_eq!(
            stderr(&o).trim_end(),
            "Error: cannot set user namespace mode when joining pod with infra container: invalid argument"
        );
    }
    assert_eq!(s.ok(&["ps", "-aq"]), before);
    s.ok(&["pod", "rm", "-f", "-t", "0", pod]);

    // Without an infra container there is nothing to hold it.
    let o = s.run(&["pod", "create", "--infra=false", "--userns=keep-id"]);
    assert_eq!(o.status.code(), Some(125), "{}", stderr(&o));
    assert!(stderr(&o).contains("infra container"), "{}", stderr(&o));
    let o = s.run(&["pod", "create", "--userns=container:x"]);
    assert_eq!(o.status.code(), Some(125), "{}", stderr(&o));
    assert_eq!(s.ok(&["pod", "ps", "-q"]), "", "nothing made");
}
