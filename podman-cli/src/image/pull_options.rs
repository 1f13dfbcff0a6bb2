//! What a pull (and a copy from a local archive) asks for: credentials,
//! TLS, platform, progress.

use std::path::PathBuf;

/// An image already stored: its ID and the manifest digests it has.
#[derive(Debug, Clone, Default)]
pub struct StoredImage {
    pub id: String,
    pub digests: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    pub quiet: bool,
    pub tls_verify: Option<bool>,
    pub username: String,
    pub password: String,
    pub authfile: Option<PathBuf>,
    pub os: String,
    pub arch: String,
    pub variant: String,
    /// `--pull=newer`: the local image. When the registry's manifest (or
    /// index) is one of its digests, as libimage compares them, nothing
    /// is pulled or printed and the local image is the result.
    pub unless_stored: Option<StoredImage>,
}

impl PullOptions {
    /// `--creds user[:password]`.
    pub fn set_creds(&mut self, creds: &str) -> anyhow::Result<()> {
        (self.username, self.password) = parse_creds(creds)?;
        Ok(())
    }

    /// `--platform os/arch[/variant]`.
    pub fn set_platform(&mut self, p: &str) -> anyhow::Result<()> {
        let parts: Vec<&str> = p.split('/').collect();
        match parts.as_slice() {
            [os, arch] => {
                self.os = os.to_string();
                self.arch = arch.to_string();
            }
            [os, arch, variant] => {
                self.os = os.to_string();
                self.arch = arch.to_string();
                self.variant = variant.to_string();
            }
            _ => anyhow::bail!(
                "invalid --platform {p:?}: expected OS/ARCH[/VARIANT], e.g. linux/arm64/v8"
            ),
        }
        Ok(())
    }
}

/// `--creds USERNAME[:PASSWORD]` into its two parts.
pub fn parse_creds(creds: &str) -> anyhow::Result<(String, String)> {
    let (u, p) = creds.split_once(':').unwrap_or((creds, ""));
    if u.is_empty() {
        anyhow::bail!("invalid --creds {creds:?}: expected USERNAME[:PASSWORD]");
    }
    Ok((u.to_string(), p.to_string()))
}
