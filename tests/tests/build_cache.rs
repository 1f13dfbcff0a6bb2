//! `podman build`'s layer cache and output options: an unchanged prefix is
//! reused (the same layers, proven by their IDs), a changed COPY source or
//! build argument rebuilds from that step, `--no-cache` and
//! `--layers=false`, `--squash-all`, `--format docker`, `--iidfile`, `-q`,
//! `-f -`, `--build-arg-file`, `--build-context`, `--pull=never`.

use std::io::Write;
use std::process::Stdio;

use e2e::build_files::{build, context, write};
use e2e::podman::{stderr, TestStore};

fn layers(s: &TestStore, image: &str) -> Vec<String> {
    s.ok(&[
        "image",
        "inspect",
        "--format",
        "{{range .RootFS.Layers}}{{.}} {{end}}",
        image,
    ])
    .split_whitespace()
    .map(String::from)
    .collect()
}

fn last_line(out: &str) -> String {
    out.lines().last().unwrap_or("").to_string()
}

#[test]
fn unchanged_prefix_is_reused_and_changes_rebuild() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    let ctx = tempfile::tempdir().unwrap();
    let c = ctx.path().to_str().unwrap();
    write(ctx.path(), "data", "one\n");
    write(
        ctx.path(),
        "Containerfile",
        &format!("FROM {r}\nARG V=1\nRUN echo first-$V > /first\nCOPY data /data\nRUN cat /data > /copy\nCMD [\"cat\", \"/copy\"]\n"),
    );
    let cold = build(&s, &["-t", "cache-cold", c]);
    assert!(!cold.contains("Using cache"), "{cold}");
    let warm = build(&s, &["-t", "cache-warm", c]);
    assert_eq!(warm.matches("--> Using cache").count(), 4, "{warm}");
    assert!(!warm.contains("first-1"), "a cached RUN ran again: {warm}");
    assert_eq!(last_line(&cold), last_line(&warm), "the same image");
    assert_eq!(layers(&s, "cache-cold"), layers(&s, "cache-warm"));

    // A changed COPY source: the steps before it are reused, it and the
    // rest are rebuilt; the RUN before keeps its layer.
    write(ctx.path(), "data", "two\n");
    let changed = build(&s, &["-t", "cache-changed", c]);
    assert_eq!(changed.matches("--> Using cache").count(), 1, "{changed}");
    let (l1, l3) = (layers(&s, "cache-cold"), layers(&s, "cache-changed"));
    assert_eq!(l1.len(), l3.len());
    assert_eq!(
        l1[..l1.len() - 2],
        l3[..l3.len() - 2],
        "shared prefix layers"
    );
    assert_ne!(l1.last(), l3.last());
    assert_eq!(s.ok(&["run", "--rm", "cache-changed"]), "two\n");

    // Another build argument: rebuilt from the first RUN on.
    let arg = build(&s, &["--build-arg", "V=2", "-t", "cache-arg", c]);
    assert!(!arg.contains("Using cache"), "{arg}");
    assert_eq!(
        s.ok(&["run", "--rm", "cache-arg", "cat", "/first"]),
        "first-2\n",
        "{arg}"
    );

    // --no-cache runs everything again.
    let nc = build(&s, &["--no-cache", "-t", "cache-none", c]);
    assert!(!nc.contains("Using cache"), "{nc}");
    assert_ne!(last_line(&nc), last_line(&changed));
}

#[test]
fn layers_false_squash_all_format_and_iidfile() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    let ctx = context(&format!(
        "FROM {r}\nRUN echo a > /a\nRUN echo b > /b\nHEALTHCHECK --interval=30s CMD true\n"
    ));
    let c = ctx.path().to_str().unwrap();
    let before = s.ok(&["images", "-a", "-q"]).lines().count();
    let iid = ctx.path().join("iid");
    let out = build(
        &s,
        &[
            "--layers=false",
            "--format",
            "docker",
            "--iidfile",
            iid.to_str().unwrap(),
            "-t",
            "nolayers",
            c,
        ],
    );
    assert_eq!(
        std::fs::read_to_string(&iid).unwrap(),
        format!("sha256:{}", last_line(&out))
    );
    assert_eq!(
        s.ok(&["images", "-a", "-q"]).lines().count(),
        before + 1,
        "--layers=false keeps only the result"
    );
    let base_layers = layers(&s, &r).len();
    assert_eq!(layers(&s, "nolayers").len(), base_layers + 2);
    let mt = s.ok(&[
        "image",
        "inspect",
        "--format",
        "{{.ManifestType}}",
        "nolayers",
    ]);
    assert!(mt.contains("docker"), "{mt}");
    let hc = s.ok(&[
        "image",
        "inspect",
        "--format",
        "{{json .Config}}",
        "nolayers",
    ]);
    assert!(hc.contains(r#""Test":["CMD-SHELL","true"]"#), "{hc}");

    let out = build(
        &s,
        &[
            "--squash-all",
            "--annotation",
            "org.example.note=squashed",
            "-t",
            "squashed",
            c,
        ],
    );
    assert_eq!(
        s.ok(&[
            "image",
            "inspect",
            "--format",
            "{{index .Annotations \"org.example.note\"}}",
            "squashed"
        ])
        .trim(),
        "squashed"
    );
    assert_eq!(layers(&s, "squashed").len(), 1, "{out}");
    assert_eq!(
        s.ok(&["run", "--rm", "squashed", "cat", "/a", "/b"]),
        "a\nb\n"
    );

    // -q prints the ID only.
    let q = build(&s, &["-q", "-t", "quiet", c]);
    assert_eq!(q.lines().count(), 1, "{q}");
    assert_eq!(q.trim().len(), 64);
}

#[test]
fn stdin_containerfile_arg_file_build_context_and_pull_never() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    let ctx = tempfile::tempdir().unwrap();
    let extra = tempfile::tempdir().unwrap();
    write(extra.path(), "from-extra", "extra\n");
    write(ctx.path(), "args", "# build args\nWHO=file\n");
    let mut child = s
        .cmd()
        .args([
            "build",
            "-t",
            "fromstdin",
            "--build-arg-file",
            ctx.path().join("args").to_str().unwrap(),
            "--build-context",
            &format!("more={}", extra.path().display()),
            "-f",
            "-",
            ctx.path().to_str().unwrap(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            format!("FROM {r}\nARG WHO\nCOPY --from=more from-extra /e\nRUN echo $WHO > /who\n")
                .as_bytes(),
        )
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        s.ok(&["run", "--rm", "fromstdin", "cat", "/e", "/who"]),
        "extra\nfile\n"
    );

    let o = s.run(&[
        "build",
        "--pull=never",
        "-f",
        "-",
        ctx.path().to_str().unwrap(),
    ]);
    // No stdin given: an empty Containerfile.
    assert_eq!(o.status.code(), Some(125));
    write(
        ctx.path(),
        "Containerfile",
        "FROM localhost/no-such-image\n",
    );
    let o = s.run(&["build", "--pull=never", ctx.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(125));
    assert!(stderr(&o).contains("no-such-image"), "{}", stderr(&o));
}

#[test]
fn cache_to_a_registry_is_reused_by_another_store_with_cache_from() {
    let (a, _reg, r) = e2e::podman::with_busybox();
    let repo = format!("{}/buildcache", r.split('/').next().unwrap());
    let ctx = tempfile::tempdir().unwrap();
    let c = ctx.path().to_str().unwrap();
    write(ctx.path(), "data", "cached\n");
    write(
        ctx.path(),
        "Containerfile",
        &format!("FROM {r}\nRUN echo ran-the-step | tee /ran\nCOPY data /data\nLABEL l=1\n"),
    );
    let first = build(&a, &["--tls-verify=false", "--cache-to", &repo, c]);
    assert!(first.contains("\nran-the-step\n"), "{first}");
    assert!(
        first.contains(&format!("--> Pushing cache {repo}:")),
        "{first}"
    );

    // Another store: every step comes from the registry, nothing runs,
    // and the result is the same image.
    let b = TestStore::new();
    b.ok(&["pull", "-q", "--tls-verify=false", &r]);
    let second = build(&b, &["--tls-verify=false", "--cache-from", &repo, c]);
    assert!(!second.contains("\nran-the-step\n"), "{second}");
    assert_eq!(
        second.matches("--> Cache pulled from remote").count(),
        3,
        "{second}"
    );
    assert_eq!(last_line(&first), last_line(&second));
    assert_eq!(
        b.ok(&["run", "--rm", &last_line(&second), "cat", "/ran", "/data"]),
        "ran-the-step\ncached\n"
    );
    // A changed step misses and is built.
    write(ctx.path(), "data", "changed\n");
    let third = build(&b, &["--tls-verify=false", "--cache-from", &repo, c]);
    assert_eq!(
        third.matches("--> Cache pulled from remote").count(),
        0,
        "{third}"
    );
    assert!(third.contains("--> Using cache"), "{third}");

    for (flag, value, needle) in [
        ("--cache-from", format!("{repo}:tag"), "without a tag"),
        ("--cache-to", "shortname".to_string(), "without a tag"),
    ] {
        let o = b.run(&["build", flag, &value, c]);
        assert_eq!(o.status.code(), Some(125));
        assert!(stderr(&o).contains(needle), "{}", stderr(&o));
    }
    let o = b.run(&["build", "--layers=false", "--cache-from", &repo, c]);
    assert_eq!(o.status.code(), Some(125));
    assert!(stderr(&o).contains("need --layers"), "{}", stderr(&o));
}

#[test]
fn squash_makes_the_new_layers_one_and_keeps_the_base_layers() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    let ctx = tempfile::tempdir().unwrap();
    let c = ctx.path().to_str().unwrap();
    write(ctx.path(), "data", "data\n");
    write(
        ctx.path(),
        "Containerfile",
        &format!("FROM {r}\nRUN echo a > /a && mkdir -p /etc/gone && rm -rf /etc/gone\nRUN rm /bin/true\nCOPY data /data\n"),
    );
    let base = layers(&s, &r);
    let plain = last_line(&build(&s, &["-q", c]));
    assert_eq!(layers(&s, &plain).len(), base.len() + 3);
    let squashed = last_line(&build(&s, &["-q", "--squash", "-t", "sq", c]));
    let got = layers(&s, &squashed);
    assert_eq!(got.len(), base.len() + 1, "{got:?}");
    assert_eq!(got[..base.len()], base[..]);
    // The one new layer holds the additions and the deletion of a base file.
    let seen = s.ok(&[
        "run",
        "--rm",
        "sq",
        "sh",
        "-c",
        "cat /a /data; test -e /bin/true && echo still-there || echo deleted",
    ]);
    assert_eq!(seen, "a\ndata\ndeleted\n");
    let o = s.run(&["build", "--squash", "--squash-all", c]);
    assert_eq!(o.status.code(), Some(125));
}
