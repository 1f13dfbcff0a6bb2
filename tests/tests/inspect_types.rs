//! `podman inspect --type container|image|volume|network|pod|all` and
//! `--size` as Podman 5 has them: the lookup order of `all`, each type's
//! not-found words, `SizeRw`/`SizeRootFs`, `ImageDigest`.

use e2e::podman::{stderr, with_busybox};
use serde_json::Value;

fn doc(out: &str) -> Value {
    let v: Value = serde_json::from_str(out).expect("inspect JSON");
    v[0].clone()
}

#[test]
fn every_type_and_the_order_of_all() {
    let (s, _reg, r) = with_busybox();
    s.ok(&["create", "--name", "ctr1", "--network", "none", &r, "true"]);
    s.ok(&["volume", "create", "v1"]);
    s.ok(&["pod", "create", "--name", "p1"]);
    let image_id = s.ok(&["image", "inspect", "--format", "{{.Id}}", &r]);

    let c = doc(&s.ok(&["inspect", "ctr1"]));
    assert_eq!(c["Name"], "ctr1");
    // A container's image: ID and the digest it was pulled by.
    assert_eq!(c["Image"], image_id.trim());
    let digest = s.ok(&["image", "inspect", "--format", "{{.Digest}}", &r]);
    assert_eq!(c["ImageDigest"], digest.trim());
    assert!(c["ImageDigest"].as_str().unwrap().starts_with("sha256:"));
    assert!(c.get("SizeRw").is_none(), "{c}");

    assert_eq!(doc(&s.ok(&["inspect", &r]))["Id"], image_id.trim());
    assert_eq!(doc(&s.ok(&["inspect", "v1"]))["Name"], "v1");
    assert_eq!(doc(&s.ok(&["inspect", "podman"]))["name"], "podman");
    assert_eq!(doc(&s.ok(&["inspect", "p1"]))["Name"], "p1");
    for (kind, name, field, want) in [
        ("container", "ctr1", "Name", "ctr1"),
        ("volume", "v1", "Name", "v1"),
        ("network", "podman", "name", "podman"),
        ("pod", "p1", "Name", "p1"),
    ] {
        let d = doc(&s.ok(&["inspect", "--type", kind, name]));
        assert_eq!(d[field], want, "{kind}");
    }

    // Not found, per type, in Podman's words; JSON still printed.
    for (kind, want) in [
        ("all", "Error: no such object: \"nope\""),
        ("container", "Error: no such container \"nope\""),
        ("image", "Error: nope: image not known"),
        ("volume", "Error: no such volume nope"),
        ("pod", "Error: no such pod nope"),
    ] {
        let o = s.run(&["inspect", "--type", kind, "nope"]);
        assert_eq!(o.status.code(), Some(125), "{kind}");
        assert_eq!(stderr(&o).trim_end(), want, "{kind}");
        assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "[]", "{kind}");
    }
    // A container is not found as an image ("ctr1" cannot be an ID prefix).
    let o = s.run(&["inspect", "--type", "image", "ctr1"]);
    assert_eq!(o.status.code(), Some(125));
    // Every error after the first goes to stderr before it.
    let o = s.run(&["inspect", "--type", "volume", "a", "b"]);
    assert_eq!(stderr(&o), "no such volume b\nError: no such volume a\n");
    assert_eq!(doc(&s.ok(&["inspect", "ctr1", "v1"]))["Name"], "ctr1");
}

#[test]
fn size_and_the_flag_checks() {
    let (s, _reg, r) = with_busybox();
    s.ok(&[
        "run",
        "--name",
        "sz",
        "--network",
        "none",
        &r,
        "sh",
        "-c",
        "head -c 100000 /dev/zero > /big",
    ]);
    let c = doc(&s.ok(&["inspect", "--size", "sz"]));
    let rw = c["SizeRw"].as_i64().unwrap();
    assert!((100_000..200_000).contains(&rw), "{c}");
    let image_size = s.ok(&["image", "inspect", "--format", "{{.Size}}", &r]);
    assert_eq!(
        c["SizeRootFs"].as_i64().unwrap(),
        image_size.trim().parse::<i64>().unwrap() + rw
    );
    assert_eq!(
        s.ok(&[
            "container",
            "inspect",
            "-s",
            "--format",
            "{{.SizeRw}}",
            "sz"
        ])
        .trim(),
        rw.to_string()
    );
    assert_eq!(
        doc(&s.ok(&["inspect", "-l"]))["Name"],
        "sz",
        "-l with --type all means containers"
    );

    for (args, want) in [
        (
            vec!["inspect", "--type", "bogus", "x"],
            "Error: invalid type \"bogus\": must be \"image\", \"container\", \"pod\", \"network\", \"volume\", or \"all\"",
        ),
        (vec!["inspect"], "Error: no names or ids specified"),
        (
            vec!["inspect", "--type", "image", "--size", "x"],
            "Error: size is not supported for type \"image\"",
        ),
        (
            vec!["inspect", "--type", "pod", "--size", "x"],
            "Error: size is not supported for type \"pod\"",
        ),
        (
            vec!["inspect", "--type", "image", "-l"],
            "Error: latest is not supported for type \"image\"",
        ),
    ] {
        let o = s.run(&args);
        assert_eq!(o.status.code(), Some(125), "{args:?}");
        assert_eq!(stderr(&o).trim_end(), want, "{args:?}");
    }
}

/// The JSON of `inspect` and `{{json .}}` is a Go struct's: fields in
/// libpod's declaration order (not sorted), nil pointers left out; a
/// template still reads those as `<nil>` and a missing map key as
/// `<no value>`.
#[test]
fn container_json_follows_libpods_field_order() {
    let (s, _reg, r) = with_busybox();
    s.ok(&[
        "create",
        "--name",
        "c",
        "--network",
        "none",
        "-l",
        "a=b",
        &r,
        "true",
    ]);
    let text = s.ok(&["inspect", "c"]);
    let keys = |v: &Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    // serde_json sorts when reading: take the order from the text.
    let pos = |k: &str| {
        text.find(&format!("\n    \"{k}\":"))
            .unwrap_or_else(|| panic!("{k} missing in {text}"))
    };
    let order = [
        "Id",
        "Created",
        "Path",
        "Args",
        "State",
        "Image",
        "ImageName",
        "Name",
        "GraphDriver",
        "Mounts",
        "Dependencies",
        "NetworkSettings",
        "Config",
        "HostConfig",
    ];
    for w in order.windows(2) {
        assert!(pos(w[0]) < pos(w[1]), "{} before {}: {text}", w[0], w[1]);
    }
    let c = doc(&text);
    assert!(keys(&c["Config"]).iter().all(|k| k != "StartupHealthCheck"));
    assert!(c["Config"].get("HealthcheckMaxLogCount").is_some(), "{c}");
    let state = s.ok(&["inspect", "--format", "{{json .State}}", "c"]);
    assert!(state.starts_with("{\"OciVersion\":"), "{state}");
    assert!(
        state.find("\"Status\"").unwrap() < state.find("\"Pid\"").unwrap(),
        "{state}"
    );
    assert_eq!(
        s.ok(&[
            "inspect",
            "--format",
            "{{.Config.StartupHealthCheck}}|{{.Config.Labels.nosuch}}|{{.Config.Labels}}|{{.Config.HealthMaxLogCount}}",
            "c"
        ]),
        "<nil>|<no value>|map[a:b]|5\n"
    );
}
