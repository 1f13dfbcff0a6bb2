//! storage-helper end to end, what it must refuse or survive: a SIGKILL in
//! the middle of a big layer, a layer whose diff_id lies, and hostile
//! layers (`..` paths, writes through symlinks) trying to escape their
//! directory. Nothing half-stored may stay behind (run as root).

use std::path::Path;
use std::time::{Duration, Instant};

use e2e::oci_image::{sha256_digest, ImageBuilder, LayerBuilder};
use e2e::raw_tar::{plain_layer, RawTar};
use e2e::storage_env::{noise, Store};

#[test]
fn sigkill_during_a_big_layer_import_leaves_no_half_image_and_the_next_import_works() {
    let s = Store::new();
    let mut tar = RawTar::default().dir("big", 0o755, 0, 0);
    for i in 0..400 {
        tar = tar.file(&format!("big/{i:04}"), &noise(i, 128 * 1024), 0o644, 0, 0);
    }
    let image = ImageBuilder::busybox()
        .unwrap()
        .layer(plain_layer(tar.finish()))
        .build()
        .unwrap();
    let layout = s.layout(&image, "localhost/big:1");
    let mut caught = false;
    for attempt in 0..5 {
        let mut child = s
            .cmd()
            .args([
                "import-oci",
                layout.to_str().unwrap(),
                "--ref",
                "localhost/big:1",
            ])
            .spawn()
            .unwrap();
        // Wait until a layer is being unpacked, then kill.
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut busy = false;
        while Instant::now() < deadline && child.try_wait().unwrap().is_none() {
            let tmp = std::fs::read_dir(s.layers_dir()).map(|rd| {
                rd.filter_map(|e| e.ok())
                    .any(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
            });
            if tmp.unwrap_or(false) && s.layer_dirs().len() == 1 {
                busy = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
        let st = child.wait().unwrap();
        if busy && st.code().is_none() {
            caught = true;
            // No image, and no layer but the small one that finished.
            assert_eq!(s.json(&["images"]), serde_json::json!([]));
            let recorded: Vec<String> = s
                .json(&["layers"])
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["chain_id"].as_str().unwrap().to_string())
                .collect();
            assert!(recorded.len() <= 1, "{recorded:?}");
            assert!(s.layer_dirs().len() <= 1);
            break;
        }
        eprintln!("attempt {attempt}: import finished before the kill; retrying from scratch");
        s.ok(&["rmi", "localhost/big:1"]);
    }
    assert!(
        caught,
        "never caught the import in the middle of the big layer"
    );
    let img = s.import(&image, "localhost/big:1");
    assert_eq!(img["layers"].as_array().unwrap().len(), 2);
    let leftovers: Vec<String> = std::fs::read_dir(s.layers_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    s.create_container("big", "localhost/big:1");
    let mp = s.mount("big");
    assert_eq!(
        std::fs::read(mp.join("big/0399")).unwrap(),
        noise(399, 128 * 1024)
    );
    s.ok(&["rm-container", "big"]);
}

#[test]
fn a_layer_whose_diff_id_does_not_match_is_refused() {
    let s = Store::new();
    let mut layer = LayerBuilder::new().file("x", "x", 0o644).build().unwrap();
    layer.diff_id = sha256_digest(b"not the content");
    let image = ImageBuilder::busybox()
        .unwrap()
        .layer(layer.clone())
        .build()
        .unwrap();
    let layout = s.layout(&image, "localhost/bad:1");
    let err = s.import_layout_fails(&layout, "localhost/bad:1");
    assert!(
        err.contains("diff_id")
            && err.contains(&layer.diff_id)
            && err.contains(&layer.digest[7..19])
            && err.contains("localhost/bad:1"),
        "{err}"
    );
    assert_eq!(s.json(&["images"]), serde_json::json!([]));
    let recorded = s.json(&["layers"]);
    assert_eq!(
        recorded.as_array().unwrap().len(),
        1,
        "only the good busybox layer: {recorded}"
    );
    assert_eq!(s.layer_dirs().len(), 1);
}

#[test]
fn hostile_layers_cannot_write_outside_their_directory() {
    let s = Store::new();
    let outside = s.dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    // `..` in a path is refused outright.
    let image = RawTar::default()
        .file("../../escaped", b"x", 0o644, 0, 0)
        .image()
        .unwrap();
    let err = s.import_layout_fails(&s.layout(&image, "localhost/evil:1"), "localhost/evil:1");
    assert!(
        err.contains("'..'") && err.contains("localhost/evil:1"),
        "{err}"
    );
    // A symlink to an absolute path is followed inside the layer only.
    let target = outside.to_str().unwrap();
    let image = RawTar::default()
        .symlink("esc", target)
        .file("esc/pwned", b"x", 0o644, 0, 0)
        .symlink("up", "../../../../../..")
        .file("up/tmp/pwned2", b"y", 0o644, 0, 0)
        .image()
        .unwrap();
    let img = s.import(&image, "localhost/evil:2");
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "nothing written outside"
    );
    assert!(!Path::new("/tmp/pwned2").exists());
    let diff = s
        .layers_dir()
        .join(img["layers"][0].as_str().unwrap())
        .join("diff");
    assert!(
        diff.join(target.trim_start_matches('/'))
            .join("pwned")
            .exists(),
        "landed inside the layer"
    );
    assert!(diff.join("tmp/pwned2").exists());
    let err = s.import_layout_fails(Path::new("/nonexistent-layout"), "x");
    assert!(err.contains("not an OCI image layout"), "{err}");
    let err = s.import_layout_fails(&s.layout(&image, "localhost/evil:2"), "localhost/missing:1");
    assert!(
        err.contains("no image named \"localhost/missing:1\"") && err.contains("localhost/evil:2"),
        "{err}"
    );
}
