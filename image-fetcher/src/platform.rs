//! Platforms (os / architecture / variant, Go names) and choosing one
//! manifest from an image index, the way containers/image does: the OS and
//! architecture must match; variants are normalized (arm64 means v8, arm
//! means v7) and an unspecified variant accepts any.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub architecture: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub variant: String,
}

/// Go's name for this machine's architecture.
pub fn host_architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "powerpc64" => "ppc64",
        "loongarch64" => "loong64",
        "mips64" if cfg!(target_endian = "little") => "mips64le",
        other => other,
    }
}

impl Platform {
    /// This host: linux and its architecture (arm64 gets variant v8).
    pub fn host() -> Platform {
        let architecture = host_architecture().to_string();
        let variant = if architecture == "arm64" {
            "v8".to_string()
        } else {
            String::new()
        };
        Platform {
            os: std::env::consts::OS.to_string(),
            architecture,
            variant,
        }
    }

    /// Fill empty fields from the host: an empty request means this host;
    /// a request naming another architecture keeps its own (maybe empty) variant.
    pub fn or_host(mut self) -> Platform {
        let host = Platform::host();
        if self.os.is_empty() {
            self.os = host.os;
        }
        if self.architecture.is_empty() {
            self.architecture = host.architecture;
            if self.variant.is_empty() {
                self.variant = host.variant;
            }
        }
        self
    }

    /// Parse `os/arch[/variant]`, or just `arch` (linux assumed).
    pub fn parse(s: &str) -> Result<Platform, String> {
        let parts: Vec<&str> = s.split('/').collect();
        let p = match parts.as_slice() {
            [arch] => Platform {
                os: "linux".into(),
                architecture: (*arch).into(),
                variant: String::new(),
            },
            [os, arch] => Platform {
                os: (*os).into(),
                architecture: (*arch).into(),
                variant: String::new(),
            },
            [os, arch, variant] => Platform {
                os: (*os).into(),
                architecture: (*arch).into(),
                variant: (*variant).into(),
            },
            _ => {
                return Err(format!(
                    "platform {s:?} must be os/arch[/variant], e.g. linux/arm64/v8"
                ))
            }
        };
        if p.os.is_empty() || p.architecture.is_empty() || parts.iter().any(|x| x.is_empty()) {
            return Err(format!(
                "platform {s:?} has an empty part; write os/arch[/variant], e.g. linux/arm64"
            ));
        }
        Ok(p)
    }

    /// Architecture and variant as they compare: `aarch64` is arm64, arm64's
    /// default variant is v8, arm's is v7, x86_64 is amd64.
    fn normalized(&self) -> (String, String, String) {
        let os = self.os.to_ascii_lowercase();
        let (arch, variant) = match (
            self.architecture.to_ascii_lowercase().as_str(),
            self.variant.to_ascii_lowercase(),
        ) {
            ("aarch64" | "arm64", v) => (
                "arm64",
                if v.is_empty() || v == "8" {
                    "v8".to_string()
                } else {
                    v
                },
            ),
            ("armhf" | "arm", v) if v.is_empty() || v == "7" => ("arm", "v7".to_string()),
            ("armel", _) => ("arm", "v6".to_string()),
            ("arm", v) => (
                "arm",
                if v.starts_with('v') {
                    v
                } else {
                    format!("v{v}")
                },
            ),
            ("x86_64" | "x86-64" | "amd64", v) => ("amd64", v),
            ("i386" | "386", v) => ("386", v),
            (other, v) => return (os, other.to_string(), v),
        };
        (os, arch.to_string(), variant)
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if !self.variant.is_empty() {
            write!(f, "/{}", self.variant)?;
        }
        Ok(())
    }
}

/// Index of the best entry for `want` among `candidates` (platforms of an
/// index's manifests, `None` for entries without one). Exact variant matches
/// win over entries accepted only because the wanted variant is open.
pub fn choose(want: &Platform, candidates: &[Option<Platform>]) -> Option<usize> {
    let (wos, warch, wvar) = want.normalized();
    // A variant the caller did not name (amd64 has none by default) accepts any.
    let want_open = want.variant.is_empty() && warch != "arm64" && warch != "arm";
    let mut loose = None;
    for (i, c) in candidates.iter().enumerate() {
        let Some(c) = c else { continue };
        let (os, arch, var) = c.normalized();
        if os != wos || arch != warch {
            continue;
        }
        if var == wvar {
            return Some(i);
        }
        if want_open && loose.is_none() {
            loose = Some(i);
        }
    }
    loose
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(os: &str, arch: &str, variant: &str) -> Option<Platform> {
        Some(Platform {
            os: os.into(),
            architecture: arch.into(),
            variant: variant.into(),
        })
    }

    #[test]
    fn parsing_and_host_defaults() {
        assert_eq!(
            Platform::parse("linux/arm64/v8").unwrap(),
            p("linux", "arm64", "v8").unwrap()
        );
        assert_eq!(
            Platform::parse("arm64").unwrap(),
            p("linux", "arm64", "").unwrap()
        );
        assert!(Platform::parse("linux//v8").is_err());
        assert!(Platform::parse("a/b/c/d").is_err());
        let h = Platform::default().or_host();
        assert_eq!(h.os, "linux");
        assert_eq!(h.architecture, host_architecture());
        let other = Platform {
            architecture: "s390x".into(),
            ..Default::default()
        }
        .or_host();
        assert_eq!((other.os.as_str(), other.variant.as_str()), ("linux", ""));
        assert_eq!(p("linux", "arm", "v7").unwrap().to_string(), "linux/arm/v7");
    }

    #[test]
    fn choosing_from_an_index() {
        let list = [
            p("linux", "amd64", ""),
            p("linux", "arm64", "v8"),
            p("linux", "arm", "v7"),
            p("linux", "arm", "v6"),
            None,
            p("windows", "amd64", ""),
        ];
        let want = |os: &str, arch: &str, v: &str| Platform {
            os: os.into(),
            architecture: arch.into(),
            variant: v.into(),
        };
        assert_eq!(choose(&want("linux", "amd64", ""), &list), Some(0));
        assert_eq!(
            choose(&want("linux", "arm64", ""), &list),
            Some(1),
            "arm64 means v8"
        );
        assert_eq!(choose(&want("linux", "aarch64", "v8"), &list), Some(1));
        assert_eq!(
            choose(&want("linux", "arm", ""), &list),
            Some(2),
            "arm means v7"
        );
        assert_eq!(choose(&want("linux", "arm", "v6"), &list), Some(3));
        assert_eq!(choose(&want("windows", "amd64", ""), &list), Some(5));
        assert_eq!(choose(&want("linux", "s390x", ""), &list), None);
        assert_eq!(choose(&want("linux", "arm64", "v9"), &list), None);
        // An arm64 entry without a variant is v8.
        assert_eq!(
            choose(&want("linux", "arm64", "v8"), &[p("linux", "arm64", "")]),
            Some(0)
        );
        // amd64 without a requested variant accepts a v3 build, but prefers an exact one.
        let amd = [p("linux", "amd64", "v3"), p("linux", "amd64", "")];
        assert_eq!(choose(&want("linux", "amd64", ""), &amd), Some(1));
        assert_eq!(choose(&want("linux", "amd64", ""), &amd[..1]), Some(0));
        assert_eq!(choose(&want("linux", "amd64", "v2"), &amd), None);
    }
}
