//! `podman container runlabel`: the command in an image's label, with
//! libpod's substitutions (IMAGE, NAME, podman as this binary, $OPT1,
//! $PWD), `--display`, `--name`, `--replace`, and the missing-label error.

use e2e::build_files::{build, write};
use e2e::podman::{stderr, stdout, with_busybox, TestStore};

/// An image whose RUN label runs a container through this store.
fn labelled(s: &TestStore, base: &str) -> &'static str {
    let ctx = s.dir.path().join("ctx");
    std::fs::create_dir(&ctx).expect("mkdir");
    let label = format!(
        "podman --root {} --runroot {} run --name NAME -e OPT=$OPT1 IMAGE echo name=$NAME image=${{IMAGE}} opt=$OPT1",
        s.root().display(),
        s.runroot().display()
    );
    // Escape for the Containerfile's LABEL value (double-quoted).
    let quoted = label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('$', "\\$");
    write(
        &ctx,
        "Containerfile",
        &format!("FROM {base}\nLABEL RUN=\"{quoted}\"\n"),
    );
    build(
        s,
        &[
            "-q",
            "-t",
            "localhost/labels/runner:1",
            &ctx.display().to_string(),
        ],
    );
    "localhost/labels/runner:1"
}

#[test]
fn runlabel_runs_the_label_with_substitutions() {
    let (s, _reg, r) = with_busybox();
    let img = labelled(&s, &r);
    let shown = s.ok(&["container", "runlabel", "--display", "--opt1=x", "run", img]);
    let want_tail =
        format!("run --name runner -e OPT=x {img} echo name=runner image={img} opt=x\n");
    assert!(shown.starts_with("command: "), "{shown}");
    assert!(
        shown.ends_with(&want_tail),
        "{shown}\nwant suffix {want_tail}"
    );
    // Nothing ran.
    assert_eq!(s.ok(&["ps", "-aq"]), "");

    let out = s.ok(&["container", "runlabel", "--opt1=x", "RUN", img]);
    assert_eq!(out, format!("name=runner image={img} opt=x\n"));
    let fmt = "{{.Name}} {{.ImageName}}";
    assert_eq!(
        s.ok(&["inspect", "--format", fmt, "runner"]).trim(),
        format!("runner {img}")
    );
    // The name exists now: --replace removes the old container first.
    let again = s.run(&["container", "runlabel", "RUN", img]);
    assert!(!again.status.success(), "{}", stdout(&again));
    let out = s.ok(&[
        "container",
        "runlabel",
        "--replace",
        "-n",
        "other",
        "RUN",
        img,
    ]);
    assert_eq!(out, format!("name=other image={img} opt=\n"));
    let out = s.ok(&["container", "runlabel", "--replace", "RUN", img]);
    assert_eq!(out, format!("name=runner image={img} opt=\n"));
}

#[test]
fn runlabel_without_the_label_fails() {
    let (s, _reg, r) = with_busybox();
    let o = s.run(&["container", "runlabel", "INSTALL", &r]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(
        stderr(&o).trim(),
        format!("Error: cannot find the value of label: INSTALL in image: {r}")
    );
}
