//! Property test of the unpacker against hostile archives: any sequence of
//! directories, files, symlinks and hard links with names and link targets
//! made of `..`, absolute paths, the path of the directory outside the
//! root, and links pointing at each other never changes anything outside
//! the root, whether the unpack succeeds or is refused.

use std::path::Path;

use proptest::prelude::*;

use super::unpack_stream;
use crate::error::StoreError;

#[derive(Debug, Clone)]
enum Kind {
    Dir,
    File,
    Symlink,
    Hardlink,
}

#[derive(Debug, Clone)]
struct Entry {
    kind: Kind,
    name: Vec<String>,
    target: Vec<String>,
    absolute_name: bool,
    absolute_target: bool,
}

/// Path pieces; `@OUT` stands for the absolute path of the outside dir.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("a".to_string()),
        Just("b".to_string()),
        Just("l".to_string()),
        Just("..".to_string()),
        Just(".".to_string()),
        Just("".to_string()),
        Just("sentinel".to_string()),
        Just("@OUT".to_string()),
        Just("outside".to_string()),
    ]
}

fn entry() -> impl Strategy<Value = Entry> {
    (
        prop_oneof![
            Just(Kind::Dir),
            Just(Kind::File),
            Just(Kind::Symlink),
            Just(Kind::Hardlink)
        ],
        prop::collection::vec(piece(), 1..5),
        prop::collection::vec(piece(), 1..5),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(kind, name, target, absolute_name, absolute_target)| Entry {
                kind,
                name,
                target,
                absolute_name,
                absolute_target,
            },
        )
}

fn path_of(pieces: &[String], absolute: bool, outside: &Path) -> Vec<u8> {
    let out = outside.to_str().unwrap_or_default().trim_start_matches('/');
    let joined: Vec<&str> = pieces
        .iter()
        .map(|p| if p == "@OUT" { out } else { p.as_str() })
        .collect();
    let mut s = joined.join("/");
    if absolute {
        s.insert(0, '/');
    }
    s.into_bytes()
}

/// A ustar archive written header by header, so names and link targets are
/// exactly the hostile bytes (tar's builder would refuse `..`).
fn archive(entries: &[Entry], outside: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        let mut h = tar::Header::new_ustar();
        let name = path_of(&e.name, e.absolute_name, outside);
        let target = path_of(&e.target, e.absolute_target, outside);
        let (kind, mode, body): (tar::EntryType, u32, &[u8]) = match e.kind {
            Kind::Dir => (tar::EntryType::Directory, 0o755, b""),
            Kind::File => (tar::EntryType::Regular, 0o644, b"overwritten"),
            Kind::Symlink => (tar::EntryType::Symlink, 0o777, b""),
            Kind::Hardlink => (tar::EntryType::Link, 0o644, b""),
        };
        let old = h.as_old_mut();
        let n = name.len().min(100);
        old.name[..n].copy_from_slice(&name[..n]);
        let t = target.len().min(100);
        if matches!(e.kind, Kind::Symlink | Kind::Hardlink) {
            old.linkname[..t].copy_from_slice(&target[..t]);
        }
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(body.len() as u64);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_700_000_000);
        h.set_cksum();
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(body);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

/// Every path under `dir` with its kind and, for files, content.
fn snapshot(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(m) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            let what = if m.is_dir() {
                stack.push(p.clone());
                "dir".to_string()
            } else if m.file_type().is_symlink() {
                format!("link {:?}", std::fs::read_link(&p).ok())
            } else {
                format!(
                    "file {:?} {}",
                    std::fs::read(&p).ok(),
                    std::os::unix::fs::MetadataExt::nlink(&m)
                )
            };
            out.push((p.display().to_string(), what));
        }
    }
    out.sort();
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn hostile_entries_never_write_outside_the_root(
        entries in prop::collection::vec(entry(), 1..8)
    ) {
        let tmp = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let root = tmp.path().join("root");
        let outside = tmp.path().join("outside");
        std::fs::create_dir(&root).unwrap();
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(outside.join("sentinel"), b"keep").unwrap();
        // A link outside the root pointing into `outside`, in case an
        // entry resolves `..` to the root's parent.
        std::os::unix::fs::symlink(&outside, tmp.path().join("l")).unwrap();
        let outside_root = |snap: Vec<(String, String)>| -> Vec<(String, String)> {
            snap.into_iter().filter(|(p, _)| !Path::new(p).starts_with(&root)).collect()
        };
        let before = outside_root(snapshot(tmp.path()));
        let data = archive(&entries, &outside);
        let corrupt = |e: std::io::Error| StoreError::DataLoss(e.to_string());
        let result = unpack_stream(
            &data[..],
            &root,
            "layer",
            super::Whiteouts::Overlay,
            &corrupt,
        );
        let after = outside_root(snapshot(tmp.path()));
        prop_assert_eq!(after, before, "outside the root changed (unpack: {:?})", result.map(|r| r.2));
    }
}
