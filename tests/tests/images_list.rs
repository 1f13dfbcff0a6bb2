//! podman images end to end: listing (formats, filters, digests), tag
//! and untag, dangling images, and rmi's exit codes with and without -f
//! for an image a container uses.

use e2e::image_env::{assert_fails, hex, inspect, pull};
use e2e::oci_image::{busybox_image, busybox_with_file};
use e2e::podman::TestStore;
use e2e::registry::Registry;
use serde_json::Value;

#[test]
fn images_listing_naming_and_removal_follow_podman() {
    let reg = Registry::start().unwrap();
    let bb = busybox_image().unwrap();
    let app = busybox_with_file("app", "v1\n").unwrap();
    reg.push("bb", "latest", &bb).unwrap();
    reg.push("team/app", "1", &app).unwrap();
    let (rbb, rapp) = (
        reg.reference("bb", "latest"),
        reg.reference("team/app", "1"),
    );
    let s = TestStore::new();
    pull(&s, &rbb);
    pull(&s, &rapp);

    let names = s.ok(&["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"]);
    assert!(
        names.contains(&format!("{rbb} {}", &hex(&bb.config_digest)[..12])),
        "{names}"
    );
    assert!(
        names.contains(&format!("{rapp} {}", &hex(&app.config_digest)[..12])),
        "{names}"
    );
    assert_eq!(s.ok(&["images", "-q"]).lines().count(), 2);
    assert_eq!(
        s.ok(&["images", "-q", "--filter", "reference=*app*"])
            .trim(),
        &hex(&app.config_digest)[..12]
    );
    assert_eq!(s.ok(&["images", "-q", "--filter", "dangling=true"]), "");
    let digests = s.ok(&["images", "--digests"]);
    assert!(
        digests.lines().next().unwrap().contains("DIGEST"),
        "{digests}"
    );
    assert!(
        digests.contains(&app.manifest_digest) && digests.contains(&bb.manifest_digest),
        "{digests}"
    );
    let json: Value = serde_json::from_str(&s.ok(&["images", "--format", "json"])).unwrap();
    assert_eq!(json.as_array().map(Vec::len), Some(2));

    // tag adds a localhost/ name; untag removes names; an image without names is dangling.
    s.ok(&["tag", &rapp, "extra:2", "quay.io/me/app"]);
    let doc = inspect(&s, "extra:2");
    assert_eq!(
        doc["RepoTags"],
        serde_json::json!([rapp, "localhost/extra:2", "quay.io/me/app:latest"])
    );
    s.ok(&["untag", "extra:2", "localhost/extra:2", "quay.io/me/app"]);
    assert_eq!(inspect(&s, &rapp)["RepoTags"], serde_json::json!([rapp]));
    s.ok(&["untag", &rapp]);
    assert_eq!(
        s.ok(&["images", "-q", "--filter", "dangling=true"]).trim(),
        &hex(&app.config_digest)[..12]
    );
    assert!(s
        .ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .contains("<none>:<none>"));

    // rmi: 1 for a missing image, 2 for one a container uses, -f removes that container too.
    let o = s.run(&["rmi", "no/such:image"]);
    assert_fails(&o, 1, "image not known");
    s.ok(&[
        "create",
        "--name",
        "user",
        "--network",
        "none",
        &rbb,
        "true",
    ]);
    let o = s.run(&["rmi", &rbb]);
    assert_fails(&o, 2, "in use");
    assert_eq!(s.ok(&["ps", "-aq"]).lines().count(), 1);
    let out = s.ok(&["rmi", "-f", &rbb]);
    assert!(
        out.contains(&format!("Deleted: {}", hex(&bb.config_digest))),
        "{out}"
    );
    assert_eq!(s.ok(&["ps", "-aq"]), "");
    s.ok(&["rmi", &hex(&app.config_digest)[..12]]);
    assert_eq!(s.ok(&["images", "-q"]), "");
    assert_eq!(s.run(&["image", "exists", &rbb]).status.code(), Some(1));
}

/// `{{.History}}` and inspect's `NamesHistory`: every name the image had,
/// most recent first, as containers/storage keeps it (each change of its
/// names moves the names it has to the front): upstream 010 "history
/// output".
#[test]
fn names_history_keeps_removed_tags_most_recent_first() {
    let reg = Registry::start().unwrap();
    reg.push("bb", "latest", &busybox_image().unwrap()).unwrap();
    let s = TestStore::new();
    pull(&s, &reg.reference("bb", "latest"));
    let id = s
        .ok(&["images", "-q", "--no-trunc"])
        .trim()
        .trim_start_matches("sha256:")
        .to_string();
    s.ok(&["tag", &id, "hist-base"]);
    s.ok(&["untag", &id, &reg.reference("bb", "latest")]);
    let history = |s: &TestStore| {
        s.ok(&["images", "localhost/hist-base", "--format", "{{.History}}"])
            .trim()
            .to_string()
    };
    let first = history(&s);
    for tag in ["hist-one", "hist-two"] {
        s.ok(&["tag", "hist-base", tag]);
        s.ok(&["rmi", tag]);
    }
    let bb = reg.reference("bb", "latest");
    assert_eq!(first, format!("localhost/hist-base:latest, {bb}"));
    assert_eq!(
        history(&s),
        format!(
            "localhost/hist-base:latest, localhost/hist-two:latest, localhost/hist-one:latest, {bb}"
        )
    );
    let v: Value = serde_json::from_str(&s.ok(&["image", "inspect", "hist-base"])).unwrap();
    assert_eq!(
        v[0]["NamesHistory"],
        serde_json::json!([
            "localhost/hist-base:latest",
            "localhost/hist-two:latest",
            "localhost/hist-one:latest",
            bb
        ])
    );
}
