//! The image config flags of `import-tar` and `commit`.

use anyhow::{Context, Result};
use clap::Args;

use crate::new_image::ConfigChanges;

/// Config changes for import-tar and commit.
#[derive(Args, Default)]
pub struct ChangeArgs {
    /// Cmd as a JSON array, e.g. '["sh","-c","echo hi"]'.
    #[arg(long)]
    cmd: Option<String>,
    /// Entrypoint as a JSON array.
    #[arg(long)]
    entrypoint: Option<String>,
    /// KEY=VALUE (repeatable).
    #[arg(long)]
    env: Vec<String>,
    #[arg(long)]
    workdir: Option<String>,
    #[arg(long)]
    user: Option<String>,
    /// KEY=VALUE (repeatable).
    #[arg(long)]
    label: Vec<String>,
    /// PORT/PROTO (repeatable).
    #[arg(long)]
    expose: Vec<String>,
    #[arg(long)]
    volume: Vec<String>,
    #[arg(long)]
    stop_signal: Option<String>,
}

impl ChangeArgs {
    pub(super) fn parse(self) -> Result<ConfigChanges> {
        let list = |s: Option<String>, what: &str| -> Result<Option<Vec<String>>> {
            s.map(|s| {
                serde_json::from_str::<Vec<String>>(&s).with_context(|| {
                    format!(
                        "--{what} {s:?}: give a JSON array such as '[\"sh\",\"-c\",\"echo hi\"]'"
                    )
                })
            })
            .transpose()
        };
        let labels = self
            .label
            .iter()
            .map(|l| {
                l.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .with_context(|| format!("--label {l:?}: use KEY=VALUE"))
            })
            .collect::<Result<_>>()?;
        Ok(ConfigChanges {
            cmd: list(self.cmd, "cmd")?,
            entrypoint: list(self.entrypoint, "entrypoint")?,
            env: self.env,
            working_dir: self.workdir,
            user: self.user,
            labels,
            exposed_ports: self.expose,
            volumes: self.volume,
            stop_signal: self.stop_signal,
        })
    }
}
