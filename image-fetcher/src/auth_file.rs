//! Credentials from auth.json (containers-auth.json(5)) and Docker's
//! config.json. The fetcher never prompts: credentials come from the
//! request (--creds) or from these files, or the pull goes anonymous.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::Deserialize;
use tracing::debug;

use crate::error::FetchError;

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

/// The files to read, in order: only `explicit` when given, else only
/// `$REGISTRY_AUTH_FILE` when set, else `${XDG_RUNTIME_DIR}/containers/auth.json`
/// (`/run/containers/UID/auth.json` without XDG_RUNTIME_DIR),
/// `~/.config/containers/auth.json`, `~/.docker/config.json`, `~/.dockercfg`.
pub fn candidate_files(
    explicit: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
    uid: u32,
) -> Vec<PathBuf> {
    if let Some(p) = explicit {
        return vec![p.to_path_buf()];
    }
    let set = |k: &str| env(k).filter(|v| !v.is_empty());
    if let Some(p) = set("REGISTRY_AUTH_FILE") {
        return vec![PathBuf::from(p)];
    }
    let mut files = Vec::new();
    match set("XDG_RUNTIME_DIR") {
        Some(x) => files.push(Path::new(&x).join("containers/auth.json")),
        None => files.push(PathBuf::from(format!("/run/containers/{uid}/auth.json"))),
    }
    if let Some(home) = set("HOME") {
        let home = PathBuf::from(home);
        match set("XDG_CONFIG_HOME") {
            Some(c) => files.push(Path::new(&c).join("containers/auth.json")),
            None => files.push(home.join(".config/containers/auth.json")),
        }
        files.push(home.join(".docker/config.json"));
        files.push(home.join(".dockercfg"));
    }
    files
}

/// The default files for this process.
pub fn default_files(explicit: Option<&Path>) -> Vec<PathBuf> {
    candidate_files(
        explicit,
        &|k| std::env::var(k).ok(),
        nix::unistd::getuid().as_raw(),
    )
}

#[derive(Deserialize, Default)]
struct AuthFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
struct AuthEntry {
    #[serde(default)]
    auth: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

/// Credentials for `registry/repository` from the first file with a
/// matching entry. Within a file the most specific key wins
/// (`host/ns/repo`, then `host/ns`, then `host`). A missing file is
/// skipped; a file that cannot be parsed is an error naming it.
pub fn lookup(
    files: &[PathBuf],
    registry: &str,
    repository: &str,
) -> Result<Option<Credentials>, FetchError> {
    let wanted = keys_for(registry, repository);
    for path in files {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(FetchError::io("reading auth file", path, e)),
        };
        let legacy = path.file_name().is_some_and(|n| n == ".dockercfg");
        let file: AuthFile = if legacy {
            let auths = serde_json::from_slice(&bytes).map_err(|e| {
                FetchError::Config(format!("auth file {}: invalid JSON: {e}", path.display()))
            })?;
            AuthFile {
                auths,
                ..Default::default()
            }
        } else {
            serde_json::from_slice(&bytes).map_err(|e| {
                FetchError::Config(format!(
                    "auth file {}: invalid JSON: {e}; fix or remove it, or use --authfile",
                    path.display()
                ))
            })?
        };
        let normalized: BTreeMap<String, &AuthEntry> = file
            .auths
            .iter()
            .map(|(k, v)| (normalize_key(k), v))
            .collect();
        for key in &wanted {
            if let Some(entry) = normalized.get(key) {
                let creds = decode(entry).map_err(|why| {
                    FetchError::Config(format!(
                        "auth file {}: entry {key:?}: {why}",
                        path.display()
                    ))
                })?;
                if let Some(c) = creds {
                    debug!(file = %path.display(), key, user = %c.username, "credentials from auth file");
                    return Ok(Some(c));
                }
            }
            if file.cred_helpers.contains_key(key) {
                debug!(file = %path.display(), key, "credential helpers are not run by the fetcher; use --creds");
            }
        }
    }
    Ok(None)
}

/// `host/a/b`, `host/a`, `host` for `host` + `a/b` (Docker Hub as docker.io).
fn keys_for(registry: &str, repository: &str) -> Vec<String> {
    let host = normalize_key(registry);
    let mut keys = Vec::new();
    let parts: Vec<&str> = repository.split('/').collect();
    for n in (1..=parts.len()).rev() {
        keys.push(format!("{host}/{}", parts[..n].join("/")));
    }
    keys.push(host);
    keys
}

/// `https://index.docker.io/v1/` -> `docker.io`; `http://host:5000` -> `host:5000`;
/// `host/ns/repo` stays.
fn normalize_key(key: &str) -> String {
    let had_scheme = key.contains("://");
    let rest = key.split_once("://").map_or(key, |(_, r)| r);
    // Keys written with a scheme are legacy registry URLs: only the host counts.
    let rest = if had_scheme {
        rest.split('/').next().unwrap_or(rest)
    } else {
        rest.trim_end_matches('/')
    };
    let (host, path) = rest.split_once('/').map_or((rest, ""), |(h, p)| (h, p));
    let host = match host {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => "docker.io",
        h => h,
    };
    if path.is_empty() {
        host.to_string()
    } else {
        format!("{host}/{path}")
    }
}

fn decode(entry: &AuthEntry) -> Result<Option<Credentials>, String> {
    if !entry.auth.is_empty() {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(entry.auth.trim())
            .map_err(|e| format!("\"auth\" is not base64: {e}"))?;
        let text = String::from_utf8(raw).map_err(|_| "\"auth\" is not UTF-8".to_string())?;
        let (u, p) = text
            .split_once(':')
            .ok_or("\"auth\" does not decode to user:password")?;
        return Ok(Some(Credentials {
            username: u.to_string(),
            password: p.to_string(),
        }));
    }
    if !entry.username.is_empty() {
        return Ok(Some(Credentials {
            username: entry.username.clone(),
            password: entry.password.clone(),
        }));
    }
    Ok(None)
}

/// Parse `--creds USER[:PASSWORD]`.
pub fn parse_creds(s: &str) -> Result<Credentials, String> {
    match s.split_once(':') {
        Some((u, p)) if !u.is_empty() => Ok(Credentials {
            username: u.to_string(),
            password: p.to_string(),
        }),
        None if !s.is_empty() => {
            Err("--creds needs USER:PASSWORD (the fetcher never prompts)".into())
        }
        _ => Err("--creds has an empty user name; write USER:PASSWORD".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn file_order_follows_containers_auth_json() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let f = candidate_files(
            None,
            &env(&[("XDG_RUNTIME_DIR", "/run/user/1000"), ("HOME", "/home/u")]),
            1000,
        );
        assert_eq!(
            f,
            [
                "/run/user/1000/containers/auth.json",
                "/home/u/.config/containers/auth.json",
                "/home/u/.docker/config.json",
                "/home/u/.dockercfg"
            ]
            .map(PathBuf::from)
        );
        let f = candidate_files(None, &env(&[("HOME", "/root")]), 0);
        assert_eq!(f[0], PathBuf::from("/run/containers/0/auth.json"));
        let f = candidate_files(
            None,
            &env(&[("REGISTRY_AUTH_FILE", "/x.json"), ("HOME", "/root")]),
            0,
        );
        assert_eq!(f, vec![PathBuf::from("/x.json")]);
        let f = candidate_files(
            Some(Path::new("/e.json")),
            &env(&[("REGISTRY_AUTH_FILE", "/x.json")]),
            0,
        );
        assert_eq!(f, vec![PathBuf::from("/e.json")]);
    }

    #[test]
    fn most_specific_entry_wins_and_keys_normalize() {
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("auth.json");
        std::fs::write(
            &a,
            format!(
                r#"{{"auths":{{"reg.io":{{"auth":"{}"}},"reg.io/team":{{"auth":"{}"}},"https://index.docker.io/v1/":{{"auth":"{}"}},"http://old.io:5000/v2/":{{"auth":"{}"}}}}}}"#,
                b64("host:h"),
                b64("team:t:with:colons"),
                b64("hub:x"),
                b64("old:o")
            ),
        )
        .unwrap();
        let files = vec![d.path().join("missing.json"), a.clone()];
        let get = |r: &str, repo: &str| {
            lookup(&files, r, repo)
                .unwrap()
                .map(|c| (c.username, c.password))
        };
        assert_eq!(
            get("reg.io", "team/app"),
            Some(("team".into(), "t:with:colons".into()))
        );
        assert_eq!(
            get("reg.io", "other/app"),
            Some(("host".into(), "h".into()))
        );
        assert_eq!(
            get("docker.io", "library/busybox"),
            Some(("hub".into(), "x".into()))
        );
        assert_eq!(get("old.io:5000", "x"), Some(("old".into(), "o".into())));
        assert_eq!(get("none.io", "x"), None);

        // An earlier file with a match wins over a later, more specific one.
        let first = d.path().join("first.json");
        std::fs::write(
            &first,
            format!(
                r#"{{"auths":{{"reg.io":{{"auth":"{}"}}}}}}"#,
                b64("first:1")
            ),
        )
        .unwrap();
        let got = lookup(&[first, a], "reg.io", "team/app").unwrap().unwrap();
        assert_eq!(got.username, "first");
    }

    #[test]
    fn broken_files_and_entries_are_named() {
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("auth.json");
        std::fs::write(&a, "{not json").unwrap();
        assert!(lookup(std::slice::from_ref(&a), "r.io", "x")
            .unwrap_err()
            .to_string()
            .contains("auth.json"));
        std::fs::write(&a, r#"{"auths":{"r.io":{"auth":"!!!"}}}"#).unwrap();
        assert!(lookup(&[a], "r.io", "x")
            .unwrap_err()
            .to_string()
            .contains("base64"));
        assert_eq!(parse_creds("u:p:q").unwrap().password, "p:q");
        assert!(parse_creds("u").is_err());
        assert!(parse_creds(":p").is_err());
    }
}
