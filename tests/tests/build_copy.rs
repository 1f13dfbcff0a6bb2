//! COPY edge cases: sources that `.containerignore` leaves out entirely.

use e2e::build_files::write;
use e2e::podman::{stderr, stdout};

#[test]
fn a_copy_whose_sources_are_all_ignored_makes_the_destination_directory() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    let ctx = tempfile::tempdir().unwrap();
    let c = ctx.path().to_str().unwrap();
    std::fs::create_dir(ctx.path().join("sub")).unwrap();
    write(&ctx.path().join("sub"), "f", "x\n");
    write(ctx.path(), ".containerignore", "*\n");
    write(
        ctx.path(),
        "Containerfile",
        &format!("FROM {r}\nCOPY ./ /app/\nCOPY . /dir\nWORKDIR /w\nCOPY . sub/\n"),
    );
    let o = s.run(&["build", "-t", "allignored", c]);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    // Each destination exists, as an empty directory, as Buildah makes it.
    let got = s.ok(&[
        "run",
        "--rm",
        "allignored",
        "sh",
        "-c",
        "for d in /app /dir /w/sub; do test -d $d && echo $d $(ls -A $d | wc -l); done",
    ]);
    assert_eq!(got, "/app 0\n/dir 0\n/w/sub 0\n");
}
