//! Image commands as Podman 5 has them (test/system/010, 020, 110 of
//! Podman): rmi exit codes and messages, quiet helpers, images sorting,
//! filters and formats, tag/untag, history.

use e2e::image_env::assert_fails;
use e2e::podman::{stderr, stdout, with_busybox};
use serde_json::Value;

#[test]
fn rmi_force_removes_users_quietly() {
    let (s, _reg, r) = with_busybox();
    s.ok(&["create", "--name", "user", "--network", "none", &r, "true"]);
    s.ok(&["run", "--name", "ran", "--network", "none", &r, "true"]);
    s.ok(&[
        "run",
        "-d",
        "--name",
        "runs",
        "--network",
        "none",
        &r,
        "sleep",
        "100",
    ]);
    let iid = s.ok(&["image", "inspect", "--format", "{{.Id}}", &r]);
    let iid = iid.trim();
    let o = s.run(&["rmi", "-a"]);
    assert_fails(&o, 2, "image is in use by a container: consider listing external containers and force-removing image");
    let o = s.run(&["rmi", "-f", &r]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), format!("Untagged: {r}\nDeleted: {iid}\n"));
    assert_eq!(stderr(&o), "", "helpers must stay quiet");
    assert_eq!(s.ok(&["ps", "-aq"]), "");
}

#[test]
fn rmi_missing_images_ignore_and_force() {
    let (s, _reg, r) = with_busybox();
    let o = s.run(&["rmi", "i_nosuch"]);
    assert_fails(&o, 1, "i_nosuch: image not known");
    let o = s.run(&["rmi", "--ignore", "i_nosuch"]);
    assert!(o.status.success());
    assert_eq!(stdout(&o), "");
    let o = s.run(&["image", "rm", "--force", "bogus"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
    s.ok(&["image", "tag", &r, "i_random"]);
    let out = s.ok(&["image", "rm", "--force", "bogus", "i_random"]);
    assert_eq!(out, "Untagged: localhost/i_random:latest\n");
    assert!(!s.ok(&["images"]).contains("i_random"));
}

#[test]
fn images_sort_filters_formats_and_json() {
    let (s, _reg, r) = with_busybox();
    let iid = s
        .ok(&["inspect", "--format", "{{.ID}}", &r])
        .trim()
        .to_string();
    for n in [
        "zzz.example/x/y:3",
        "zzz.example/x/y:1",
        "a.b/c:d",
        "zzz.example/x/y:2",
    ] {
        s.ok(&["tag", &r, n]);
    }
    let out = s.ok(&[
        "images",
        "--sort",
        "repository",
        "--format",
        "{{.Repository}}:{{.Tag}}",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[1], "a.b/c:d", "{out}");
    assert_eq!(
        &lines[2..],
        [
            "zzz.example/x/y:1",
            "zzz.example/x/y:2",
            "zzz.example/x/y:3"
        ],
        "{out}"
    );
    // Table headers and the default columns.
    let out = s.ok(&["images"]);
    let head = out.lines().next().unwrap();
    let words: Vec<&str> = head.split_whitespace().collect();
    assert_eq!(
        words,
        ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"],
        "{out}"
    );
    assert!(out.contains(" ago "), "{out}");
    let out = s.ok(&[
        "images",
        "--format",
        "table {{.ID}} {{.ReadOnly}} {{.Containers}}",
    ]);
    assert!(out.starts_with("IMAGE ID"), "{out}");
    assert!(out.contains("R/O"), "{out}");
    // IDs, --no-trunc, -q (one line per image).
    assert_eq!(s.ok(&["images", "-q"]), format!("{}\n", &iid[..12]));
    let out = s.ok(&["images", "--no-trunc", "--format", "{{.ID}}"]);
    assert!(out.lines().all(|l| l == format!("sha256:{iid}")), "{out}");
    let out = s.ok(&["images", "--format", "{{.ID|upper}}", "a.b/c:d"]);
    assert!(out.lines().all(|l| l == iid[..12].to_uppercase()), "{out}");
    // Filters.
    let o = s.run(&["image", "list", "-f", "json"]);
    assert_fails(
        &o,
        125,
        "Error: invalid image filter \"json\": must be in the format \"filter=value or filter!=value\"",
    );
    assert_eq!(
        s.ok(&["images", "--noheading", "--filter", &format!("after={iid}")]),
        ""
    );
    assert_eq!(
        s.ok(&[
            "images",
            "--noheading",
            "--filter",
            &format!("before={iid}")
        ]),
        ""
    );
    // Filters pick images; an image is listed with all its tags.
    let out = s.ok(&[
        "images",
        "--format",
        "{{.Repository}}",
        "--filter",
        "reference=zzz*/x/*",
    ]);
    assert_eq!(out.lines().count(), 5, "{out}");
    assert_eq!(
        s.ok(&["images", "-q", "--filter", "reference=nomatch*"]),
        ""
    );
    let out = s.ok(&[
        "images",
        "-q",
        "--filter",
        "containers=false",
        "--filter",
        "readonly=false",
    ]);
    assert_eq!(out.trim(), &iid[..12]);
    assert_eq!(s.ok(&["images", "-q", "--filter", "containers=true"]), "");
    // The fixture's created time is fixed, long ago.
    assert_eq!(
        s.ok(&["images", "-q", "--filter", "until=1h"]).trim(),
        &iid[..12]
    );
    assert_eq!(s.ok(&["images", "-q", "--filter", "until=0"]), "");
    let digest = s
        .ok(&["inspect", "--format", "{{.Digest}}", &r])
        .trim()
        .to_string();
    assert_eq!(
        s.ok(&["images", "-q", "--filter", &format!("digest={digest}")])
            .trim(),
        &iid[..12]
    );
    assert_eq!(s.ok(&["images", "-q", "--filter", "dangling=true"]), "");
    // JSON: Podman 5's ImageSummary.
    let json: Value = serde_json::from_str(&s.ok(&["images", "-a", "--format", "json"])).unwrap();
    let doc = &json[0];
    for k in [
        "Id",
        "ParentId",
        "RepoTags",
        "RepoDigests",
        "Size",
        "SharedSize",
        "VirtualSize",
        "Labels",
        "Containers",
        "Names",
        "Digest",
        "History",
        "Created",
        "CreatedAt",
    ] {
        assert!(doc.get(k).is_some(), "{k} missing in {doc}");
    }
    // One entry per listed row, as Podman prints it; RepoTags is null.
    assert_eq!(json.as_array().unwrap().len(), 5);
    assert!(doc["RepoTags"].is_null());
    assert_eq!(doc["Id"], iid);
    assert_eq!(doc["Digest"], digest);
    assert!(doc["Created"].is_i64());
    assert!(doc["CreatedAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(doc["Names"].as_array().unwrap().len(), 5);
}

#[test]
fn tag_untag_follow_podman() {
    let (s, _reg, r) = with_busybox();
    let iid = s
        .ok(&["inspect", "--format", "{{.ID}}", &r])
        .trim()
        .to_string();
    for (tag_as, check_as) in [
        (
            "bogusregistry.nxdomain/i:latest",
            "bogusregistry.nxdomain/i:latest",
        ),
        (
            "bogusregistry.nxdomain/i",
            "bogusregistry.nxdomain/i:latest",
        ),
        ("i:latest", "localhost/i:latest"),
        ("i", "localhost/i:latest"),
    ] {
        s.ok(&["tag", &r, tag_as]);
        s.ok(&["image", "exists", check_as]);
        s.ok(&["untag", &r, check_as]);
        assert_eq!(s.run(&["image", "exists", check_as]).status.code(), Some(1));
    }
    let o = s.run(&["untag", &r, "bogusregistry.nxdomain/foo:bar"]);
    assert_fails(
        &o,
        125,
        "Error: bogusregistry.nxdomain/foo:bar: tag not known",
    );
    s.ok(&[
        "tag",
        &r,
        "reg.example/a-1:latest",
        "reg.example/a-2:latest",
    ]);
    s.ok(&["untag", &iid]);
    assert_eq!(
        s.ok(&["image", "inspect", &iid, "--format", "{{.RepoTags}}"]),
        "[]\n"
    );
    assert_eq!(s.run(&["image", "exists", &r]).status.code(), Some(1));
    s.ok(&["tag", &iid, &r]);
}

#[test]
fn history_follows_podman() {
    let (s, _reg, r) = with_busybox();
    let out = s.ok(&["history", &r]);
    let head: Vec<&str> = out.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        head,
        ["ID", "CREATED", "CREATED", "BY", "SIZE", "COMMENT"],
        "{out}"
    );
    let out = s.ok(&["history", "--human=false", &r]);
    assert!(out.lines().nth(1).unwrap().contains('T'), "{out}");
    let out = s.ok(&["history", "-qH", &r]);
    assert!(out.lines().any(|l| l.len() == 12), "{out}");
    let out = s.ok(&["history", "--no-trunc", "-q", &r]);
    assert!(out.lines().any(|l| l.len() == 64), "{out}");
    let json: Value = serde_json::from_str(&s.ok(&["history", "--format", "json", &r])).unwrap();
    for e in json.as_array().unwrap() {
        assert!(
            e["id"].is_string() && e["size"].is_i64() || e["size"].is_u64(),
            "{e}"
        );
    }
    // CreatedSince/CreatedAt agree with `image list` (110-history.bats).
    let list = s.ok(&[
        "image",
        "list",
        "--format",
        "{{.CreatedSince}}\n{{.CreatedAt}}",
        &r,
    ]);
    let hist = s.ok(&[
        "image",
        "history",
        "--format",
        "{{.CreatedSince}}\n{{.CreatedAt}}",
        &r,
    ]);
    let (l, h): (Vec<&str>, Vec<&str>) = (list.lines().collect(), hist.lines().collect());
    assert_eq!(l[0], h[0]);
    assert!(l[1].ends_with(" +0000 UTC"), "{list}");
    assert_eq!(l[1][..10], h[1][..10]);
    assert_eq!(l[1][11..19], h[1][11..19]);
    let out = s.ok(&["history", "--format", "{{.Tags}}", &r]);
    assert!(out.lines().next().unwrap().contains(&r), "{out}");
}

#[test]
fn image_inspect_has_podman_fields_and_zero_values() {
    let (s, _reg, r) = with_busybox();
    let doc: Value = serde_json::from_str(&s.ok(&["image", "inspect", &r])).unwrap();
    let doc = &doc[0];
    for k in [
        "Id",
        "Digest",
        "RepoTags",
        "RepoDigests",
        "Parent",
        "Comment",
        "Created",
        "Config",
        "Version",
        "Author",
        "Architecture",
        "Os",
        "Size",
        "VirtualSize",
        "GraphDriver",
        "RootFS",
        "Labels",
        "ManifestType",
        "User",
        "History",
        "NamesHistory",
    ] {
        assert!(doc.get(k).is_some(), "{k} missing in {doc}");
    }
    assert_eq!(doc["RepoTags"], serde_json::json!([r]));
    assert_eq!(doc["GraphDriver"]["Name"], "overlay");
    assert!(doc["GraphDriver"]["Data"]["UpperDir"]
        .as_str()
        .unwrap()
        .ends_with("/diff"));
    assert_eq!(doc["RootFS"]["Type"], "layers");
    let via_inspect: Value =
        serde_json::from_str(&s.ok(&["inspect", "--type", "image", &r])).unwrap();
    assert_eq!(via_inspect[0]["Id"], doc["Id"]);
    let o = s.run(&["image", "inspect", "nosuch"]);
    assert_fails(&o, 125, "nosuch: image not known");
}

#[test]
fn pull_by_digest_keeps_the_listing_and_rmi_untags_it() {
    let (s, _reg, r) = with_busybox();
    let before = s.ok(&["images", "-a"]);
    let digest = s
        .ok(&["inspect", "--format", "{{.Digest}}", &r])
        .trim()
        .to_string();
    let repo = r.rsplit_once(':').unwrap().0;
    let fqin = format!("{repo}@{digest}");
    s.ok(&["pull", "-q", "--tls-verify=false", &fqin]);
    assert_eq!(s.ok(&["images", "-a"]), before);
    assert_eq!(s.ok(&["rmi", &fqin]), format!("Untagged: {fqin}\n"));
    assert_eq!(s.ok(&["images", "-a"]), before);
    let o = s.run(&["images", "--filter", "dangling=true", "bb"]);
    assert_fails(&o, 125, "cannot specify an image and a filter(s)");
}
