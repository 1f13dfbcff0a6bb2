//! containers-policy.json(5): which images may be pulled.
//!
//! `$HOME/.config/containers/policy.json` for non-root users, else
//! `/etc/containers/policy.json`. When no file exists we accept anything,
//! as the policy shipped by containers-common does, and say so in `info`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::ConfigError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
pub enum Requirement {
    InsecureAcceptAnything,
    Reject,
    #[serde(rename_all = "camelCase")]
    SignedBy {
        key_type: String,
        #[serde(default)]
        key_path: Option<String>,
        #[serde(default)]
        key_paths: Option<Vec<String>>,
        #[serde(default)]
        key_data: Option<String>,
        #[serde(default)]
        signed_identity: Option<serde_json::Value>,
    },
    #[serde(rename_all = "camelCase")]
    SigstoreSigned {
        #[serde(default)]
        key_path: Option<String>,
        #[serde(default)]
        key_data: Option<String>,
        #[serde(default)]
        fulcio: Option<serde_json::Value>,
        #[serde(default)]
        rekor_public_key_path: Option<String>,
        #[serde(default)]
        signed_identity: Option<serde_json::Value>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    pub default: Vec<Requirement>,
    #[serde(default)]
    pub transports: BTreeMap<String, BTreeMap<String, Vec<Requirement>>>,
    /// The file it came from; `None` for the built-in default.
    #[serde(skip)]
    pub file: Option<PathBuf>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            default: vec![Requirement::InsecureAcceptAnything],
            transports: BTreeMap::new(),
            file: None,
        }
    }
}

impl Policy {
    pub fn default_path() -> PathBuf {
        if !crate::paths::is_root() {
            if let Some(h) = crate::paths::config_home() {
                let p = h.join("containers/policy.json");
                if p.exists() {
                    return p;
                }
            }
        }
        PathBuf::from("/etc/containers/policy.json")
    }

    /// Load the policy from `path`, or the built-in default if it does not exist.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Policy::default()),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        let mut p: Policy = serde_json::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: format!("line {}, column {}: {}", e.line(), e.column(), e),
        })?;
        if p.default.is_empty() {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                message: "\"default\" is empty; it needs at least one requirement such as {\"type\": \"insecureAcceptAnything\"}".into(),
            });
        }
        p.file = Some(path.to_path_buf());
        Ok(p)
    }

    /// Requirements for an image in `transport` (e.g. "docker") named
    /// `scope` (e.g. "registry.example.com/ns/img"): the most specific scope
    /// that matches, else the transport's "" entry, else the default.
    pub fn requirements_for(&self, transport: &str, scope: &str) -> &[Requirement] {
        if let Some(scopes) = self.transports.get(transport) {
            let mut best: Option<(&String, &Vec<Requirement>)> = None;
            for (k, v) in scopes {
                let matches = k.is_empty()
                    || scope == k
                    || scope.starts_with(&format!("{k}/"))
                    || scope.starts_with(&format!("{k}:"));
                if matches && best.is_none_or(|(bk, _)| k.len() > bk.len()) {
                    best = Some((k, v));
                }
            }
            if let Some((_, v)) = best {
                return v;
            }
        }
        &self.default
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoped_requirements_win_over_the_default() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("policy.json");
        std::fs::write(&p, r#"{"default":[{"type":"insecureAcceptAnything"}],"transports":{"docker":{"bad.example.com":[{"type":"reject"}]}}}"#).unwrap();
        let pol = Policy::load(&p).unwrap();
        assert_eq!(
            pol.requirements_for("docker", "bad.example.com/x/y"),
            &[Requirement::Reject]
        );
        assert_eq!(
            pol.requirements_for("docker", "good.example.com/x"),
            &[Requirement::InsecureAcceptAnything]
        );
    }

    #[test]
    fn malformed_policies_name_the_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("policy.json");
        std::fs::write(&p, r#"{"default":[{"type":"acceptEverything"}]}"#).unwrap();
        let e = Policy::load(&p).unwrap_err().to_string();
        assert!(e.contains("policy.json") && !e.contains('\n'), "{e}");
        assert_eq!(
            Policy::load(&d.path().join("none.json")).unwrap(),
            Policy::default()
        );
    }
}
