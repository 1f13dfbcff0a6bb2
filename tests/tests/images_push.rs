//! podman push end to end: to another repository with a digest file, to
//! the image's own name by default, and back into a fresh store; the
//! errors for a missing image and an unreachable registry.

use e2e::image_env::{hex, layered_image, pull, registry_with, sh};
use e2e::podman::{stderr, stdout, TestStore};

#[test]
fn push_to_another_repository_and_pull_it_back_into_a_fresh_store() {
    let image = layered_image().unwrap();
    let (reg, r) = registry_with("src/img", "1", &image);
    let s = TestStore::new();
    pull(&s, &r);
    let digestfile = s.dir.path().join("digest");
    let dest = reg.reference("dst/copy", "v2");
    let o = s.run(&[
        "push",
        "--tls-verify=false",
        "--digestfile",
        digestfile.to_str().unwrap(),
        &r,
        &format!("docker://{dest}"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
    assert!(
        stderr(&o).contains("Writing manifest to image destination"),
        "{}",
        stderr(&o)
    );
    let digest = std::fs::read_to_string(&digestfile).unwrap();
    assert_eq!(reg.get_manifest("dst/copy", "v2").unwrap().digest(), digest);
    assert_eq!(
        digest, image.manifest_digest,
        "the stored manifest is pushed byte for byte"
    );

    // Default destination: the image's own name.
    s.ok(&["tag", &r, &reg.reference("dst/tagged", "t")]);
    s.ok(&[
        "push",
        "-q",
        "--tls-verify=false",
        &reg.reference("dst/tagged", "t"),
    ]);

    let fresh = TestStore::new();
    for name in [dest.clone(), reg.reference("dst/tagged", "t")] {
        assert_eq!(pull(&fresh, &name), hex(&image.config_digest));
        assert_eq!(sh(&fresh, &name, "cat /data/sub/y"), "Y\n");
    }
    let o = s.run(&["push", "--tls-verify=false", "no/such:image", &dest]);
    assert_eq!(o.status.code(), Some(125));
    let o = s.run(&["push", "--tls-verify=false", &r, "127.0.0.1:1/x:y"]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(
        stderr(&o)
            .lines()
            .filter(|l| l.starts_with("Error: "))
            .count(),
        1,
        "{}",
        stderr(&o)
    );
    // Go's words for the refused ping, as Podman prints them.
    assert!(
        stderr(&o).contains("pinging container registry 127.0.0.1:1: Get \"https://127.0.0.1:1/v2/\": dial tcp 127.0.0.1:1: connect: connection refused"),
        "{}",
        stderr(&o)
    );
    assert!(
        std::fs::read_dir(s.root().join("staging"))
            .unwrap()
            .next()
            .is_none(),
        "staging left behind"
    );
}
