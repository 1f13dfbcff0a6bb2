//! Image archives on the CLI side: writing tars (an OCI layout as an
//! oci-archive, docker-archive members), decompressing layers and whole
//! archives, and telling what `podman load` was given — docker-archive
//! (`manifest.json`), oci-archive (`index.json`), either compressed, or an
//! OCI layout / `dir:` directory — with the images it holds.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("{what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing the archive: {0}")]
    Write(std::io::Error),
    #[error("{}: {why}", path.display())]
    Invalid { path: PathBuf, why: String },
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> ArchiveError + 'a {
    move |source| ArchiveError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// A tar writer with fixed ownership and times, so the same content gives
/// the same archive.
pub struct TarOut<W: Write> {
    b: tar::Builder<W>,
}

fn header(size: u64, mode: u32, kind: tar::EntryType) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h
}

impl<W: Write> TarOut<W> {
    pub fn new(w: W) -> TarOut<W> {
        let mut b = tar::Builder::new(w);
        b.mode(tar::HeaderMode::Deterministic);
        TarOut { b }
    }

    pub fn dir(&mut self, name: &str) -> Result<(), ArchiveError> {
        let mut h = header(0, 0o755, tar::EntryType::Directory);
        self.b
            .append_data(
                &mut h,
                format!("{}/", name.trim_end_matches('/')),
                std::io::empty(),
            )
            .map_err(ArchiveError::Write)
    }

    pub fn bytes(&mut self, name: &str, data: &[u8]) -> Result<(), ArchiveError> {
        let mut h = header(data.len() as u64, 0o644, tar::EntryType::Regular);
        self.b
            .append_data(&mut h, name, data)
            .map_err(ArchiveError::Write)
    }

    /// Append the file at `path` as `name`, streaming it.
    pub fn file(&mut self, name: &str, path: &Path) -> Result<(), ArchiveError> {
        let f = File::open(path).map_err(io("opening", path))?;
        let len = f.metadata().map_err(io("reading", path))?.len();
        let mut h = header(len, 0o644, tar::EntryType::Regular);
        self.b
            .append_data(&mut h, name, BufReader::with_capacity(1 << 20, f).take(len))
            .map_err(ArchiveError::Write)
    }

    pub fn finish(self) -> Result<W, ArchiveError> {
        self.b.into_inner().map_err(ArchiveError::Write)
    }
}

/// Tar an OCI layout (oci-layout, index.json, blobs/sha256/*): the oci-archive format.
pub fn tar_layout<W: Write>(layout: &Path, out: &mut TarOut<W>) -> Result<(), ArchiveError> {
    out.file("oci-layout", &layout.join("oci-layout"))?;
    out.file("index.json", &layout.join("index.json"))?;
    out.dir("blobs")?;
    out.dir("blobs/sha256")?;
    let blobs = layout.join("blobs/sha256");
    let mut names: Vec<String> = std::fs::read_dir(&blobs)
        .map_err(io("listing", &blobs))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for n in names.iter().filter(|n| !n.starts_with('.')) {
        out.file(&format!("blobs/sha256/{n}"), &blobs.join(n))?;
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

pub fn sniff(magic: &[u8]) -> Compression {
    match magic {
        [0x1f, 0x8b, ..] => Compression::Gzip,
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Compression::Zstd,
        _ => Compression::None,
    }
}

/// Compression of the file at `path`, from its first bytes.
pub fn compression_of(path: &Path) -> Result<Compression, ArchiveError> {
    let mut magic = [0u8; 4];
    let mut f = File::open(path).map_err(io("opening", path))?;
    let mut n = 0;
    while n < magic.len() {
        match f.read(&mut magic[n..]).map_err(io("reading", path))? {
            0 => break,
            k => n += k,
        }
    }
    Ok(sniff(&magic[..n]))
}

/// A reader that decompresses `r` as `c` says.
pub fn decoder<'a, R: Read + 'a>(r: R, c: Compression) -> std::io::Result<Box<dyn Read + 'a>> {
    Ok(match c {
        Compression::None => Box::new(r),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(r)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(r)?),
    })
}

/// Decompress `src` into `dest` (e.g. `podman load` of a .tar.gz).
pub fn decompress_file(src: &Path, c: Compression, dest: &Path) -> Result<(), ArchiveError> {
    let f = File::open(src).map_err(io("opening", src))?;
    let mut r =
        decoder(BufReader::with_capacity(1 << 20, f), c).map_err(io("decompressing", src))?;
    let mut out = File::create(dest).map_err(io("creating", dest))?;
    std::io::copy(&mut r, &mut out).map_err(io("decompressing", src))?;
    Ok(())
}

/// What `podman load` was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadSource {
    /// `docker save` format: one RepoTags list per image.
    DockerArchive {
        images: Vec<Vec<String>>,
    },
    /// A tar of an OCI layout: the name annotations of each index.json entry.
    OciArchive {
        images: Vec<Option<String>>,
    },
    OciDir {
        images: Vec<Option<String>>,
    },
    /// skopeo's `dir:` format: one image.
    Dir,
}

/// Read `name` (at most 16 MiB) from an uncompressed tar.
fn tar_member(path: &Path, name: &str) -> Result<Option<Vec<u8>>, ArchiveError> {
    let f = File::open(path).map_err(io("opening", path))?;
    let mut a = tar::Archive::new(BufReader::new(f));
    let bad = |e: std::io::Error| ArchiveError::Invalid {
        path: path.to_path_buf(),
        why: format!("not a readable tar archive: {e}"),
    };
    for entry in a.entries_with_seek().map_err(bad)? {
        let entry = entry.map_err(bad)?;
        let p = entry
            .path()
            .map_err(bad)?
            .to_string_lossy()
            .trim_start_matches("./")
            .to_string();
        if p == name && entry.header().entry_type().is_file() {
            let mut out = Vec::new();
            entry.take(16 << 20).read_to_end(&mut out).map_err(bad)?;
            return Ok(Some(out));
        }
    }
    Ok(None)
}

fn parse_json(path: &Path, what: &str, bytes: &[u8]) -> Result<Value, ArchiveError> {
    serde_json::from_slice(bytes).map_err(|e| ArchiveError::Invalid {
        path: path.to_path_buf(),
        why: format!("{what} is not valid JSON: {e}"),
    })
}

fn docker_images(path: &Path, manifest: &[u8]) -> Result<LoadSource, ArchiveError> {
    let v = parse_json(path, "manifest.json", manifest)?;
    let list = v.as_array().ok_or_else(|| ArchiveError::Invalid {
        path: path.to_path_buf(),
        why: "manifest.json is not a list of images".into(),
    })?;
    let images = list
        .iter()
        .map(|e| {
            e["RepoTags"]
                .as_array()
                .map(|t| {
                    t.iter()
                        .filter_map(|s| s.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect();
    Ok(LoadSource::DockerArchive { images })
}

/// The name an index.json entry gives its image: containerd's full name
/// annotation, else the OCI ref name.
fn oci_names(path: &Path, index: &[u8]) -> Result<Vec<Option<String>>, ArchiveError> {
    let v = parse_json(path, "index.json", index)?;
    let list = v["manifests"]
        .as_array()
        .ok_or_else(|| ArchiveError::Invalid {
            path: path.to_path_buf(),
            why: "index.json has no manifests list".into(),
        })?;
    Ok(list
        .iter()
        .map(|m| {
            let a = &m["annotations"];
            a["io.containerd.image.name"]
                .as_str()
                .or(a[super::layout::REF_NAME].as_str())
                .filter(|s| !s.is_empty())
                .map(String::from)
        })
        .collect())
}

/// Tell an uncompressed archive or a directory apart.
pub fn detect(path: &Path) -> Result<LoadSource, ArchiveError> {
    if path.is_dir() {
        if path.join("index.json").is_file() {
            let bytes = std::fs::read(path.join("index.json")).map_err(io("reading", path))?;
            return Ok(LoadSource::OciDir {
                images: oci_names(path, &bytes)?,
            });
        }
        if path.join("manifest.json").is_file() {
            return Ok(LoadSource::Dir);
        }
        return Err(ArchiveError::Invalid {
            path: path.to_path_buf(),
            why: "a directory without index.json (OCI layout) or manifest.json (dir:)".into(),
        });
    }
    if let Some(m) = tar_member(path, "manifest.json")? {
        return docker_images(path, &m);
    }
    if let Some(i) = tar_member(path, "index.json")? {
        return Ok(LoadSource::OciArchive {
            images: oci_names(path, &i)?,
        });
    }
    Err(ArchiveError::Invalid {
        path: path.to_path_buf(),
        why: "not a docker-archive (no manifest.json) or oci-archive (no index.json)".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archives_are_told_apart() {
        let d = tempfile::tempdir().unwrap();
        let docker = d.path().join("d.tar");
        let mut t = TarOut::new(File::create(&docker).unwrap());
        t.bytes("manifest.json", br#"[{"Config":"c.json","RepoTags":["a:1","b:2"],"Layers":[]},{"Config":"x.json","RepoTags":null,"Layers":[]}]"#).unwrap();
        t.finish().unwrap();
        assert_eq!(
            detect(&docker).unwrap(),
            LoadSource::DockerArchive {
                images: vec![vec!["a:1".into(), "b:2".into()], vec![]]
            }
        );

        let oci = d.path().join("o.tar");
        let mut t = TarOut::new(File::create(&oci).unwrap());
        t.bytes("oci-layout", b"{}").unwrap();
        t.bytes("index.json", br#"{"manifests":[{"annotations":{"org.opencontainers.image.ref.name":"localhost/x:1"}},{}]}"#).unwrap();
        t.finish().unwrap();
        assert_eq!(
            detect(&oci).unwrap(),
            LoadSource::OciArchive {
                images: vec![Some("localhost/x:1".into()), None]
            }
        );

        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&std::fs::read(&oci).unwrap()).unwrap();
        let gzp = d.path().join("o.tar.gz");
        std::fs::write(&gzp, gz.finish().unwrap()).unwrap();
        assert_eq!(compression_of(&gzp).unwrap(), Compression::Gzip);
        let plain = d.path().join("plain.tar");
        decompress_file(&gzp, Compression::Gzip, &plain).unwrap();
        assert_eq!(std::fs::read(&plain).unwrap(), std::fs::read(&oci).unwrap());

        let junk = d.path().join("junk");
        std::fs::write(&junk, vec![7u8; 2000]).unwrap();
        assert!(detect(&junk).is_err());
    }
}
