//! mounts.conf (containers-common's "subscriptions"): each `SRC:DST`
//! line gives every container, and every RUN step of a build, a copy of
//! the host's SRC at DST. The copy is made once per container under its
//! bundle (so the container can change it without touching the host) and
//! bind-mounted; a mount the user asked for at the same DST wins.
//!
//! The file is `--default-mounts-file` (or containers.conf
//! `default_mounts_file`) when one is named (a missing one gives nothing),
//! else the first of /etc/containers/mounts.conf and
//! /usr/share/containers/mounts.conf that exists, as c/common reads them.
//! A line without `:` mounts its path at the same place; a source that
//! does not exist is skipped (c/common says so only at debug level).

use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

const OVERRIDE_FILE: &str = "/etc/containers/mounts.conf";
const DEFAULT_FILE: &str = "/usr/share/containers/mounts.conf";

/// The mounts.conf in effect, if any.
pub fn mounts_file(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        if p.exists() {
            return Some(p.to_path_buf());
        }
        tracing::debug!("mounts file {} cannot be read, skipping", p.display());
        return None;
    }
    [OVERRIDE_FILE, DEFAULT_FILE]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// One `SRC:DST` line.
#[derive(Debug, PartialEq, Eq)]
pub struct Entry {
    pub source: PathBuf,
    pub destination: String,
}

/// The entries of a mounts.conf text: blank lines and `#` comments are
/// skipped; `SRC:DST` splits at the first `:`, a lone path is both; a
/// destination that is not absolute is an error naming the line.
pub fn parse(file: &Path, text: &str) -> anyhow::Result<Vec<Entry>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (src, dst) = line.split_once(':').unwrap_or((line, line));
        match (src, dst) {
            (src, dst) if !src.is_empty() && dst.starts_with('/') => out.push(Entry {
                source: PathBuf::from(src),
                destination: dst.to_string(),
            }),
            _ => anyhow::bail!(
                "{}:{}: unable to get host and container dir from {line:?}: write HOST_PATH:/CONTAINER_PATH",
                file.display(),
                n + 1
            ),
        }
    }
    Ok(out)
}

/// The (destination, host copy) pairs for one container whose bundle is
/// `bundle`; `owner` is the host uid/gid of the container's root (files
/// copied for a user namespace are given to it).
pub fn mounts(
    explicit: Option<&Path>,
    bundle: &Path,
    owner: Option<(u32, u32)>,
) -> anyhow::Result<Vec<(String, PathBuf)>> {
    let Some(file) = mounts_file(explicit) else {
        return Ok(Vec::new());
    };
    let text = std::fs::read_to_string(&file)
        .map_err(|e| anyhow::anyhow!("reading mounts file {}: {e}", file.display()))?;
    let entries = match parse(&file, &text) {
        Ok(e) => e,
        Err(e) => {
            // c/common skips a file it cannot read, and says so.
            tracing::warn!("failed to mount subscriptions, skipping the file: {e:#}");
            return Ok(Vec::new());
        }
    };
    let mut out = Vec::new();
    for e in entries {
        let meta = match std::fs::metadata(&e.source) {
            Ok(m) => m,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                tracing::debug!(
                    "path {} from {} doesn't exist, skipping",
                    e.source.display(),
                    file.display()
                );
                continue;
            }
            Err(err) => anyhow::bail!("{} (from {}): {err}", e.source.display(), file.display()),
        };
        let copy = bundle
            .join("subscriptions")
            .join(e.destination.trim_start_matches('/'));
        // A restart keeps what the container made of its copy.
        if !copy.exists() {
            if let Some(parent) = copy.parent() {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o755)
                    .create(parent)?;
            }
            if meta.is_dir() {
                copy_dir(&e.source, &copy, owner)
            } else if meta.is_file() {
                copy_file(&e.source, &copy, meta.permissions().mode(), owner)
            } else {
                anyhow::bail!(
                    "{} (from {}): unsupported file type: only files and directories can be mounted",
                    e.source.display(),
                    file.display()
                );
            }
            .map_err(|err| {
                anyhow::anyhow!(
                    "copying {} (from {}): {err}",
                    e.source.display(),
                    file.display()
                )
            })?;
        }
        out.push((e.destination, copy));
    }
    Ok(out)
}

fn chown(p: &Path, owner: Option<(u32, u32)>) -> std::io::Result<()> {
    match owner {
        Some((u, g)) => std::os::unix::fs::lchown(p, Some(u), Some(g)),
        None => Ok(()),
    }
}

fn copy_file(src: &Path, dst: &Path, mode: u32, owner: Option<(u32, u32)>) -> std::io::Result<()> {
    let mut from = std::fs::File::open(src)?;
    let mut to = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode & 0o7777)
        .open(dst)?;
    std::io::copy(&mut from, &mut to)?;
    // The umask is not the file's business.
    to.set_permissions(std::fs::Permissions::from_mode(mode & 0o7777))?;
    chown(dst, owner)
}

/// Files and directories below `src`, symlinks followed, as c/common reads them.
fn copy_dir(src: &Path, dst: &Path, owner: Option<(u32, u32)>) -> std::io::Result<()> {
    let mode = std::fs::metadata(src)?.permissions().mode() & 0o7777;
    std::fs::DirBuilder::new().mode(mode).create(dst)?;
    std::fs::set_permissions(dst, std::fs::Permissions::from_mode(mode))?;
    chown(dst, owner)?;
    for e in std::fs::read_dir(src)? {
        let e = e?;
        let from = e.path();
        let to = dst.join(e.file_name());
        let meta = match std::fs::metadata(&from) {
            Ok(m) => m,
            // A dangling symlink has nothing to copy.
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
            Err(err) => return Err(err),
        };
        if meta.is_dir() {
            copy_dir(&from, &to, owner)?;
        } else if meta.is_file() {
            copy_file(&from, &to, meta.permissions().mode(), owner)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_and_comments() {
        let got = parse(
            Path::new("m.conf"),
            "# secrets\n/usr/share/rhel/secrets:/run/secrets\n\n/a:/b\n",
        )
        .unwrap();
        assert_eq!(
            got,
            vec![
                Entry {
                    source: "/usr/share/rhel/secrets".into(),
                    destination: "/run/secrets".into()
                },
                Entry {
                    source: "/a".into(),
                    destination: "/b".into()
                }
            ]
        );
    }

    #[test]
    fn bad_line_names_file_and_line() {
        let e = parse(Path::new("m.conf"), "/a:/b\nrelative:dst\n").unwrap_err();
        assert!(e.to_string().starts_with("m.conf:2:"), "{e}");
    }

    #[test]
    fn a_lone_path_is_mounted_at_itself() {
        let got = parse(Path::new("m.conf"), "/only-one\n").unwrap();
        assert_eq!(
            got,
            vec![Entry {
                source: "/only-one".into(),
                destination: "/only-one".into()
            }]
        );
    }
}
