//! storage-helper end to end, what layers become on disk: overlay's own
//! whiteout forms, xattrs, links, devices and owners merging exactly; one
//! copy of a shared base freed by reference count; images too deep for
//! one page of lowerdir paths still mounting (run as root).

use std::os::unix::fs::MetadataExt;

use e2e::oci_image::{busybox_image, busybox_with_file, ImageBuilder, LayerBuilder};
use e2e::raw_tar::MTIME;
use e2e::storage_env::{tree, xattr, Store};
use e2e::storage_fixtures::{three_layer_expected, three_layer_image};

#[test]
fn whiteouts_opaque_dirs_links_devices_xattrs_and_owners_merge_exactly() {
    let s = Store::new();
    let image = three_layer_image().unwrap();
    let img = s.import(&image, "localhost/tricky:1");
    let layers: Vec<String> = img["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(layers.len(), 3);

    // In the layer directories: overlay's own whiteout forms.
    let l2 = s.layers_dir().join(&layers[1]).join("diff");
    let wh = std::fs::symlink_metadata(l2.join("data/gone")).unwrap();
    assert!(
        std::os::unix::fs::FileTypeExt::is_char_device(&wh.file_type()) && wh.rdev() == 0,
        "whiteout is a 0/0 char device"
    );
    assert!(!l2.join("data/.wh.gone").exists());
    assert_eq!(
        xattr(&l2.join("opq"), "trusted.overlay.opaque").as_deref(),
        Some(&b"y"[..])
    );
    let (a, b) = (
        std::fs::metadata(l2.join("srv/file")).unwrap(),
        std::fs::metadata(l2.join("srv/hard")).unwrap(),
    );
    assert_eq!((a.ino(), a.nlink()), (b.ino(), 2), "hard link kept");

    s.create_container("tricky", "localhost/tricky:1");
    let mp = s.mount("tricky");
    let merged = tree(&mp);
    assert_eq!(merged, three_layer_expected(), "merged view");
    assert_eq!(
        xattr(&mp.join("srv/file"), "user.note").as_deref(),
        Some(&b"kept"[..])
    );
    let f = std::fs::metadata(mp.join("srv/file")).unwrap();
    assert_eq!(f.mtime(), MTIME as i64);
    assert_eq!(
        std::fs::metadata(mp.join("home/user")).unwrap().mtime(),
        MTIME as i64,
        "directory mtimes survive their children"
    );
    s.ok(&["unmount", "tricky"]);
    assert!(s.mounts().is_empty());
}

#[test]
fn images_sharing_a_base_store_it_once_and_rmi_frees_by_refcount() {
    let s = Store::new();
    let a = busybox_image().unwrap();
    let b = busybox_with_file("b.txt", "b").unwrap();
    let ia = s.import(&a, "localhost/a:1");
    let ib = s.import(&b, "localhost/b:1");
    assert_eq!(ia["layers"][0], ib["layers"][0], "same base chain ID");
    assert_eq!(s.layer_dirs().len(), 2, "the shared base is stored once");
    // config+manifest each, busybox layer once, b's extra layer.
    assert_eq!(s.blob_count(), 2 + 2 + 1 + 1);

    let out = s.ok(&["rmi", "localhost/a:1"]);
    assert!(
        out.contains("Untagged: localhost/a:1")
            && out.contains(&format!("Deleted: {}", ia["id"].as_str().unwrap())),
        "{out}"
    );
    assert_eq!(s.layer_dirs().len(), 2, "b still needs the base");
    assert_eq!(s.blob_count(), 4);
    let dirs_before = s.layer_dirs();
    s.ok(&["rmi", "localhost/b:1"]);
    assert!(
        s.layer_dirs().is_empty(),
        "left: {dirs_before:?} -> {:?}",
        s.layer_dirs()
    );
    assert_eq!(s.blob_count(), 0);
    assert_eq!(
        std::fs::read_dir(s.layers_dir().join("l")).unwrap().count(),
        0,
        "links go with their layers"
    );
    assert_eq!(s.json(&["images"]), serde_json::json!([]));
}

#[test]
fn images_of_120_and_160_layers_mount() {
    let s = Store::new();
    let mut b = ImageBuilder::busybox().unwrap();
    for i in 1..160 {
        b = b.layer(
            LayerBuilder::new()
                .dir("layers", 0o755)
                .file(&format!("layers/{i:03}"), format!("{i}"), 0o644)
                .build()
                .unwrap(),
        );
        if i == 119 {
            s.import(&b.clone().build().unwrap(), "localhost/deep:120");
        }
    }
    s.import(&b.build().unwrap(), "localhost/deep:160");
    assert_eq!(
        s.layer_dirs().len(),
        160,
        "the 160-layer image reuses the 120 layers"
    );
    for (tag, n) in [("120", 120usize), ("160", 160)] {
        // With full paths the lowerdir option alone would not fit in a page.
        let full: usize = s
            .layer_dirs()
            .iter()
            .take(n)
            .map(|d| s.layers_dir().join(d).join("diff").to_string_lossy().len() + 1)
            .sum();
        assert!(full > 4096, "{full}");
        let id = format!("deep{tag}");
        s.create_container(&id, &format!("localhost/deep:{tag}"));
        let mp = s.mount(&id);
        let files = std::fs::read_dir(mp.join("layers")).unwrap().count();
        assert_eq!(files, n - 1);
        assert_eq!(
            std::fs::read_to_string(mp.join("layers/100")).unwrap(),
            "100"
        );
        assert!(mp.join("bin/busybox").exists());
        s.ok(&["unmount", &id]);
    }
    assert!(s.mounts().is_empty());
}
