//! Test images for the storage-helper tests, what they must look like once
//! unpacked and merged, and the layouts and layer compressions podman's
//! fetcher does not produce from a registry (zstd, plain tar).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::oci_image::{
    sha256_digest, write_blob, Entry, Image, ImageBuilder, Layer, LayerBuilder, REF_NAME_ANNOTATION,
};
use crate::raw_tar::{plain_layer, RawTar};
use crate::storage_env::Node;

/// Three layers exercising every kind of entry and both whiteout forms:
/// a base tree; then (a raw tar) a whiteout, an opaque dir, xattrs, a hard
/// link, symlinks, a character device, 1000:1000 ownership and setuid;
/// then a whiteout of a whole directory and of a symlink, a changed file.
pub fn three_layer_image() -> Result<Image> {
    let l1 = LayerBuilder::new()
        .dir("etc", 0o755)
        .file("etc/hosts", "127.0.0.1 localhost\n", 0o644)
        .dir("data", 0o755)
        .file("data/gone", "bye", 0o644)
        .file("data/stay", "stay", 0o644)
        .dir("opq", 0o755)
        .file("opq/old1", "1", 0o644)
        .file("opq/old2", "2", 0o644)
        .dir("opq/sub", 0o755)
        .file("opq/sub/deep", "d", 0o644)
        .dir("del", 0o755)
        .file("del/a", "a", 0o644)
        .dir("home", 0o755)
        .entry(Entry::dir("home/user", 0o700).owner(1000, 1000))
        .build()?;
    let l2 = RawTar::default()
        .dir("data/", 0o755, 0, 0)
        .file("data/.wh.gone", b"", 0o644, 0, 0)
        .dir("opq/", 0o755, 0, 0)
        .file("opq/.wh..wh..opq", b"", 0o644, 0, 0)
        .file("opq/new", b"new", 0o644, 0, 0)
        .dir("home/", 0o755, 0, 0)
        .dir("home/user/", 0o700, 1000, 1000)
        .file("home/user/.profile", b"export A=1\n", 0o600, 1000, 1000)
        .dir("srv/", 0o755, 0, 0)
        .xattr("user.note", b"kept")
        .file("srv/file", b"content", 0o640, 1000, 1000)
        .hardlink("srv/hard", "srv/file")
        .symlink("srv/link", "file")
        .symlink("srv/abs", "/etc/hosts")
        .file("srv/suid", b"#!/bin/sh\n", 0o4755, 0, 0)
        .dir("dev/", 0o755, 0, 0)
        .char_dev("dev/null", 0o666, 1, 3)
        .finish();
    let l3 = LayerBuilder::new()
        .whiteout("del")
        .dir("etc", 0o755)
        .file("etc/hosts", "10.0.0.1 other\n", 0o644)
        .dir("srv", 0o755)
        .whiteout("srv/link")
        .build()?;
    ImageBuilder::new()
        .layer(l1)
        .layer(plain_layer(l2))
        .layer(l3)
        .build()
}

/// The merged view of [`three_layer_image`].
pub fn three_layer_expected() -> BTreeMap<String, Node> {
    let dir = |mode, uid, gid| Node::Dir { mode, uid, gid };
    let file = |mode, uid, gid, data: &str| Node::File {
        mode,
        uid,
        gid,
        data: data.as_bytes().to_vec(),
    };
    [
        ("data", dir(0o755, 0, 0)),
        ("data/stay", file(0o644, 0, 0, "stay")),
        ("dev", dir(0o755, 0, 0)),
        (
            "dev/null",
            Node::Char {
                mode: 0o666,
                major: 1,
                minor: 3,
            },
        ),
        ("etc", dir(0o755, 0, 0)),
        ("etc/hosts", file(0o644, 0, 0, "10.0.0.1 other\n")),
        ("home", dir(0o755, 0, 0)),
        ("home/user", dir(0o700, 1000, 1000)),
        (
            "home/user/.profile",
            file(0o600, 1000, 1000, "export A=1\n"),
        ),
        ("opq", dir(0o755, 0, 0)),
        ("opq/new", file(0o644, 0, 0, "new")),
        ("srv", dir(0o755, 0, 0)),
        (
            "srv/abs",
            Node::Symlink {
                target: "/etc/hosts".into(),
            },
        ),
        ("srv/file", file(0o640, 1000, 1000, "content")),
        ("srv/hard", file(0o640, 1000, 1000, "content")),
        ("srv/suid", file(0o4755, 0, 0, "#!/bin/sh\n")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Write `image` to `dir` as an OCI layout with its layers' media types
/// replaced by `layer_type` (the manifest is re-serialized, so its digest
/// changes); returns the new manifest digest.
pub fn write_with_layer_type(
    image: &Image,
    dir: &Path,
    name: &str,
    layer_type: &str,
) -> Result<String> {
    let mut m: Value = serde_json::from_slice(&image.manifest_bytes)?;
    let Some(layers) = m["layers"].as_array_mut() else {
        bail!("manifest of {name} has no layers array");
    };
    for l in layers {
        l["mediaType"] = json!(layer_type);
    }
    let bytes = serde_json::to_vec(&m)?;
    let digest = sha256_digest(&bytes);
    for (d, b) in image.blobs() {
        write_blob(dir, d, b)?;
    }
    write_blob(dir, &digest, &bytes)?;
    let index = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
        {"mediaType": m["mediaType"], "digest": digest, "size": bytes.len(), "annotations": {REF_NAME_ANNOTATION: name}}
    ]});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index)?)
        .with_context(|| format!("writing {}/index.json", dir.display()))?;
    Ok(digest)
}

/// A layer compressed with the `zstd` command (Debian package `zstd`).
pub fn zstd_layer(builder: LayerBuilder) -> Result<Layer> {
    let tar = builder.tar()?;
    let mut child = std::process::Command::new("zstd")
        .args(["-q", "-c", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .context("running zstd: install the zstd package")?;
    let mut stdin = child.stdin.take().context("zstd's stdin")?;
    let t = tar.clone();
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &t));
    let out = child.wait_with_output().context("waiting for zstd")?;
    match writer.join() {
        Ok(written) => written.context("feeding zstd")?,
        Err(_) => bail!("the thread feeding zstd panicked"),
    }
    if !out.status.success() {
        bail!(
            "zstd failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(Layer {
        digest: sha256_digest(&out.stdout),
        diff_id: sha256_digest(&tar),
        tar_gz: out.stdout,
    })
}
