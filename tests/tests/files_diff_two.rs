//! `podman diff A B`: the whole file system of A (a container or an image)
//! against B's instead of A's own base; both are mounted for the walk and
//! given back after it.

use e2e::podman::{refused, stderr, TestStore};

fn lines(s: &TestStore, args: &[&str]) -> Vec<String> {
    s.ok(args).lines().map(str::to_string).collect()
}

#[test]
fn diff_compares_two_containers_or_images() {
    let (s, _reg, r) = e2e::podman::with_busybox();
    s.ok(&[
        "run",
        "--name",
        "h11diffa",
        "--network",
        "none",
        &r,
        "sh",
        "-c",
        "echo a > /only-a; mkdir /dir-a; echo x > /dir-a/f; rm /bin/true",
    ]);
    s.ok(&[
        "run",
        "--name",
        "h11diffb",
        "--network",
        "none",
        &r,
        "sh",
        "-c",
        "echo b > /only-b",
    ]);

    let out = lines(&s, &["diff", "h11diffa", "h11diffb"]);
    for want in [
        "A /only-a",
        "A /dir-a",
        "A /dir-a/f",
        "D /only-b",
        "D /bin/true",
    ] {
        assert!(out.iter().any(|l| l == want), "{want} missing from {out:?}");
    }
    // Only what differs: what both have from the image is not listed.
    assert!(!out.iter().any(|l| l.ends_with(" /bin/sh")), "{out:?}");

    // The other way round, added and deleted swap.
    let back = lines(&s, &["diff", "h11diffb", "h11diffa"]);
    for want in ["D /only-a", "D /dir-a", "A /only-b", "A /bin/true"] {
        assert!(
            back.iter().any(|l| l == want),
            "{want} missing from {back:?}"
        );
    }

    // A container against an image, as JSON.
    let j: serde_json::Value =
        serde_json::from_str(&s.ok(&["diff", "--format", "json", "h11diffa", &r])).unwrap();
    let has = |k: &str, p: &str| j[k].as_array().is_some_and(|a| a.iter().any(|x| x == p));
    assert!(
        has("added", "/only-a") && has("deleted", "/bin/true"),
        "{j}"
    );
    assert!(!has("deleted", "/only-b"), "{j}");

    // An image against itself: nothing.
    assert_eq!(s.ok(&["image", "diff", &r, &r]), "");

    // Nothing left mounted by the comparisons.
    assert_eq!(s.ok(&["mount"]), "");
    assert_eq!(s.ok(&["image", "mount"]), "");

    // Bad input.
    let o = s.run(&["diff", "h11diffa", "h11-no-such-thing"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(stderr(&o).contains("h11-no-such-thing"), "{}", stderr(&o));
    refused(&s, &["diff", "h11diffa", "h11diffb", &r], "at most two");
}
