//! The platform a build targets (`--platform`, `--os`, `--arch`,
//! `--variant`): one OS/ARCH[/VARIANT]. Another architecture than the
//! host's is recorded in the images and chooses the base images pulled;
//! its RUN steps need the host to run that architecture's binaries
//! (binfmt), as with Podman.

use anyhow::bail;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Platform {
    pub os: String,
    pub arch: String,
    pub variant: String,
}

impl Platform {
    pub fn host() -> Platform {
        Platform {
            os: "linux".into(),
            arch: crate::host_info::go_arch().into(),
            variant: String::new(),
        }
    }

    /// `OS/ARCH[/VARIANT]`, Go's names (x86_64 and aarch64 taken too).
    pub fn parse(s: &str) -> anyhow::Result<Platform> {
        if s.contains(',') {
            bail!("--platform {s}: building several platforms at once (a manifest list) is not supported (no manifest lists here yet): build each platform on its own with --platform OS/ARCH");
        }
        let parts: Vec<&str> = s.trim_end_matches('/').split('/').collect();
        let (os, arch, variant) = match parts.as_slice() {
            [os, arch] => (*os, *arch, ""),
            [os, arch, variant] => (*os, *arch, *variant),
            _ => bail!("invalid platform {s:?}: use OS/ARCH[/VARIANT], e.g. linux/arm64"),
        };
        Platform::new(os, arch, variant)
    }

    pub fn new(os: &str, arch: &str, variant: &str) -> anyhow::Result<Platform> {
        if os != "linux" {
            bail!("platform {os}/{arch}: only linux images can be built");
        }
        let arch = match arch {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "" => bail!("platform {os}/: the architecture is missing"),
            a => a,
        };
        Ok(Platform {
            os: os.into(),
            arch: arch.into(),
            variant: variant.into(),
        })
    }

    pub fn is_host(&self) -> bool {
        *self == Platform::host()
    }

    /// Whether an image's config (`architecture`, `os`, `variant`) is of
    /// this platform; a field missing on either side matches any.
    pub fn matches(&self, config: &serde_json::Value) -> bool {
        let same = |k: &str, want: &str| {
            let have = config[k].as_str().unwrap_or("");
            have.is_empty() || want.is_empty() || have == want
        };
        same("os", &self.os) && same("architecture", &self.arch) && same("variant", &self.variant)
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.arch)?;
        if !self.variant.is_empty() {
            write!(f, "/{}", self.variant)?;
        }
        Ok(())
    }
}

/// ARGs Buildah defines for every build (they take effect when declared):
/// TARGET* from the platform built, BUILD* from the host.
pub fn predefined(name: &str, target: &Platform) -> Option<String> {
    let host = Platform::host();
    match name {
        "TARGETPLATFORM" => Some(target.to_string()),
        "BUILDPLATFORM" => Some(host.to_string()),
        "TARGETOS" => Some(target.os.clone()),
        "BUILDOS" => Some(host.os),
        "TARGETARCH" => Some(target.arch.clone()),
        "BUILDARCH" => Some(host.arch),
        "TARGETVARIANT" => Some(target.variant.clone()),
        "BUILDVARIANT" => Some(String::new()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        let p = Platform::parse("linux/aarch64/v8").unwrap();
        assert_eq!(p.to_string(), "linux/arm64/v8");
        assert_eq!(predefined("TARGETARCH", &p).as_deref(), Some("arm64"));
        assert!(Platform::parse(&Platform::host().to_string())
            .unwrap()
            .is_host());
        for bad in [
            "linux",
            "windows/amd64",
            "linux/amd64,linux/arm64",
            "a/b/c/d",
        ] {
            assert!(Platform::parse(bad).is_err(), "{bad}");
        }
        assert!(p.matches(
            &serde_json::json!({"os": "linux", "architecture": "arm64", "variant": "v8"})
        ));
        assert!(!p.matches(&serde_json::json!({"os": "linux", "architecture": "amd64"})));
    }
}
