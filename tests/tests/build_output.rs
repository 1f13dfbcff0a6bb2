//! `podman build --output`: the final stage's root file system written to
//! a directory or a tar (a file or stdout) besides the image.

use e2e::build_files::context;
use e2e::podman::{stderr, stdout};

fn tar_names(bytes: &[u8]) -> Vec<String> {
    tar::Archive::new(bytes)
        .entries()
        .unwrap()
        .map(|e| {
            e.unwrap()
                .path()
                .unwrap()
                .display()
                .to_string()
                .trim_start_matches("./")
                .to_string()
        })
        .collect()
}

#[test]
fn output_writes_the_final_root_to_a_directory_or_a_tar() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    let ctx = context(&format!("FROM {r} AS first\nRUN echo one > /from-first\nFROM {r}\nCOPY --from=first /from-first /copied\nRUN echo built > /result\n"));
    let c = ctx.path().to_str().unwrap();
    let out = tempfile::tempdir().unwrap();

    // type=local: the tree, and the image is still made and tagged.
    let dir = out.path().join("tree");
    let o = format!("type=local,dest={}", dir.display());
    s.ok(&["build", "-q", "-t", "outimg", "-o", &o, c]);
    assert_eq!(
        std::fs::read_to_string(dir.join("result")).unwrap(),
        "built\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("copied")).unwrap(),
        "one\n"
    );
    assert!(dir.join("bin/busybox").is_file());
    s.ok(&["image", "exists", "outimg"]);

    // A bare path is a local output.
    let bare = out.path().join("bare");
    s.ok(&["build", "-q", "--output", bare.to_str().unwrap(), c]);
    assert!(bare.join("result").is_file());

    // type=tar to a file.
    let file = out.path().join("root.tar");
    let o = format!("type=tar,dest={}", file.display());
    s.ok(&["build", "-q", "-o", &o, c]);
    let names = tar_names(&std::fs::read(&file).unwrap());
    assert!(names.iter().any(|n| n == "result"), "{names:?}");

    // `-`: the tar on stdout, the build's own lines on stderr.
    let o = s.run(&["build", "-o", "-", c]);
    assert!(o.status.success(), "{}", stderr(&o));
    let names = tar_names(&o.stdout);
    assert!(names.iter().any(|n| n == "copied"), "{names:?}");
    assert!(stderr(&o).contains("STEP 1/2"), "{}", stderr(&o));

    for (bad, needle) in [
        ("type=local", "dest= is required"),
        ("type=image,dest=x", "type \"image\" is not supported"),
        ("type=local,dest=-", "needs a directory"),
    ] {
        let o = s.run(&["build", "-o", bad, c]);
        assert_eq!(o.status.code(), Some(125), "{bad}: {}", stdout(&o));
        assert!(stderr(&o).contains(needle), "{bad}: {}", stderr(&o));
    }
}
