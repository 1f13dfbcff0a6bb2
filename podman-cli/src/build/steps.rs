//! The instructions that make a layer: RUN (a real container, created and
//! started by the lifecycle code `podman run` uses, then committed) and
//! COPY/ADD (a tar of the sources unpacked by storage-helper into a
//! mounted storage container, then committed).

use std::io::{Seek, Write};

use proto::storage::v1::{CopyEnd, CopyRequest, CopyRoot, CopyStatRequest};
use serde_json::json;

use super::cache::Key;
use super::config;
use super::executor::{image_context, Builder, Stage};
use super::parse::Instruction;
use super::run_mounts;
use super::sources::{self, CopyPlan, SourceRoot};
use crate::commands::run::{start_and_attach_with, AttachOptions};
use crate::error::ExitError;
use crate::lifecycle::create_options::CreateOptions;

/// A tar with no entries: only the two zero blocks that end an archive.
const EMPTY_TAR_LEN: u64 = 1024;

const RUN_FLAGS: &[&str] = &["network", "mount", "security"];
const COPY_FLAGS: &[&str] = &["from", "chown", "chmod", "link"];
const ADD_FLAGS: &[&str] = &["chown", "chmod", "link"];

fn check_flags(inst: &Instruction, allowed: &[&str]) -> anyhow::Result<()> {
    for (k, _) in &inst.flags {
        if !allowed.contains(&k.as_str()) {
            anyhow::bail!("{}: unknown flag --{k}", inst.keyword);
        }
    }
    Ok(())
}

impl Builder<'_> {
    /// RUN: the command in a container of the current image, its changes
    /// committed. A failure exits with the command's code.
    pub(super) async fn run(
        &mut self,
        st: &Stage,
        inst: &Instruction,
        key: &str,
        final_step: bool,
    ) -> anyhow::Result<String> {
        check_flags(inst, RUN_FLAGS)?;
        if let Some(s) = inst.flag("security") {
            anyhow::bail!("RUN --security={s}: not supported; only the default sandbox is");
        }
        let image = st
            .image
            .clone()
            .ok_or_else(|| anyhow::anyhow!("RUN needs a base image with a shell: this stage is FROM scratch with nothing in it"))?;
        let argv = match inst.exec_form() {
            Some(list) => list,
            None => {
                let mut v = config::shell(&st.config);
                v.push(script(inst));
                v
            }
        };
        // The stage's ENV as it stands (--env included, which the image
        // the container is made from may not carry yet), then build args.
        let mut env: Vec<String> = config::strings(st.config.get("Env")).unwrap_or_default();
        for (k, v) in st.args.iter() {
            if let Some(v) = v {
                if config::env_value(&st.config, k).is_none() {
                    env.push(format!("{k}={v}"));
                }
            }
        }
        let network = match inst.flag("network") {
            Some(n) => vec![n.to_string()],
            None => self.opts.network.clone(),
        };
        let mut held = Vec::new();
        let mounts = self.run_mounts(st, inst, &mut held).await;
        let result = match mounts {
            Ok(mounts) => {
                self.run_in_container(st, inst, key, image, argv, env, network, mounts, final_step)
                    .await
            }
            Err(e) => Err(e),
        };
        for ctr in held {
            self.remove_container(&ctr).await;
        }
        result
    }

    /// The RUN container's mounts for its `--mount` flags; storage
    /// containers mounted for `from=` go to `held`.
    async fn run_mounts(
        &mut self,
        st: &Stage,
        inst: &Instruction,
        held: &mut Vec<String>,
    ) -> anyhow::Result<Vec<String>> {
        let mut out = Vec::new();
        let cache_root = self.engine.graph_root.join("build-cache-mounts");
        for spec in inst.flag_all("mount") {
            let spec = super::words::expand(spec, self.file.escape, &|n| st.lookup(n))?;
            let m = run_mounts::parse(&spec)?;
            let host = if m.kind == "bind" {
                let (dir, is_context) = match &m.from {
                    None => (self.context.clone(), true),
                    Some(from) => match self
                        .opts
                        .build_contexts
                        .get(from)
                        .filter(|v| image_context(v).is_none())
                    {
                        Some(dir) => (std::path::PathBuf::from(dir).canonicalize()?, true),
                        None => {
                            let image = match super::plan::stage_index(&self.file, from)
                                .filter(|i| self.stage_images.contains_key(i))
                            {
                                Some(i) => self.stage_images[&i].clone(),
                                None => Some(self.base_image_for_copy(from).await?),
                            };
                            let (ctr, mp) = self.mount_image(image.as_deref()).await?;
                            held.push(ctr);
                            (std::path::PathBuf::from(mp), false)
                        }
                    },
                };
                let root = SourceRoot {
                    dir,
                    ignore: None,
                    is_context,
                };
                let rel =
                    sources::clean(&m.source).ok_or_else(|| sources::SourceError::Outside {
                        src: m.source.clone(),
                        resolved: root.dir.join(&m.source).display().to_string(),
                    })?;
                sources::resolve(&root, &rel, &m.source)?
            } else {
                std::path::PathBuf::new()
            };
            if let Some(spec) =
                run_mounts::to_create_mount(&m, &host, &self.opts.secrets, &cache_root)?
            {
                out.push(spec);
            }
        }
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_in_container(
        &mut self,
        st: &Stage,
        inst: &Instruction,
        key: &str,
        image: String,
        argv: Vec<String>,
        env: Vec<String>,
        network: Vec<String>,
        mount: Vec<String>,
        final_step: bool,
    ) -> anyhow::Result<String> {
        // The runtime makes the RUN --mount targets as mount points; like
        // Buildah, the step's layer keeps none of them.
        let exclude: Vec<String> = mount
            .iter()
            .filter_map(|m| {
                m.split(',')
                    .find_map(|kv| kv.strip_prefix("destination="))
                    .map(str::to_string)
            })
            .collect();
        let create = CreateOptions {
            image,
            command: argv,
            entrypoint: Some(String::new()),
            env,
            network,
            mount,
            volume: self.opts.run.volume.clone(),
            ulimit: self.opts.run.ulimit.clone(),
            security_opt: self.opts.run.security_opt.clone(),
            cap_add: self.opts.run.cap_add.clone(),
            cap_drop: self.opts.run.cap_drop.clone(),
            add_host: self.opts.run.add_host.clone(),
            dns: self.opts.run.dns.clone(),
            dns_search: self.opts.run.dns_search.clone(),
            pull: "never".into(),
            quiet: true,
            image_volume: Some("ignore".into()),
            more: crate::lifecycle::create_options::MoreOptions {
                no_hosts: self.opts.run.no_hosts,
                userns: self.opts.run.userns.clone(),
                uidmap: self.opts.run.uidmap.clone(),
                gidmap: self.opts.run.gidmap.clone(),
                subuidname: self.opts.run.subuidname.clone(),
                subgidname: self.opts.run.subgidname.clone(),
                ..Default::default()
            },
            ..Default::default()
        };
        let _ = std::io::stdout().flush();
        let cfg = crate::lifecycle::create::create(self.engine, &create).await?;
        let ran =
            start_and_attach_with(self.engine, &cfg, true, false, &AttachOptions::default()).await;
        let result = match ran {
            Ok(()) => {
                let history = json!({"created_by": created_by(&config::shell(&st.config), inst, &st.args_in_effect())});
                self.commit(st, Some(&cfg.id), history, final_step, &exclude)
                    .await
            }
            // The command's exit code; a runtime that could not start it
            // is exit status 1, as Buildah reports runc's failure.
            Err(e) => Err(match e.downcast_ref::<ExitError>() {
                Some(x) => ExitError {
                    code: x.code,
                    source: anyhow::anyhow!("while running runtime: exit status {}", x.code),
                }
                .into(),
                None => ExitError {
                    code: 1,
                    source: anyhow::anyhow!("while running runtime: {e:#}"),
                }
                .into(),
            }),
        };
        if let (Ok(id), false) = (&result, self.opts.rm) {
            self.remember(key, id).await?;
            return result;
        }
        if result.is_ok() || self.opts.rm || self.opts.force_rm {
            if let Err(e) = crate::lifecycle::remove::remove(self.engine, &cfg.id, true, true).await
            {
                tracing::warn!("removing build container {}: {e:#}", cfg.id);
            }
        }
        let id = result?;
        self.remember(key, &id).await?;
        Ok(id)
    }

    /// COPY and ADD.
    pub(super) async fn copy(
        &mut self,
        st: &Stage,
        inst: &Instruction,
        key: Key,
        final_step: bool,
    ) -> anyhow::Result<String> {
        let add = inst.keyword == "ADD";
        check_flags(inst, if add { ADD_FLAGS } else { COPY_FLAGS })?;
        let lookup = |n: &str| st.lookup(n);
        let escape = self.file.escape;
        let mut words = match inst.exec_form() {
            Some(list) => list,
            None => super::words::split_words(&inst.args, escape, &lookup)?,
        };
        if words.len() < 2 {
            anyhow::bail!(
                "{} requires at least two arguments: SOURCE... DEST",
                inst.keyword
            );
        }
        let dest_word = words.pop().unwrap_or_default();
        let workdir = st
            .config
            .get("WorkingDir")
            .and_then(|v| v.as_str())
            .unwrap_or("/")
            .to_string();
        let dest = if dest_word.starts_with('/') {
            dest_word.clone()
        } else {
            let mut d = format!("{}/{}", workdir.trim_end_matches('/'), dest_word);
            if dest_word == "." || dest_word.ends_with("/.") || dest_word.ends_with('/') {
                d = format!("{}/", d.trim_end_matches('.').trim_end_matches('/'));
            }
            d
        };
        let chmod = inst.flag("chmod").map(sources::parse_chmod).transpose()?;
        let heredocs: Vec<(String, String)> = inst
            .heredocs
            .iter()
            .map(|h| {
                let content = if h.expand {
                    super::words::expand_heredoc(&h.content, &lookup)
                } else {
                    h.content.clone()
                };
                (h.name.clone(), content)
            })
            .collect();
        // The source root: the context, a named build context, or a stage's
        // (or an image's) file system, mounted for the copy.
        let mut mounted = None;
        let (root_dir, is_context) = match inst.flag("from") {
            None => (self.context.clone(), true),
            Some(from) => {
                let from = super::words::expand(from, escape, &lookup)?;
                if let Some(dir) = self
                    .opts
                    .build_contexts
                    .get(&from)
                    .filter(|v| image_context(v).is_none())
                {
                    (std::path::PathBuf::from(dir).canonicalize()?, true)
                } else {
                    let image = match super::plan::stage_index(&self.file, &from)
                        .filter(|i| self.stage_images.contains_key(i))
                    {
                        Some(i) => self.stage_images[&i].clone(),
                        None => {
                            let name = self
                                .opts
                                .build_contexts
                                .get(&from)
                                .and_then(|v| image_context(v))
                                .unwrap_or(&from)
                                .to_string();
                            Some(self.base_image_for_copy(&name).await?)
                        }
                    };
                    let (ctr, mp) = self.mount_image(image.as_deref()).await?;
                    mounted = Some(ctr);
                    (std::path::PathBuf::from(mp), false)
                }
            }
        };
        let result = self
            .copy_from(
                st, inst, key, &root_dir, is_context, words, dest, chmod, add, &heredocs,
                final_step,
            )
            .await;
        if let Some(ctr) = mounted {
            self.remove_container(&ctr).await;
        }
        result
    }

    async fn base_image_for_copy(&mut self, name: &str) -> anyhow::Result<String> {
        match crate::image::lookup::find(&mut self.storage, name).await {
            Ok(i) => Ok(i.id),
            Err(e) if e.is_not_found() && self.opts.pull != "never" => Ok(
                crate::image::pull::pull(self.engine, name, &self.opts.pull_options)
                    .await?
                    .id,
            ),
            Err(e) => Err(e.into()),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn copy_from(
        &mut self,
        st: &Stage,
        inst: &Instruction,
        key: Key,
        root_dir: &std::path::Path,
        is_context: bool,
        srcs: Vec<String>,
        dest: String,
        chmod: Option<u32>,
        add: bool,
        heredocs: &[(String, String)],
        final_step: bool,
    ) -> anyhow::Result<String> {
        let ignore = self.ignore.clone();
        let root = SourceRoot {
            dir: root_dir.to_path_buf(),
            ignore: is_context.then_some(&ignore),
            is_context,
        };
        let staging = crate::image::staging::Staging::new(&self.engine.graph_root, "build")?;
        let downloads = if add {
            self.download_urls(&srcs, staging.path()).await?
        } else {
            Vec::new()
        };
        let mut plan = CopyPlan {
            sources: srcs,
            dest: dest.clone(),
            chmod,
            add,
            heredocs,
            dest_is_dir: false,
            downloads: &downloads,
        };
        let tar_path = staging.join("copy.tar");
        let mut file = std::fs::File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&tar_path)?;
        let digest = sources::write_tar(&root, &plan, &mut file)?;
        let chown = inst
            .flag("chown")
            .map(|c| super::words::expand(c, self.file.escape, &|n| st.lookup(n)))
            .transpose()?;
        let key = key
            .part("content", &digest)
            .part("chown", chown.as_deref().unwrap_or(""))
            .finish();
        if let Some(id) = self.cached(&key).await {
            return Ok(id);
        }
        let (ctr, mountpoint) = self.mount_image(st.image.as_deref()).await?;
        let r = async {
            // A single file to an existing directory goes inside it.
            if !dest.ends_with('/') {
                let req = CopyStatRequest {
                    root: Some(CopyRoot { root: mountpoint.clone(), mounts: Vec::new() }),
                    path: dest.clone(),
                };
                if let Ok(s) = self.storage.call("CopyStat", |mut c| async move { c.copy_stat(req).await }).await {
                    if s.is_dir && !s.dangling {
                        plan.dest_is_dir = true;
                        file.set_len(0)?;
                        file.rewind()?;
                        sources::write_tar(&root, &plan, &mut file)?;
                    }
                }
            }
            let owner = match &chown {
                Some(c) => {
                    let u = crate::spec::user::resolve(std::path::Path::new(&mountpoint), c, &[])?;
                    Some((u.uid, u.gid))
                }
                None => None,
            };
            // Nothing selected (every source ignored): nothing to unpack,
            // but the step still makes its layer, as Buildah's does.
            let empty = file.metadata()?.len() <= EMPTY_TAR_LEN;
            file.rewind()?;
            let req = CopyRequest {
                source: Some(CopyEnd { root: None, path: String::new(), data_fd: true }),
                destination: Some(CopyEnd {
                    root: Some(CopyRoot { root: mountpoint.clone(), mounts: Vec::new() }),
                    path: "/".into(),
                    data_fd: false,
                }),
                uid: owner.map(|o| o.0),
                gid: owner.map(|o| o.1),
                ..Default::default()
            };
            if !empty {
                let mut s = crate::helper_procs::storage_with_data(self.engine, std::os::fd::AsFd::as_fd(&file)).await?;
                let copied = s.call("Copy", |mut c| async move { c.copy(req).await }).await;
                s.finish().await?;
                copied?;
            }
            let what = if srcs_is_dir(&root, &plan) { "dir" } else { "file" };
            let history = json!({"created_by": format!("/bin/sh -c #(nop) {} {what}:{digest} in {dest} ", inst.keyword)});
            self.commit(st, Some(&ctr), history, final_step, &[]).await
        }
        .await;
        self.remove_container(&ctr).await;
        let id = r?;
        self.remember(&key, &id).await?;
        Ok(id)
    }
}

fn srcs_is_dir(root: &SourceRoot<'_>, plan: &CopyPlan<'_>) -> bool {
    plan.sources.len() == 1
        && root
            .dir
            .join(plan.sources[0].trim_start_matches('/'))
            .is_dir()
}

/// RUN's shell script: heredocs go to the shell as written (`cmd <<EOF`),
/// a RUN that is only a heredoc runs its body.
fn script(inst: &Instruction) -> String {
    if inst.heredocs.is_empty() {
        return inst.args.clone();
    }
    let markers_only = inst.args.split_whitespace().all(|w| w.starts_with("<<"));
    if markers_only && inst.heredocs.len() == 1 {
        return inst.heredocs[0].content.clone();
    }
    let mut s = inst.args.clone();
    for h in &inst.heredocs {
        s.push('\n');
        s.push_str(&h.content);
        s.push_str(&h.name);
    }
    s
}

/// The history's created_by of a RUN, as Buildah writes it.
fn created_by(shell: &[String], inst: &Instruction, args: &[String]) -> String {
    let cmd = match inst.exec_form() {
        Some(list) => list.join(" "),
        None => format!("{} {}", shell.join(" "), script(inst)),
    };
    if args.is_empty() {
        cmd
    } else {
        format!("|{} {} {cmd}", args.len(), args.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::parse::parse;

    fn inst(text: &str) -> Instruction {
        parse("C", &format!("FROM x\n{text}")).unwrap().stages[0][1].clone()
    }

    #[test]
    fn run_scripts_and_history() {
        let sh = ["/bin/sh".to_string(), "-c".to_string()];
        assert_eq!(script(&inst("RUN echo hi")), "echo hi");
        assert_eq!(
            script(&inst("RUN <<EOF\necho a\necho b\nEOF\n")),
            "echo a\necho b\n"
        );
        assert_eq!(
            script(&inst("RUN cat <<EOF > /f\nline\nEOF\n")),
            "cat <<EOF > /f\nline\nEOF"
        );
        assert_eq!(
            created_by(&sh, &inst("RUN echo hi"), &[]),
            "/bin/sh -c echo hi"
        );
        assert_eq!(
            created_by(&sh, &inst("RUN [\"/bin/true\", \"x\"]"), &["A=1".into()]),
            "|1 A=1 /bin/true x"
        );
        assert!(check_flags(&inst("COPY --from=a x y"), COPY_FLAGS).is_ok());
        let e = check_flags(&inst("COPY --bogus=a x y"), COPY_FLAGS).unwrap_err();
        assert_eq!(e.to_string(), "COPY: unknown flag --bogus");
        assert!(check_flags(&inst("ADD --from=a x y"), ADD_FLAGS).is_err());
    }
}
