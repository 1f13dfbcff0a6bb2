//! The remote client (`--url`, `--connection`, `CONTAINER_HOST`, `-r`)
//! against a real `podman system service`, and `system connection` /
//! `context` editing Podman's podman-connections.json.

use std::process::{Command, Output};
use std::time::Duration;

use e2e::api_service::Api;
use e2e::podman::{stderr, stdout};

/// podman with its connections file in `dir`, nothing else of a store.
fn client(conns: &std::path::Path) -> Command {
    let mut c = Command::new(e2e::binaries::bin("podman"));
    c.env("PODMAN_CONNECTIONS_CONF", conns)
        .env_remove("CONTAINER_HOST")
        .env_remove("CONTAINER_CONNECTION");
    c
}

fn ok(c: &mut Command) -> String {
    let o = c.output().unwrap();
    assert!(o.status.success(), "{c:?}: {}", stderr(&o));
    stdout(&o)
}

fn failed(c: &mut Command) -> (Option<i32>, String) {
    let o: Output = c.output().unwrap();
    assert!(!o.status.success(), "{c:?} should fail: {}", stdout(&o));
    (o.status.code(), stderr(&o))
}

#[test]
fn url_env_and_named_connections_reach_the_service() {
    let api = Api::start();
    let d = tempfile::tempdir().unwrap();
    let conns = d.path().join("podman-connections.json");
    let url = api.docker_host();
    let graph = api.store.root().display().to_string();

    let info = ok(client(&conns).args([
        "--url",
        &url,
        "info",
        "--format",
        "{{.Host.RemoteSocket.Path}} {{.Store.GraphRoot}}",
    ]));
    assert_eq!(info.trim(), format!("{url} {graph}"));
    let via_env = ok(client(&conns).env("CONTAINER_HOST", &url).args([
        "info",
        "--format",
        "{{.Store.GraphRoot}}",
    ]));
    assert_eq!(via_env.trim(), graph);

    // A container made through the local CLI, seen and driven remotely.
    let id = api.store.ok(&[
        "run",
        "-d",
        "--name",
        "rc1",
        &api.image,
        "sh",
        "-c",
        "echo to-out; echo to-err >&2; trap 'exit 0' TERM; while :; do sleep 0.1; done",
    ]);
    let id = id.trim();
    ok(client(&conns).args(["system", "connection", "add", "svc", &url]));
    let ps = ok(client(&conns).args(["-r", "ps", "--format", "{{.ID}} {{.Names}} {{.State}}"]));
    assert_eq!(ps.trim(), format!("{} rc1 running", &id[..12]));
    e2e::poll::until(Duration::from_secs(10), "the container's output", || {
        api.store.ok(&["logs", "rc1"]).contains("to-out")
    });
    let o = client(&conns)
        .args(["--connection", "svc", "logs", "rc1"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        (stdout(&o).as_str(), stderr(&o).as_str()),
        ("to-out\n", "to-err\n")
    );
    let state = ok(client(&conns).args([
        "--connection",
        "svc",
        "container",
        "inspect",
        "--format",
        "{{.State.Status}}",
        "rc1",
    ]));
    assert_eq!(state.trim(), "running");
    assert_eq!(
        ok(client(&conns).args(["-r", "stop", "-t", "0", "rc1"])).trim(),
        "rc1"
    );
    assert_eq!(
        api.store
            .ok(&["inspect", "--format", "{{.State.Status}}", "rc1"])
            .trim(),
        "exited"
    );
    assert_eq!(ok(client(&conns).args(["-r", "rm", "rc1"])).trim(), "rc1");
    assert_eq!(api.store.ok(&["ps", "-aq"]), "");
    let (code, err) = failed(client(&conns).args(["-r", "rm", "rc1"]));
    assert_eq!(code, Some(125));
    assert!(err.contains("rc1"), "{err}");
    assert!(ok(client(&conns).args(["-r", "rm", "--ignore", "rc1"])).is_empty());

    // A pull into the service's store prints the image's ID; a missing tag
    // is the service's error, exit 125.
    let pulled = ok(client(&conns).args(["-r", "pull", "-q", &api.image]));
    let id = api
        .store
        .ok(&["image", "inspect", "--format", "{{.Id}}", &api.image]);
    assert_eq!(pulled.trim(), id.trim());
    let missing = format!("{}-nosuchtag", api.image);
    let (code, err) = failed(client(&conns).args(["-r", "pull", "-q", &missing]));
    assert_eq!(code, Some(125));
    assert!(err.contains("nosuchtag"), "{err}");

    // The flag wins over the environment; a command without a remote form
    // yet is refused, not run against a local store.
    let (code, err) = failed(client(&conns).env("CONTAINER_CONNECTION", "nosuch").args([
        "--connection",
        "svc",
        "network",
        "prune",
        "--force",
    ]));
    assert_eq!(code, Some(125));
    assert!(
        err.contains("not available with the remote client"),
        "{err}"
    );
    let (_, err) = failed(
        client(&conns)
            .env("CONTAINER_CONNECTION", "nosuch")
            .args(["ps"]),
    );
    assert!(
        err.contains("cannot find system connection \"nosuch\""),
        "{err}"
    );
}

#[test]
fn connections_are_listed_defaulted_and_removed_as_podman_does() {
    let d = tempfile::tempdir().unwrap();
    let conns = d.path().join("podman-connections.json");
    let port = e2e::registry::free_port().unwrap();
    ok(client(&conns).args(["system", "connection", "ls"]));
    let empty = ok(client(&conns).args(["system", "connection", "ls"]));
    assert_eq!(
        empty,
        "Name        URI         Identity    Default     ReadWrite\n"
    );
    ok(client(&conns).args([
        "system",
        "connection",
        "add",
        "c1",
        &format!("tcp://localhost:{port}"),
    ]));
    ok(client(&conns).args([
        "context",
        "create",
        "--docker",
        "host=tcp://localhost:54321",
        "c2",
    ]));
    let ls = ok(client(&conns).args(["system", "connection", "ls"]));
    let rows: Vec<Vec<&str>> = ls.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(
        rows,
        [
            vec!["Name", "URI", "Identity", "Default", "ReadWrite"],
            vec!["c1", &format!("tcp://localhost:{port}"), "true", "true"],
            vec!["c2", "tcp://localhost:54321", "false", "true"],
        ]
    );
    ok(client(&conns).args(["context", "use", "c2"]));
    let ls = ok(client(&conns).args(["context", "ls", "--format", "{{.Name}}={{.Default}}"]));
    assert_eq!(ls, "c1=false\nc2=true\n");
    // Removing the default leaves none.
    ok(client(&conns).args(["system", "connection", "rm", "c2"]));
    let ls = ok(client(&conns).args([
        "system",
        "connection",
        "ls",
        "--format",
        "{{.Name}}={{.Default}}",
    ]));
    assert_eq!(ls, "c1=false\n");

    // Nothing listens on c1's port: Podman's words, exit 125.
    let (code, err) = failed(client(&conns).args(["--connection", "c1", "info"]));
    assert_eq!(code, Some(125));
    assert!(
        err.contains("Cannot connect to Podman. Please verify")
            && err.contains(&format!("dial tcp localhost:{port}"))
            && err.contains("connection refused"),
        "{err}"
    );
    // ssh is refused in one line; nothing is recorded.
    let (code, err) =
        failed(client(&conns).args(["system", "connection", "add", "s", "ssh://root@localhost"]));
    assert_eq!(code, Some(125));
    assert!(err.contains("ssh connections are not supported"), "{err}");
    // An empty TLS flag is the flag unset (upstream's tests pass them so).
    ok(client(&conns).args([
        "system",
        "connection",
        "add",
        "plain",
        "tcp://localhost:1",
        "--tls-ca=",
        "--tls-cert=",
        "--tls-key=",
    ]));
    let ls = ok(client(&conns).args([
        "system",
        "connection",
        "ls",
        "--format",
        "{{.Name}}={{.URI}}",
    ]));
    assert!(ls.contains("plain=tcp://localhost:1\n"), "{ls}");
    ok(client(&conns).args(["system", "connection", "rm", "--all"]));
    assert_eq!(
        ok(client(&conns).args(["system", "connection", "ls", "-q"])),
        ""
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&conns).unwrap().permissions().mode() & 0o777,
        0o600
    );
}
