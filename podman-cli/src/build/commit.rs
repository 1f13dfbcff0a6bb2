//! The build's storage work: cache lookups and entries, commits of a
//! step (a container's layer, or only a config), storage containers
//! mounted to read or write a file system, --squash-all, and the
//! intermediate images --layers=false drops.

use proto::storage::v1::{
    CommitContainerRequest, CreateContainerRequest, MountRequest, RemoveContainerRequest,
    RemoveImageRequest,
};
use serde_json::{json, Map, Value};

use super::executor::{Builder, Stage};

impl Builder<'_> {
    /// A cache hit (its image still stored, or pulled from a `--cache-from`
    /// repository), announced as Podman does.
    pub(super) async fn cached(&mut self, key: &str) -> Option<String> {
        if !self.opts.layers || self.opts.no_cache {
            return None;
        }
        let local = match self.cache.get(key) {
            Some(id) => self.get_image(&id).await.ok(),
            None => None,
        };
        let img = match local {
            Some(img) => img,
            None => self.pull_cache(key).await?,
        };
        self.say(&format!("--> Using cache {}", img.id));
        Some(img.id)
    }

    /// The step's image from the first `--cache-from` repository that has
    /// the key as a tag; any failure is a miss (the step is built).
    async fn pull_cache(&mut self, key: &str) -> Option<proto::storage::v1::Image> {
        let mut opts = self.opts.pull_options.clone();
        opts.quiet = true;
        for repo in &self.opts.cache_from {
            let r = format!("{repo}:{key}");
            match crate::image::pull::pull(self.engine, &r, &opts).await {
                Ok(img) => {
                    self.say(&format!("--> Cache pulled from remote {r}"));
                    if let Err(e) = self.cache.put(key, &img.id) {
                        tracing::warn!("recording the cache entry of {r}: {e:#}");
                    }
                    return Some(img);
                }
                Err(e) => tracing::debug!("no cache image {r}: {e:#}"),
            }
        }
        None
    }

    pub(super) async fn remember(&mut self, key: &str, id: &str) -> anyhow::Result<()> {
        if !self.opts.layers {
            self.scratch_images.push(id.to_string());
            return Ok(());
        }
        self.cache.put(key, id)?;
        for repo in &self.opts.cache_to {
            let dest = format!("docker://{repo}:{key}");
            crate::image::push::push_image(
                self.engine,
                id,
                Some(dest.clone()),
                &self.opts.push_options,
                true,
            )
            .await
            .map_err(|e| {
                anyhow::anyhow!("pushing the cache image to {dest} (--cache-to): {e:#}")
            })?;
            self.say(&format!("--> Pushing cache {repo}:{key}"));
        }
        Ok(())
    }

    /// Commit the stage's config (and `container`'s layer, if given).
    pub(super) async fn commit(
        &mut self,
        st: &Stage,
        container: Option<&str>,
        history: Value,
        final_step: bool,
        exclude: &[String],
    ) -> anyhow::Result<String> {
        let config = self.image_config(&st.config);
        let req = CommitContainerRequest {
            exclude_paths: exclude.to_vec(),
            id: container.unwrap_or_default().to_string(),
            docker_format: self.opts.docker_format,
            history_json: vec![history.to_string()],
            config_json: Value::Object(config).to_string(),
            no_layer: container.is_none(),
            base_image: if container.is_none() {
                st.image.clone().unwrap_or_default()
            } else {
                String::new()
            },
            annotations: if final_step {
                self.opts.annotations.clone().into_iter().collect()
            } else {
                Default::default()
            },
            os: self.opts.platform.os.clone(),
            architecture: self.opts.platform.arch.clone(),
            variant: self.opts.platform.variant.clone(),
            created_unix: self.opts.timestamps.created(),
            layer_mtime_unix: self.opts.timestamps.layer_mtime(),
            layer_mtime_clamp: self.opts.timestamps.clamp(),
            ..Default::default()
        };
        let img = self
            .storage
            .call("CommitContainer", |mut c| async move {
                c.commit_container(req).await
            })
            .await?;
        Ok(img.id)
    }

    /// The OCI config has no Healthcheck, Shell or OnBuild: Buildah drops
    /// them (with a warning) unless the format is docker.
    fn image_config(&self, cfg: &Map<String, Value>) -> Map<String, Value> {
        let mut cfg = cfg.clone();
        if !self.opts.docker_format {
            for (field, name) in [
                ("Healthcheck", "HEALTHCHECK"),
                ("Shell", "SHELL"),
                ("OnBuild", "ONBUILD"),
            ] {
                if cfg.remove(field).is_some() {
                    eprintln!("WARN[0000] {name} is not supported for OCI image format and will be ignored. Must use `docker` format");
                }
            }
        }
        cfg
    }

    /// A storage container over `image` (None: empty), mounted.
    pub(super) async fn mount_image(
        &mut self,
        image: Option<&str>,
    ) -> anyhow::Result<(String, String)> {
        let id = common::random::hex_id()?;
        let req = CreateContainerRequest {
            id: id.clone(),
            image: image.unwrap_or_default().to_string(),
            ..Default::default()
        };
        self.storage
            .call("CreateContainer", |mut c| async move {
                c.create_container(req).await
            })
            .await?;
        let req = MountRequest { id: id.clone() };
        match self
            .storage
            .call("Mount", |mut c| async move { c.mount(req).await })
            .await
        {
            Ok(m) => Ok((id, m.mountpoint)),
            Err(e) => {
                self.remove_container(&id).await;
                Err(e.into())
            }
        }
    }

    pub(super) async fn remove_container(&mut self, id: &str) {
        let req = RemoveContainerRequest { id: id.to_string() };
        if let Err(e) = self
            .storage
            .call("RemoveContainer", |mut c| async move {
                c.remove_container(req).await
            })
            .await
        {
            tracing::warn!("removing build container {id}: {e}");
        }
    }

    /// --squash-all: the final image's file system as one layer; with
    /// `base` (--squash), only what differs from that image, over its
    /// layers.
    pub(super) async fn squash(&mut self, id: &str, base: Option<&str>) -> anyhow::Result<String> {
        let img = self.get_image(id).await?;
        let c: Value = serde_json::from_slice(&img.config).unwrap_or_default();
        let (ctr, _) = self.mount_image(Some(id)).await?;
        let req = CommitContainerRequest {
            id: ctr.clone(),
            docker_format: self.opts.docker_format,
            squash: true,
            squash_base: base.unwrap_or_default().to_string(),
            history_json: vec![
                json!({"created_by": "/bin/sh -c #(nop) squashed build"}).to_string()
            ],
            config_json: c["config"].to_string(),
            annotations: self.opts.annotations.clone().into_iter().collect(),
            created_unix: self.opts.timestamps.created(),
            layer_mtime_unix: self.opts.timestamps.layer_mtime(),
            layer_mtime_clamp: self.opts.timestamps.clamp(),
            ..Default::default()
        };
        let r = self
            .storage
            .call("CommitContainer", |mut c| async move {
                c.commit_container(req).await
            })
            .await;
        self.remove_container(&ctr).await;
        self.scratch_images.push(id.to_string());
        Ok(r?.id)
    }

    /// --layers=false: the intermediate images go once the build is over.
    pub(super) async fn drop_scratch_images(&mut self, keep: Option<&str>) -> anyhow::Result<()> {
        let list = std::mem::take(&mut self.scratch_images);
        for id in list.iter().rev().filter(|i| Some(i.as_str()) != keep) {
            let req = RemoveImageRequest {
                image: id.clone(),
                force: false,
            };
            if let Err(e) = self
                .storage
                .call(
                    "RemoveImage",
                    |mut c| async move { c.remove_image(req).await },
                )
                .await
            {
                tracing::debug!("removing intermediate image {id}: {e}");
            }
        }
        Ok(())
    }
}
