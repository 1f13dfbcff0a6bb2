//! Images another containers/storage user wrote into our graph root
//! (Podman's system tests restore their image with `skopeo copy
//! oci-archive:FILE containers-storage:NAME`): adopted into our store, so
//! `images`, `inspect`, `run`, `tag`, `save` and `rmi` work on them; an
//! image removed with `rmi` stays removed while containers/storage's
//! record of it is unchanged, and comes back when it is stored again.
//! containers/storage's image files are never written. `rm` of a buildah
//! container removes it as containers/storage does (upstream 055 "rm
//! container from storage").

use std::path::Path;
use std::process::Command;

use e2e::layer::Entry;
use e2e::oci_image::{Image, ImageBuilder};
use e2e::podman::TestStore;

fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok()
}

/// `skopeo copy SRC containers-storage:[overlay@ROOT+RUNROOT]NAME`.
fn skopeo_copy(s: &TestStore, src: &str, name: &str) {
    let dest = format!(
        "containers-storage:[overlay@{}+{}]{name}",
        s.root().display(),
        s.runroot().display()
    );
    let o = Command::new("skopeo")
        .args(["copy", "--all", src, &dest])
        .env_remove("CONTAINERS_STORAGE_CONF")
        .output()
        .expect("run skopeo");
    assert!(
        o.status.success(),
        "skopeo copy {src} {dest}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// `image` as an OCI archive file (a tar of its layout) at `path`.
fn oci_archive(image: &Image, dir: &Path, path: &Path) {
    let layout = dir.join("layout");
    image.write_oci_layout(&layout, "v1").unwrap();
    let mut b = tar::Builder::new(std::fs::File::create(path).unwrap());
    b.append_dir_all(".", &layout).unwrap();
    b.finish().unwrap();
}

fn listed(s: &TestStore) -> Vec<String> {
    s.ok(&["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"])
        .lines()
        .map(str::to_string)
        .collect()
}

fn manifest_identity(s: &TestStore, id: &str) -> String {
    let p = s.root().join("overlay-images").join(id).join("manifest");
    let m = std::fs::metadata(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    use std::os::unix::fs::MetadataExt;
    format!("{} {} {}", m.ino(), m.mtime_nsec(), m.len())
}

#[test]
fn skopeo_copied_images_are_adopted_and_stay_removed() {
    if !have("skopeo") {
        eprintln!("skopeo is not installed: nothing writes containers/storage's files here");
        return;
    }
    let s = TestStore::new();
    let scratch = tempfile::tempdir().unwrap();
    // Two layers: busybox, then a file, a hard link to it, a symlink and a
    // whiteout, so the rebuilt tar streams cover every kind of entry.
    let image = ImageBuilder::busybox()
        .unwrap()
        .layer_from_entries([
            Entry::file("hstore/marker", "adopted\n", 0o640),
            Entry::hardlink("hstore/again", "hstore/marker"),
            Entry::symlink("hstore/link", "marker"),
            Entry::whiteout("bin/true"),
        ])
        .unwrap()
        .build()
        .unwrap();
    let archive = scratch.path().join("image.tar");
    oci_archive(&image, scratch.path(), &archive);
    let src = format!("oci-archive:{}:v1", archive.display());
    let id = image
        .config_digest
        .trim_start_matches("sha256:")
        .to_string();
    let name = "localhost/hstore-adopted:v1";

    skopeo_copy(&s, &src, name);
    let before = std::fs::read(s.root().join("overlay-images/images.json")).unwrap();
    let lines = listed(&s);
    assert!(
        lines.contains(&format!("{name} {}", &id[..12])),
        "{lines:?}"
    );
    assert_eq!(s.ok(&["inspect", "--format", "{{.Id}}", name]).trim(), id);
    // The manifest containers/storage kept is the image's digest, as in
    // Podman: NAME@DIGEST is what its registry serves.
    assert_eq!(
        s.ok(&["inspect", "--format", "{{.Digest}}", &id]).trim(),
        image.manifest_digest
    );
    s.ok(&[
        "image",
        "exists",
        &format!("localhost/hstore-adopted@{}", image.manifest_digest),
    ]);
    let out = s.ok(&[
        "run",
        "--rm",
        name,
        "sh",
        "-c",
        "cat /hstore/marker /hstore/again /hstore/link; stat -c %a /hstore/marker; test -e /bin/true || echo gone",
    ]);
    assert_eq!(out, "adopted\nadopted\nadopted\n640\ngone\n");
    s.ok(&["tag", name, "localhost/hstore-tagged:v2"]);
    let saved = scratch.path().join("saved.tar");
    s.ok(&[
        "save",
        "-o",
        saved.to_str().unwrap(),
        "localhost/hstore-tagged:v2",
    ]);
    assert!(std::fs::metadata(&saved).unwrap().len() > 1_000_000);
    // What was saved loads back as the same image (its layers as the
    // uncompressed blobs rebuilt from containers/storage's files).
    let s2 = TestStore::new();
    s2.ok(&["load", "-q", "-i", saved.to_str().unwrap()]);
    assert_eq!(
        s2.ok(&[
            "inspect",
            "--format",
            "{{.Id}}",
            "localhost/hstore-tagged:v2"
        ])
        .trim(),
        id
    );
    assert_eq!(
        s2.ok(&[
            "run",
            "--rm",
            "localhost/hstore-tagged:v2",
            "cat",
            "/hstore/link"
        ]),
        "adopted\n"
    );
    drop(s2);

    // Removed here, containers/storage still holds it: it is not adopted
    // again, even when containers/storage's images.json changes for
    // another image.
    s.ok(&["rmi", "-f", &id]);
    assert!(!listed(&s).iter().any(|l| l.ends_with(&id[..12])));
    assert_eq!(
        std::fs::read(s.root().join("overlay-images/images.json")).unwrap(),
        before,
        "containers/storage's files are not ours to write"
    );
    let other = ImageBuilder::busybox()
        .unwrap()
        .layer_from_entries([Entry::file("other", "other\n", 0o644)])
        .unwrap()
        .build()
        .unwrap();
    let other_archive = scratch.path().join("other.tar");
    std::fs::remove_dir_all(scratch.path().join("layout")).unwrap();
    oci_archive(&other, scratch.path(), &other_archive);
    skopeo_copy(
        &s,
        &format!("oci-archive:{}:v1", other_archive.display()),
        "localhost/hstore-other:v1",
    );
    let other_id = other.config_digest.trim_start_matches("sha256:");
    let lines = listed(&s);
    assert!(
        lines.contains(&format!("localhost/hstore-other:v1 {}", &other_id[..12])),
        "{lines:?}"
    );
    assert!(!lines.iter().any(|l| l.ends_with(&id[..12])), "{lines:?}");
    assert_eq!(
        s.run(&["image", "exists", name]).status.code(),
        Some(1),
        "removed with rmi, not adopted again"
    );

    // Stored again by a containers/storage user: adopted again.
    let stamp = manifest_identity(&s, &id);
    skopeo_copy(&s, &src, name);
    assert_ne!(manifest_identity(&s, &id), stamp, "skopeo rewrote it");
    s.ok(&["image", "exists", name]);
    assert_eq!(
        s.ok(&["run", "--rm", name, "cat", "/hstore/marker"]),
        "adopted\n"
    );
    s.ok(&["rmi", "-a", "-f"]);
    assert_eq!(listed(&s), Vec::<String>::new());
}

fn buildah_ok(s: &TestStore, args: &[&str]) -> String {
    s.buildah_ok(args).trim().to_string()
}

fn json_ids(p: &Path) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn rm_removes_a_buildah_container_as_containers_storage_does() {
    if !have("buildah") {
        eprintln!("buildah is not installed: no containers/storage containers here");
        return;
    }
    let (s, _reg, r) = e2e::podman::with_busybox();
    let from = |name: &str| {
        buildah_ok(
            &s,
            &[
                "from",
                "--tls-verify=false",
                "--name",
                name,
                &format!("docker://{r}"),
            ],
        );
        buildah_ok(&s, &["inspect", "--format", "{{.ContainerID}}", name])
    };
    let cid = from("hstore-rm1");
    buildah_ok(&s, &["run", "hstore-rm1", "sh", "-c", "echo x > /written"]);
    let containers_json = s.root().join("overlay-containers/containers.json");
    let layers_json = s.root().join("overlay-layers/layers.json");
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&containers_json).unwrap()).unwrap();
    let layer = record[0]["layer"].as_str().unwrap().to_string();
    assert!(json_ids(&layers_json).contains(&layer));

    // Mounted by us (podman mount): refused without force.
    s.ok(&["mount", "hstore-rm1"]);
    let o = s.run(&["rm", "hstore-rm1"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(
        e2e::podman::stderr(&o).contains("cannot be removed without using force"),
        "{}",
        e2e::podman::stderr(&o)
    );
    assert_eq!(s.ok(&["rm", "-f", "hstore-rm1"]).trim(), cid);
    assert_eq!(s.ok(&["mount"]), "");
    assert!(!json_ids(&containers_json).contains(&cid));
    assert!(!json_ids(&layers_json).contains(&layer));
    assert!(!s.root().join("overlay").join(&layer).exists());
    assert!(!s.root().join("overlay-containers").join(&cid).exists());
    assert_eq!(
        buildah_ok(&s, &["containers", "--quiet"]),
        "",
        "buildah no longer knows it"
    );
    assert_eq!(
        s.run(&["container", "exists", "--external", &cid])
            .status
            .code(),
        Some(1)
    );

    // Mounted by buildah: refused, nothing changed.
    let cid2 = from("hstore-rm2");
    buildah_ok(&s, &["mount", "hstore-rm2"]);
    let o = s.run(&["rm", "-f", "hstore-rm2"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(
        e2e::podman::stderr(&o).contains("buildah umount"),
        "{}",
        e2e::podman::stderr(&o)
    );
    assert!(json_ids(&containers_json).contains(&cid2));
    buildah_ok(&s, &["umount", "hstore-rm2"]);
    // By ID, beside a container of ours, as upstream 055 does.
    s.ok(&["create", "--name", "hstore-own", &r, "true"]);
    let out = s.ok(&["rm", "hstore-own", &cid2]);
    assert!(out.contains(&cid2), "{out}");
    assert_eq!(s.ok(&["ps", "-a", "--external", "-q"]), "");
    // buildah works on as before.
    from("hstore-rm3");
    buildah_ok(&s, &["run", "hstore-rm3", "true"]);
    buildah_ok(&s, &["rm", "hstore-rm3"]);
}

/// A buildah container's directory sits beside ours in
/// `overlay-containers/`: collecting garbage (which every `rmi` does)
/// never takes it for one of ours.
#[test]
fn garbage_collection_leaves_buildah_containers_alone() {
    if !have("buildah") {
        eprintln!("buildah is not installed: no containers/storage containers here");
        return;
    }
    let (s, _reg, r) = e2e::podman::with_busybox();
    let buildah = |args: &[&str]| buildah_ok(&s, args);
    buildah(&[
        "from",
        "--tls-verify=false",
        "--name",
        "hstore-bctr",
        &format!("docker://{r}"),
    ]);
    let cid = buildah(&["inspect", "--format", "{{.ContainerID}}", "hstore-bctr"]);
    let userdata = s
        .root()
        .join("overlay-containers")
        .join(&cid)
        .join("userdata");
    assert!(userdata.is_dir(), "{}", userdata.display());
    s.ok(&["rmi", "-a", "-f"]);
    assert!(
        userdata.is_dir(),
        "buildah's container directory was collected"
    );
    buildah(&["run", "hstore-bctr", "true"]);
    buildah(&["rm", "hstore-bctr"]);
}
