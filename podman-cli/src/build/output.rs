//! `podman build --output`: the final stage's root file system written
//! out besides the image, as Buildah does: `type=local,dest=DIR` (a
//! directory tree), `type=tar,dest=FILE` (a tar; `dest=-` for stdout), a
//! bare `DIR` for local and `-` for a tar on stdout.

use std::path::PathBuf;

use proto::storage::v1::{CopyEnd, CopyRequest, CopyRoot};

use super::executor::Builder;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildOutput {
    Local(PathBuf),
    /// None: stdout.
    Tar(Option<PathBuf>),
}

/// Buildah's `--output` forms; errors name the value and the fix.
pub fn parse(v: &str) -> anyhow::Result<BuildOutput> {
    if v == "-" {
        return Ok(BuildOutput::Tar(None));
    }
    if !v.contains('=') && !v.contains(',') {
        if v.is_empty() {
            anyhow::bail!("invalid --output \"\": give a directory, - or type=local|tar,dest=PATH");
        }
        return Ok(BuildOutput::Local(PathBuf::from(v)));
    }
    let (mut kind, mut dest) = (None, None);
    for part in v.split(',') {
        match part.split_once('=') {
            Some(("type", t)) => kind = Some(t),
            Some(("dest", d)) => dest = Some(d),
            _ => anyhow::bail!(
                "invalid --output {v:?}: {part:?} is not an option: only type= and dest= are supported"
            ),
        }
    }
    let dest = match dest {
        Some(d) if !d.is_empty() => d,
        _ => anyhow::bail!("invalid --output {v:?}: dest= is required"),
    };
    match kind {
        Some("local") if dest == "-" => {
            anyhow::bail!("invalid --output {v:?}: a local output needs a directory, not stdout: use type=tar,dest=-")
        }
        Some("local") => Ok(BuildOutput::Local(PathBuf::from(dest))),
        Some("tar") if dest == "-" => Ok(BuildOutput::Tar(None)),
        Some("tar") => Ok(BuildOutput::Tar(Some(PathBuf::from(dest)))),
        Some(t) => {
            anyhow::bail!("invalid --output {v:?}: type {t:?} is not supported: use local or tar")
        }
        None => anyhow::bail!("invalid --output {v:?}: type= is required (local or tar)"),
    }
}

impl Builder<'_> {
    /// Write the image `id`'s root file system where `--output` says.
    pub(super) async fn write_output(&mut self, id: &str, out: &BuildOutput) -> anyhow::Result<()> {
        let (ctr, mountpoint) = self.mount_image(Some(id)).await?;
        let source = CopyEnd {
            root: Some(CopyRoot {
                root: mountpoint,
                mounts: Vec::new(),
            }),
            path: "/.".into(),
            data_fd: false,
        };
        let r = match out {
            BuildOutput::Local(dir) => self.output_local(source, dir).await,
            BuildOutput::Tar(file) => self.output_tar(source, file.as_deref()).await,
        };
        self.remove_container(&ctr).await;
        r
    }

    async fn output_local(&mut self, source: CopyEnd, dir: &std::path::Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("--output {}: {e}", dir.display()))?;
        let dir = dir.canonicalize()?;
        let req = CopyRequest {
            source: Some(source),
            destination: Some(CopyEnd {
                root: Some(CopyRoot {
                    root: dir.display().to_string(),
                    mounts: Vec::new(),
                }),
                path: "/".into(),
                data_fd: false,
            }),
            overwrite: true,
            ignore_devices: true,
            ..Default::default()
        };
        self.storage
            .call("Copy", |mut c| async move { c.copy(req).await })
            .await?;
        Ok(())
    }

    async fn output_tar(
        &mut self,
        source: CopyEnd,
        file: Option<&std::path::Path>,
    ) -> anyhow::Result<()> {
        use std::os::fd::AsFd;
        let req = CopyRequest {
            source: Some(source),
            destination: Some(CopyEnd {
                root: None,
                path: String::new(),
                data_fd: true,
            }),
            ..Default::default()
        };
        let target = match file {
            Some(p) => Some(
                std::fs::File::create(p)
                    .map_err(|e| anyhow::anyhow!("--output {}: {e}", p.display()))?,
            ),
            None => None,
        };
        let stdout = self.opts.output_stdout.clone();
        let fd = match (&target, &stdout) {
            (Some(f), _) => f.as_fd(),
            (None, Some(o)) => o.as_fd(),
            (None, None) => {
                anyhow::bail!("--output -: podman's standard output was not set aside for the tar")
            }
        };
        let mut s = crate::helper_procs::storage_with_data(self.engine, fd).await?;
        let copied = s
            .call("Copy", |mut c| async move { c.copy(req).await })
            .await;
        s.finish().await?;
        copied?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buildah_forms() {
        assert_eq!(parse("-").unwrap(), BuildOutput::Tar(None));
        assert_eq!(parse("out").unwrap(), BuildOutput::Local("out".into()));
        assert_eq!(
            parse("type=local,dest=/x").unwrap(),
            BuildOutput::Local("/x".into())
        );
        assert_eq!(
            parse("type=tar,dest=/x.tar").unwrap(),
            BuildOutput::Tar(Some("/x.tar".into()))
        );
        assert_eq!(parse("type=tar,dest=-").unwrap(), BuildOutput::Tar(None));
        for bad in [
            "type=local",
            "type=image,dest=x",
            "dest=x",
            "type=local,dest=-",
            "type=tar,dest=x,foo=1",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
