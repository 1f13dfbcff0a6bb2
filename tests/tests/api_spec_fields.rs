//! `POST /libpod/containers/create` refuses SpecGenerator fields it does not
//! build containers from (400, Podman's error body, the field named) and
//! accepts the zero values clients send for what they leave unset; the
//! real clients (Podman 4.3.1's remote client, our own) still create.

use std::process::{Command, Output, Stdio};

use e2e::api_service::Api;
use e2e::podman::{stderr, stdout};
use serde_json::{json, Value};

fn json_of(body: &[u8]) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(body)))
}

fn create(api: &Api, spec: &Value) -> (u16, Value) {
    let (code, body) = api.request(
        "POST",
        "/v5.4.0/libpod/containers/create",
        Some(spec.to_string().as_bytes()),
    );
    (code, json_of(&body))
}

fn names(api: &Api) -> Vec<String> {
    let (code, body) = api.request("GET", "/v5.4.0/libpod/containers/json?all=true", None);
    assert_eq!(code, 200);
    json_of(&body)
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["Names"][0].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Debian's podman 4.3.1 as a remote client of this service.
fn podman431(api: &Api, args: &[&str]) -> Output {
    Command::new("/usr/bin/podman")
        .env_remove("CONTAINER_HOST")
        .env_remove("CONTAINER_CONNECTION")
        .env_remove("CONTAINERS_CONF")
        .arg("--url")
        .arg(api.docker_host())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("/usr/bin/podman runs (apt-get install podman)")
}

fn ours(api: &Api, args: &[&str]) -> Output {
    Command::new(e2e::binaries::bin("podman"))
        .env_remove("CONTAINER_HOST")
        .env_remove("CONTAINER_CONNECTION")
        .arg("--url")
        .arg(api.docker_host())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn unsupported_spec_fields_are_refused_by_name() {
    let api = Api::start();
    // A field this service does not build from, with a value: refused,
    // nothing made.
    let (code, err) = create(
        &api,
        &json!({"name": "sf-dev", "image": api.image, "devices": [{"path": "/dev/fuse"}]}),
    );
    assert_eq!(code, 400, "{err}");
    assert_eq!(err["response"], 400);
    assert_eq!(
        err["message"],
        "SpecGenerator field devices is not supported by podman-rs: leave it unset"
    );
    assert!(err["cause"].is_string(), "{err}");
    // Nested ones are named by their path; a field libpod does not know
    // either is refused the same way.
    let (code, err) = create(
        &api,
        &json!({"name": "sf-nested", "image": api.image,
            "resource_limits": {"memory": {"limit": 8388608}, "cpu": {"realtimePeriod": 1000}},
            "no_such_field": "x"}),
    );
    assert_eq!(code, 400, "{err}");
    assert_eq!(
        err["message"],
        "SpecGenerator fields no_such_field, resource_limits.cpu.realtimePeriod are not \
         supported by podman-rs: leave them unset"
    );
    assert!(
        !names(&api).iter().any(|n| n.starts_with("sf-")),
        "a refused create leaves nothing"
    );
    // Zero values ask for nothing: accepted, as Go clients send whole structs.
    let (code, body) = create(
        &api,
        &json!({"name": "sf-zero", "image": api.image, "command": ["true"],
            "devices": [], "systemd": "", "secrets": null, "env_host": false,
            "resource_limits": {"memory": {"limit": 8388608, "kernel": 0}, "cpu": {}},
            "privileged": false}),
    );
    assert_eq!(code, 201, "{body}");
    let (code, body) = api.request("GET", "/v5.4.0/libpod/containers/sf-zero/json", None);
    assert_eq!(code, 200);
    assert_eq!(
        json_of(&body)["HostConfig"]["Memory"],
        8388608,
        "the supported field beside the zero ones is applied"
    );
    // A type error in a known field is a decode error, not a silent default.
    let (code, err) = create(
        &api,
        &json!({"name": "sf-type", "image": api.image, "terminal": "yes"}),
    );
    assert_eq!(code, 400, "{err}");
    assert!(
        err["message"].as_str().unwrap().starts_with("Decode(): "),
        "{err}"
    );
}

#[test]
fn real_remote_clients_still_create() {
    let api = Api::start();
    // Podman 4.3.1's remote client sends its SpecGenerator whole (its
    // `run` then reads the container with Podman 4's inspect shape, which
    // Podman 5's answers no longer fit: create, then start here).
    let o = podman431(
        &api,
        &[
            "create", "--name", "sf-431", "-e", "SF=7", "--label", "sf=yes", &api.image, "sh",
            "-c", "exit $SF",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let (code, body) = api.request("GET", "/v5.4.0/libpod/containers/sf-431/json", None);
    assert_eq!(code, 200);
    assert_eq!(json_of(&body)["Config"]["Labels"]["sf"], "yes");
    assert_eq!(json_of(&body)["Id"], stdout(&o).trim());
    let (code, _) = api.request("POST", "/v5.4.0/libpod/containers/sf-431/start", None);
    assert_eq!(code, 204);
    let (code, body) = api.request("POST", "/v5.4.0/libpod/containers/sf-431/wait", None);
    assert_eq!((code, json_of(&body)), (200, json!(7)));
    let (code, _) = api.request("DELETE", "/v5.4.0/libpod/containers/sf-431", None);
    assert_eq!(code, 200);
    // What it cannot have is refused by name, with its exit code.
    let o = podman431(
        &api,
        &[
            "create",
            "--device",
            "/dev/null",
            "--name",
            "sf-431-dev",
            &api.image,
        ],
    );
    assert_eq!(o.status.code(), Some(125), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("SpecGenerator field devices is not supported"),
        "{}",
        stderr(&o)
    );
    // Our own remote client.
    let o = ours(
        &api,
        &[
            "run", "--rm", "--name", "sf-ours", &api.image, "echo", "ours",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "ours\n");
    // Flags the SpecGenerator carries now reach the container.
    let o = ours(
        &api,
        &[
            "create",
            "--name",
            "sf-flags",
            "--systemd=always",
            "--passwd=false",
            "--image-volume=ignore",
            "--seccomp-policy=default",
            &api.image,
            "true",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let (code, body) = api.request("GET", "/v5.4.0/libpod/containers/sf-flags/json", None);
    assert_eq!(code, 200);
    assert_eq!(json_of(&body)["Config"]["SystemdMode"], true);
    let (code, _) = api.request("DELETE", "/v5.4.0/libpod/containers/sf-flags", None);
    assert_eq!(code, 200);
    // `--rm` removes it once it has exited (the service does, after the
    // client has its exit code).
    e2e::poll::until(
        std::time::Duration::from_secs(30),
        "the --rm container gone",
        || !names(&api).iter().any(|n| n.starts_with("sf-")),
    );
}
