//! Layer compression on push, as containers/image does for a registry
//! destination: layers stored uncompressed (what commit and build write)
//! are compressed into a scratch directory, and the manifests that name
//! them are rebuilt, so the registry gets compressed blobs and a manifest
//! whose digest differs from the stored one. With `force`, layers already
//! compressed in another format are recompressed too.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::digest::Hasher;
use crate::error::FetchError;
use crate::local_source::LocalSource;
use crate::manifest::{
    Descriptor, DOCKER_MANIFEST, OCI_LAYER_GZIP, OCI_LAYER_TAR, OCI_LAYER_ZSTD, OCI_MANIFEST,
};

const DOCKER_LAYER_TAR: &str = "application/vnd.docker.image.rootfs.diff.tar";
const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Gzip,
    Zstd,
}

/// What a push does to layer blobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compression {
    pub format: Format,
    pub level: Option<i32>,
    /// Recompress layers compressed in the other format.
    pub force: bool,
}

impl Default for Compression {
    fn default() -> Self {
        Compression {
            format: Format::Gzip,
            level: None,
            force: false,
        }
    }
}

impl Compression {
    /// From a request's fields: format "" (gzip), "gzip" or "zstd"
    /// ("zstd:chunked" is not built), level within the format's range.
    pub fn parse(format: &str, level: Option<i32>, force: bool) -> Result<Self, FetchError> {
        let format = match format {
            "" | "gzip" => Format::Gzip,
            "zstd" => Format::Zstd,
            other => {
                return Err(FetchError::InvalidArgument(format!(
                    "unsupported compression format {other:?}: use gzip or zstd"
                )))
            }
        };
        let range = match format {
            Format::Gzip => 0..=9,
            Format::Zstd => 1..=20,
        };
        if let Some(l) = level.filter(|l| !range.contains(l)) {
            return Err(FetchError::InvalidArgument(format!(
                "compression level {l} is out of range for {format:?}: use {}..={}",
                range.start(),
                range.end()
            )));
        }
        Ok(Compression {
            format,
            level,
            force,
        })
    }
}

/// The layers of one stored encoding, by media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Plain,
    Gzip,
    Zstd,
    /// Anything else (foreign layers, encrypted, ...): pushed as it is.
    Other,
}

fn encoding(media_type: &str) -> Encoding {
    match media_type {
        OCI_LAYER_TAR | DOCKER_LAYER_TAR => Encoding::Plain,
        OCI_LAYER_GZIP | DOCKER_LAYER_GZIP => Encoding::Gzip,
        OCI_LAYER_ZSTD => Encoding::Zstd,
        _ => Encoding::Other,
    }
}

/// Whether `layer` must be (re)compressed for `c`.
fn wanted(c: &Compression, layer: &Descriptor) -> bool {
    match (encoding(&layer.media_type), c.format) {
        (Encoding::Plain, _) => true,
        (Encoding::Gzip, Format::Zstd) | (Encoding::Zstd, Format::Gzip) => c.force,
        _ => false,
    }
}

/// Layers of these manifests (media type, digest) that must be compressed.
pub fn layers_to_compress(c: &Compression, layers: &[Descriptor]) -> Vec<Descriptor> {
    let mut seen = std::collections::HashSet::new();
    layers
        .iter()
        .filter(|l| wanted(c, l) && seen.insert(l.digest.clone()))
        .cloned()
        .collect()
}

/// A compressed copy of a layer in the scratch directory.
#[derive(Debug, Clone)]
pub struct Compressed {
    pub digest: String,
    pub size: u64,
    pub path: PathBuf,
}

/// Compress (or recompress) `layer` of `local` into `scratch` (blocking).
pub fn compress_layer(
    local: &LocalSource,
    layer: &Descriptor,
    c: &Compression,
    scratch: &Path,
) -> Result<Compressed, FetchError> {
    let (file, _) = local.open_blob(&layer.digest)?;
    let ctx = format!("compressing layer {}", layer.digest);
    let input: Box<dyn Read> = match encoding(&layer.media_type) {
        Encoding::Gzip => Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(file))),
        Encoding::Zstd => Box::new(
            zstd::stream::read::Decoder::new(file)
                .map_err(|e| FetchError::io(ctx.clone(), scratch, e))?,
        ),
        _ => Box::new(file),
    };
    let path = scratch.join(layer.digest.replace(':', "-"));
    let out = File::create(&path).map_err(|e| FetchError::io(ctx.clone(), &path, e))?;
    let hashed = HashingWriter {
        inner: std::io::BufWriter::with_capacity(1 << 20, out),
        hasher: Hasher::new(),
        written: 0,
    };
    let io = |e| FetchError::io(ctx.clone(), &path, e);
    let hashed = match c.format {
        Format::Gzip => {
            let level = c.level.map(|l| l as u32).unwrap_or(6);
            let mut enc = flate2::write::GzEncoder::new(hashed, flate2::Compression::new(level));
            copy_all(input, &mut enc).map_err(io)?;
            enc.finish().map_err(io)?
        }
        Format::Zstd => {
            let level = c.level.unwrap_or(3);
            let mut enc = zstd::stream::write::Encoder::new(hashed, level).map_err(io)?;
            copy_all(input, &mut enc).map_err(io)?;
            enc.finish().map_err(io)?
        }
    };
    let HashingWriter {
        mut inner,
        hasher,
        written,
    } = hashed;
    inner.flush().map_err(io)?;
    Ok(Compressed {
        digest: hasher.finish(),
        size: written,
        path,
    })
}

fn copy_all(mut input: Box<dyn Read>, out: &mut dyn Write) -> std::io::Result<()> {
    std::io::copy(&mut input, out).map(drop)
}

struct HashingWriter<W: Write> {
    inner: W,
    hasher: Hasher,
    written: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The media type a compressed layer gets in a manifest of `manifest_type`.
fn compressed_type(manifest_type: &str, f: Format) -> Result<&'static str, FetchError> {
    match (manifest_type == DOCKER_MANIFEST, f) {
        (true, Format::Gzip) => Ok(DOCKER_LAYER_GZIP),
        (false, Format::Gzip) => Ok(OCI_LAYER_GZIP),
        (false, Format::Zstd) => Ok(OCI_LAYER_ZSTD),
        (true, Format::Zstd) => Err(FetchError::InvalidArgument(
            "zstd layers need an OCI manifest, and this image has a Docker one: push with --compression-format gzip, or build/commit with --format oci".into(),
        )),
    }
}

/// `manifest` (an image manifest of `media_type`) with the layers in
/// `done` replaced by their compressed copies; None when nothing changed.
pub fn rewrite_manifest(
    bytes: &[u8],
    media_type: &str,
    done: &HashMap<String, Compressed>,
    f: Format,
) -> Result<Option<Vec<u8>>, FetchError> {
    let bad = |e: serde_json::Error| FetchError::Unsupported {
        context: "rebuilding the manifest for push".into(),
        detail: e.to_string(),
    };
    let mut v: Value = serde_json::from_slice(bytes).map_err(bad)?;
    let mut changed = false;
    let new_type = if media_type == OCI_MANIFEST || media_type == DOCKER_MANIFEST {
        media_type
    } else {
        OCI_MANIFEST
    };
    if let Some(layers) = v.get_mut("layers").and_then(Value::as_array_mut) {
        for l in layers {
            let Some(c) = l["digest"].as_str().and_then(|d| done.get(d)) else {
                continue;
            };
            l["digest"] = Value::from(c.digest.clone());
            l["size"] = Value::from(c.size);
            l["mediaType"] = Value::from(compressed_type(new_type, f)?);
            changed = true;
        }
    }
    if !changed {
        return Ok(None);
    }
    serde_json::to_vec(&v).map(Some).map_err(bad)
}

/// An index with its children's digests and sizes replaced (old digest ->
/// (new digest, new size)); None when nothing changed.
pub fn rewrite_index(
    bytes: &[u8],
    children: &HashMap<String, (String, u64)>,
) -> Result<Option<Vec<u8>>, FetchError> {
    let bad = |e: serde_json::Error| FetchError::Unsupported {
        context: "rebuilding the index for push".into(),
        detail: e.to_string(),
    };
    let mut v: Value = serde_json::from_slice(bytes).map_err(bad)?;
    let mut changed = false;
    if let Some(list) = v.get_mut("manifests").and_then(Value::as_array_mut) {
        for m in list {
            let Some((d, s)) = m["digest"].as_str().and_then(|d| children.get(d)) else {
                continue;
            };
            m["digest"] = Value::from(d.clone());
            m["size"] = Value::from(*s);
            changed = true;
        }
    }
    if !changed {
        return Ok(None);
    }
    serde_json::to_vec(&v).map(Some).map_err(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc(mt: &str, d: &str) -> Descriptor {
        Descriptor {
            media_type: mt.into(),
            digest: d.into(),
            size: 1,
            platform: None,
            annotations: Default::default(),
        }
    }

    #[test]
    fn plain_layers_are_always_compressed_others_only_when_forced() {
        let gz = Compression::default();
        let zs = Compression::parse("zstd", Some(5), false).unwrap();
        let zs_force = Compression { force: true, ..zs };
        let layers = [
            desc(OCI_LAYER_TAR, "sha256:a"),
            desc(OCI_LAYER_GZIP, "sha256:b"),
            desc(DOCKER_LAYER_TAR, "sha256:a"),
        ];
        let names = |c: &Compression| -> Vec<String> {
            layers_to_compress(c, &layers)
                .into_iter()
                .map(|d| d.digest)
                .collect()
        };
        assert_eq!(names(&gz), ["sha256:a"]);
        assert_eq!(names(&zs), ["sha256:a"]);
        assert_eq!(names(&zs_force), ["sha256:a", "sha256:b"]);
    }

    #[test]
    fn bad_formats_and_levels_are_refused() {
        assert!(Compression::parse("lz4", None, false).is_err());
        assert!(Compression::parse("gzip", Some(10), false).is_err());
        assert!(Compression::parse("zstd", Some(0), false).is_err());
        assert!(Compression::parse("gzip", Some(0), false).is_ok());
    }

    #[test]
    fn manifests_get_the_compressed_descriptors() {
        let m = br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"x","digest":"sha256:c","size":2},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar","digest":"sha256:a","size":10},{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"sha256:b","size":5}]}"#;
        let done = HashMap::from([(
            "sha256:a".to_string(),
            Compressed {
                digest: "sha256:z".into(),
                size: 4,
                path: PathBuf::new(),
            },
        )]);
        let out = rewrite_manifest(m, DOCKER_MANIFEST, &done, Format::Gzip)
            .unwrap()
            .unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["layers"][0]["digest"], "sha256:z");
        assert_eq!(v["layers"][0]["size"], 4);
        assert_eq!(v["layers"][0]["mediaType"], DOCKER_LAYER_GZIP);
        assert_eq!(v["layers"][1]["digest"], "sha256:b");
        assert!(rewrite_manifest(m, DOCKER_MANIFEST, &done, Format::Zstd).is_err());
        assert!(
            rewrite_manifest(m, DOCKER_MANIFEST, &HashMap::new(), Format::Gzip)
                .unwrap()
                .is_none()
        );
    }
}
