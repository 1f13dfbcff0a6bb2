//! The auth file `podman login` writes and `logout` edits
//! (containers-auth.json(5)): `--authfile`, else `$REGISTRY_AUTH_FILE`,
//! else `${XDG_RUNTIME_DIR}/containers/auth.json`, else
//! `/run/containers/UID/auth.json` — the same primary file image-fetcher
//! reads first. Entries are `auths.<key>.auth` = base64(`user:password`);
//! everything else in the file is kept. Every change is written to a temp
//! file (mode 0600), fsynced and renamed over the old one.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use common::atomic_file::{write_atomic_mode, Durability};
use serde_json::{Map, Value};

#[derive(Debug, thiserror::Error)]
pub enum AuthStoreError {
    #[error("{what} auth file {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("auth file {}: {why}: fix or remove it, or use --authfile", path.display())]
    Invalid { path: PathBuf, why: String },
    #[error("invalid registry {key:?}: {why}")]
    BadKey { key: String, why: String },
    /// Podman's `auth.CheckAuthFile`: an `--authfile` that cannot be
    /// reached is an error before anything else happens.
    #[error("credential file is not accessible: faccessat {}: {why}", path.display())]
    NotAccessible { path: PathBuf, why: String },
}

/// `--authfile PATH` must exist (Podman checks it with faccessat(F_OK) and
/// prints Go's text of the errno); no `--authfile` is fine.
pub fn check_authfile(explicit: Option<&Path>) -> Result<(), AuthStoreError> {
    let Some(path) = explicit else {
        return Ok(());
    };
    nix::unistd::access(path, nix::unistd::AccessFlags::F_OK).map_err(|e| {
        AuthStoreError::NotAccessible {
            path: path.to_path_buf(),
            why: crate::error::go_errno_text(e),
        }
    })
}

#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({:?}, <redacted>)", self.username)
    }
}

/// The file to write: `explicit`, else the containers-auth.json(5) primary file.
pub fn auth_file_path(
    explicit: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
    uid: u32,
) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    let set = |k: &str| env(k).filter(|v| !v.is_empty());
    if let Some(p) = set("REGISTRY_AUTH_FILE") {
        return PathBuf::from(p);
    }
    match set("XDG_RUNTIME_DIR") {
        Some(x) => Path::new(&x).join("containers/auth.json"),
        None => PathBuf::from(format!("/run/containers/{uid}/auth.json")),
    }
}

/// The auth file of this process.
pub fn default_path(explicit: Option<&Path>) -> PathBuf {
    auth_file_path(
        explicit,
        &|k| std::env::var(k).ok(),
        nix::unistd::getuid().as_raw(),
    )
}

/// `podman login ARG`'s key and registry: `https://host:port/...` becomes
/// `host:port`; `host/ns/repo` stays (a namespace key) with registry `host`.
pub fn parse_key(arg: &str) -> Result<(String, String), AuthStoreError> {
    let bad = |why: &str| AuthStoreError::BadKey {
        key: arg.to_string(),
        why: why.to_string(),
    };
    let key = match arg
        .strip_prefix("https://")
        .or_else(|| arg.strip_prefix("http://"))
    {
        Some(rest) => rest.split('/').next().unwrap_or("").to_string(),
        None => arg.trim_end_matches('/').to_string(),
    };
    if key.is_empty() {
        return Err(bad("empty; give HOST[:PORT] or HOST/NAMESPACE"));
    }
    let registry = key.split('/').next().unwrap_or("").to_string();
    if registry.is_empty() || key.chars().any(char::is_whitespace) || key.contains('@') {
        return Err(bad("give HOST[:PORT] or HOST/NAMESPACE"));
    }
    if key != registry {
        let r = crate::image::reference::Reference::parse(&key).map_err(|e| bad(&e.to_string()))?;
        if r.tag.is_some() || r.digest.is_some() {
            return Err(bad("a login key must not have a tag or digest"));
        }
    }
    Ok((key, registry))
}

fn read(path: &Path) -> Result<Map<String, Value>, AuthStoreError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Map::new()),
        Err(source) => {
            return Err(AuthStoreError::Io {
                what: "reading",
                path: path.to_path_buf(),
                source,
            })
        }
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(AuthStoreError::Invalid {
            path: path.to_path_buf(),
            why: "not a JSON object".into(),
        }),
        Err(e) => Err(AuthStoreError::Invalid {
            path: path.to_path_buf(),
            why: format!("invalid JSON: {e}"),
        }),
    }
}

fn write(path: &Path, doc: &Map<String, Value>) -> Result<(), AuthStoreError> {
    let err = |what: &'static str, p: &Path| {
        let p = p.to_path_buf();
        move |source| AuthStoreError::Io {
            what,
            path: p,
            source,
        }
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(err("creating the directory of", path))?;
    let mut bytes = serde_json::to_vec_pretty(&Value::Object(doc.clone())).map_err(|e| {
        AuthStoreError::Invalid {
            path: path.to_path_buf(),
            why: e.to_string(),
        }
    })?;
    bytes.push(b'\n');
    // Credentials: never readable by others, not even while being written.
    write_atomic_mode(path, &bytes, 0o600, Durability::Fsync).map_err(|e| AuthStoreError::Io {
        what: e.op,
        path: e.path,
        source: e.source,
    })
}

fn auths(doc: &mut Map<String, Value>) -> &mut Map<String, Value> {
    if !doc.get("auths").is_some_and(Value::is_object) {
        doc.insert("auths".into(), Value::Object(Map::new()));
    }
    match doc.get_mut("auths") {
        Some(Value::Object(m)) => m,
        _ => unreachable!("auths was just made an object"),
    }
}

/// The credentials stored under exactly `key`, if any.
pub fn get(path: &Path, key: &str) -> Result<Option<Credentials>, AuthStoreError> {
    let doc = read(path)?;
    let Some(entry) = doc.get("auths").and_then(|a| a.get(key)) else {
        return Ok(None);
    };
    let invalid = |why: String| AuthStoreError::Invalid {
        path: path.to_path_buf(),
        why: format!("entry {key:?}: {why}"),
    };
    let Some(auth) = entry
        .get("auth")
        .and_then(Value::as_str)
        .filter(|a| !a.is_empty())
    else {
        return Ok(None);
    };
    let raw = base64::engine::general_purpose::STANDARD
        .decode(auth.trim())
        .map_err(|e| invalid(format!("\"auth\" is not base64: {e}")))?;
    let text = String::from_utf8(raw).map_err(|_| invalid("\"auth\" is not UTF-8".into()))?;
    let (u, p) = text
        .split_once(':')
        .ok_or_else(|| invalid("\"auth\" does not decode to user:password".into()))?;
    Ok(Some(Credentials {
        username: u.to_string(),
        password: p.to_string(),
    }))
}

/// Store `creds` under `key`, replacing what was there.
pub fn set(path: &Path, key: &str, creds: &Credentials) -> Result<(), AuthStoreError> {
    let mut doc = read(path)?;
    let auth = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", creds.username, creds.password));
    auths(&mut doc).insert(key.to_string(), serde_json::json!({ "auth": auth }));
    write(path, &doc)
}

/// Remove `key`; false when it was not there (nothing is written then).
pub fn remove(path: &Path, key: &str) -> Result<bool, AuthStoreError> {
    let mut doc = read(path)?;
    if auths(&mut doc).remove(key).is_none() {
        return Ok(false);
    }
    write(path, &doc)?;
    Ok(true)
}

/// Remove every entry and credential helper (`logout --all`).
pub fn remove_all(path: &Path) -> Result<(), AuthStoreError> {
    let mut doc = read(path)?;
    if doc.is_empty() && !path.exists() {
        return Ok(());
    }
    doc.insert("auths".into(), Value::Object(Map::new()));
    doc.remove("credHelpers");
    write(path, &doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_primary_file_follows_containers_auth_json() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            auth_file_path(None, &env(&[("XDG_RUNTIME_DIR", "/run/user/1000")]), 1000),
            PathBuf::from("/run/user/1000/containers/auth.json")
        );
        assert_eq!(
            auth_file_path(None, &env(&[]), 0),
            PathBuf::from("/run/containers/0/auth.json")
        );
        assert_eq!(
            auth_file_path(
                None,
                &env(&[("REGISTRY_AUTH_FILE", "/a.json"), ("XDG_RUNTIME_DIR", "/x")]),
                0
            ),
            PathBuf::from("/a.json")
        );
        assert_eq!(
            auth_file_path(
                Some(Path::new("/e.json")),
                &env(&[("REGISTRY_AUTH_FILE", "/a.json")]),
                0
            ),
            PathBuf::from("/e.json")
        );
    }

    #[test]
    fn keys_parse_like_podman() {
        assert_eq!(
            parse_key("quay.io").unwrap(),
            ("quay.io".into(), "quay.io".into())
        );
        assert_eq!(
            parse_key("https://127.0.0.1:5000/v2/").unwrap(),
            ("127.0.0.1:5000".into(), "127.0.0.1:5000".into())
        );
        assert_eq!(
            parse_key("quay.io/team/app").unwrap(),
            ("quay.io/team/app".into(), "quay.io".into())
        );
        assert!(parse_key("quay.io/team/app:1").is_err());
        assert!(parse_key("").is_err());
    }

    #[test]
    fn set_get_remove_keep_other_content_and_mode_0600() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("sub/auth.json");
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(
            &p,
            r#"{"auths":{"other.io":{"auth":"eDp5"}},"credHelpers":{"ecr.io":"ecr"}}"#,
        )
        .unwrap();
        let c = Credentials {
            username: "user".into(),
            password: "p:w".into(),
        };
        set(&p, "127.0.0.1:5000", &c).unwrap();
        assert_eq!(get(&p, "127.0.0.1:5000").unwrap(), Some(c));
        assert_eq!(get(&p, "other.io").unwrap().unwrap().username, "x");
        let doc: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        assert_eq!(doc["auths"]["127.0.0.1:5000"]["auth"], "dXNlcjpwOnc=");
        assert_eq!(doc["credHelpers"]["ecr.io"], "ecr");
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(remove(&p, "127.0.0.1:5000").unwrap());
        assert!(!remove(&p, "127.0.0.1:5000").unwrap());
        assert_eq!(get(&p, "127.0.0.1:5000").unwrap(), None);
        remove_all(&p).unwrap();
        let doc: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        assert_eq!(doc, serde_json::json!({"auths": {}}));
        let leftovers: Vec<_> = std::fs::read_dir(p.parent().unwrap())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(leftovers.len(), 1);
        // A fresh file in a missing directory.
        let q = d.path().join("new/dir/auth.json");
        set(
            &q,
            "h",
            &Credentials {
                username: "a".into(),
                password: "b".into(),
            },
        )
        .unwrap();
        assert_eq!(get(&q, "h").unwrap().unwrap().password, "b");
        std::fs::write(&q, "not json").unwrap();
        assert!(get(&q, "h")
            .unwrap_err()
            .to_string()
            .contains("invalid JSON"));
    }
}
