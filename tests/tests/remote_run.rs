//! `podman --remote create` and `run` against a real `podman system
//! service`: the options reach the container as the local CLI's do, a
//! foreground run streams and exits with the container's code.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use e2e::api_service::Api;
use e2e::podman::{stderr, stdout};

fn remote(api: &Api) -> Command {
    let mut c = Command::new(e2e::binaries::bin("podman"));
    c.env_remove("CONTAINER_HOST")
        .env_remove("CONTAINER_CONNECTION")
        .args(["--url", &api.docker_host()]);
    c
}

fn ok(c: &mut Command) -> String {
    let o = c.output().unwrap();
    assert!(o.status.success(), "{c:?}: {}", stderr(&o));
    stdout(&o)
}

fn inspect(api: &Api, name: &str, fmt: &str) -> String {
    api.store
        .ok(&["inspect", "--format", fmt, name])
        .trim()
        .to_string()
}

#[test]
fn create_and_detached_run_carry_the_options() {
    let api = Api::start();
    let id = ok(remote(&api).args([
        "run",
        "-d",
        "--name",
        "rrun-detached",
        "-e",
        "RR_A=one",
        "--label",
        "rr.k=v",
        "-w",
        "/tmp",
        "--hostname",
        "rrhost",
        "--memory",
        "64m",
        "-p",
        "127.0.0.1::8080",
        "--tmpfs",
        "/scratch:size=1m",
        &api.image,
        "sleep",
        "300",
    ]));
    let id = id.trim();
    assert_eq!(id.len(), 64, "{id}");
    assert_eq!(inspect(&api, "rrun-detached", "{{.Id}}"), id);
    assert_eq!(
        inspect(&api, "rrun-detached", "{{.State.Status}}"),
        "running"
    );
    let env = inspect(&api, "rrun-detached", "{{.Config.Env}}");
    assert!(env.contains("RR_A=one"), "{env}");
    assert_eq!(
        inspect(
            &api,
            "rrun-detached",
            "{{index .Config.Labels \"rr.k\"}} {{.Config.WorkingDir}} {{.Config.Hostname}} {{.HostConfig.Memory}}"
        ),
        "v /tmp rrhost 67108864"
    );
    let ports = api.store.ok(&["port", "rrun-detached"]);
    assert!(ports.starts_with("8080/tcp -> 127.0.0.1:"), "{ports}");
    let mounts = api
        .store
        .ok(&["exec", "rrun-detached", "grep", "/scratch", "/proc/mounts"]);
    assert!(mounts.contains("tmpfs"), "{mounts}");

    // create: made, not started; the ID printed.
    let cid = ok(remote(&api).args(["create", "--name", "rrun-created", &api.image, "true"]));
    assert_eq!(inspect(&api, "rrun-created", "{{.Id}}"), cid.trim());
    assert_eq!(
        inspect(&api, "rrun-created", "{{.State.Status}}"),
        "created"
    );

    // A flag the SpecGenerator cannot carry is refused by name; nothing
    // is made.
    let o = remote(&api)
        .args([
            "create",
            "--name",
            "rrun-refused",
            "--device",
            "/dev/null",
            &api.image,
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(125), "{}", stderr(&o));
    assert!(stderr(&o).contains("--device"), "{}", stderr(&o));
    let all = api.store.ok(&["ps", "-a", "--format", "{{.Names}}"]);
    assert!(!all.contains("rrun-refused"), "{all}");

    // --replace takes the name over.
    ok(remote(&api).args([
        "create",
        "--replace",
        "--name",
        "rrun-created",
        &api.image,
        "true",
    ]));
    assert_ne!(inspect(&api, "rrun-created", "{{.Id}}"), cid.trim());
    api.store
        .ok(&["rm", "-f", "-t", "0", "rrun-detached", "rrun-created"]);
}

fn run_output(api: &Api, args: &[&str], input: Option<&str>) -> Output {
    let mut c = remote(api);
    c.arg("run").args(args);
    c.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    if let Some(text) = input {
        let mut w = child.stdin.take().unwrap();
        w.write_all(text.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

#[test]
fn foreground_run_streams_and_exits_with_the_code() {
    let api = Api::start();
    let o = run_output(
        &api,
        &[
            "--rm",
            "--name",
            "rrun-fg",
            &api.image,
            "sh",
            "-c",
            "echo to-out; echo to-err >&2; exit 3",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_eq!(stdout(&o), "to-out\n");
    assert_eq!(stderr(&o), "to-err\n");
    // --rm: gone by the time run returns.
    assert_eq!(api.store.ok(&["ps", "-aq"]), "");

    // Kept without --rm, exit 0.
    let o = run_output(
        &api,
        &["--name", "rrun-kept", &api.image, "echo", "kept"],
        None,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "kept\n");
    assert_eq!(inspect(&api, "rrun-kept", "{{.State.Status}}"), "exited");

    // -i: our stdin reaches the container, its end is the container's EOF.
    let o = run_output(
        &api,
        &["-i", "--rm", &api.image, "sh", "-c", "cat; echo done"],
        Some("line one\nline two\n"),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "line one\nline two\ndone\n");

    // -t: one raw stream, with the terminal's line endings.
    let o = run_output(&api, &["-t", "--rm", &api.image, "echo", "tty"], None);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "tty\r\n");

    // A missing image is pulled by the service (a new tag in its registry).
    let o = run_output(
        &api,
        &["--rm", "--pull", "always", "-q", &api.image, "true"],
        None,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    api.store.ok(&["rm", "rrun-kept"]);
}
