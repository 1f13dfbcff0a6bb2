//! `podman secret` and `run --secret`: the file driver's store (private
//! to root), its commands' output as Podman 5's, and secrets reaching a
//! real container as read-only files or environment variables.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;

use e2e::podman::{refused, refused_leaving_nothing, stderr, TestStore};

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn secret_commands_keep_secrets_private_and_answer_as_podman() {
    let s = TestStore::new();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pw");
    std::fs::write(&file, "hunter2").unwrap();
    let id = s
        .ok(&[
            "secret",
            "create",
            "-l",
            "k=v",
            "one",
            file.to_str().unwrap(),
        ])
        .trim()
        .to_string();
    assert_eq!(id.len(), 25, "{id}");
    // From standard input and from an environment variable.
    let mut c = s.cmd();
    c.args(["secret", "create", "two", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let mut child = c.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"from-stdin")
        .unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
    let o = s
        .cmd()
        .args(["secret", "create", "--env", "three", "MY_SECRET_VAR"])
        .env("MY_SECRET_VAR", "from-env")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    refused(
        &s,
        &["secret", "create", "--env", "four", "UNSET_SECRET_VAR_X"],
        "environment variable UNSET_SECRET_VAR_X is not set",
    );

    // Nobody but root can read the store.
    let root = s.root().join("secrets");
    assert_eq!(mode(&root), 0o700);
    assert_eq!(mode(&root.join("secrets.json")), 0o600);
    assert_eq!(mode(&root.join("filedriver")), 0o700);
    assert_eq!(mode(&root.join("filedriver/secretsdata.json")), 0o600);
    let records = std::fs::read_to_string(root.join("secrets.json")).unwrap();
    assert!(!records.contains("hunter2"), "{records}");

    let ls = s.ok(&["secret", "ls"]);
    let mut lines = ls.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["ID", "NAME", "DRIVER", "CREATED", "UPDATED"]);
    assert_eq!(lines.count(), 3, "{ls}");
    assert_eq!(
        s.ok(&["secret", "ls", "--filter", "name=^one$", "-q"])
            .trim(),
        id
    );
    assert_eq!(
        s.ok(&[
            "secret",
            "ls",
            "-q",
            "--format",
            "{{.Name}}",
            "--filter",
            "id=^"
        ])
        .lines()
        .collect::<Vec<_>>(),
        ["one", "two", "three"]
    );
    assert_eq!(s.ok(&["secret", "ls", "-n", "--filter", "name=zzz"]), "");
    refused(
        &s,
        &["secret", "ls", "--filter", "label=x"],
        "invalid filter",
    );

    let doc: serde_json::Value =
        serde_json::from_str(&s.ok(&["secret", "inspect", "one"])).unwrap();
    let d = &doc[0];
    assert_eq!(d["ID"], id.as_str());
    assert_eq!(d["Spec"]["Name"], "one");
    assert_eq!(d["Spec"]["Driver"]["Name"], "file");
    assert_eq!(d["Spec"]["Labels"]["k"], "v");
    assert!(d.get("SecretData").is_none());
    assert_eq!(
        s.ok(&[
            "secret",
            "inspect",
            "--showsecret",
            "--format",
            "{{.SecretData}}",
            &id[..8]
        ]),
        "hunter2\n"
    );
    assert!(s
        .ok(&["secret", "inspect", "--pretty", "one"])
        .contains("Name:              one"));
    let o = s.run(&["secret", "inspect", "one", "nope"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(stderr(&o)
        .contains("inspecting secret: no secret with name or id \"nope\": no such secret"));

    // Names in use, --replace (a new ID) and --ignore (the old one).
    refused(
        &s,
        &["secret", "create", "one", file.to_str().unwrap()],
        "one: secret name in use",
    );
    let replaced = s
        .ok(&[
            "secret",
            "create",
            "--replace",
            "one",
            file.to_str().unwrap(),
        ])
        .trim()
        .to_string();
    assert_ne!(replaced, id);
    let kept = s.ok(&[
        "secret",
        "create",
        "--ignore",
        "one",
        file.to_str().unwrap(),
    ]);
    assert_eq!(kept.trim(), replaced);
    refused(
        &s,
        &["secret", "create", "a/b", file.to_str().unwrap()],
        "invalid secret name",
    );
    refused(
        &s,
        &[
            "secret",
            "create",
            "--driver",
            "pass",
            "p",
            file.to_str().unwrap(),
        ],
        "use --driver file",
    );

    assert!(s.run(&["secret", "exists", "one"]).status.success());
    assert_eq!(s.run(&["secret", "exists", "nope"]).status.code(), Some(1));
    refused(
        &s,
        &["secret", "rm", "nope"],
        "no secret with name or id \"nope\": no such secret",
    );
    s.ok(&["secret", "rm", "--ignore", "nope"]);
    assert_eq!(s.ok(&["secret", "rm", "one"]).trim(), replaced);
    assert_eq!(s.ok(&["secret", "rm", "-a"]).lines().count(), 2);
    assert_eq!(s.ok(&["secret", "ls", "-q"]), "");
    let data = std::fs::read_to_string(root.join("filedriver/secretsdata.json")).unwrap();
    assert!(!data.contains("aHVudGVy"), "{data}");
}

#[test]
fn run_secret_as_files_and_environment() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pw");
    std::fs::write(&file, "hunter2").unwrap();
    s.ok(&["secret", "create", "pw", file.to_str().unwrap()]);

    let out = s.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--secret",
        "pw",
        "--secret",
        "pw,target=other,uid=12,gid=34,mode=0400",
        "--secret",
        "source=pw,target=/etc/pw.conf",
        "--secret",
        "pw,type=env,target=PASSWORD",
        &r,
        "sh",
        "-c",
        "cat /run/secrets/pw; echo; stat -c '%a %u %g' /run/secrets/pw /run/secrets/other; \
         cat /etc/pw.conf; echo; echo env=$PASSWORD; \
         echo x > /run/secrets/pw 2>/dev/null && echo writable || echo read-only",
    ]);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            "hunter2",
            "444 0 0",
            "400 12 34",
            "hunter2",
            "env=hunter2",
            "read-only"
        ],
        "{out}"
    );

    // The value of an env secret is hidden from inspect; exec sees it.
    s.ok(&[
        "run",
        "-d",
        "--name",
        "c",
        "--network",
        "none",
        "--secret",
        "pw,type=env",
        "--secret",
        "pw",
        &r,
        "sleep",
        "100",
    ]);
    let env = s.ok(&["inspect", "--format", "{{.Config.Env}}", "c"]);
    assert!(env.contains("pw=*******"), "{env}");
    assert!(!env.contains("hunter2"), "{env}");
    let secrets = s.ok(&[
        "inspect",
        "--format",
        "{{range .Config.Secrets}}{{.Name}} {{.Mode}}{{end}}",
        "c",
    ]);
    assert_eq!(secrets.trim(), "pw 292");
    assert_eq!(s.ok(&["exec", "c", "sh", "-c", "echo $pw"]), "hunter2\n");
    s.ok(&["rm", "-f", "-t", "0", "c"]);

    // A file secret is the container's own copy: it outlives the secret.
    s.ok(&[
        "create",
        "--name",
        "kept",
        "--network",
        "none",
        "--secret",
        "pw",
        &r,
        "cat",
        "/run/secrets/pw",
    ]);
    s.ok(&["secret", "rm", "pw"]);
    assert_eq!(s.ok(&["start", "-a", "kept"]), "hunter2");
    s.ok(&["rm", "kept"]);

    s.ok(&["secret", "create", "pw2", file.to_str().unwrap()]);
    refused_leaving_nothing(
        &s,
        &["create", "--secret", "missing", &r, "true"],
        "no secret with name or id \"missing\": no such secret",
    );
    refused_leaving_nothing(
        &s,
        &["create", "--secret", "pw2,type=env,mode=400", &r, "true"],
        "UID, GID, Mode options cannot be set with secret type env: parsing secret",
    );
    refused_leaving_nothing(
        &s,
        &["create", "--secret", "pw2,type=socket", &r, "true"],
        "type socket is invalid: parsing secret",
    );
}
