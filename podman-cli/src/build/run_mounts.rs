//! `RUN --mount=...` as Buildah has it: `type=bind` (the context, a named
//! build context, or a stage's or image's file system; read-only unless
//! `rw`), `type=tmpfs`, `type=cache` (a directory kept under the graph
//! root between builds, by `id` or target) and `type=secret` (a
//! `--secret id=..,src=..` file at /run/secrets/ID, a private copy with
//! `mode` (default 0400), `uid` and `gid` (default 0), mounted read-only
//! for that RUN only). Each becomes a `--mount` of the RUN container.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MountError {
    #[error("RUN --mount={spec}: {why}")]
    Bad { spec: String, why: String },
}

/// One `RUN --mount`, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunMount {
    pub kind: String,
    pub target: String,
    pub source: String,
    /// `from=` stage, image or build context.
    pub from: Option<String>,
    pub rw: bool,
    pub id: String,
    pub size: Option<String>,
    pub mode: Option<String>,
    pub required: bool,
    /// Owner of a cache directory.
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

pub fn parse(spec: &str) -> Result<RunMount, MountError> {
    let bad = |why: String| MountError::Bad {
        spec: spec.to_string(),
        why,
    };
    let mut m = RunMount {
        kind: "bind".into(),
        ..Default::default()
    };
    for kv in spec.split(',').filter(|s| !s.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        match k {
            "type" => m.kind = v.to_string(),
            "target" | "dst" | "destination" => m.target = v.to_string(),
            "source" | "src" => m.source = v.to_string(),
            "from" => m.from = Some(v.to_string()),
            "rw" | "readwrite" => m.rw = v.is_empty() || v == "true",
            "ro" | "readonly" => m.rw = !(v.is_empty() || v == "true"),
            "id" => m.id = v.to_string(),
            "size" | "tmpfs-size" => m.size = Some(v.to_string()),
            "mode" => m.mode = Some(v.to_string()),
            "required" => m.required = v.is_empty() || v == "true",
            "uid" | "gid" => {
                let n: u32 = v
                    .parse()
                    .map_err(|_| bad(format!("{k}={v} is not a number")))?;
                if k == "uid" {
                    m.uid = Some(n)
                } else {
                    m.gid = Some(n)
                }
            }
            // Every build shares a cache directory; one build at a time
            // (locked) or a copy per build (private) are not offered.
            "sharing" if v == "shared" => {}
            "sharing" => return Err(bad(format!("sharing={v} is not supported: only shared"))),
            // No SELinux here: relabeling has nothing to do (as run's z/Z).
            "relabel" | "z" | "Z" => {}
            other => return Err(bad(format!("unknown option {other:?}"))),
        }
    }
    match m.kind.as_str() {
        "bind" | "cache" | "tmpfs" => {
            if !m.target.starts_with('/') {
                return Err(bad("it needs an absolute target=PATH".into()));
            }
        }
        "secret" => {
            if m.id.is_empty() {
                m.id = Path::new(&m.target)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
            }
            if m.id.is_empty() {
                return Err(bad("a secret needs id=NAME".into()));
            }
            if m.target.is_empty() {
                m.target = format!("/run/secrets/{}", m.id);
            }
        }
        "ssh" => return Err(bad("SSH agent forwarding is not supported".into())),
        other => {
            return Err(bad(format!(
                "unknown type {other:?}: use bind, cache, tmpfs or secret"
            )))
        }
    }
    Ok(m)
}

/// `--secret id=NAME,src=PATH` (or `env=VAR`): NAME -> file on the host.
pub fn parse_secret(spec: &str) -> Result<(String, PathBuf), String> {
    let (mut id, mut src, mut env) = (String::new(), String::new(), String::new());
    for kv in spec.split(',') {
        match kv.split_once('=') {
            Some(("id", v)) => id = v.into(),
            Some(("src" | "source", v)) => src = v.into(),
            Some(("env", v)) => env = v.into(),
            Some(("type", "file" | "env")) => {}
            _ => {
                return Err(format!(
                    "invalid --secret {spec:?}: use id=NAME,src=PATH or id=NAME,env=VAR"
                ))
            }
        }
    }
    if id.is_empty() {
        return Err(format!("invalid --secret {spec:?}: id=NAME is required"));
    }
    if !env.is_empty() {
        return Ok((id, PathBuf::from(format!("env:{env}"))));
    }
    if src.is_empty() {
        src = id.clone();
    }
    Ok((id, PathBuf::from(src)))
}

/// The `--mount` option of the RUN container for `m`, its source already
/// a host path (`host`); `cache_root` holds type=cache directories.
pub fn to_create_mount(
    m: &RunMount,
    host: &Path,
    secrets: &BTreeMap<String, PathBuf>,
    cache_root: &Path,
) -> Result<Option<String>, MountError> {
    let bad = |why: String| MountError::Bad {
        spec: format!("type={},target={}", m.kind, m.target),
        why,
    };
    Ok(Some(match m.kind.as_str() {
        "bind" if m.mode.is_some() || m.uid.is_some() || m.gid.is_some() => {
            return Err(bad(
                "mode, uid and gid are not supported for bind mounts (the source's own are used)"
                    .into(),
            ))
        }
        "bind" => format!(
            "type=bind,source={},destination={}{}",
            host.display(),
            m.target,
            if m.rw { "" } else { ",ro" }
        ),
        "tmpfs" => {
            let mut s = format!("type=tmpfs,destination={}", m.target);
            if let Some(size) = &m.size {
                s.push_str(&format!(",tmpfs-size={size}"));
            }
            if let Some(mode) = &m.mode {
                s.push_str(&format!(",tmpfs-mode={mode}"));
            }
            s
        }
        "cache" => {
            let key = if m.id.is_empty() { &m.target } else { &m.id };
            let hex: String = <sha2::Sha256 as sha2::Digest>::digest(key.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            let dir = cache_root.join(&hex[..32]);
            std::fs::create_dir_all(&dir).map_err(|e| {
                bad(format!(
                    "creating the cache directory {}: {e}",
                    dir.display()
                ))
            })?;
            if m.uid.is_some() || m.gid.is_some() {
                std::os::unix::fs::chown(&dir, m.uid, m.gid).map_err(|e| {
                    bad(format!(
                        "chown of the cache directory {}: {e}",
                        dir.display()
                    ))
                })?;
            }
            if let Some(mode) = &m.mode {
                let mode = u32::from_str_radix(mode, 8)
                    .map_err(|_| bad(format!("mode={mode} is not an octal mode")))?;
                std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(mode))
                    .map_err(|e| {
                        bad(format!(
                            "chmod of the cache directory {}: {e}",
                            dir.display()
                        ))
                    })?;
            }
            format!(
                "type=bind,source={},destination={}",
                dir.display(),
                m.target
            )
        }
        "secret" => match secrets.get(&m.id) {
            Some(p) => {
                let copy = secret_copy(m, p).map_err(|e| {
                    bad(format!(
                        "copying secret {:?} from {}: {e}",
                        m.id,
                        p.display()
                    ))
                })?;
                format!(
                    "type=bind,source={},destination={},ro",
                    copy.display(),
                    m.target
                )
            }
            None if m.required => {
                return Err(bad(format!(
                    "secret {:?} is required: pass --secret id={},src=FILE",
                    m.id, m.id
                )))
            }
            None => return Ok(None),
        },
        _ => return Err(bad("unsupported type".into())),
    }))
}

/// A copy of the build's private secret file `src` beside it, with the
/// mount's mode (default 0400) and owner (default root), as Buildah makes.
fn secret_copy(m: &RunMount, src: &Path) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mode = match &m.mode {
        Some(s) => u32::from_str_radix(s, 8)
            .ok()
            .filter(|m| *m <= 0o7777)
            .ok_or_else(|| std::io::Error::other(format!("mode={s} is not an octal mode")))?,
        None => 0o400,
    };
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = src.parent().unwrap_or(Path::new("/"));
    let dest = dir.join(format!(".{}.{n}", m.id));
    let bytes = std::fs::read(src)?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&dest)?;
    std::io::Write::write_all(&mut f, &bytes)?;
    std::os::unix::fs::fchown(&f, Some(m.uid.unwrap_or(0)), Some(m.gid.unwrap_or(0)))?;
    f.set_permissions(std::fs::Permissions::from_mode(mode))?;
    Ok(dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts_parse_as_buildah() {
        let m = parse("type=bind,source=src,target=/s,rw").unwrap();
        assert_eq!(
            (m.kind.as_str(), m.source.as_str(), m.target.as_str(), m.rw),
            ("bind", "src", "/s", true)
        );
        let m = parse("target=/x,from=builder").unwrap();
        assert_eq!(m.kind, "bind");
        assert_eq!(m.from.as_deref(), Some("builder"));
        let m = parse("type=secret,id=tok").unwrap();
        assert_eq!(m.target, "/run/secrets/tok");
        assert!(parse("type=cache").is_err());
        assert!(parse("type=ssh").is_err());
        assert!(parse("type=bind,target=/x,bogus=1").is_err());
        assert!(parse("type=cache,target=/c,sharing=locked").is_err());
        assert_eq!(
            parse("type=cache,target=/c,uid=7,gid=8").unwrap().uid,
            Some(7)
        );
        assert_eq!(
            parse_secret("id=a,src=/f").unwrap(),
            ("a".into(), PathBuf::from("/f"))
        );
        assert!(parse_secret("src=/f").is_err());
    }

    #[test]
    fn create_mounts() {
        let d = tempfile::tempdir().unwrap();
        let tok = d.path().join("tok");
        std::fs::write(&tok, "s3cret").unwrap();
        let secrets = BTreeMap::from([("tok".to_string(), tok.clone())]);
        let m = parse("type=bind,source=a,target=/a").unwrap();
        assert_eq!(
            to_create_mount(&m, Path::new("/ctx/a"), &secrets, d.path())
                .unwrap()
                .unwrap(),
            "type=bind,source=/ctx/a,destination=/a,ro"
        );
        let m = parse("type=secret,id=tok").unwrap();
        let spec = to_create_mount(&m, Path::new(""), &secrets, d.path())
            .unwrap()
            .unwrap();
        let copy = spec
            .strip_prefix("type=bind,source=")
            .and_then(|s| s.strip_suffix(",destination=/run/secrets/tok,ro"))
            .unwrap();
        assert_ne!(Path::new(copy), tok);
        assert_eq!(std::fs::read_to_string(copy).unwrap(), "s3cret");
        use std::os::unix::fs::MetadataExt;
        assert_eq!(std::fs::metadata(copy).unwrap().mode() & 0o7777, 0o400);
        let m = parse("type=secret,id=tok,mode=0644").unwrap();
        let spec = to_create_mount(&m, Path::new(""), &secrets, d.path())
            .unwrap()
            .unwrap();
        let copy = spec
            .split(',')
            .nth(1)
            .unwrap()
            .strip_prefix("source=")
            .unwrap();
        assert_eq!(std::fs::metadata(copy).unwrap().mode() & 0o7777, 0o644);
        let m = parse("type=secret,id=other,required").unwrap();
        assert!(to_create_mount(&m, Path::new(""), &secrets, d.path()).is_err());
        let m = parse("type=cache,target=/c").unwrap();
        let s = to_create_mount(&m, Path::new(""), &secrets, d.path())
            .unwrap()
            .unwrap();
        assert!(
            s.starts_with(&format!("type=bind,source={}/", d.path().display())),
            "{s}"
        );
    }
}
