//! `podman cp` / `podman container cp`: files between a container and the
//! host, between two containers, or a tar on stdin/stdout (`-`), with
//! Podman's path rules (see `copy_*` below, after Podman's cmd/podman/
//! containers/cp.go): a trailing `/.` copies a directory's contents, a
//! missing destination is created from its existing parent, a directory
//! never replaces a file.
//!
//! Podman decides what goes where; storage-helper moves the bytes (its
//! CopyStat and Copy calls), resolving every container path inside the
//! container's root so a symlink can never lead out of it. A running
//! container is reached through /proc/PID/root (its volumes, bind mounts
//! and tmpfs mounts included); any other is opened by storage-helper as a
//! view of its file system (OpenCopyView: read-only to copy from, writable
//! to copy into), its bind mounts listed beside it.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use clap::Args;
use proto::storage::v1::{
    CloseCopyViewRequest, CopyEnd, CopyMount, CopyRequest, CopyRoot, CopyStatRequest,
    CopyStatResponse, OpenCopyViewRequest,
};
use proto::transport::TransportError;

use crate::container::model::{ContainerConfig, Status};
use crate::container::store;
use crate::engine_config::EngineConfig;
use crate::helper_procs::{self, Session, StorageClient};

mod paths;
use paths::{go_base, go_dir, host_stat, plan, preserve_base};

#[derive(Debug, Clone, Args)]
pub struct CpArgs {
    #[arg(value_name = "[CONTAINER:]SRC_PATH")]
    pub source: String,
    #[arg(value_name = "[CONTAINER:]DEST_PATH")]
    pub destination: String,
    /// Chown copied files to the primary uid/gid of the destination container.
    #[arg(short = 'a', long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub archive: bool,
    /// Allow to overwrite directories with non-directories and vice versa
    #[arg(long)]
    pub overwrite: bool,
    /// Deprecated: archives are always extracted
    #[arg(long, hide = true)]
    pub extract: bool,
    /// Deprecated: containers are never paused for a copy
    #[arg(long, hide = true, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub pause: bool,
}

/// `CONTAINER:PATH` or a host path (anything starting with `.` or `/`).
fn parse_user_input(input: &str) -> (Option<&str>, &str) {
    if input.is_empty() || input.starts_with('.') || input.starts_with('/') {
        return (None, input);
    }
    match input.split_once(':') {
        Some((c, p)) => (Some(c), p),
        None => (None, input),
    }
}

pub async fn run(engine: &EngineConfig, a: &CpArgs) -> anyhow::Result<()> {
    copy(engine, a, None).await
}

/// `cp CTR:PATH -` or `cp - CTR:PATH` with the tar on `stream` instead of
/// stdout or stdin (the API's archive endpoints).
pub async fn copy_with_stream(
    engine: &EngineConfig,
    a: &CpArgs,
    stream: std::os::fd::OwnedFd,
) -> anyhow::Result<()> {
    copy(engine, a, Some(stream)).await
}

async fn copy(
    engine: &EngineConfig,
    a: &CpArgs,
    stream: Option<std::os::fd::OwnedFd>,
) -> anyhow::Result<()> {
    let (sc, sp) = parse_user_input(&a.source);
    let (dc, dp) = parse_user_input(&a.destination);
    if sp.is_empty() || dp.is_empty() {
        anyhow::bail!(
            "invalid arguments {:?}, {:?}: you must specify paths",
            a.source,
            a.destination
        );
    }
    let mut cp = Cp {
        engine,
        storage: helper_procs::storage(engine).await?,
        mounted: Vec::new(),
        archive: a.archive,
        overwrite: a.overwrite,
        stream,
    };
    let result = match (sc, dc) {
        (Some(s), Some(d)) => cp.container_to_container(s, sp, d, dp).await,
        (Some(s), None) => cp.container_to_host(s, sp, dp).await,
        (None, Some(d)) => cp.host_to_container(d, dp, sp).await,
        (None, None) => Err(anyhow::anyhow!(
            "invalid arguments {:?}, {:?}: one of them must name a container (CONTAINER:PATH)",
            a.source,
            a.destination
        )),
    };
    let closed = cp.close_views().await;
    cp.storage.close().await?;
    result?;
    closed
}

/// What `path` in the container is (the API's archive HEAD): (absolute
/// path with links resolved, stat), or the storage-helper's reason.
pub async fn stat_in_container(
    engine: &EngineConfig,
    container: &str,
    path: &str,
) -> anyhow::Result<Result<proto::storage::v1::CopyStatResponse, String>> {
    let mut cp = Cp {
        engine,
        storage: helper_procs::storage(engine).await?,
        mounted: Vec::new(),
        archive: true,
        overwrite: false,
        stream: None,
    };
    let r = async {
        let c = cp.open(container, false).await?;
        anyhow::Ok(cp.stat(&c, path).await)
    }
    .await;
    let closed = cp.close_views().await;
    cp.storage.close().await?;
    let r = r?;
    closed?;
    Ok(r)
}

/// A container's file system, opened for the copy.
struct Ctr {
    name: String,
    cfg: ContainerConfig,
    root: CopyRoot,
}

struct Cp<'a> {
    engine: &'a EngineConfig,
    storage: Session<StorageClient>,
    /// Copy views this copy opened (closed at the end).
    mounted: Vec<u64>,
    archive: bool,
    overwrite: bool,
    /// Where `-` reads or writes when it is not stdio.
    stream: Option<std::os::fd::OwnedFd>,
}

impl Cp<'_> {
    /// Open container `name` to copy from it, or into it with `writable`.
    async fn open(&mut self, name: &str, writable: bool) -> anyhow::Result<Ctr> {
        let (cfg, st) = self.lookup(name)?;
        self.open_resolved(name, cfg, st, writable).await
    }

    fn lookup(
        &self,
        name: &str,
    ) -> anyhow::Result<(ContainerConfig, crate::container::model::ContainerState)> {
        let db = crate::state::open_state(self.engine)?;
        match store::resolve(&db, name) {
            Ok(r) => Ok(r),
            Err(store::ContainerStoreError::NotFound(_)) => {
                anyhow::bail!("container {name:?} does not exist")
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn open_resolved(
        &mut self,
        name: &str,
        cfg: ContainerConfig,
        st: crate::container::model::ContainerState,
        writable: bool,
    ) -> anyhow::Result<Ctr> {
        let proc_root = PathBuf::from(format!("/proc/{}/root", st.pid));
        let running = matches!(st.status, Status::Running | Status::Paused)
            && st.pid > 0
            && proc_root.exists();
        let root = if running {
            CopyRoot {
                root: proc_root.display().to_string(),
                mounts: Vec::new(),
            }
        } else {
            let req = OpenCopyViewRequest {
                id: cfg.id.clone(),
                writable,
            };
            let v = self
                .storage
                .call("OpenCopyView", |mut c| async move {
                    c.open_copy_view(req).await
                })
                .await?;
            self.mounted.push(v.handle);
            CopyRoot {
                root: v.root,
                // Named volumes by their host directory (volumes mounted
                // from a device are only there while in use: not listed).
                mounts: cfg
                    .mounts
                    .iter()
                    .filter_map(|m| {
                        let source = match m.kind.as_str() {
                            "bind" | "volume" if m.source.starts_with('/') => m.source.clone(),
                            "volume" => {
                                crate::volume::mountpoint(&self.engine.volume_path, &m.source)
                                    .display()
                                    .to_string()
                            }
                            _ => return None,
                        };
                        Some(CopyMount {
                            destination: m.destination.clone(),
                            source,
                        })
                    })
                    .collect(),
            }
        };
        Ok(Ctr {
            name: name.to_string(),
            cfg,
            root,
        })
    }

    async fn close_views(&mut self) -> anyhow::Result<()> {
        let mut first = None;
        for handle in std::mem::take(&mut self.mounted) {
            let req = CloseCopyViewRequest { handle };
            if let Err(e) = self
                .storage
                .call("CloseCopyView", |mut c| async move {
                    c.close_copy_view(req).await
                })
                .await
            {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), |e| Err(e.into()))
    }

    /// CopyStat of `path` in the container (relative paths are taken from
    /// its working directory); the link target keeps a trailing `/.` or
    /// `/` of the path as given (Podman's PreserveBasePath).
    async fn stat(&mut self, c: &Ctr, path: &str) -> Result<CopyStatResponse, String> {
        match self.stat_any(c, path).await {
            Ok(st) if st.dangling => Err("no such file or directory".into()),
            r => r,
        }
    }

    /// As [`Cp::stat`], also answering for a symlink to nothing.
    async fn stat_any(&mut self, c: &Ctr, path: &str) -> Result<CopyStatResponse, String> {
        let abs = self.absolute(c, path);
        let req = CopyStatRequest {
            root: Some(c.root.clone()),
            path: abs,
        };
        match self
            .storage
            .call("CopyStat", |mut cl| async move { cl.copy_stat(req).await })
            .await
        {
            Ok(mut st) => {
                st.link_target = preserve_base(path, &st.link_target);
                Ok(st)
            }
            Err(TransportError::Call { message, .. }) => Err(message),
            Err(e) => Err(e.to_string()),
        }
    }

    fn absolute(&self, c: &Ctr, path: &str) -> String {
        if path.starts_with('/') {
            path.to_string()
        } else {
            let wd = if c.cfg.working_dir.is_empty() {
                "/"
            } else {
                &c.cfg.working_dir
            };
            format!("{}/{path}", wd.trim_end_matches('/'))
        }
    }

    /// The owner of files copied into `c`: its user's uid and gid with
    /// `--archive`, else what the archive says.
    fn owner(&self, c: &Ctr) -> anyhow::Result<Option<(u32, u32)>> {
        if !self.archive {
            return Ok(None);
        }
        let u = crate::spec::user::resolve(Path::new(&c.root.root), &c.cfg.user, &[])?;
        Ok(Some((u.uid, u.gid)))
    }

    /// The Copy call; the helper's own message is the error (it names the
    /// path and the fix), as Podman prints it.
    async fn copy(&mut self, req: CopyRequest, data: Option<Data>) -> anyhow::Result<()> {
        let plain = |e: TransportError| match e {
            TransportError::Call { message, .. } => anyhow::anyhow!("{message}"),
            e => e.into(),
        };
        match data {
            None => {
                self.storage
                    .call("Copy", |mut c| async move { c.copy(req).await })
                    .await
                    .map_err(plain)?;
                crate::kill_point::reached("cp-after-copy");
            }
            Some(d) => {
                let fd = match (self.stream.take(), d) {
                    (Some(fd), _) => fd,
                    (None, Data::Stdin) => std::io::stdin().as_fd().try_clone_to_owned()?,
                    (None, Data::Stdout) => std::io::stdout().as_fd().try_clone_to_owned()?,
                };
                let mut s = helper_procs::storage_with_data(self.engine, fd.as_fd()).await?;
                drop(fd);
                let r = s
                    .call("Copy", |mut c| async move { c.copy(req).await })
                    .await;
                s.finish().await?;
                r.map_err(plain)?;
            }
        }
        Ok(())
    }

    /// Destination in a container: the path itself when it exists, else
    /// its parent directory with the last component as the new name.
    /// Returns (base name, info, resolved to the parent).
    async fn resolve_destination(
        &mut self,
        c: &Ctr,
        path: &str,
        stdin: bool,
    ) -> anyhow::Result<(String, CopyStatResponse, bool)> {
        let (err, dangling) = match self.stat_any(c, path).await {
            Ok(info) if !info.dangling => return Ok((go_base(&info.link_target), info, false)),
            Ok(info) => (
                "no such file or directory".to_string(),
                Some(info.link_target),
            ),
            Err(e) => (e, None),
        };
        if path.ends_with('/') {
            anyhow::bail!("{path:?} could not be found on container {}: {err}", c.name);
        }
        if stdin {
            anyhow::bail!("destination must be a directory when copying from stdin");
        }
        // A symlink to nothing: the copy creates what it points to.
        let (base, parent) = match &dangling {
            Some(t) => (go_base(t), go_dir(t)),
            None => (go_base(path), go_dir(&self.absolute(c, path))),
        };
        match self.stat(c, &parent).await {
            Ok(info) => Ok((base, info, true)),
            Err(e) => anyhow::bail!("{path:?} could not be found on container {}: {e}", c.name),
        }
    }

    async fn container_to_host(
        &mut self,
        name: &str,
        cpath: &str,
        hpath: &str,
    ) -> anyhow::Result<()> {
        let c = self.open(name, false).await?;
        let cinfo = self.stat(&c, cpath).await.map_err(|e| {
            anyhow::anyhow!("{cpath:?} could not be found on container {name}: {e}")
        })?;
        if hpath == "-" {
            let req = CopyRequest {
                source: Some(path_end(&c.root, &cinfo.link_target)),
                destination: Some(data_end()),
                ..Default::default()
            };
            return self.copy(req, Some(Data::Stdout)).await;
        }
        // What the path leads to, magic links included (/dev/stdout on a
        // pipe): never replaced by the copy, as Podman refuses it.
        if std::fs::metadata(hpath).is_ok_and(|m| !m.is_dir() && !m.is_file()) {
            anyhow::bail!("invalid destination: {hpath:?} must be a directory or a regular file");
        }
        let (hinfo, host_base, to_parent) = match host_stat(hpath) {
            Ok(h) => {
                let b = go_base(&h.link_target);
                (h, b, false)
            }
            Err(e) => {
                let missing = || anyhow::anyhow!("{hpath:?} could not be found on the host: {e}");
                if hpath.ends_with('/') {
                    return Err(missing());
                }
                let parent = go_dir(&std::path::absolute(hpath)?.display().to_string());
                let h = host_stat(&parent).map_err(|_| missing())?;
                (h, go_base(hpath), true)
            }
        };
        if !hinfo.is_dir && !hinfo.is_regular {
            anyhow::bail!("invalid destination: {hpath:?} must be a directory or a regular file");
        }
        let (ctarget, rename) = plan(
            &cinfo.link_target,
            cinfo.is_dir,
            hinfo.is_dir,
            to_parent,
            host_base,
        )?;
        let dir = if hinfo.is_dir {
            hinfo.link_target.clone()
        } else {
            go_dir(&hinfo.link_target)
        };
        let req = CopyRequest {
            source: Some(path_end(&c.root, &ctarget)),
            // Rooted at the destination directory, as Podman's copier
            // puts files (its errors then name "/NAME").
            destination: Some(path_end(
                &CopyRoot {
                    root: dir,
                    mounts: Vec::new(),
                },
                "/",
            )),
            rename,
            uid: Some(nix::unistd::geteuid().as_raw()),
            gid: Some(nix::unistd::getegid().as_raw()),
            overwrite: self.overwrite,
            ignore_devices: true,
        };
        self.copy(req, None).await
    }

    async fn host_to_container(
        &mut self,
        name: &str,
        cpath: &str,
        hpath: &str,
    ) -> anyhow::Result<()> {
        let c = self.open(name, true).await?;
        let stdin = hpath == "-";
        let hinfo =
            if stdin {
                None
            } else {
                Some(host_stat(hpath).map_err(|e| {
                    anyhow::anyhow!("{hpath:?} could not be found on the host: {e}")
                })?)
            };
        let (cbase, cinfo, to_parent) = self.resolve_destination(&c, cpath, stdin).await?;
        let target = if cinfo.is_dir {
            cinfo.link_target.clone()
        } else {
            go_dir(&cinfo.link_target)
        };
        let owner = self.owner(&c)?;
        let (source, rename, data) = match hinfo {
            None => {
                if !cinfo.is_dir {
                    anyhow::bail!("destination must be a directory when copying from stdin");
                }
                (data_end(), String::new(), Some(Data::Stdin))
            }
            Some(h) => {
                let (htarget, rename) =
                    plan(&h.link_target, h.is_dir, cinfo.is_dir, to_parent, cbase)?;
                (path_end(&host_root(), &htarget), rename, None)
            }
        };
        let req = CopyRequest {
            source: Some(source),
            destination: Some(path_end(&c.root, &target)),
            rename,
            uid: owner.map(|o| o.0),
            gid: owner.map(|o| o.1),
            overwrite: self.overwrite,
            ignore_devices: false,
        };
        self.copy(req, data).await
    }

    async fn container_to_container(
        &mut self,
        sname: &str,
        spath: &str,
        dname: &str,
        dpath: &str,
    ) -> anyhow::Result<()> {
        let (scfg, sst) = self.lookup(sname)?;
        let (dcfg, dst) = self.lookup(dname)?;
        // One view of a container copied into itself (writable); two
        // containers' locks always taken in the order of their IDs, so two
        // copies between the same two cannot wait on each other.
        let (s, d) = if scfg.id == dcfg.id {
            let d = self.open_resolved(dname, dcfg, dst, true).await?;
            let s = Ctr {
                name: sname.to_string(),
                cfg: d.cfg.clone(),
                root: d.root.clone(),
            };
            (s, d)
        } else if scfg.id < dcfg.id {
            let s = self.open_resolved(sname, scfg, sst, false).await?;
            (s, self.open_resolved(dname, dcfg, dst, true).await?)
        } else {
            let d = self.open_resolved(dname, dcfg, dst, true).await?;
            (self.open_resolved(sname, scfg, sst, false).await?, d)
        };
        let sinfo = self.stat(&s, spath).await.map_err(|e| {
            anyhow::anyhow!("{spath:?} could not be found on container {sname}: {e}")
        })?;
        let (dbase, dinfo, to_parent) = self.resolve_destination(&d, dpath, false).await?;
        let (starget, rename) = plan(
            &sinfo.link_target,
            sinfo.is_dir,
            dinfo.is_dir,
            to_parent,
            dbase,
        )?;
        let target = if dinfo.is_dir {
            dinfo.link_target.clone()
        } else {
            go_dir(dpath)
        };
        let owner = self.owner(&d)?;
        let req = CopyRequest {
            source: Some(path_end(&s.root, &starget)),
            destination: Some(path_end(&d.root, &target)),
            rename,
            uid: owner.map(|o| o.0),
            gid: owner.map(|o| o.1),
            overwrite: self.overwrite,
            ignore_devices: false,
        };
        self.copy(req, None).await
    }
}

enum Data {
    Stdin,
    Stdout,
}

fn host_root() -> CopyRoot {
    CopyRoot {
        root: "/".into(),
        mounts: Vec::new(),
    }
}

fn path_end(root: &CopyRoot, path: &str) -> CopyEnd {
    CopyEnd {
        root: Some(root.clone()),
        path: path.to_string(),
        data_fd: false,
    }
}

fn data_end() -> CopyEnd {
    CopyEnd {
        root: None,
        path: String::new(),
        data_fd: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_name_a_container_unless_they_look_like_paths() {
        assert_eq!(parse_user_input("c1:/etc"), (Some("c1"), "/etc"));
        assert_eq!(parse_user_input("/a:b"), (None, "/a:b"));
        assert_eq!(parse_user_input("./x:y"), (None, "./x:y"));
        assert_eq!(parse_user_input("-"), (None, "-"));
    }
}
