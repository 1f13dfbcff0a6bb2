//! containers-registries.conf(5), version 2: search registries, short-name
//! aliases, per-registry `insecure`, `blocked`, `location` and mirrors.
//!
//! `/etc/containers/registries.conf` then `registries.conf.d/*.conf`
//! (drop-ins override the main file entry by entry), or only
//! `$CONTAINERS_REGISTRIES_CONF` when set.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::toml_files::{decode, drop_ins, read_toml};
use crate::ConfigError;

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "kebab-case")]
pub struct RegistriesConf {
    pub unqualified_search_registries: Vec<String>,
    pub short_name_mode: Option<String>,
    pub registry: Vec<Registry>,
    pub aliases: BTreeMap<String, String>,
    #[serde(skip)]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "kebab-case")]
pub struct Registry {
    pub prefix: String,
    pub location: String,
    pub insecure: bool,
    pub blocked: bool,
    pub mirror: Vec<Mirror>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, rename_all = "kebab-case")]
pub struct Mirror {
    pub location: String,
    pub insecure: bool,
    pub pull_from_mirror: Option<String>,
}

impl RegistriesConf {
    pub fn load() -> Result<Self, ConfigError> {
        match std::env::var_os("CONTAINERS_REGISTRIES_CONF").filter(|v| !v.is_empty()) {
            Some(p) => {
                let p = PathBuf::from(p);
                if !p.exists() {
                    return Err(ConfigError::Read {
                        path: p,
                        source: std::io::Error::from(std::io::ErrorKind::NotFound),
                    });
                }
                Self::load_files(&[p])
            }
            None => {
                let mut files = vec![PathBuf::from("/etc/containers/registries.conf")];
                files.extend(drop_ins(Path::new("/etc/containers/registries.conf.d"))?);
                Self::load_files(&files)
            }
        }
    }

    pub fn load_files(files: &[PathBuf]) -> Result<Self, ConfigError> {
        let mut conf = RegistriesConf::default();
        for f in files {
            let Some(table) = read_toml(f)? else { continue };
            if table.contains_key("registries") {
                return Err(ConfigError::Invalid {
                    path: f.clone(),
                    message: "uses the version 1 format ([registries.search]); convert it to version 2 (unqualified-search-registries, [[registry]])".into(),
                });
            }
            let has_search = table.contains_key("unqualified-search-registries");
            let one: RegistriesConf = decode(table, std::slice::from_ref(f))?;
            one.validate(f)?;
            if has_search {
                conf.unqualified_search_registries = one.unqualified_search_registries;
            }
            if one.short_name_mode.is_some() {
                conf.short_name_mode = one.short_name_mode;
            }
            for r in one.registry {
                conf.registry.retain(|o| o.prefix() != r.prefix());
                conf.registry.push(r);
            }
            conf.aliases.extend(one.aliases);
            conf.files.push(f.clone());
        }
        Ok(conf)
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        if let Some(m) = &self.short_name_mode {
            if !["enforcing", "permissive", "disabled"].contains(&m.as_str()) {
                return Err(invalid(format!(
                    "short-name-mode {m:?} is not enforcing, permissive or disabled"
                )));
            }
        }
        for r in &self.registry {
            if r.prefix.is_empty() && r.location.is_empty() {
                return Err(invalid(
                    "a [[registry]] has neither prefix nor location".into(),
                ));
            }
            if r.prefix().contains("://") || r.location.contains("://") {
                return Err(invalid(format!(
                    "registry {:?}: write host[:port][/path] without a scheme",
                    r.prefix()
                )));
            }
        }
        for (k, v) in &self.aliases {
            if v.contains("://") || !v.contains('/') {
                return Err(invalid(format!("alias {k:?} = {v:?} must be a fully qualified reference such as docker.io/library/{k}")));
            }
        }
        Ok(())
    }

    /// The most specific `[[registry]]` whose prefix matches `reference`
    /// (a fully qualified name without transport).
    pub fn find_registry(&self, reference: &str) -> Option<&Registry> {
        self.registry
            .iter()
            .filter(|r| prefix_matches(r.prefix(), reference))
            .max_by_key(|r| r.prefix().len())
    }

    /// Whether talking to `host` (host[:port]) may skip TLS verification.
    pub fn is_insecure(&self, host: &str) -> bool {
        self.find_registry(host).is_some_and(|r| r.insecure)
    }
}

impl Registry {
    /// The prefix this entry applies to (`location` when `prefix` is empty).
    pub fn prefix(&self) -> &str {
        if self.prefix.is_empty() {
            &self.location
        } else {
            &self.prefix
        }
    }
}

fn prefix_matches(prefix: &str, reference: &str) -> bool {
    if let Some(wild) = prefix.strip_prefix("*.") {
        let host = reference.split('/').next().unwrap_or("");
        return host.ends_with(&format!(".{wild}"));
    }
    reference == prefix
        || reference.strip_prefix(prefix).is_some_and(|rest| {
            rest.starts_with('/') || rest.starts_with(':') || rest.starts_with('@')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_ins_override_entries_by_prefix() {
        let d = tempfile::tempdir().unwrap();
        let main = d.path().join("registries.conf");
        std::fs::write(&main, "unqualified-search-registries = [\"docker.io\"]\n[[registry]]\nlocation = \"localhost:5000\"\ninsecure = false\n[aliases]\nbb = \"docker.io/library/busybox\"\n").unwrap();
        let drop = d.path().join("10.conf");
        std::fs::write(&drop, "[[registry]]\nlocation = \"localhost:5000\"\ninsecure = true\n[aliases]\nalp = \"docker.io/library/alpine\"\n").unwrap();
        let c = RegistriesConf::load_files(&[main, drop]).unwrap();
        assert_eq!(c.unqualified_search_registries, vec!["docker.io"]);
        assert_eq!(c.registry.len(), 1);
        assert!(c.is_insecure("localhost:5000"));
        assert!(!c.is_insecure("localhost:50001"));
        assert_eq!(c.aliases.len(), 2);
    }

    #[test]
    fn prefixes_match_on_path_boundaries_and_wildcards() {
        assert!(prefix_matches("example.com/foo", "example.com/foo/bar:1"));
        assert!(!prefix_matches("example.com/foo", "example.com/foobar"));
        assert!(prefix_matches("*.example.com", "a.example.com/x"));
        assert!(!prefix_matches("*.example.com", "example.com/x"));
    }

    #[test]
    fn version_one_files_and_bad_aliases_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let v1 = d.path().join("v1.conf");
        std::fs::write(&v1, "[registries.search]\nregistries = [\"docker.io\"]\n").unwrap();
        assert!(RegistriesConf::load_files(&[v1])
            .unwrap_err()
            .to_string()
            .contains("version 2"));
        let al = d.path().join("al.conf");
        std::fs::write(&al, "[aliases]\nbb = \"busybox\"\n").unwrap();
        assert!(RegistriesConf::load_files(&[al])
            .unwrap_err()
            .to_string()
            .contains("fully qualified"));
    }
}
