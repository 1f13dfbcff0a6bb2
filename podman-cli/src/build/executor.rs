//! The build: each needed stage in order, each instruction an image
//! committed through storage-helper (a new layer for RUN, COPY and ADD,
//! a new config for the others), looked up in the cache first. RUN runs
//! in a real container made and started by the same lifecycle code as
//! `podman run`.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use proto::storage::v1::{Image, TagImageRequest};
use serde_json::{json, Map, Value};

use super::cache::{Cache, Key};
use super::config;
use super::ignore::Ignore;
use super::options::BuildOptions;
use super::parse::{Containerfile, Instruction};
use super::plan;
use super::platform::{predefined, Platform};
use crate::engine_config::EngineConfig;
use crate::helper_procs::{self, Session, StorageClient};

/// An error at one instruction: Podman's "building at STEP ..." wording.
#[derive(Debug, thiserror::Error)]
#[error("building at STEP \"{step}\": {message}")]
pub struct StepError {
    pub step: String,
    pub message: String,
}

/// Where one stage stands.
pub(super) struct Stage {
    pub index: usize,
    /// The image so far (None: scratch, nothing committed yet).
    pub image: Option<String>,
    /// The config's "config" object.
    pub config: Map<String, Value>,
    /// ARGs declared in this stage, with their values.
    pub args: BTreeMap<String, Option<String>>,
    pub cmd_set: bool,
    /// The last step made `image` (else a final commit is due).
    pub committed: bool,
}

impl Stage {
    /// Variables for expansion: ENV wins over ARG.
    pub fn lookup(&self, name: &str) -> Option<String> {
        config::env_value(&self.config, name).or_else(|| self.args.get(name).cloned().flatten())
    }

    /// Build args in effect, for cache keys and RUN's environment.
    pub fn args_in_effect(&self) -> Vec<String> {
        self.args
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
            .collect()
    }
}

pub struct Builder<'a> {
    pub(super) engine: &'a EngineConfig,
    pub(super) opts: &'a BuildOptions,
    pub(super) file: Containerfile,
    pub(super) storage: Session<StorageClient>,
    pub(super) cache: Cache,
    pub(super) ignore: Ignore,
    pub(super) context: PathBuf,
    /// The result of each stage built.
    pub(super) stage_images: HashMap<usize, Option<String>>,
    /// Images made by this build that --layers=false drops at the end.
    pub(super) scratch_images: Vec<String>,
    /// The final stage's base image (--squash keeps its layers).
    final_base: Option<String>,
    multi: bool,
}

/// Run the whole build; returns the final image.
pub async fn build(engine: &EngineConfig, opts: &BuildOptions) -> anyhow::Result<Image> {
    let file = super::parse::parse(&opts.file_name, &opts.file_text)?;
    let order = plan::needed(&file, opts.target.as_deref())?;
    let context = opts
        .context
        .canonicalize()
        .map_err(|e| anyhow::anyhow!("context directory {}: {e}", opts.context.display()))?;
    let ignore = match &opts.ignorefile {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| anyhow::anyhow!("--ignorefile {}: {e}", p.display()))?;
            Ignore::parse(&p.display().to_string(), &text)?
        }
        None => read_ignore(&context, &opts.file_name)?,
    };
    let storage = helper_procs::storage(engine).await?;
    let mut b = Builder {
        engine,
        opts,
        file,
        storage,
        cache: Cache::new(&engine.graph_root),
        ignore,
        context,
        stage_images: HashMap::new(),
        scratch_images: Vec::new(),
        final_base: None,
        multi: order.len() > 1,
    };
    let result = b.run_stages(&order).await;
    let cleanup = b
        .drop_scratch_images(result.as_ref().ok().map(|i| i.id.as_str()))
        .await;
    let closed = b.storage.close().await;
    let img = result?;
    cleanup?;
    closed?;
    Ok(img)
}

/// `<Containerfile>.containerignore` (or `.dockerignore`) beside the
/// Containerfile, else the context's `.containerignore`/`.dockerignore`.
fn read_ignore(context: &std::path::Path, file: &str) -> anyhow::Result<Ignore> {
    let beside = [
        PathBuf::from(format!("{file}.containerignore")),
        PathBuf::from(format!("{file}.dockerignore")),
    ];
    let candidates = beside
        .into_iter()
        .chain([".containerignore", ".dockerignore"].map(|n| context.join(n)));
    for p in candidates {
        if let Ok(text) = std::fs::read_to_string(&p) {
            return Ok(Ignore::parse(&p.display().to_string(), &text)?);
        }
    }
    Ok(Ignore::default())
}

impl Builder<'_> {
    pub(super) fn say(&self, line: &str) {
        if !self.opts.quiet {
            println!("{line}");
        }
    }

    async fn run_stages(&mut self, order: &[usize]) -> anyhow::Result<Image> {
        let total = order.len();
        let mut last = None;
        for (n, &idx) in order.iter().enumerate() {
            let is_final = n + 1 == total;
            let image = self.run_stage(idx, n + 1, total, is_final).await?;
            self.stage_images.insert(idx, image.clone());
            last = image;
        }
        let id = last.ok_or_else(|| anyhow::anyhow!("the build made no image"))?;
        let id = if self.opts.squash_all {
            self.squash(&id, None).await?
        } else if self.opts.squash {
            let base = self.final_base.clone();
            self.squash(&id, base.as_deref()).await?
        } else {
            id
        };
        if let Some(out) = &self.opts.output {
            self.write_output(&id, out).await?;
        }
        let img = self.get_image(&id).await?;
        for t in &self.opts.tags {
            let req = TagImageRequest {
                image: id.clone(),
                new_name: t.clone(),
            };
            self.storage
                .call("TagImage", |mut c| async move { c.tag_image(req).await })
                .await?;
        }
        Ok(img)
    }

    async fn run_stage(
        &mut self,
        idx: usize,
        pos: usize,
        total: usize,
        is_final: bool,
    ) -> anyhow::Result<Option<String>> {
        let insts = self.file.stages[idx].clone();
        let prefix = if self.multi {
            format!("[{pos}/{total}] ")
        } else {
            String::new()
        };
        let steps = insts.len();
        let mut st = Stage {
            index: idx,
            image: None,
            config: Map::new(),
            args: BTreeMap::new(),
            cmd_set: false,
            committed: false,
        };
        self.say(&format!("{prefix}STEP 1/{steps}: {}", insts[0].original));
        // Podman reports a base image that cannot be had on its own.
        let base = self.from(&insts[0], &mut st).await?;
        if is_final {
            self.final_base = base.clone();
        }
        // ONBUILD triggers of the base run first, as Docker runs them.
        let triggers = config::strings(st.config.get("OnBuild")).unwrap_or_default();
        st.config.remove("OnBuild");
        let mut all: Vec<Instruction> = Vec::new();
        for t in &triggers {
            let f = super::parse::parse("ONBUILD", &format!("FROM scratch\n{t}\n"))?;
            all.extend(f.stages[0][1..].iter().cloned());
        }
        let n_triggers = all.len();
        all.extend(insts[1..].iter().cloned());
        if base.is_some() && all.is_empty() && !is_final {
            return Ok(base);
        }
        for (k, inst) in all.iter().enumerate() {
            let last = k + 1 == all.len();
            if k >= n_triggers {
                self.say(&format!(
                    "{prefix}STEP {}/{steps}: {}",
                    k - n_triggers + 2,
                    inst.original
                ));
            }
            let final_step = is_final && last;
            self.step(&mut st, inst, final_step)
                .await
                .map_err(|e| step_err(inst, e))?;
        }
        if is_final && (!st.committed || st.image.is_none()) {
            // FROM alone, or a last ARG: the result is still a new image.
            self.commit_final(&mut st).await?;
        }
        Ok(st.image)
    }

    /// FROM: the base image (scratch, an earlier stage, a build context
    /// naming an image, or an image pulled as --pull says).
    async fn from(&mut self, inst: &Instruction, st: &mut Stage) -> anyhow::Result<Option<String>> {
        for (k, _) in &inst.flags {
            if k != "platform" {
                anyhow::bail!("FROM: unknown flag --{k}");
            }
        }
        let globals = self.global_args()?;
        let lookup = |n: &str| globals.get(n).cloned().flatten();
        let words = super::words::split_words(&inst.args, self.file.escape, &lookup)?;
        let base_ref = match words.as_slice() {
            [b] => b.clone(),
            [b, as_, _] if as_.eq_ignore_ascii_case("as") => b.clone(),
            _ => anyhow::bail!("FROM takes IMAGE [AS NAME]"),
        };
        if let Some(p) = inst.flag("platform") {
            let p = super::words::expand(p, self.file.escape, &lookup)?;
            let want = Platform::parse(&p)?;
            if want != self.opts.platform {
                anyhow::bail!("FROM --platform={p}: this build is for {}: give the platform with podman build --platform instead", self.opts.platform);
            }
        }
        let image = if base_ref.eq_ignore_ascii_case("scratch") {
            None
        } else if let Some(i) = plan::stage_index(&self.file, &base_ref)
            .filter(|i| *i != st.index && self.stage_images.contains_key(i))
        {
            self.stage_images[&i].clone()
        } else if let Some(ctx) = self.opts.build_contexts.get(&base_ref) {
            let r = image_context(ctx).ok_or_else(|| {
                anyhow::anyhow!("build context {base_ref:?} is a directory: FROM needs an image (docker-image://REF)")
            })?;
            Some(self.base_image(r).await?.id)
        } else {
            Some(self.base_image(&base_ref).await?.id)
        };
        if let Some(id) = &image {
            let img = self.get_image(id).await?;
            let c: Value = serde_json::from_slice(&img.config).unwrap_or_default();
            st.config = c["config"].as_object().cloned().unwrap_or_default();
        }
        self.stage_labels(st);
        st.image = image.clone();
        Ok(image)
    }

    /// Global ARGs (before the first FROM) with --build-arg applied.
    fn global_args(&self) -> anyhow::Result<BTreeMap<String, Option<String>>> {
        let mut out = BTreeMap::new();
        for i in &self.file.global_args {
            let lookup = |n: &str| out.get(n).cloned().flatten();
            let kvs = super::words::key_values(&i.args, self.file.escape, &lookup, false)?;
            for (k, v) in kvs {
                let v = self
                    .opts
                    .build_args
                    .get(&k)
                    .cloned()
                    .or(v)
                    .or_else(|| predefined(&k, &self.opts.platform));
                out.insert(k, v);
            }
        }
        Ok(out)
    }

    async fn base_image(&mut self, name: &str) -> anyhow::Result<Image> {
        let pull = || crate::image::pull::pull(self.engine, name, &self.opts.pull_options);
        match self.opts.pull.as_str() {
            "always" => pull().await,
            "newer" => {
                let local = crate::image::lookup::find(&mut self.storage, name)
                    .await
                    .ok();
                crate::image::pull::pull_newer(self.engine, local, name, &self.opts.pull_options)
                    .await
            }
            policy => match crate::image::lookup::find(&mut self.storage, name).await {
                // A local image of another platform is not the base asked for.
                Ok(img)
                    if !self
                        .opts
                        .platform
                        .matches(&serde_json::from_slice(&img.config).unwrap_or_default()) =>
                {
                    if policy == "never" {
                        anyhow::bail!(
                            "creating build container: {name}: image not known for platform {}",
                            self.opts.platform
                        )
                    }
                    pull().await
                }
                Ok(img) => Ok(img),
                Err(e) if e.is_not_found() && policy != "never" => pull().await,
                Err(e) if e.is_not_found() => {
                    anyhow::bail!("creating build container: {name}: image not known")
                }
                Err(e) => Err(e.into()),
            },
        }
    }

    pub(super) async fn get_image(&mut self, id: &str) -> anyhow::Result<Image> {
        crate::image::lookup::find(&mut self.storage, id)
            .await
            .map_err(Into::into)
    }

    /// One instruction after FROM.
    async fn step(
        &mut self,
        st: &mut Stage,
        inst: &Instruction,
        final_step: bool,
    ) -> anyhow::Result<()> {
        if inst.keyword == "ARG" {
            let lookup = |n: &str| st.lookup(n);
            for (k, v) in super::words::key_values(&inst.args, self.file.escape, &lookup, false)? {
                let globals = self.global_args()?;
                let v = self
                    .opts
                    .build_args
                    .get(&k)
                    .cloned()
                    .or(v)
                    .or_else(|| globals.get(&k).cloned().flatten())
                    .or_else(|| predefined(&k, &self.opts.platform));
                st.args.insert(k, v);
            }
            st.committed = false;
            return Ok(());
        }
        if final_step {
            self.final_labels(st);
        }
        let mut key = Key::default()
            .part("parent", st.image.as_deref().unwrap_or("scratch"))
            .part("platform", &self.opts.platform.to_string())
            .part("instruction", &inst.original)
            .part("args", &st.args_in_effect().join("\n"))
            .part("env", &format!("{:?}", self.opts.env))
            .part("timestamps", &format!("{:?}", self.opts.timestamps))
            .part(
                "format",
                if self.opts.docker_format {
                    "docker"
                } else {
                    "oci"
                },
            );
        for h in &inst.heredocs {
            key = key.part("heredoc", &h.content);
        }
        if final_step {
            key = key
                .part("labels", &format!("{:?}", self.opts.labels))
                .part(
                    "unset",
                    &format!("{:?} {:?}", self.opts.unset_labels, self.opts.unset_env),
                )
                .part("annotations", &format!("{:?}", self.opts.annotations));
        }
        let id = match inst.keyword.as_str() {
            "RUN" => {
                // Another sandbox (seccomp, limits, capabilities) may give
                // another result: it is part of the step.
                let key = key.part("run", &format!("{:?}", self.opts.run)).finish();
                match self.cached(&key).await {
                    Some(id) => id,
                    None => self.run(st, inst, &key, final_step).await?,
                }
            }
            "COPY" | "ADD" => self.copy(st, inst, key, final_step).await?,
            _ => {
                let lookup = |n: &str| st.lookup(n);
                let mut cfg = st.config.clone();
                let mut cmd_set = st.cmd_set;
                config::apply(inst, &mut cfg, self.file.escape, &lookup, &mut cmd_set)?;
                st.config = cfg;
                st.cmd_set = cmd_set;
                let key = key.finish();
                match self.cached(&key).await {
                    Some(id) => id,
                    None => {
                        let history = json!({
                            "created_by": format!("/bin/sh -c #(nop) {}", inst.original),
                            "empty_layer": true,
                        });
                        let id = self.commit(st, None, history, final_step, &[]).await?;
                        self.remember(&key, &id).await?;
                        id
                    }
                }
            }
        };
        st.image = Some(id.clone());
        st.committed = true;
        if final_step {
            self.say(&format!(
                "COMMIT {}",
                self.opts
                    .tags_given
                    .first()
                    .map(String::as_str)
                    .unwrap_or("")
            ));
        }
        self.say(&format!("--> {}", &id[..12.min(id.len())]));
        Ok(())
    }

    /// --label and --unsetenv change the last step's config.
    fn final_labels(&self, st: &mut Stage) {
        if !self.opts.labels.is_empty() {
            let mut labels = st
                .config
                .get("Labels")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            for (k, v) in &self.opts.labels {
                labels.insert(k.clone(), json!(v));
            }
            st.config.insert("Labels".into(), Value::Object(labels));
        }
        if !self.opts.unset_env.is_empty() {
            if let Some(env) = st.config.get_mut("Env").and_then(Value::as_array_mut) {
                env.retain(|e| {
                    let name = e.as_str().and_then(|e| e.split('=').next()).unwrap_or("");
                    !self.opts.unset_env.iter().any(|u| u == name)
                });
            }
        }
    }

    /// At a stage's start, as Buildah: --unsetlabel drops labels the base
    /// image set, and each stage's image is labelled with the builder's
    /// version (`info`'s .Host.BuildahVersion) unless --identity-label=false;
    /// --env is set in every stage's config here too.
    fn stage_labels(&self, st: &mut Stage) {
        let mut labels = st
            .config
            .get("Labels")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        for k in &self.opts.unset_labels {
            labels.remove(k);
        }
        for (k, v) in &self.opts.env {
            config::set_env(&mut st.config, k, v);
        }
        if self.opts.identity_label {
            labels.insert(
                "io.buildah.version".into(),
                json!(crate::compat::BUILDAH_VERSION),
            );
        }
        if labels.is_empty() {
            st.config.remove("Labels");
        } else {
            st.config.insert("Labels".into(), Value::Object(labels));
        }
    }

    async fn commit_final(&mut self, st: &mut Stage) -> anyhow::Result<()> {
        self.final_labels(st);
        self.say(&format!(
            "COMMIT {}",
            self.opts
                .tags_given
                .first()
                .map(String::as_str)
                .unwrap_or("")
        ));
        let history = json!({"created_by": "/bin/sh -c #(nop) COMMIT", "empty_layer": true});
        let id = self.commit(st, None, history, true, &[]).await?;
        self.say(&format!("--> {}", &id[..12]));
        st.image = Some(id);
        Ok(())
    }
}

fn step_err(inst: &Instruction, e: anyhow::Error) -> anyhow::Error {
    if let Some(x) = e.downcast_ref::<crate::error::ExitError>() {
        return crate::error::ExitError {
            code: x.code,
            source: anyhow::anyhow!(StepError {
                step: inst.original.clone(),
                message: format!("{:#}", x.source),
            }),
        }
        .into();
    }
    StepError {
        step: inst.original.clone(),
        message: format!("{e:#}"),
    }
    .into()
}

/// `docker-image://REF` / `container-image://REF` build contexts.
pub fn image_context(v: &str) -> Option<&str> {
    v.strip_prefix("docker-image://")
        .or_else(|| v.strip_prefix("container-image://"))
}
