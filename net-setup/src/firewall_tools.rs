//! Finding nft and iptables and asking them whether they work.

use std::time::Duration;

use serde::Serialize;

/// What `detect` found out about one firewall tool.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ToolStatus {
    pub available: bool,
    pub path: String,
    pub version: String,
    /// `None` when not probed.
    pub usable: Option<bool>,
    pub error: String,
}

/// Find `name`; with `probe`, also read its version with `version_args` and
/// run `probe_args` to see whether it can talk to the kernel. Without probe
/// this costs no process start, so a plain Info stays cheap.
pub async fn detect(name: &str, version_args: &[&str], probe_args: Option<&[&str]>) -> ToolStatus {
    let Some(path) = common::paths::which(name) else {
        return ToolStatus {
            error: format!("{name} not found in PATH"),
            ..ToolStatus::default()
        };
    };
    let mut t = ToolStatus {
        available: true,
        path: path.display().to_string(),
        ..ToolStatus::default()
    };
    if let Some(args) = probe_args {
        match run(&path, version_args).await {
            Ok(out) => t.version = out.lines().next().unwrap_or("").trim().to_string(),
            Err(e) => t.error = e,
        }
        match run(&path, args).await {
            Ok(_) => t.usable = Some(true),
            Err(e) => {
                t.usable = Some(false);
                t.error = e;
            }
        }
    }
    t
}

/// Run a tool with a timeout; its stdout on success, its stderr (verbatim,
/// one line) on failure.
async fn run(path: &std::path::Path, args: &[&str]) -> Result<String, String> {
    let fut = tokio::process::Command::new(path)
        .args(args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(10), fut)
        .await
        .map_err(|_| format!("{} {} timed out", path.display(), args.join(" ")))?
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        let err = String::from_utf8_lossy(&out.stderr)
            .trim()
            .replace('\n', " ");
        Err(format!(
            "{} {}: {}",
            path.display(),
            args.join(" "),
            if err.is_empty() {
                out.status.to_string()
            } else {
                err
            }
        ))
    }
}
