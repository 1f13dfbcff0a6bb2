//! Each case runs with openat2 and with the userspace walk: both must
//! resolve to the same directory, and neither may leave the root.

use std::os::fd::AsFd;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::Path;

use super::*;

const BOTH: [Resolver; 2] = [Resolver::Auto, Resolver::Walk];

/// <tmp>/root with `real/sub`, a file, and escape attempts; <tmp>/real
/// and <tmp>/y exist outside the root to catch an escape.
fn fixture() -> (tempfile::TempDir, std::path::PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("root");
    std::fs::create_dir_all(root.join("real/sub")).unwrap();
    std::fs::create_dir_all(d.path().join("real/outside")).unwrap();
    std::fs::write(root.join("file"), b"").unwrap();
    symlink("/", root.join("slash")).unwrap();
    symlink("/real", root.join("abs")).unwrap();
    symlink("../../..", root.join("up")).unwrap();
    symlink("real/sub", root.join("rel")).unwrap();
    symlink("loop", root.join("loop")).unwrap();
    symlink("file", root.join("tofile")).unwrap();
    (d, root)
}

fn ino_of(fd: &OwnedFd) -> (u64, u64) {
    let f = std::fs::File::from(fd.try_clone().unwrap());
    let m = f.metadata().unwrap();
    (m.dev(), m.ino())
}

fn ino(p: &Path) -> (u64, u64) {
    let m = std::fs::metadata(p).unwrap();
    (m.dev(), m.ino())
}

#[test]
fn symlinks_and_dotdot_resolve_inside_the_root() {
    let (_d, root) = fixture();
    let rfd = open_dir(&root).unwrap();
    for r in BOTH {
        let at = |rel: &str| r.open_dir(rfd.as_fd(), Path::new(rel));
        let cases = [
            ("", root.clone()),
            (".", root.clone()),
            ("real", root.join("real")),
            ("abs", root.join("real")),
            ("abs/sub", root.join("real/sub")),
            ("slash/real", root.join("real")),
            ("up", root.clone()),
            ("up/real/sub", root.join("real/sub")),
            ("..", root.clone()),
            ("../../real", root.join("real")),
            ("real/../../../real/sub", root.join("real/sub")),
            ("/real/sub", root.join("real/sub")),
            ("rel", root.join("real/sub")),
            ("rel/../..", root.clone()),
        ];
        for (rel, want) in cases {
            let fd = at(rel).unwrap_or_else(|e| panic!("{r:?} {rel:?}: {e}"));
            assert_eq!(ino_of(&fd), ino(&want), "{r:?} {rel:?}");
        }
        // `real/outside` exists only outside the root.
        for rel in ["abs/outside", "up/real/outside", "../real/outside"] {
            let e = at(rel).unwrap_err();
            assert_eq!(e.raw_os_error(), Some(libc::ENOENT), "{r:?} {rel:?}");
        }
        assert_eq!(
            at("loop").unwrap_err().raw_os_error(),
            Some(libc::ELOOP),
            "{r:?}"
        );
        assert_eq!(
            at("file").unwrap_err().raw_os_error(),
            Some(libc::ENOTDIR),
            "{r:?}"
        );
        assert_eq!(
            at("tofile").unwrap_err().raw_os_error(),
            Some(libc::ENOTDIR),
            "{r:?}"
        );
    }
}

#[test]
fn mkdir_all_creates_inside_the_root() {
    for r in BOTH {
        let (d, root) = fixture();
        let rfd = open_dir(&root).unwrap();
        let mk = |rel: &str| r.mkdir_all(rfd.as_fd(), Path::new(rel));
        // "slash/real" is root/real, never /real.
        let fd = mk("slash/real/x").unwrap();
        assert_eq!(ino_of(&fd), ino(&root.join("real/x")), "{r:?}");
        drop(mk("up/y").unwrap());
        assert!(root.join("y").is_dir(), "{r:?}");
        assert!(!d.path().join("y").exists(), "{r:?}");
        drop(mk("../../z").unwrap());
        assert!(root.join("z").is_dir(), "{r:?}");
        // A symlink to a missing absolute directory creates it inside.
        symlink("/opt/app", root.join("app")).unwrap();
        drop(mk("app/bin").unwrap());
        assert!(root.join("opt/app/bin").is_dir(), "{r:?}");
        assert!(!Path::new("/opt/app/bin").exists());
        assert!(mk("loop/x").is_err(), "{r:?}");
        assert_eq!(
            mk("file/x").unwrap_err().raw_os_error(),
            Some(libc::ENOTDIR),
            "{r:?}"
        );
        // Existing directories come back as they are.
        assert_eq!(
            ino_of(&mk("abs/sub").unwrap()),
            ino(&root.join("real/sub")),
            "{r:?}"
        );
    }
}

#[test]
fn helpers_report_what_is_there() {
    let (_d, root) = fixture();
    let rfd = open_dir(&root).unwrap();
    assert!(lstat_at(rfd.as_fd(), OsStr::new("missing"))
        .unwrap()
        .is_none());
    assert!(is_symlink(
        &lstat_at(rfd.as_fd(), OsStr::new("abs")).unwrap().unwrap()
    ));
    assert!(is_dir(
        &lstat_at(rfd.as_fd(), OsStr::new("real")).unwrap().unwrap()
    ));
    assert_eq!(
        readlinkat(rfd.as_fd(), OsStr::new("up")).unwrap(),
        Path::new("../../..")
    );
    mkdirat(rfd.as_fd(), OsStr::new("new"), 0o700).unwrap();
    assert_eq!(
        mkdirat(rfd.as_fd(), OsStr::new("new"), 0o700)
            .unwrap_err()
            .kind(),
        io::ErrorKind::AlreadyExists
    );
    assert!(open_dir(Path::new("bad\0path")).is_err());
}

/// Regular files are read through in-root symlinks; symlinks out of the
/// root land inside it; FIFOs, devices, directories and oversized files are
/// refused without blocking.
#[test]
fn read_regular_only_inside_root_and_capped() {
    let (d, root) = fixture();
    std::fs::write(root.join("real/sub/passwd"), b"root:x:0:0::/root:/bin/sh\n").unwrap();
    std::fs::write(d.path().join("real/outside/secret"), b"host secret").unwrap();
    symlink("/real/sub/passwd", root.join("abs-passwd")).unwrap();
    symlink("../../../real/outside/secret", root.join("real/sub/escape")).unwrap();
    symlink("/dev/zero", root.join("zero")).unwrap();
    let fd = open_dir(&root).unwrap();
    // Before the image has its own /dev/zero, the link names nothing.
    for r in BOTH {
        let e = r
            .read_regular(fd.as_fd(), Path::new("zero"), 64)
            .unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOENT), "{r:?}: {e}");
    }
    std::fs::create_dir(root.join("dev")).unwrap();
    nix::sys::stat::mknod(
        &root.join("dev/zero"),
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::from_bits_truncate(0o666),
        nix::sys::stat::makedev(1, 5),
    )
    .unwrap();
    nix::unistd::mkfifo(
        &root.join("fifo"),
        nix::sys::stat::Mode::from_bits_truncate(0o644),
    )
    .unwrap();
    std::fs::write(root.join("big"), vec![b'x'; 100]).unwrap();
    for r in BOTH {
        let read = |p: &str| r.read_regular(fd.as_fd(), Path::new(p), 64);
        assert_eq!(
            read("abs-passwd").unwrap(),
            b"root:x:0:0::/root:/bin/sh\n",
            "{r:?}"
        );
        assert_eq!(
            read("/rel/passwd").unwrap(),
            b"root:x:0:0::/root:/bin/sh\n",
            "{r:?}"
        );
        let escape = read("real/sub/escape").unwrap_err();
        assert_eq!(escape.raw_os_error(), Some(libc::ENOENT), "{r:?}: {escape}");
        for p in ["zero", "fifo", "real", "slash"] {
            let e = read(p).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{r:?} {p}: {e}");
        }
        assert_eq!(
            read("big").unwrap_err().raw_os_error(),
            Some(libc::EFBIG),
            "{r:?}"
        );
        assert_eq!(
            read("loop").unwrap_err().raw_os_error(),
            Some(libc::ELOOP),
            "{r:?}"
        );
    }
    assert!(read_regular_in_root(&root, Path::new("etc/passwd"), 64)
        .unwrap()
        .is_none());
    assert!(read_regular_in_root(&root, Path::new("file/x"), 64)
        .unwrap()
        .is_none());
}
