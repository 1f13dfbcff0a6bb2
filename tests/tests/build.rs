//! `podman build` end to end (Podman's test/system/070): single- and
//! multi-stage builds from the busybox fixture image, the image config and
//! history they record, .containerignore, and the bad input: a syntax
//! error, an unknown instruction, a failing RUN (its code, no image, no
//! container left), a missing COPY source, context escapes, stage cycles.

use e2e::build_files::{context, write};
use e2e::podman::{stderr, stdout, TestStore};

fn fixture() -> (TestStore, e2e::registry::Registry, String) {
    e2e::podman::with_busybox()
}

/// Exit code and stderr of a podman command expected to fail.
fn fails(s: &TestStore, args: &[&str]) -> (i32, String) {
    let o = s.run(args);
    assert!(
        !o.status.success(),
        "podman {args:?} succeeded: {}",
        stdout(&o)
    );
    (o.status.code().unwrap_or(-1), stderr(&o))
}

fn inspect(s: &TestStore, image: &str, format: &str) -> String {
    s.ok(&["image", "inspect", "--format", format, image])
        .trim()
        .to_string()
}

fn containers(s: &TestStore) -> String {
    s.ok(&["ps", "-a", "-q"]).trim().to_string()
}

#[test]
fn single_stage_build_records_config_history_and_files() {
    let (s, _reg, r) = fixture();
    let ctx = tempfile::tempdir().unwrap();
    write(ctx.path(), "hello.txt", "hello from the context\n");
    write(ctx.path(), "dir/a", "a\n");
    write(ctx.path(), "dir/sub/b", "b\n");
    write(
        ctx.path(),
        "Containerfile",
        &format!(
            "# syntax=docker/dockerfile:1\nARG GREETING=hi\nFROM {r}\nARG GREETING\nENV WHO=world \\\n    PLACE=\"the ${{GREETING:-x}} place\"\nWORKDIR /app\nCOPY hello.txt ./\nCOPY --chmod=0600 dir /data/\nRUN echo \"$GREETING $WHO\" > /app/greeting && test \"$PLACE\" = \"the hello place\"\nRUN <<EOF\necho heredoc > /app/heredoc\nEOF\nLABEL version=\"1.0\" owner=me\nEXPOSE 8080/tcp\nUSER 0:0\nSTOPSIGNAL SIGTERM\nVOLUME /data\nENTRYPOINT [\"/bin/sh\", \"-c\"]\nCMD [\"cat /app/greeting\"]\n"
        ),
    );
    let o = s.run(&[
        "build",
        "-t",
        "built:one",
        "-t",
        "built:two",
        "--label",
        "from=cli",
        "--build-arg",
        "GREETING=hello",
        ctx.path().to_str().unwrap(),
    ]);
    let out = stdout(&o);
    assert!(o.status.success(), "build failed: {}\n{}", out, stderr(&o));
    assert!(out.starts_with(&format!("STEP 1/15: FROM {r}\n")), "{out}");
    assert!(out.contains("STEP 5/15: COPY hello.txt ./\n"), "{out}");
    assert!(out.contains("COMMIT built:one\n"), "{out}");
    assert!(
        out.contains(
            "Successfully tagged localhost/built:one\nSuccessfully tagged localhost/built:two\n"
        ),
        "{out}"
    );
    let id = out.lines().last().unwrap().to_string();
    assert_eq!(id.len(), 64, "{out}");
    assert_eq!(inspect(&s, "built:two", "{{.Id}}"), id);
    // The image runs with what the build recorded.
    assert_eq!(s.ok(&["run", "--rm", "built:one"]), "hello world\n");
    assert_eq!(
        s.ok(&[
            "run",
            "--rm",
            "built:one",
            "cat /app/hello.txt /app/heredoc /data/a /data/sub/b; stat -c %a /data/a; pwd"
        ]),
        "hello from the context\nheredoc\na\nb\n600\n/app\n"
    );
    assert_eq!(inspect(&s, "built:one", "{{.Config.WorkingDir}}"), "/app");
    assert_eq!(
        inspect(
            &s,
            "built:one",
            "{{index .Config.Labels \"version\"}} {{index .Config.Labels \"from\"}}"
        ),
        "1.0 cli"
    );
    assert!(inspect(&s, "built:one", "{{.Config.Env}}").contains("PLACE=the hello place"));
    assert!(inspect(&s, "built:one", "{{.Config.ExposedPorts}}").contains("8080/tcp"));
    assert_eq!(
        inspect(&s, "built:one", "{{.Config.StopSignal}}"),
        "SIGTERM"
    );
    // History: every instruction, newest first, config-only ones empty.
    let h = s.ok(&[
        "history",
        "--no-trunc",
        "--format",
        "{{.CreatedBy}}",
        "built:one",
    ]);
    assert!(
        h.lines()
            .next()
            .unwrap()
            .contains("CMD [\"cat /app/greeting\"]"),
        "{h}"
    );
    assert!(h.contains("COPY file:"), "{h}");
    assert!(h.contains("|1 GREETING=hello /bin/sh -c echo"), "{h}");
    // Nothing is left behind: no build container, no mount.
    assert_eq!(containers(&s), "");
}

#[test]
fn multi_stage_builds_only_needed_stages_and_copies_from_them() {
    let (s, _reg, r) = fixture();
    let ctx = tempfile::tempdir().unwrap();
    write(
        ctx.path(),
        "Containerfile",
        &format!(
            "FROM {r} AS builder\nRUN mkdir -p /out && echo built > /out/artifact\n\nFROM {r} AS unused\nRUN echo never-runs-marker\n\nFROM builder AS second\nRUN echo more >> /out/artifact\n\nFROM {r}\nCOPY --from=second /out/artifact /artifact\nCOPY --from=0 /out /out0\n"
        ),
    );
    let o = s.run(&["build", "-t", "multi", ctx.path().to_str().unwrap()]);
    let out = stdout(&o);
    assert!(o.status.success(), "{out}\n{}", stderr(&o));
    assert!(
        !out.contains("never-runs-marker"),
        "an unneeded stage was built: {out}"
    );
    assert!(out.contains("[1/3] STEP 1/2: FROM"), "{out}");
    assert!(
        out.contains("[3/3] STEP 3/3: COPY --from=0 /out /out0"),
        "{out}"
    );
    assert_eq!(
        s.ok(&["run", "--rm", "multi", "cat", "/artifact", "/out0/artifact"]),
        "built\nmore\nbuilt\n"
    );
    // --target stops at that stage.
    let o = s.run(&[
        "build",
        "--target",
        "builder",
        "-t",
        "stage1",
        ctx.path().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        s.ok(&["run", "--rm", "stage1", "cat", "/out/artifact"]),
        "built\n"
    );
}

#[test]
fn containerignore_is_honoured() {
    let (s, _reg, r) = fixture();
    let ctx = tempfile::tempdir().unwrap();
    write(ctx.path(), "keep.txt", "k\n");
    write(ctx.path(), "drop.log", "d\n");
    write(ctx.path(), "logs/x.log", "x\n");
    write(ctx.path(), "logs/important.log", "i\n");
    write(ctx.path(), "secret/key", "s\n");
    write(
        ctx.path(),
        ".containerignore",
        "*.log\n**/*.log\n!logs/important.log\nsecret\n",
    );
    write(
        ctx.path(),
        "Containerfile",
        &format!("FROM {r}\nCOPY . /ctx/\n"),
    );
    s.ok(&["build", "-q", "-t", "ign", ctx.path().to_str().unwrap()]);
    let listing = s.ok(&["run", "--rm", "ign", "find", "/ctx", "-type", "f"]);
    let mut files: Vec<&str> = listing.lines().collect();
    files.sort();
    assert_eq!(
        files,
        [
            "/ctx/.containerignore",
            "/ctx/Containerfile",
            "/ctx/keep.txt",
            "/ctx/logs/important.log"
        ]
    );
}

#[test]
fn bad_containerfiles_fail_with_file_and_line() {
    let (s, _reg, r) = fixture();
    let ctx = context(&format!("FROM {r}\n\nRUN true\nBOGUS x\n"));
    let c = ctx.path().to_str().unwrap();
    let (code, err) = fails(&s, &["build", c]);
    assert_eq!(code, 125);
    assert!(
        err.contains("Containerfile:4: unknown instruction: BOGUS"),
        "{err}"
    );
    write(
        ctx.path(),
        "Containerfile",
        &format!("FROM {r}\nRUN <<EOF\necho never closed\n"),
    );
    let (code, err) = fails(&s, &["build", c]);
    assert_eq!(code, 125);
    assert!(
        err.contains("Containerfile:2: unterminated heredoc"),
        "{err}"
    );
    write(
        ctx.path(),
        "Containerfile",
        &format!("FROM {r} AS a\nCOPY --from=b /x /x\nFROM {r} AS b\nCOPY --from=a /x /x\n"),
    );
    let (code, err) = fails(&s, &["build", c]);
    assert_eq!(code, 125);
    assert!(
        err.contains("circular dependency between stages: b -> a -> b"),
        "{err}"
    );
    let (code, err) = fails(&s, &["build", "-f", "nope", c]);
    assert_eq!(code, 125);
    assert!(
        err.contains("the specified Containerfile or Dockerfile does not exist, nope"),
        "{err}"
    );
    assert_eq!(s.ok(&["images", "-q"]).lines().count(), 1);
}

#[test]
fn failing_run_shows_its_code_and_leaves_nothing() {
    let (s, _reg, r) = fixture();
    let ctx = tempfile::tempdir().unwrap();
    write(
        ctx.path(),
        "Containerfile",
        &format!("FROM {r}\nRUN echo before-failing; exit 7\nRUN echo never\n"),
    );
    let o = s.run(&["build", "-t", "broken", ctx.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(7));
    assert!(stdout(&o).contains("before-failing"), "{}", stdout(&o));
    assert!(!stdout(&o).contains("never\n"));
    let err = stderr(&o);
    assert!(err.contains("Error: building at STEP \"RUN echo before-failing; exit 7\": while running runtime: exit status 7"), "{err}");
    assert_eq!(s.run(&["image", "exists", "broken"]).status.code(), Some(1));
    assert_eq!(containers(&s), "");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mounts.contains(s.root().to_str().unwrap()),
        "a mount is left"
    );
}

#[test]
fn copy_refuses_missing_sources_and_context_escapes() {
    let (s, _reg, r) = fixture();
    let outer = tempfile::tempdir().unwrap();
    let ctx = outer.path().join("ctx");
    std::fs::create_dir(&ctx).unwrap();
    write(outer.path(), "outside", "secret\n");
    std::os::unix::fs::symlink("../outside", ctx.join("link")).unwrap();
    let c = ctx.to_str().unwrap();
    for (src, want) in [
        ("missing.txt", "no such file or directory: missing.txt"),
        (
            "../outside",
            "forbidden path outside the build context: ../outside",
        ),
        ("link", "forbidden path outside the build context: link"),
    ] {
        write(&ctx, "Containerfile", &format!("FROM {r}\nCOPY {src} /x\n"));
        let (code, err) = fails(&s, &["build", "-t", "esc", c]);
        assert_eq!(code, 125, "{src}");
        assert!(
            err.contains(&format!("building at STEP \"COPY {src} /x\"")),
            "{err}"
        );
        assert!(err.contains(want), "{src}: {err}");
    }
    write(
        &ctx,
        "Containerfile",
        &format!("FROM {r}\nCOPY http://example.com/x /x\n"),
    );
    let (_, err) = fails(&s, &["build", c]);
    assert!(err.contains("source can't be a URL for COPY"), "{err}");
    assert_eq!(containers(&s), "");
}

#[test]
fn run_mounts_add_extracts_tars_and_copy_chown() {
    let (s, _reg, r) = fixture();
    let ctx = tempfile::tempdir().unwrap();
    let c = ctx.path().to_str().unwrap();
    write(ctx.path(), "bound/file", "bound content\n");
    write(ctx.path(), "secret.txt", "s3cret\n");
    // A gzip tar for ADD to unpack.
    let tgz = std::fs::File::create(ctx.path().join("arch.tar.gz")).unwrap();
    let mut tb = tar::Builder::new(flate2::write::GzEncoder::new(
        tgz,
        flate2::Compression::default(),
    ));
    let mut h = tar::Header::new_gnu();
    h.set_size(7);
    h.set_mode(0o644);
    tb.append_data(&mut h, "inner/x.txt", &b"in tar\n"[..])
        .unwrap();
    tb.into_inner().unwrap().finish().unwrap();
    write(
        ctx.path(),
        "Containerfile",
        &format!(
            "FROM {r}\n\
             RUN --mount=type=bind,source=bound,target=/b cat /b/file > /from-bind && ! touch /b/new 2>/dev/null\n\
             RUN --mount=type=cache,target=/cache echo cached > /cache/c\n\
             RUN --mount=type=cache,target=/cache cat /cache/c > /from-cache\n\
             RUN --mount=type=secret,id=tok cat /run/secrets/tok > /from-secret\n\
             RUN --mount=type=tmpfs,target=/t touch /t/x && test -f /t/x\n\
             ADD arch.tar.gz /unpacked/\n\
             COPY --chown=1:2 secret.txt /owned\n"
        ),
    );
    s.ok(&[
        "build",
        "-q",
        "--secret",
        &format!("id=tok,src={c}/secret.txt"),
        "-t",
        "mounts",
        c,
    ]);
    assert_eq!(
        s.ok(&["run", "--rm", "mounts", "sh", "-c", "cat /from-bind /from-cache /from-secret /unpacked/inner/x.txt; stat -c %u:%g /owned; cat /t/x /cache/c /b/file 2>/dev/null | wc -l"]),
        "bound content\ncached\ns3cret\nin tar\n1:2\n0\n"
    );
    // A secret that is not given is an error when required.
    write(
        ctx.path(),
        "Containerfile",
        &format!(
            "FROM {r}\nRUN --mount=type=secret,id=missing,required cat /run/secrets/missing\n"
        ),
    );
    let (code, err) = fails(&s, &["build", c]);
    assert_eq!(code, 125);
    assert!(err.contains("secret \"missing\" is required"), "{err}");
    assert_eq!(containers(&s), "");
}
