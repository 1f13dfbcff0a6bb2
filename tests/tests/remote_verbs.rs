//! The small remote verbs against a real `podman system service`: each
//! acts on the service's store, and prints what the local command prints
//! for the same store.

use std::process::Command;

use e2e::api_service::Api;
use e2e::podman::{stderr, stdout};

fn remote(api: &Api, args: &[&str]) -> std::process::Output {
    Command::new(e2e::binaries::bin("podman"))
        .env_remove("CONTAINER_HOST")
        .env_remove("CONTAINER_CONNECTION")
        .args(["--url", &api.docker_host()])
        .args(args)
        .output()
        .unwrap()
}

fn ok(api: &Api, args: &[&str]) -> String {
    let o = remote(api, args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    stdout(&o)
}

/// The remote and the local command print the same.
fn same(api: &Api, args: &[&str]) -> String {
    let here = api.store.ok(args);
    assert_eq!(ok(api, args), here, "{args:?}");
    here
}

fn state(api: &Api, name: &str) -> String {
    api.store
        .ok(&["inspect", "--format", "{{.State.Status}}", name])
        .trim()
        .to_string()
}

#[test]
fn container_verbs_act_on_the_service() {
    let api = Api::start();
    api.store.ok(&[
        "run", "-d", "--name", "rverb-ex", &api.image, "sh", "-c", "exit 5",
    ]);
    assert_eq!(ok(&api, &["wait", "rverb-ex"]), "5\n");
    let o = remote(&api, &["wait", "rverb-nosuch"]);
    assert_eq!(o.status.code(), Some(125), "{}", stderr(&o));
    assert_eq!(ok(&api, &["wait", "--ignore", "rverb-nosuch"]), "-1\n");

    api.store.ok(&[
        "run", "-d", "--name", "rverb-up", &api.image, "sleep", "300",
    ]);
    assert_eq!(ok(&api, &["pause", "rverb-up"]), "rverb-up\n");
    assert_eq!(state(&api, "rverb-up"), "paused");
    assert_eq!(ok(&api, &["unpause", "rverb-up"]), "rverb-up\n");
    assert_eq!(state(&api, "rverb-up"), "running");
    let before = api
        .store
        .ok(&["inspect", "--format", "{{.State.StartedAt}}", "rverb-up"]);
    assert_eq!(ok(&api, &["restart", "-t", "0", "rverb-up"]), "rverb-up\n");
    assert_eq!(state(&api, "rverb-up"), "running");
    let after = api
        .store
        .ok(&["inspect", "--format", "{{.State.StartedAt}}", "rverb-up"]);
    assert_ne!(before, after);
    api.store
        .ok(&["rm", "-f", "-t", "0", "rverb-up", "rverb-ex"]);
}

#[test]
fn image_verbs_print_as_locally() {
    let api = Api::start();
    same(&api, &["image", "inspect", &api.image]);
    same(
        &api,
        &[
            "image",
            "inspect",
            "--format",
            "{{.Id}} {{.RepoTags}}",
            &api.image,
        ],
    );
    assert_eq!(ok(&api, &["tag", &api.image, "rverb-tagged:v1"]), "");
    let tags = api
        .store
        .ok(&["image", "inspect", "--format", "{{.RepoTags}}", &api.image]);
    assert!(tags.contains("localhost/rverb-tagged:v1"), "{tags}");
    assert_eq!(
        ok(&api, &["rmi", "rverb-tagged:v1"]),
        "Untagged: localhost/rverb-tagged:v1\n"
    );
    let o = remote(&api, &["rmi", "rverb-tagged:v1"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(ok(&api, &["rmi", "-i", "rverb-tagged:v1"]).is_empty());
    let o = remote(&api, &["image", "inspect", "rverb-nosuch"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).contains("rverb-nosuch: image not known"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn networks_and_volumes_print_as_locally() {
    let api = Api::start();
    assert_eq!(
        ok(
            &api,
            &[
                "network",
                "create",
                "--subnet",
                "10.213.77.0/24",
                "--label",
                "rv=1",
                "rverb-net"
            ]
        ),
        "rverb-net\n"
    );
    same(&api, &["network", "inspect", "rverb-net"]);
    same(
        &api,
        &[
            "network",
            "inspect",
            "--format",
            "{{.Name}} {{.Subnets}}",
            "rverb-net",
        ],
    );
    same(&api, &["network", "ls", "--filter", "name=rverb-net"]);
    same(
        &api,
        &[
            "network",
            "ls",
            "--format",
            "json",
            "--filter",
            "name=rverb-net",
        ],
    );
    let o = remote(&api, &["network", "create", "rverb-net"]);
    assert_eq!(o.status.code(), Some(125), "{}", stderr(&o));
    assert_eq!(
        ok(&api, &["network", "create", "--ignore", "rverb-net"]),
        "rverb-net\n"
    );
    assert_eq!(ok(&api, &["network", "rm", "rverb-net"]), "rverb-net\n");
    assert!(api
        .store
        .ok(&["network", "ls", "-q", "--filter", "name=rverb-net"])
        .is_empty());

    assert_eq!(
        ok(&api, &["volume", "create", "--label", "rv=2", "rverb-vol"]),
        "rverb-vol\n"
    );
    same(&api, &["volume", "inspect", "rverb-vol"]);
    same(&api, &["volume", "ls"]);
    same(&api, &["volume", "ls", "--format", "json"]);
    same(
        &api,
        &[
            "volume",
            "ls",
            "--format",
            "{{.Name}} {{.Labels}}",
            "--filter",
            "label=rv",
        ],
    );
    assert_eq!(ok(&api, &["volume", "rm", "rverb-vol"]), "rverb-vol\n");
    let o = remote(&api, &["volume", "rm", "rverb-vol"]);
    assert!(!o.status.success());
    assert!(ok(&api, &["volume", "rm", "-f", "rverb-vol"]).is_empty());
}
