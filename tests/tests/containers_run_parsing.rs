//! How `podman run`/`create` read their flags, end to end: the refusals
//! of what is not there (in Podman's words, nothing created), the pull
//! policy, Docker-style names, a JSON entrypoint, group lists, and ports
//! without a bridge.

use e2e::podman::{refused_leaving_nothing, run_sh, stderr, stdout, with_busybox};

#[test]
fn refusals_and_pull_policy() {
    let (s, _reg, r) = with_busybox();
    // A flag not built yet is refused by name; a secret must exist.
    for verb in ["run", "create"] {
        refused_leaving_nothing(
            &s,
            &[verb, "--link-local-ip=169.254.0.5", &r, "true"],
            "--link-local-ip is not implemented yet",
        );
        refused_leaving_nothing(
            &s,
            &[verb, "--secret=s", &r, "true"],
            "no secret with name or id \"s\": no such secret",
        );
    }
    // Podman's option conflicts (620-option-conflicts.bats), either order.
    for (a, b, msg) in [
        (
            "--cpu-period=1",
            "--cpus=2",
            "--cpu-period and --cpus cannot be set together",
        ),
        (
            "--cpu-quota=1",
            "--cpus=2",
            "--cpu-quota and --cpus cannot be set together",
        ),
        (
            "--no-hosts",
            "--add-host=foo:1.1.1.1",
            "--no-hosts and --add-host cannot be set together",
        ),
        (
            "--platform=foo",
            "--arch=bar",
            "--platform option can not be specified with --arch or --os",
        ),
        (
            "--platform=foo",
            "--os=bar",
            "--platform option can not be specified with --arch or --os",
        ),
    ] {
        for cmd in ["create", "run"] {
            for (x, y) in [(a, b), (b, a)] {
                let o = s.run(&[cmd, x, y, &r]);
                assert_eq!(o.status.code(), Some(125));
                assert_eq!(stderr(&o).trim(), format!("Error: {msg}"));
            }
        }
    }
    refused_leaving_nothing(
        &s,
        &[
            "run",
            "--group-add",
            "keep-groups",
            "--group-add",
            "10",
            &r,
            "true",
        ],
        "the '--group-add keep-groups' option is not allowed with any other --group-add options",
    );
    refused_leaving_nothing(
        &s,
        &["run", "--platform", "linux/s390x", &r, "true"],
        "only the host platform",
    );
    refused_leaving_nothing(
        &s,
        &["run", "--sdnotify", "bogus", &r, "true"],
        "--sdnotify",
    );
    refused_leaving_nothing(
        &s,
        &["run", "--systemd", "bogus", &r, "true"],
        "systemd option requires 'true, false, always'",
    );
    refused_leaving_nothing(
        &s,
        &["run", "-d", "-a", "stdout", &r, "true"],
        "--attach and --detach",
    );
    // The host's own platform is fine.
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        a => a,
    };
    s.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--platform",
        &format!("linux/{arch}"),
        &r,
        "true",
    ]);
    // --pull=never with a missing image: Podman's text.
    let missing = format!("{}-missing", r);
    let o = s.run(&["run", "--pull=never", &missing, "true"]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(
        stderr(&o).trim(),
        format!("Error: {missing}: image not known")
    );
    s.ok(&[
        "run",
        "--rm",
        "--pull=never",
        "--network",
        "none",
        &r,
        "true",
    ]);
    refused_leaving_nothing(&s, &["run", "--pull=sometimes", &r, "true"], "--pull");
}

#[test]
fn ports_without_a_bridge_are_discarded_with_podmans_warning() {
    let (s, _reg, r) = with_busybox();
    for mode in ["none", "host"] {
        let o = s.run(&[
            "run",
            "--rm",
            "-p",
            "8080",
            "--network",
            mode,
            &r,
            "echo",
            "hi",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(stdout(&o), "hi\n");
        assert_eq!(
            stderr(&o).lines().next(),
            Some(
                format!(
                    "Port mappings have been discarded because \"{mode}\" network namespace mode does not support them"
                )
                .as_str()
            )
        );
    }
}

#[test]
fn a_leading_slash_in_a_name_is_docker_style_and_accepted() {
    let (s, _reg, r) = with_busybox();
    s.ok(&[
        "create",
        "--name",
        "/slashed",
        "--network",
        "none",
        &r,
        "true",
    ]);
    assert_eq!(s.ok(&["ps", "-a", "--format", "{{.Names}}"]), "slashed\n");
    assert_eq!(
        s.run(&["create", "--name", "bad/", &r]).status.code(),
        Some(125)
    );
    s.ok(&["rm", "/slashed"]);
    assert_eq!(s.ok(&["ps", "-aq"]), "");
}

#[test]
fn entrypoint_takes_a_json_array() {
    let (s, _reg, r) = with_busybox();
    let o = s.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--entrypoint",
        r#"["/bin/echo","one two"]"#,
        &r,
        "three",
    ]);
    assert_eq!(o, "one two three\n");
    let o = s.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--entrypoint",
        "/bin/echo",
        &r,
        "x",
    ]);
    assert_eq!(o, "x\n");
}

#[test]
fn group_add_takes_a_comma_list_and_inspect_names_what_is_missing() {
    let (s, _reg, r) = with_busybox();
    let groups = run_sh(&s, &r, &["--group-add", "1,2", "--group-add", "3"], "id -G");
    let groups: Vec<&str> = groups.split_whitespace().collect();
    for g in ["1", "2", "3"] {
        assert!(groups.contains(&g), "{groups:?}");
    }
    let o = s.run(&["container", "inspect", "nosuch"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).contains("no such container \"nosuch\""),
        "{}",
        stderr(&o)
    );
}
