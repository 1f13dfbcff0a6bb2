//! Images end to end through the real podman, helpers, registry and runc:
//! pull (layers, whiteouts, platforms, auth), listing and naming, inspect
//! and history, push, save/load, import, login/logout, and the faults a
//! pull must survive without leaving anything half-stored.

#[path = "fetcher_support/mod.rs"]
#[allow(dead_code)]
mod fetcher_support;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use e2e::oci_image::{busybox_image, host_arch, Image, ImageBuilder, ImageIndex, LayerBuilder};
use e2e::podman::{stderr, stdout, TestStore};
use e2e::registry::Registry;
use serde_json::Value;

fn hex(d: &str) -> &str {
    d.trim_start_matches("sha256:")
}

/// busybox + a layer of files + a layer that whites one out, makes a
/// directory opaque and changes a file.
fn layered_image() -> Image {
    let files = LayerBuilder::new()
        .dir("data", 0o755)
        .file("data/a", "A\n", 0o644)
        .file("data/b", "old\n", 0o644)
        .dir("data/sub", 0o755)
        .file("data/sub/x", "X\n", 0o644)
        .dir("etc", 0o755)
        .file("etc/motd", "welcome\n", 0o644)
        .build()
        .unwrap();
    let changes = LayerBuilder::new()
        .dir("data", 0o755)
        .whiteout("data/a")
        .file("data/b", "new\n", 0o644)
        .dir("data/sub", 0o755)
        .opaque("data/sub")
        .file("data/sub/y", "Y\n", 0o644)
        .build()
        .unwrap();
    ImageBuilder::busybox()
        .unwrap()
        .layer(files)
        .layer_with_history(changes, "whiteout and opaque")
        .cmd(&["cat", "/data/b"])
        .label("e2e", "layered")
        .build()
        .unwrap()
}

fn pull(s: &TestStore, r: &str) -> String {
    s.ok(&["pull", "-q", "--tls-verify=false", r])
        .trim()
        .to_string()
}

/// `podman run --rm --network none IMG sh -c SCRIPT`'s stdout.
fn sh(s: &TestStore, image: &str, script: &str) -> String {
    s.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        image,
        "sh",
        "-c",
        script,
    ])
}

fn inspect(s: &TestStore, image: &str) -> Value {
    let v: Value = serde_json::from_str(&s.ok(&["image", "inspect", image])).unwrap();
    v[0].clone()
}

fn image_ids(s: &TestStore) -> Vec<String> {
    let mut v: Vec<String> = s
        .ok(&["images", "-q", "--no-trunc"])
        .lines()
        .map(String::from)
        .collect();
    v.sort();
    v
}

#[test]
fn a_multi_layer_pull_gives_the_right_files_inspect_and_history() {
    let reg = Registry::start().unwrap();
    let image = layered_image();
    reg.push("team/layered", "1.0", &image).unwrap();
    let r = reg.reference("team/layered", "1.0");
    let s = TestStore::new();
    let id = pull(&s, &r);
    assert_eq!(id, hex(&image.config_digest));

    let out = sh(&s, &r, "ls /data; echo --; ls -a /data/sub; echo --; cat /data/b /data/sub/y /etc/motd; test -e /data/a || echo a-gone; test -e /data/sub/x || echo x-gone");
    assert_eq!(
        out,
        "b\nsub\n--\n.\n..\ny\n--\nnew\nY\nwelcome\na-gone\nx-gone\n"
    );
    // The image's own command and the busybox layer underneath.
    assert_eq!(s.ok(&["run", "--rm", "--network", "none", &r]), "new\n");
    assert_eq!(
        sh(&s, &r, "cat /etc/passwd | head -1"),
        "root:x:0:0:root:/root:/bin/sh\n"
    );

    let doc = inspect(&s, &r);
    assert_eq!(doc["Id"], hex(&image.config_digest));
    assert_eq!(doc["RepoTags"], serde_json::json!([r]));
    assert_eq!(
        doc["RepoDigests"],
        serde_json::json!([format!(
            "{}/team/layered@{}",
            reg.addr, image.manifest_digest
        )])
    );
    assert_eq!(doc["Config"]["Cmd"], serde_json::json!(["cat", "/data/b"]));
    assert_eq!(doc["Labels"]["e2e"], "layered");
    assert_eq!(doc["Architecture"], host_arch());
    assert_eq!(doc["Os"], "linux");
    let diff_ids: Vec<Value> = image
        .layers
        .iter()
        .map(|l| Value::from(l.diff_id.clone()))
        .collect();
    assert_eq!(doc["RootFS"]["Layers"], Value::Array(diff_ids));
    // The same document through short forms of the name and the ID.
    assert_eq!(inspect(&s, "layered:1.0")["Id"], doc["Id"]);
    assert_eq!(inspect(&s, &id[..12])["Id"], doc["Id"]);

    let history = s.ok(&["history", "--format", "{{.CreatedBy}}|{{.ID}}", &r]);
    let rows: Vec<&str> = history.lines().collect();
    assert_eq!(rows.len(), 3, "{history}");
    assert_eq!(rows[0], format!("whiteout and opaque|{}", &id[..12]));
    assert!(
        rows[1].starts_with("e2e fixture layer 2|<missing>"),
        "{history}"
    );
    assert!(rows[2].starts_with("ADD busybox rootfs"), "{history}");
}

#[test]
fn platform_flags_pick_the_manifest_from_an_index() {
    let reg = Registry::start().unwrap();
    let (other, variant) = fetcher_support::other_arch();
    let native = ImageBuilder::busybox()
        .unwrap()
        .label("platform", "native")
        .build()
        .unwrap();
    let mut foreign_b = ImageBuilder::busybox()
        .unwrap()
        .architecture(other)
        .label("platform", "foreign");
    if !variant.is_empty() {
        foreign_b = foreign_b.variant(variant);
    }
    let foreign = foreign_b.build().unwrap();
    let index = ImageIndex::oci(vec![native.clone(), foreign.clone()]).unwrap();
    reg.push_index("multi", "latest", &index).unwrap();
    let r = reg.reference("multi", "latest");

    let s = TestStore::new();
    assert_eq!(pull(&s, &r), hex(&native.config_digest));
    assert_eq!(sh(&s, &r, "echo runs"), "runs\n");

    let s2 = TestStore::new();
    let platform = if variant.is_empty() {
        format!("linux/{other}")
    } else {
        format!("linux/{other}/{variant}")
    };
    assert_eq!(
        s2.ok(&[
            "pull",
            "-q",
            "--tls-verify=false",
            "--platform",
            &platform,
            &r
        ])
        .trim(),
        hex(&foreign.config_digest)
    );
    let doc = inspect(&s2, &r);
    assert_eq!(
        (doc["Architecture"].as_str(), doc["Digest"].as_str()),
        (Some(other), Some(foreign.manifest_digest.as_str()))
    );

    let s3 = TestStore::new();
    assert_eq!(
        s3.ok(&["pull", "-q", "--tls-verify=false", "--arch", other, &r])
            .trim(),
        hex(&foreign.config_digest)
    );
    let o = s3.run(&["pull", "-q", "--tls-verify=false", "--arch", "s390x", &r]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).contains("no image found in manifest list for architecture \"s390x\""),
        "{}",
        stderr(&o)
    );
}

#[test]
fn images_listing_naming_and_removal_follow_podman() {
    let reg = Registry::start().unwrap();
    let bb = busybox_image().unwrap();
    let app = ImageBuilder::busybox()
        .unwrap()
        .layer(
            LayerBuilder::new()
                .file("app", "v1\n", 0o644)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
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
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("image not known"), "{}", stderr(&o));
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
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("in use"), "{}", stderr(&o));
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

/// podman with `REGISTRY_AUTH_FILE` set (so the host's auth files play no part).
fn with_auth(s: &TestStore, auth: &Path, args: &[&str]) -> std::process::Output {
    s.cmd()
        .env("REGISTRY_AUTH_FILE", auth)
        .env_remove("XDG_RUNTIME_DIR")
        .args(args)
        .output()
        .unwrap()
}

fn login_stdin(s: &TestStore, auth: &Path, args: &[&str], password: &str) -> std::process::Output {
    let mut c = s
        .cmd()
        .env("REGISTRY_AUTH_FILE", auth)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    c.wait_with_output().unwrap()
}

#[test]
fn an_htpasswd_registry_takes_creds_or_a_login() {
    let reg = Registry::start_with_htpasswd("alice", "s3cret").unwrap();
    let image = busybox_image().unwrap();
    reg.push("private/bb", "latest", &image).unwrap();
    let r = reg.reference("private/bb", "latest");
    let s = TestStore::new();
    let auth = s.dir.path().join("auth/auth.json");

    let o = with_auth(&s, &auth, &["pull", "-q", "--tls-verify=false", &r]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).contains("authentication required"),
        "{}",
        stderr(&o)
    );
    let o = with_auth(
        &s,
        &auth,
        &[
            "pull",
            "-q",
            "--tls-verify=false",
            "--creds",
            "alice:wrong",
            &r,
        ],
    );
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).contains("authentication failed for \"alice\""),
        "{}",
        stderr(&o)
    );
    let o = with_auth(
        &s,
        &auth,
        &[
            "pull",
            "-q",
            "--tls-verify=false",
            "--creds",
            "alice:s3cret",
            &r,
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    s.ok(&["rmi", &r]);

    // Wrong password: refused, nothing written. No terminal: no prompt.
    let o = login_stdin(
        &s,
        &auth,
        &[
            "login",
            "--tls-verify=false",
            "-u",
            "alice",
            "--password-stdin",
            &reg.addr,
        ],
        "nope",
    );
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(
        stderr(&o).trim(),
        format!(
            "Error: logging into \"{}\": invalid username/password",
            reg.addr
        )
    );
    assert!(!auth.exists());
    let o = with_auth(&s, &auth, &["login", "--tls-verify=false", &reg.addr]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).contains("stdin is not a terminal"),
        "{}",
        stderr(&o)
    );

    let o = login_stdin(
        &s,
        &auth,
        &[
            "login",
            "--tls-verify=false",
            "-u",
            "alice",
            "--password-stdin",
            &reg.addr,
        ],
        "s3cret",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "Login Succeeded!\n");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&auth).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let doc: Value = serde_json::from_slice(&std::fs::read(&auth).unwrap()).unwrap();
    assert_eq!(
        doc["auths"][reg.addr.as_str()]["auth"],
        e2e::registry_client::base64(b"alice:s3cret")
    );
    assert_eq!(
        stdout(&with_auth(&s, &auth, &["login", "--get-login", &reg.addr])),
        "alice\n"
    );
    // Logged in: existing credentials are checked and reused.
    let o = with_auth(&s, &auth, &["login", "--tls-verify=false", &reg.addr]);
    assert!(
        stdout(&o).contains("Existing credentials are valid"),
        "{} {}",
        stdout(&o),
        stderr(&o)
    );

    let o = with_auth(&s, &auth, &["pull", "-q", "--tls-verify=false", &r]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(sh(&s, &r, "echo in"), "in\n");

    let o = with_auth(&s, &auth, &["logout", &reg.addr]);
    assert_eq!(
        stdout(&o),
        format!("Removed login credentials for {}\n", reg.addr)
    );
    let o = with_auth(&s, &auth, &["logout", &reg.addr]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(
        stderr(&o).trim(),
        format!("Error: not logged into {}", reg.addr)
    );
    s.ok(&["rmi", &r]);
    let o = with_auth(&s, &auth, &["pull", "-q", "--tls-verify=false", &r]);
    assert_eq!(o.status.code(), Some(125), "{}", stderr(&o));

    // -p works too; logout --all empties the file.
    let o = with_auth(
        &s,
        &auth,
        &[
            "login",
            "--tls-verify=false",
            "-u",
            "alice",
            "-p",
            "s3cret",
            &reg.addr,
        ],
    );
    assert_eq!(stdout(&o), "Login Succeeded!\n", "{}", stderr(&o));
    let o = with_auth(&s, &auth, &["logout", "--all"]);
    assert_eq!(stdout(&o), "Removed login credentials for all registries\n");
    let doc: Value = serde_json::from_slice(&std::fs::read(&auth).unwrap()).unwrap();
    assert_eq!(doc["auths"], serde_json::json!({}));
}

#[test]
fn login_follows_a_bearer_token_challenge() {
    let reg = Registry::start().unwrap();
    let (port, log) = fetcher_support::bearer_front(reg.addr.clone(), "bob", "tok3n").unwrap();
    let front = format!("127.0.0.1:{port}");
    let s = TestStore::new();
    let auth = s.dir.path().join("auth.json");
    let o = login_stdin(
        &s,
        &auth,
        &[
            "login",
            "--tls-verify=false",
            "-u",
            "bob",
            "--password-stdin",
            &front,
        ],
        "bad",
    );
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).contains("invalid username/password"),
        "{}",
        stderr(&o)
    );
    let o = login_stdin(
        &s,
        &auth,
        &[
            "login",
            "--tls-verify=false",
            "-u",
            "bob",
            "--password-stdin",
            &front,
        ],
        "tok3n",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let seen = log.lock().unwrap().clone();
    assert_eq!(
        seen.iter()
            .map(|(svc, _, ok)| (svc.as_str(), *ok))
            .collect::<Vec<_>>(),
        [("e2e", false), ("e2e", true)]
    );
    // The stored token works for a pull through the same front.
    reg.push("tok/bb", "latest", &busybox_image().unwrap())
        .unwrap();
    let o = with_auth(
        &s,
        &auth,
        &[
            "pull",
            "-q",
            "--tls-verify=false",
            &format!("{front}/tok/bb:latest"),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn save_rmi_load_round_trips_docker_and_oci_archives() {
    let reg = Registry::start().unwrap();
    let one = layered_image();
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
        assert_eq!(
            s.ok(&["run", "--rm", "--network", "none", &r2]),
            "2\n",
            "{format}"
        );
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
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).contains("payload does not match any of the supported image formats"),
        "{}",
        stderr(&o)
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
    assert_eq!(
        s.ok(&["run", "--rm", "--network", "none", "imported:1"]),
        "imported\n"
    );
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
    assert_eq!(o.status.code(), Some(125));
    assert!(stderr(&o).contains("no such file"), "{}", stderr(&o));
    let o = s.run(&["import", rootfs.to_str().unwrap(), "--change", "FROM x"]);
    assert!(
        stderr(&o).contains("invalid change \"FROM x\""),
        "{}",
        stderr(&o)
    );
}

#[test]
fn push_to_another_repository_and_pull_it_back_into_a_fresh_store() {
    let reg = Registry::start().unwrap();
    let image = layered_image();
    reg.push("src/img", "1", &image).unwrap();
    let r = reg.reference("src/img", "1");
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
    assert!(stderr(&o).contains("Connection refused"), "{}", stderr(&o));
    assert!(
        std::fs::read_dir(s.root().join("staging"))
            .unwrap()
            .next()
            .is_none(),
        "staging left behind"
    );
}

#[test]
fn failed_pulls_store_nothing() {
    let reg = Registry::start().unwrap();
    let s = TestStore::new();
    pull(&s, &{
        reg.push("ok/bb", "latest", &busybox_image().unwrap())
            .unwrap();
        reg.reference("ok/bb", "latest")
    });
    let before = image_ids(&s);

    let o = s.run(&[
        "pull",
        "-q",
        "--tls-verify=false",
        &reg.reference("ok/bb", "nope"),
    ]);
    assert_eq!(o.status.code(), Some(125));
    assert!(stderr(&o).contains("manifest unknown"), "{}", stderr(&o));

    let locked = Registry::start_with_htpasswd("u", "p").unwrap();
    locked
        .push("x/y", "latest", &busybox_image().unwrap())
        .unwrap();
    let o = s
        .cmd()
        .env("REGISTRY_AUTH_FILE", s.dir.path().join("none.json"))
        .args([
            "pull",
            "-q",
            "--tls-verify=false",
            &locked.reference("x/y", "latest"),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).contains("authentication required"),
        "{}",
        stderr(&o)
    );

    let bad = ImageBuilder::busybox()
        .unwrap()
        .layer(
            LayerBuilder::new()
                .file("f", vec![1u8; 100_000], 0o644)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    reg.push("bad/img", "latest", &bad).unwrap();
    let h = hex(&bad.layers[1].digest);
    let data = reg.storage_dir().join(format!(
        "docker/registry/v2/blobs/sha256/{}/{h}/data",
        &h[..2]
    ));
    let mut bytes = std::fs::read(&data).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&data, &bytes).unwrap();
    let o = s.run(&[
        "pull",
        "-q",
        "--tls-verify=false",
        &reg.reference("bad/img", "latest"),
    ]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).contains(&format!("blob {} from", bad.layers[1].digest))
            && stderr(&o).contains("digest mismatch"),
        "{}",
        stderr(&o)
    );

    assert_eq!(image_ids(&s), before);
    assert_eq!(
        s.ok(&["images", "--format", "{{.Repository}}"]).trim(),
        format!("{}/ok/bb", reg.addr)
    );
}

#[test]
fn sigkill_mid_pull_leaves_the_store_as_it_was_and_a_second_pull_completes() {
    let reg = Registry::start().unwrap();
    let big = random_layer(30 << 20);
    let image = ImageBuilder::busybox().unwrap().layer(big).build().unwrap();
    reg.push("big/img", "latest", &image).unwrap();
    reg.push("small/bb", "latest", &busybox_image().unwrap())
        .unwrap();
    let port = fetcher_support::throttling_proxy(reg.addr.clone()).unwrap();
    let slow = format!("127.0.0.1:{port}/big/img:latest");
    let s = TestStore::new();
    pull(&s, &reg.reference("small/bb", "latest"));
    let before = s.ok(&["images", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}"]);

    let mut child = s
        .cmd()
        .args(["pull", "--tls-verify=false", &slow])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the big blob is partly downloaded into the staging layout.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let partial = walk_sizes(&s.root().join("staging"))
            .into_iter()
            .any(|n| n > 2 << 20);
        if partial {
            break;
        }
        assert!(Instant::now() < deadline, "the pull never got going");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the pull ended before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    child.wait().unwrap();
    // The helpers notice the hang-up and exit on their own.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !processes_mentioning(&s.root()).is_empty() {
        assert!(
            Instant::now() < deadline,
            "helpers left running: {:?}",
            processes_mentioning(&s.root())
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    assert_eq!(
        s.ok(&["images", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}"]),
        before
    );
    assert_eq!(s.run(&["image", "exists", &slow]).status.code(), Some(1));
    assert_eq!(
        pull(&s, &reg.reference("big/img", "latest")),
        hex(&image.config_digest)
    );
    assert_eq!(
        sh(
            &s,
            &reg.reference("big/img", "latest"),
            "wc -c < /random.bin"
        )
        .trim(),
        (30u64 << 20).to_string()
    );
}

/// A layer of one file of `len` incompressible bytes (stored, not deflated,
/// so it is quick to build even in debug builds).
fn random_layer(len: usize) -> e2e::oci_image::Layer {
    let mut x: u64 = 0x9e3779b97f4a7c15;
    let mut data = Vec::with_capacity(len + 8);
    while data.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data.extend_from_slice(&x.to_le_bytes());
    }
    data.truncate(len);
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(len as u64);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(e2e::oci_image::FIXED_MTIME);
    h.set_cksum();
    tar.append_data(&mut h, "random.bin", data.as_slice())
        .unwrap();
    let tar = tar.into_inner().unwrap();
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::none());
    gz.write_all(&tar).unwrap();
    let tar_gz = gz.finish().unwrap();
    e2e::oci_image::Layer {
        digest: e2e::oci_image::sha256_digest(&tar_gz),
        diff_id: e2e::oci_image::sha256_digest(&tar),
        tar_gz,
    }
}

/// Command lines of running processes that name `path`.
fn processes_mentioning(path: &Path) -> Vec<String> {
    let needle = path.display().to_string();
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains(&needle) {
                out.push(cmd);
            }
        }
    }
    out
}

/// Sizes of every regular file under `dir`.
fn walk_sizes(dir: &Path) -> Vec<u64> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let Ok(m) = std::fs::symlink_metadata(e.path()) else {
            continue;
        };
        if m.is_dir() {
            out.extend(walk_sizes(&e.path()));
        } else if m.is_file() {
            out.push(m.len());
        }
    }
    out
}
