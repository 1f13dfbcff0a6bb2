//! Parsing container flags into the model. Every error names the flag, the
//! bad value and the expected form. Mounts (`-v`, `--mount`, `--tmpfs`),
//! ports (`-p`) and process settings (`--ulimit`, `--restart`,
//! `--stop-signal`) have modules of their own; environment and labels are
//! here.

mod mounts;
mod ports;
mod process;

use std::path::Path;

pub use mounts::{mount, tmpfs, volume};
pub use ports::{publish, with_default_host_ips};
pub use process::{restart, signal, signal_name, ulimit, UlimitError};

#[derive(Debug, thiserror::Error)]
#[error("invalid {flag} {value:?}: {hint}")]
pub struct FlagError {
    pub flag: &'static str,
    pub value: String,
    pub hint: String,
}

fn bad(flag: &'static str, value: &str, hint: impl Into<String>) -> FlagError {
    FlagError {
        flag,
        value: value.to_string(),
        hint: hint.into(),
    }
}

/// `KEY=VALUE` lines from an env file; `KEY` alone takes the value from
/// podman's environment; blank lines and `#` comments are skipped.
pub fn env_file(path: &Path) -> Result<Vec<String>, FlagError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad("--env-file", &path.display().to_string(), e.to_string()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .flat_map(env_var)
        .collect())
}

/// `-e KEY=VALUE` as is; `-e KEY` takes podman's own value (skipped if
/// unset); `-e PREFIX*` every variable of podman's own whose name starts
/// with PREFIX (case-sensitive; a `*` elsewhere is part of the name).
pub fn env_var(spec: &str) -> Vec<String> {
    if spec.contains('=') {
        return vec![spec.to_string()];
    }
    match spec.strip_suffix('*') {
        Some(prefix) => std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
        None => std::env::var(spec)
            .ok()
            .map(|v| format!("{spec}={v}"))
            .into_iter()
            .collect(),
    }
}

/// `KEY=VALUE` (or `KEY` for an empty value) into a pair.
pub fn label(spec: &str) -> (String, String) {
    match spec.split_once('=') {
        Some((k, v)) => (k.to_string(), v.to_string()),
        None => (spec.to_string(), String::new()),
    }
}
