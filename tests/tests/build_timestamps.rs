//! `podman build --timestamp`, `--source-date-epoch` (and
//! SOURCE_DATE_EPOCH), `--rewrite-timestamp`: reproducible creation times
//! and file times in new layers.

use e2e::build_files::{build, write};
use e2e::podman::{stderr, stdout, TestStore};

fn last_line(out: &str) -> String {
    out.lines().last().unwrap_or("").to_string()
}

/// Whether the image's creation time is `date` `time` (UTC).
fn created_at(s: &TestStore, image: &str, date: &str, time: &str) {
    let c = s.ok(&["image", "inspect", "--format", "{{.Created}}", image]);
    assert!(c.contains(date) && c.contains(time), "{c}");
}

fn mtimes(s: &TestStore, image: &str) -> String {
    s.ok(&[
        "run",
        "--rm",
        image,
        "stat",
        "-c",
        "%Y",
        "/made-by-run",
        "/copied",
    ])
}

#[test]
fn timestamp_fixes_creation_and_file_times_so_rebuilds_are_identical() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    let ctx = tempfile::tempdir().unwrap();
    let c = ctx.path().to_str().unwrap();
    write(ctx.path(), "data", "data\n");
    write(
        ctx.path(),
        "Containerfile",
        &format!("FROM {r}\nRUN echo x > /made-by-run\nCOPY data /copied\nLABEL a=b\n"),
    );
    let one = last_line(&build(&s, &["--timestamp", "1700000000", c]));
    created_at(&s, &one, "2023-11-14", "22:13:20");
    assert_eq!(mtimes(&s, &one), "1700000000\n1700000000\n");
    let history = s.ok(&[
        "image",
        "history",
        "--format",
        "{{.CreatedAt}}",
        "--human=false",
        &one,
    ]);
    assert!(
        history
            .lines()
            .next()
            .unwrap_or("")
            .starts_with("2023-11-14T22:13:20"),
        "{history}"
    );
    // The same inputs, built again from nothing: the same image.
    let two = last_line(&build(&s, &["--timestamp", "1700000000", "--no-cache", c]));
    assert_eq!(one, two);

    for (args, needle) in [
        (vec!["--timestamp", "yesterday"], "invalid --timestamp"),
        (
            vec!["--timestamp", "1", "--source-date-epoch", "2"],
            "cannot be used together",
        ),
        (vec!["--rewrite-timestamp"], "needs --source-date-epoch"),
    ] {
        let mut all = vec!["build"];
        all.extend_from_slice(&args);
        all.push(c);
        let o = s.run(&all);
        assert_eq!(o.status.code(), Some(125), "{args:?}");
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn source_date_epoch_sets_creation_the_build_arg_and_clamps_on_request() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    let ctx = tempfile::tempdir().unwrap();
    let c = ctx.path().to_str().unwrap();
    write(ctx.path(), "data", "data\n");
    write(
        ctx.path(),
        "Containerfile",
        &format!("FROM {r}\nARG SOURCE_DATE_EPOCH\nRUN echo \"epoch=$SOURCE_DATE_EPOCH\" && echo x > /made-by-run\nCOPY data /copied\n"),
    );
    let out = build(&s, &["--source-date-epoch", "1600000000", c]);
    assert!(out.contains("epoch=1600000000"), "{out}");
    let id = last_line(&out);
    created_at(&s, &id, "2020-09-13", "12:26:40");
    // Files keep their times without --rewrite-timestamp.
    let kept = mtimes(&s, &id);
    assert!(
        kept.lines().all(|t| t.parse::<i64>().unwrap() > 1600000000),
        "{kept}"
    );
    let id = last_line(&build(
        &s,
        &[
            "--source-date-epoch",
            "1600000000",
            "--rewrite-timestamp",
            c,
        ],
    ));
    assert_eq!(mtimes(&s, &id), "1600000000\n1600000000\n");

    // From the environment, as Buildah reads it.
    let o = s
        .cmd()
        .env("SOURCE_DATE_EPOCH", "1500000000")
        .args(["build", c])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("epoch=1500000000"), "{out}");
    created_at(&s, &last_line(&out), "2017-07-14", "02:40:00");
}
