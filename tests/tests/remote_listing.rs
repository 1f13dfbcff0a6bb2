//! `podman --remote images`, `port`, `top` and `system info` print what the local commands print
//! for the same store (the service's answers go through the local report).

use std::process::{Command, Output, Stdio};

use e2e::api_service::Api;
use e2e::podman::{stderr, stdout};

fn remote(api: &Api, args: &[&str]) -> Output {
    Command::new(e2e::binaries::bin("podman"))
        .env_remove("CONTAINER_HOST")
        .env_remove("CONTAINER_CONNECTION")
        .args(["--url", &api.docker_host()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Both succeed with the same stdout, or both fail with the same code and
/// message. Human times ("3 seconds ago") can tick between the two reads:
/// a difference must hold over a few tries to count.
fn same(api: &Api, args: &[&str]) -> String {
    let mut tries = 0;
    loop {
        tries += 1;
        let r = remote(api, args);
        let l = api.store.run(args);
        if tries < 4 && stdout(&r) != stdout(&l) {
            continue;
        }
        assert_eq!(
            r.status.code(),
            l.status.code(),
            "{args:?}: remote {} / local {}",
            stderr(&r),
            stderr(&l)
        );
        assert_eq!(stdout(&r), stdout(&l), "{args:?}");
        if !l.status.success() {
            assert_eq!(stderr(&r), stderr(&l), "{args:?}");
        }
        return stdout(&l);
    }
}

#[test]
fn remote_images_print_as_local() {
    let api = Api::start();
    api.store
        .ok(&["tag", &api.image, "localhost/rlist-tagged:v1"]);
    api.store
        .ok(&["create", "--name", "rlist-user", &api.image, "true"]);
    let table = same(&api, &["images"]);
    assert!(table.starts_with("REPOSITORY"), "{table}");
    assert!(table.contains("localhost/rlist-tagged"), "{table}");
    for args in [
        &["images", "-q"][..],
        &["images", "--no-trunc"],
        &["images", "--digests"],
        &["images", "-a", "--noheading"],
        &["image", "ls", "--sort", "repository"],
        &[
            "images",
            "--format",
            "{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}",
        ],
        &["images", "--filter", "reference=*rlist*"],
        &["images", "--filter", "containers=true", "-q"],
        &["images", "--filter", "containers=rlist-user", "-q"],
        &["images", "--filter", "dangling=true"],
        &["images", "localhost/rlist-tagged"],
        &["images", "--filter", "nonsense=1"],
    ] {
        same(&api, args);
    }
    let q = same(&api, &["images", "--filter", "containers=true", "-q"]);
    assert_eq!(q.lines().count(), 1, "{q}");
    api.store.ok(&["rm", "rlist-user"]);
}

#[test]
fn remote_port_prints_as_local() {
    let api = Api::start();
    api.store.ok(&[
        "run",
        "-d",
        "--name",
        "rlist-ports",
        "-p",
        "127.0.0.1::8080",
        "-p",
        "127.0.0.1::9090/udp",
        &api.image,
        "sleep",
        "300",
    ]);
    let all = same(&api, &["port", "rlist-ports"]);
    assert_eq!(all.lines().count(), 2, "{all}");
    assert!(all.contains("8080/tcp -> 127.0.0.1:"), "{all}");
    same(&api, &["port", "rlist-ports", "8080"]);
    same(&api, &["port", "rlist-ports", "9090/udp"]);
    same(&api, &["port", "--all"]);
    // Podman's error and code for a port it does not publish, or no such
    // container.
    same(&api, &["port", "rlist-ports", "7777"]);
    let r = remote(&api, &["port", "rlist-none"]);
    assert_eq!(r.status.code(), Some(125), "{}", stderr(&r));
    assert!(stderr(&r).contains("no such container"), "{}", stderr(&r));
    api.store.ok(&["rm", "-f", "-t", "0", "rlist-ports"]);
}

#[test]
fn remote_top_and_system_info_print_as_local() {
    let api = Api::start();
    api.store.ok(&[
        "run",
        "-d",
        "--name",
        "rlist-top",
        "--user",
        "1234",
        &api.image,
        "sh",
        "-c",
        "sleep 300 & sleep 301",
    ]);
    // Columns that do not change between two reads.
    for args in [
        &["top", "rlist-top", "pid,ppid,user,comm,args"][..],
        &["top", "rlist-top", "pid", "args", "uid"],
        &["top", "rlist-top", "nonsense"],
    ] {
        same(&api, args);
    }
    // ps(1)'s options (the service runs ps too): the same lines but ps's
    // own, whose PID differs between the two runs.
    let ps_args = ["container", "top", "rlist-top", "-eo", "pid,comm"];
    let without_ps = |o: &Output| -> Vec<String> {
        assert!(o.status.success(), "{}", stderr(o));
        stdout(o)
            .lines()
            .filter(|l| !l.ends_with(" ps"))
            .map(str::to_string)
            .collect()
    };
    let r = without_ps(&remote(&api, &ps_args));
    assert_eq!(r, without_ps(&api.store.run(&ps_args)));
    assert_eq!(r.len(), 3, "{r:?}");
    let t = same(&api, &["top", "rlist-top", "user,args"]);
    assert!(t.contains("sleep 301"), "{t}");
    assert!(t.starts_with("USER"), "{t}");
    // The default descriptors give the same columns.
    let r = remote(&api, &["top", "rlist-top"]);
    let l = api.store.run(&["top", "rlist-top"]);
    // (Column widths follow the changing cells: compare the words.)
    let words = |o: &Output| -> Vec<String> {
        stdout(o)
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    assert_eq!(words(&r), words(&l), "{}", stderr(&r));
    assert_eq!(stdout(&r).lines().count(), stdout(&l).lines().count());
    api.store.ok(&["rm", "-f", "-t", "0", "rlist-top"]);

    same(
        &api,
        &["system", "info", "--format", "{{.Store.GraphDriverName}}"],
    );
    let r = remote(
        &api,
        &["system", "info", "--format", "{{.Host.OCIRuntime.Name}}"],
    );
    assert_eq!(stdout(&r), "runc\n", "{}", stderr(&r));
}

#[test]
fn remote_pod_verbs_print_as_local() {
    let api = Api::start();
    let pod = api
        .store
        .ok(&["pod", "create", "--name", "rlist-pod", "--label", "k=v"]);
    let pod = pod.trim();
    api.store.ok(&[
        "create",
        "--pod",
        "rlist-pod",
        "--name",
        "rlist-in-pod",
        &api.image,
        "sleep",
        "300",
    ]);
    api.store
        .ok(&["pod", "create", "--name", "rlist-pod2", "--infra=false"]);
    for args in [
        &["pod", "ps"][..],
        &["pod", "ps", "--no-trunc", "--ctr-names", "--ctr-status"],
        &["pod", "ls", "-q", "--sort", "name"],
        &[
            "pod",
            "ps",
            "--filter",
            "label=k=v",
            "--format",
            "{{.Name}} {{.Labels}}",
        ],
        &["pod", "ps", "--filter", "ctr-names=rlist-in", "--ctr-ids"],
        &["pod", "ps", "--format", "json"],
        &["pod", "ps", "--filter", "bogus=1"],
        &["pod", "exists", "rlist-pod"],
        &["pod", "exists", "rlist-nopod"],
        &["pod", "rm", "rlist-nopod"],
        &["pod", "start", "rlist-nopod"],
    ] {
        same(&api, args);
    }
    // Podman's FilterID: hex is an ID prefix, anything else a regex.
    let by_id = same(
        &api,
        &["pod", "ps", "-q", "--filter", &format!("id={}", &pod[..4])],
    );
    assert_eq!(by_id, format!("{}\n", &pod[..12]));
    let by_re = same(
        &api,
        &[
            "pod",
            "ps",
            "-q",
            "--filter",
            &format!("id=^{}.*", &pod[..2]),
        ],
    );
    assert!(by_re.contains(&pod[..12]), "{by_re}");
    // State changes through the service, seen by both.
    let r = remote(&api, &["pod", "start", "rlist-pod"]);
    assert_eq!(stdout(&r), format!("{pod}\n"), "{}", stderr(&r));
    let ps = same(
        &api,
        &[
            "pod",
            "ps",
            "--format",
            "{{.Name}} {{.Status}}",
            "--sort",
            "name",
        ],
    );
    assert_eq!(ps, "rlist-pod Running\nrlist-pod2 Created\n");
    let r = remote(&api, &["pod", "stop", "-t", "0", "rlist-pod"]);
    assert_eq!(stdout(&r), format!("{pod}\n"), "{}", stderr(&r));
    same(&api, &["container", "exists", "rlist-in-pod"]);
    let gone = same(&api, &["container", "exists", "rlist-nothing"]);
    assert_eq!(gone, "");
    assert_eq!(
        remote(&api, &["container", "exists", "rlist-nothing"])
            .status
            .code(),
        Some(1)
    );
    // What every upstream system test's teardown runs.
    let r = remote(
        &api,
        &["pod", "rm", "-t", "0", "--all", "--force", "--ignore"],
    );
    assert!(r.status.success(), "{}", stderr(&r));
    assert!(stdout(&r).lines().any(|l| l == pod), "{}", stdout(&r));
    assert_eq!(stdout(&r).lines().count(), 2, "{}", stdout(&r));
    assert_eq!(same(&api, &["pod", "ps", "-q"]), "");
}
