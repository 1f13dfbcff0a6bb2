//! podman image archives end to end: save (docker-archive, oci-archive,
//! through a pipe and gzip), rmi and load back; what is not an archive;
//! import of a rootfs tarball (file or stdin) with --change and --message.

use std::io::Write;
use std::process::{Command, Stdio};

use e2e::image_env::{assert_fails, hex, image_ids, inspect, layered_image, pull, run_image, sh};
use e2e::oci_image::{ImageBuilder, LayerBuilder};
use e2e::podman::{stderr, stdout, TestStore};
use e2e::registry::Registry;
use serde_json::Value;

#[test]
fn save_rmi_load_round_trips_docker_and_oci_archives() {
    let reg = Registry::start().unwrap();
    let one = layered_image().unwrap();
    let two = ImageBuilder::busybox()
        .unwrap()
        .layer(
            LayerBuilder::new()
                .file("two", "2\n", 0o644)
                .build()
                .unwrap(),
        )
        .cmd(&["cat", "/two"])
        .build()
        .unwrap();
    reg.push("a/one", "1", &one).unwrap();
    reg.push("a/two", "2", &two).unwrap();
    let (r1, r2) = (reg.reference("a/one", "1"), reg.reference("a/two", "2"));
    let s = TestStore::new();
    pull(&s, &r1);
    pull(&s, &r2);
    let before = image_ids(&s);
    let dir = tempfile::tempdir().unwrap();

    for format in ["docker-archive", "oci-archive"] {
        let file = dir.path().join(format!("{format}.tar"));
        s.ok(&[
            "save",
            "-q",
            "-m",
            "--format",
            format,
            "-o",
            file.to_str().unwrap(),
            &r1,
            "two:2",
        ]);
        s.ok(&["rmi", &r1, &r2]);
        assert_eq!(s.ok(&["images", "-q"]), "");
        let out = s.ok(&["load", "-q", "-i", file.to_str().unwrap()]);
        assert_eq!(
            out,
            format!("Loaded image: {r1}\nLoaded image: {r2}\n"),
            "{format}"
        );
        assert_eq!(image_ids(&s), before, "{format}");
        assert_eq!(run_image(&s, &r2), "2\n", "{format}");
        assert_eq!(
            sh(&s, &r1, "ls /data; cat /data/sub/y"),
            "b\nsub\nY\n",
            "{format}"
        );
        assert_eq!(
            inspect(&s, &r1)["Config"]["Cmd"],
            serde_json::json!(["cat", "/data/b"])
        );
    }

    // docker-archive is `docker save`'s format: manifest.json, config, uncompressed layers.
    let file = dir.path().join("one.tar");
    s.ok(&[
        "image",
        "save",
        "-o",
        file.to_str().unwrap(),
        &r1,
        "extra/name:x",
    ]);
    let mut a = tar::Archive::new(std::fs::File::open(&file).unwrap());
    let mut names = Vec::new();
    let mut manifest = Value::Null;
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let n = e.path().unwrap().to_string_lossy().into_owned();
        if n == "manifest.json" {
            manifest = serde_json::from_reader(&mut e).unwrap();
        }
        names.push(n);
    }
    assert_eq!(
        manifest[0]["RepoTags"],
        serde_json::json!([r1, "localhost/extra/name:x"])
    );
    assert_eq!(
        manifest[0]["Config"],
        format!("{}.json", hex(&one.config_digest))
    );
    let layers: Vec<String> = one
        .layers
        .iter()
        .map(|l| format!("{}.tar", hex(&l.diff_id)))
        .collect();
    assert_eq!(manifest[0]["Layers"], serde_json::json!(layers));
    assert_eq!(names.len(), 1 + one.layers.len() + 1, "{names:?}");
    // Pulled back, an archive is copied without "Trying to pull" (a line
    // Podman prints of registries only).
    let o = s.run(&["pull", &format!("docker-archive:{}", file.display())]);
    assert!(o.status.success(), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        err.lines().next(),
        Some("Getting image source signatures"),
        "{err}"
    );

    // stdout to stdin, through gzip; a terminal is refused.
    let podman = e2e::binaries::bin("podman");
    let base = format!(
        "{} --root {} --runroot {}",
        podman.display(),
        s.root().display(),
        s.runroot().display()
    );
    let o = Command::new("sh")
        .args([
            "-c",
            &format!(
                "{base} save --format oci-archive {r2} | gzip -1 > {}/two.tgz",
                dir.path().display()
            ),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    s.ok(&["rmi", &r2]);
    let o = Command::new("sh")
        .args([
            "-c",
            &format!("{base} load < {}/two.tgz", dir.path().display()),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), format!("Loaded image: {r2}\n"));
    assert!(stderr(&o).contains("Copying blob"), "{}", stderr(&o));
    let o = Command::new("script")
        .args(["-qec", &format!("{base} save {r2}"), "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        stdout(&o).contains("refusing to save to terminal"),
        "{}",
        stdout(&o)
    );

    // Not an archive: one line, nothing stored, no staging left behind.
    let junk = dir.path().join("junk.tar");
    std::fs::write(&junk, vec![b'x'; 4096]).unwrap();
    let o = s.run(&["load", "-i", junk.to_str().unwrap()]);
    assert_fails(
        &o,
        125,
        "payload does not match any of the supported image formats",
    );
    assert_eq!(image_ids(&s), before);
    let leftovers: Vec<_> = std::fs::read_dir(s.root().join("staging"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn save_uncompressed_writes_plain_tar_layers_that_load_back() {
    let reg = Registry::start().unwrap();
    reg.push("a/plain", "1", &layered_image().unwrap()).unwrap();
    let r = reg.reference("a/plain", "1");
    let s = TestStore::new();
    pull(&s, &r);
    let before = image_ids(&s);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain.tar");
    s.ok(&[
        "save",
        "-q",
        "--format",
        "oci-archive",
        "--uncompressed",
        "-o",
        file.to_str().unwrap(),
        &r,
    ]);
    let out = dir.path().join("x");
    std::fs::create_dir(&out).unwrap();
    let st = Command::new("tar")
        .arg("-C")
        .arg(&out)
        .arg("-xf")
        .arg(&file)
        .status()
        .unwrap();
    assert!(st.success());
    let index: Value =
        serde_json::from_slice(&std::fs::read(out.join("index.json")).unwrap()).unwrap();
    let digest = index["manifests"][0]["digest"].as_str().unwrap();
    let blob = |d: &str| std::fs::read(out.join("blobs/sha256").join(hex(d))).unwrap();
    let manifest: Value = serde_json::from_slice(&blob(digest)).unwrap();
    let config: Value =
        serde_json::from_slice(&blob(manifest["config"]["digest"].as_str().unwrap())).unwrap();
    let layers = manifest["layers"].as_array().unwrap();
    assert!(!layers.is_empty());
    for (l, diff_id) in layers
        .iter()
        .zip(config["rootfs"]["diff_ids"].as_array().unwrap())
    {
        assert_eq!(
            l["mediaType"], "application/vnd.oci.image.layer.v1.tar",
            "{l}"
        );
        // A plain tar: its digest is the diff_id, its bytes a ustar archive.
        assert_eq!(&l["digest"], diff_id);
        let bytes = blob(l["digest"].as_str().unwrap());
        assert_eq!(bytes.len() as u64, l["size"].as_u64().unwrap());
        assert_eq!(&bytes[257..262], b"ustar", "{l}");
    }
    // Only what the manifest names is in the archive.
    let blobs = std::fs::read_dir(out.join("blobs/sha256")).unwrap().count();
    assert_eq!(blobs, layers.len() + 2);
    s.ok(&["rmi", &r]);
    s.ok(&["load", "-q", "-i", file.to_str().unwrap()]);
    assert_eq!(image_ids(&s), before);
    // oci-dir cannot be written so: refused in one line.
    let o = s.run(&[
        "save",
        "--format",
        "oci-dir",
        "--uncompressed",
        "-o",
        dir.path().join("d").to_str().unwrap(),
        &r,
    ]);
    assert_eq!(o.status.code(), Some(125));
    assert!(stderr(&o).contains("--uncompressed"), "{}", stderr(&o));
}

#[test]
fn import_makes_a_runnable_image_from_a_rootfs_tarball() {
    let s = TestStore::new();
    let dir = tempfile::tempdir().unwrap();
    let rootfs = dir.path().join("rootfs.tar");
    // The busybox root file system plus one file, as a plain tar.
    let tar = LayerBuilder::new()
        .entries(e2e::oci_image::busybox_entries().unwrap())
        .dir("srv", 0o755)
        .file("srv/hello", "imported\n", 0o644)
        .tar()
        .unwrap();
    std::fs::write(&rootfs, &tar).unwrap();

    let out = s.ok(&[
        "import",
        "-q",
        rootfs.to_str().unwrap(),
        "imported:1",
        "--change",
        "CMD [\"cat\", \"hello\"]",
        "--change",
        "WORKDIR=/srv",
        "--change",
        "ENV GREETING=hi there",
        "--change",
        "LABEL origin=tarball",
        "--message",
        "from a tarball",
    ]);
    let id = out
        .trim()
        .strip_prefix("sha256:")
        .unwrap_or_else(|| panic!("{out}"))
        .to_string();
    assert_eq!(id.len(), 64);
    assert_eq!(run_image(&s, "imported:1"), "imported\n");
    assert_eq!(
        sh(&s, "localhost/imported:1", "echo $GREETING; pwd"),
        "hi there\n/srv\n"
    );
    let doc = inspect(&s, &id);
    assert_eq!(doc["RepoTags"], serde_json::json!(["localhost/imported:1"]));
    assert_eq!(doc["Labels"]["origin"], "tarball");
    assert_eq!(doc["Comment"].as_str().unwrap_or(""), "");
    assert_eq!(doc["History"][0]["comment"], "from a tarball");
    assert_eq!(
        doc["RootFS"]["Layers"][0],
        e2e::oci_image::sha256_digest(&tar)
    );

    // From stdin, unnamed: dangling, and runnable by ID.
    let mut c = s
        .cmd()
        .args(["import", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(&tar).unwrap();
    let o = c.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let id2 = stdout(&o).trim().trim_start_matches("sha256:").to_string();
    assert_eq!(sh(&s, &id2, "cat /srv/hello"), "imported\n");
    assert!(s
        .ok(&["images", "--filter", "dangling=true", "-q", "--no-trunc"])
        .contains(&id2));

    let o = s.run(&["import", "/no/such.tar"]);
    assert_fails(&o, 125, "no such file");
    let o = s.run(&["import", rootfs.to_str().unwrap(), "--change", "FROM x"]);
    assert!(
        stderr(&o).contains("invalid change \"FROM x\""),
        "{}",
        stderr(&o)
    );
}
