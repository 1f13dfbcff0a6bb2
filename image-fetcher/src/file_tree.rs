//! Files of a local image, in a directory or inside an uncompressed tar
//! (oci-archive, docker-archive) read in place: the tar is indexed once
//! (name -> offset, size) and entries are read by seeking, never extracted.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::error::FetchError;

/// Largest metadata file (index.json, manifest.json, a manifest) read whole.
const MAX_METADATA: u64 = 16 << 20;

#[derive(Debug)]
pub enum FileTree {
    Dir(PathBuf),
    Tar {
        path: PathBuf,
        entries: HashMap<String, (u64, u64)>,
    },
}

impl FileTree {
    pub fn dir(path: &Path) -> Result<FileTree, FetchError> {
        if !path.is_dir() {
            return Err(FetchError::NotFound {
                context: format!("opening {}", path.display()),
                detail: "no such directory".into(),
            });
        }
        Ok(FileTree::Dir(path.to_path_buf()))
    }

    pub fn tar(path: &Path) -> Result<FileTree, FetchError> {
        let ctx = format!("reading archive {}", path.display());
        let mut f = File::open(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => FetchError::NotFound {
                context: ctx.clone(),
                detail: "no such file".into(),
            },
            _ => FetchError::io(ctx.clone(), path, e),
        })?;
        let mut magic = [0u8; 4];
        let n = f
            .read(&mut magic)
            .map_err(|e| FetchError::io(ctx.clone(), path, e))?;
        if n >= 2 && magic[..2] == [0x1f, 0x8b] || n == 4 && magic == [0x28, 0xb5, 0x2f, 0xfd] {
            return Err(FetchError::Unsupported {
                context: ctx,
                detail: "the archive is compressed; decompress it first (gunzip / zstd -d)".into(),
            });
        }
        f.seek(SeekFrom::Start(0))
            .map_err(|e| FetchError::io(ctx.clone(), path, e))?;
        let mut archive = tar::Archive::new(f);
        let mut entries = HashMap::new();
        let bad = |e: std::io::Error| FetchError::Unsupported {
            context: ctx.clone(),
            detail: format!("not a readable tar archive: {e}"),
        };
        for entry in archive.entries_with_seek().map_err(bad)? {
            let entry = entry.map_err(bad)?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let name = entry
                .path()
                .map_err(bad)?
                .to_string_lossy()
                .trim_start_matches("./")
                .to_string();
            entries.insert(name, (entry.raw_file_position(), entry.size()));
        }
        Ok(FileTree::Tar {
            path: path.to_path_buf(),
            entries,
        })
    }

    /// Where this tree lives, for messages.
    pub fn location(&self) -> &Path {
        match self {
            FileTree::Dir(p) | FileTree::Tar { path: p, .. } => p,
        }
    }

    pub fn exists(&self, name: &str) -> bool {
        match self {
            FileTree::Dir(d) => d.join(name).is_file(),
            FileTree::Tar { entries, .. } => entries.contains_key(name),
        }
    }

    /// A reader positioned at `name` and its length.
    pub fn open(&self, name: &str) -> Result<(File, u64), FetchError> {
        let ctx = format!("reading {name} in {}", self.location().display());
        match self {
            FileTree::Dir(d) => {
                let p = d.join(name);
                let f = File::open(&p).map_err(|e| match e.kind() {
                    std::io::ErrorKind::NotFound => FetchError::NotFound {
                        context: ctx.clone(),
                        detail: "no such file".into(),
                    },
                    _ => FetchError::io(ctx.clone(), &p, e),
                })?;
                let len = f
                    .metadata()
                    .map_err(|e| FetchError::io(ctx.clone(), &p, e))?
                    .len();
                Ok((f, len))
            }
            FileTree::Tar { path, entries } => {
                let (offset, len) = *entries.get(name).ok_or_else(|| FetchError::NotFound {
                    context: ctx.clone(),
                    detail: "not in the archive".into(),
                })?;
                let mut f = File::open(path).map_err(|e| FetchError::io(ctx.clone(), path, e))?;
                f.seek(SeekFrom::Start(offset))
                    .map_err(|e| FetchError::io(ctx.clone(), path, e))?;
                Ok((f, len))
            }
        }
    }

    /// A small file read whole.
    pub fn read(&self, name: &str) -> Result<Vec<u8>, FetchError> {
        let (f, len) = self.open(name)?;
        if len > MAX_METADATA {
            return Err(FetchError::Unsupported {
                context: format!("reading {name} in {}", self.location().display()),
                detail: format!("{len} bytes is too large for metadata"),
            });
        }
        let mut out = Vec::with_capacity(len as usize);
        f.take(len)
            .read_to_end(&mut out)
            .map_err(|e| FetchError::io(format!("reading {name}"), self.location(), e))?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tar_entries_are_read_in_place() {
        let d = tempfile::tempdir().unwrap();
        let tar_path = d.path().join("a.tar");
        let mut b = tar::Builder::new(File::create(&tar_path).unwrap());
        for (name, body) in [
            ("index.json", &b"{}"[..]),
            ("./blobs/sha256/ab", &b"hello world"[..]),
        ] {
            let mut h = tar::Header::new_gnu();
            h.set_size(body.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, body).unwrap();
        }
        b.finish().unwrap();
        drop(b);
        let t = FileTree::tar(&tar_path).unwrap();
        assert_eq!(t.read("blobs/sha256/ab").unwrap(), b"hello world");
        assert_eq!(t.read("index.json").unwrap(), b"{}");
        assert!(t.exists("index.json"));
        assert!(matches!(t.read("nope"), Err(FetchError::NotFound { .. })));

        std::fs::write(d.path().join("gz.tar"), [0x1f, 0x8b, 8, 0]).unwrap();
        assert!(FileTree::tar(&d.path().join("gz.tar"))
            .unwrap_err()
            .to_string()
            .contains("compressed"));
        assert!(matches!(
            FileTree::tar(&d.path().join("none.tar")),
            Err(FetchError::NotFound { .. })
        ));
    }
}
