//! `podman --remote exec` and `attach` against a real `podman system
//! service`: streams split as locally, stdin forwarded, exit codes kept.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use e2e::api_service::Api;
use e2e::podman::{stderr, stdout};

fn remote(api: &Api, args: &[&str], input: Option<&str>) -> Output {
    let mut c = Command::new(e2e::binaries::bin("podman"));
    c.env_remove("CONTAINER_HOST")
        .env_remove("CONTAINER_CONNECTION")
        .args(["--url", &api.docker_host()])
        .args(args)
        .stdin(if input.is_some() {
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

fn ok(o: Output) -> String {
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o)
}

#[test]
fn exec_streams_stdin_and_exit_codes() {
    let api = Api::start();
    api.store.ok(&[
        "run",
        "-d",
        "--name",
        "rexec-box",
        &api.image,
        "sleep",
        "300",
    ]);
    let o = remote(
        &api,
        &[
            "exec",
            "rexec-box",
            "sh",
            "-c",
            "echo to-out; echo to-err >&2; exit 4",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert_eq!(
        (stdout(&o).as_str(), stderr(&o).as_str()),
        ("to-out\n", "to-err\n")
    );

    let got = ok(remote(
        &api,
        &["exec", "-i", "rexec-box", "sh", "-c", "cat; echo end"],
        Some("from stdin\n"),
    ));
    assert_eq!(got, "from stdin\nend\n");
    let got = ok(remote(
        &api,
        &[
            "exec",
            "-e",
            "REXEC_K=v1",
            "-w",
            "/tmp",
            "-u",
            "1234",
            "rexec-box",
            "sh",
            "-c",
            "echo $REXEC_K $(pwd) $(id -u)",
        ],
        None,
    ));
    assert_eq!(got, "v1 /tmp 1234\n");
    assert_eq!(
        ok(remote(
            &api,
            &["exec", "-t", "rexec-box", "echo", "tty"],
            None
        )),
        "tty\r\n"
    );
    // A command that is not there (127) or not executable (126): the
    // runtime's message and the code, as the local exec prints them. Under
    // -t the service has one stream, so the message comes on it (stdout),
    // as from Podman's service.
    for (args, code) in [
        (&["exec", "rexec-box", "/no/such/cmd"][..], 127),
        (
            &["exec", "-i", "rexec-box", "no-such-cmd-anywhere"][..],
            127,
        ),
        (&["exec", "-t", "rexec-box", "/no/such/cmd"][..], 127),
        (&["exec", "rexec-box", "/etc/passwd"][..], 126),
    ] {
        let o = remote(&api, args, None);
        let local = api.store.run(args);
        assert_eq!(local.status.code(), Some(code), "{}", stderr(&local));
        assert!(stderr(&local).starts_with("Error: "), "{}", stderr(&local));
        assert_eq!(o.status.code(), Some(code), "{args:?}: {}", stderr(&o));
        let (msg, other) = if args.contains(&"-t") {
            (stdout(&o), stderr(&o))
        } else {
            (stderr(&o), stdout(&o))
        };
        assert_eq!(msg, stderr(&local), "{args:?}");
        assert_eq!(other, "", "{args:?}");
    }

    // -d prints the session's ID and leaves it running.
    let id = ok(remote(
        &api,
        &["exec", "-d", "rexec-box", "touch", "/tmp/rexec-mark"],
        None,
    ));
    assert_eq!(id.trim().len(), 64, "{id}");
    e2e::poll::until(
        std::time::Duration::from_secs(20),
        "the detached exec",
        || {
            api.store
                .run(&["exec", "rexec-box", "test", "-e", "/tmp/rexec-mark"])
                .status
                .success()
        },
    );

    api.store.ok(&["stop", "-t", "0", "rexec-box"]);
    let o = remote(&api, &["exec", "rexec-box", "true"], None);
    assert_eq!(o.status.code(), Some(125), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("container state improper"),
        "{}",
        stderr(&o)
    );
    api.store.ok(&["rm", "rexec-box"]);
}

#[test]
fn attach_forwards_stdin_and_exits_with_the_code() {
    let api = Api::start();
    api.store.ok(&[
        "run",
        "-d",
        "-i",
        "--name",
        "rattach-box",
        &api.image,
        "sh",
        "-c",
        "read x; echo got $x; echo bye >&2; exit 7",
    ]);
    let o = remote(&api, &["attach", "rattach-box"], Some("hello\n"));
    assert_eq!(o.status.code(), Some(7), "{}", stderr(&o));
    assert_eq!(
        (stdout(&o).as_str(), stderr(&o).as_str()),
        ("got hello\n", "bye\n")
    );
    let o = remote(&api, &["attach", "rattach-box"], None);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).contains("only attach to running"),
        "{}",
        stderr(&o)
    );
    api.store.ok(&["rm", "rattach-box"]);
}
