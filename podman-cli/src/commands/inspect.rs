//! `podman inspect` and `podman container inspect`: Podman's JSON shape
//! (cmd/podman/inspect/inspect.go). `--type all` looks for a container,
//! then an image, a volume, a network and a pod of each name; `--size`
//! adds a container's `SizeRw` and `SizeRootFs`.

use clap::Args;
use serde_json::{json, Value};

use crate::container::inspect_doc::container_json;
use crate::container::model::{ContainerConfig, ContainerState};
use crate::container::store;
use crate::engine_config::EngineConfig;
use crate::error::ExitError;
use crate::helper_procs::{NetClient, Session, StorageClient};

#[derive(Debug, Clone, Args)]
pub struct InspectArgs {
    pub names: Vec<String>,
    /// Format the output to a Go template or json
    #[arg(short, long)]
    pub format: Option<String>,
    /// Act on the latest container podman is aware of
    #[arg(short, long)]
    pub latest: bool,
    /// Display total file size
    #[arg(short, long)]
    pub size: bool,
    /// Specify inspect-object type: container, image, volume, network, pod, all
    #[arg(short = 't', long = "type", default_value = "all")]
    pub kind: String,
}

const KINDS: [&str; 6] = ["image", "container", "pod", "network", "volume", "all"];

/// Podman's newInspector and inspect checks, before anything is looked up.
fn check(a: &InspectArgs) -> anyhow::Result<()> {
    if !KINDS.contains(&a.kind.as_str()) {
        anyhow::bail!(
            "invalid type {:?}: must be \"image\", \"container\", \"pod\", \"network\", \"volume\", or \"all\"",
            a.kind
        );
    }
    if a.kind == "image" && a.latest {
        anyhow::bail!("latest is not supported for type \"image\"");
    }
    if (a.kind == "image" || a.kind == "pod") && a.size {
        anyhow::bail!("size is not supported for type {:?}", a.kind);
    }
    if a.names.is_empty() && !a.latest {
        anyhow::bail!("no names or ids specified");
    }
    if a.latest && !a.names.is_empty() {
        anyhow::bail!("--latest and arguments cannot be used together");
    }
    Ok(())
}

/// Storage, started on first use and shared by every lookup.
struct Lookups<'a> {
    engine: &'a EngineConfig,
    storage: Option<Session<StorageClient>>,
    net: Option<Session<NetClient>>,
    size: bool,
}

impl Lookups<'_> {
    async fn storage(&mut self) -> anyhow::Result<&mut Session<StorageClient>> {
        if self.storage.is_none() {
            self.storage = Some(crate::helper_procs::storage(self.engine).await?);
        }
        Ok(self.storage.as_mut().expect("just set"))
    }

    async fn container(&mut self, name: &str) -> anyhow::Result<Option<Value>> {
        let db = crate::state::open_state(self.engine)?;
        let rec = match store::resolve(&db, name) {
            Ok(rec) => rec,
            Err(store::ContainerStoreError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        drop(db);
        let (c, s) = crate::lifecycle::cleanup::refresh(self.engine, rec).await?;
        Ok(Some(self.container_doc(&c, &s).await?))
    }

    async fn container_doc(
        &mut self,
        c: &ContainerConfig,
        s: &ContainerState,
    ) -> anyhow::Result<Value> {
        let engine = self.engine;
        let size = self.size;
        let storage = self.storage().await?;
        let req = proto::storage::v1::GetContainerRequest { id: c.id.clone() };
        let layer = storage
            .call("GetContainer", |mut cl| async move {
                cl.get_container(req).await
            })
            .await
            .ok();
        let image = match c.image_id.as_str() {
            "" => None,
            id => crate::image::lookup::find(storage, id).await.ok(),
        };
        let mut doc = container_json(
            c,
            s,
            &engine.storage_driver,
            layer.as_ref(),
            engine
                .containers
                .network
                .default_network
                .as_deref()
                .unwrap_or("podman"),
        );
        crate::lifecycle::health::inspect_fields(engine, c, &mut doc);
        doc["ExecIDs"] = json!(crate::lifecycle::paths::exec_ids(engine, c, s));
        crate::lifecycle::cgroups::inspect_fields(engine, c, &mut doc["HostConfig"]);
        doc["Mounts"] = crate::volume::attach::inspect_mounts(engine, c);
        // libpod: the digest of the manifest the image was pulled by.
        doc["ImageDigest"] = json!(image.as_ref().map(|i| i.digest.clone()).unwrap_or_default());
        if size {
            let rw = layer
                .as_ref()
                .filter(|l| !l.upper_dir.is_empty())
                .map(|l| {
                    crate::container::disk_usage::tree_bytes(std::path::Path::new(&l.upper_dir))
                })
                .unwrap_or(0) as i64;
            let image_size = image.as_ref().map(|i| i.size as i64).unwrap_or(0);
            doc["SizeRw"] = json!(rw);
            doc["SizeRootFs"] = json!(image_size + rw);
        }
        crate::container::inspect_order::podman_order(&mut doc);
        Ok(doc)
    }

    async fn image(&mut self, name: &str) -> anyhow::Result<Result<Value, String>> {
        let engine = self.engine;
        let storage = self.storage().await?;
        Ok(match crate::image::lookup::find(storage, name).await {
            Ok(img) => Ok(crate::image::view::inspect(
                &img,
                &engine.storage_driver,
                &engine.graph_root,
            )),
            Err(e) if e.is_not_found() => Err(format!("{name}: image not known")),
            Err(e) => return Err(e.into()),
        })
    }

    fn volume(&self, name: &str) -> anyhow::Result<Option<Value>> {
        let db = crate::state::open_state(self.engine)?;
        Ok(crate::volume::store::get(&db, name)
            .ok()
            .map(|v| v.inspect_json(&self.engine.volume_path)))
    }

    async fn network(&mut self, name: &str) -> anyhow::Result<Result<Value, String>> {
        if self.net.is_none() {
            self.net = Some(crate::helper_procs::net(self.engine).await?);
        }
        let net = self.net.as_mut().expect("just set");
        let req = proto::netsetup::v1::InspectNetworkRequest {
            name: name.to_string(),
        };
        match net
            .call("InspectNetwork", |mut c| async move {
                c.inspect_network(req).await
            })
            .await
        {
            Ok(nw) => {
                let mut v = super::network::network_json(&nw);
                let containers: serde_json::Map<String, Value> =
                    super::network::users(self.engine, &nw.name, &nw.id)?
                        .into_iter()
                        .map(|(name, id)| (id, json!({"name": name})))
                        .collect();
                v["containers"] = json!(containers);
                Ok(Ok(v))
            }
            Err(e) => Ok(Err(format!("network {name}: {e}"))),
        }
    }

    async fn pod(&self, name: &str) -> anyhow::Result<Option<Value>> {
        let db = crate::state::open_state(self.engine)?;
        let Ok(pod) = crate::pod::store::resolve(&db, name) else {
            return Ok(None);
        };
        drop(db);
        let members = crate::lifecycle::pod_ops::refreshed(self.engine, &pod).await?;
        Ok(Some(super::pod_ps::inspect_doc(&pod, &members)))
    }

    async fn close(self) -> anyhow::Result<()> {
        if let Some(s) = self.storage {
            s.close().await?;
        }
        if let Some(n) = self.net {
            n.close().await?;
        }
        Ok(())
    }
}

pub async fn run(engine: &EngineConfig, args: &InspectArgs) -> anyhow::Result<()> {
    check(args)?;
    let mut names = args.names.clone();
    // -l works with --type=all: it means containers.
    let kind = if args.latest && args.kind == "all" {
        "container"
    } else {
        args.kind.as_str()
    };
    if args.latest {
        let db = crate::state::open_state(engine)?;
        if kind == "pod" {
            match crate::pod::store::list(&db)?.pop() {
                Some(p) => names.push(p.id),
                None => anyhow::bail!("no pods to inspect"),
            }
        } else {
            names.push(store::latest(&db)?.0.id);
        }
    }
    let mut look = Lookups {
        engine,
        storage: None,
        net: None,
        size: args.size,
    };
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    for n in &names {
        let found = match kind {
            "container" => look
                .container(n)
                .await?
                .ok_or_else(|| format!("no such container {n:?}")),
            "image" => look.image(n).await?,
            "volume" => look.volume(n)?.ok_or_else(|| format!("no such volume {n}")),
            "network" => look.network(n).await?,
            "pod" => look.pod(n).await?.ok_or_else(|| format!("no such pod {n}")),
            _ => {
                let mut doc = look.container(n).await?;
                if doc.is_none() {
                    doc = look.image(n).await?.ok();
                }
                if doc.is_none() {
                    doc = look.volume(n)?;
                }
                if doc.is_none() {
                    doc = look.network(n).await?.ok();
                }
                if doc.is_none() {
                    doc = look.pod(n).await?;
                }
                doc.ok_or_else(|| format!("no such object: {n:?}"))
            }
        };
        match found {
            Ok(d) => docs.push(d),
            Err(e) => errors.push(e),
        }
    }
    look.close().await?;
    crate::format::print_inspect(&docs, args.format.as_deref())?;
    // As Podman: every error after the first on stderr, the first returned.
    if let Some((first, rest)) = errors.split_first() {
        for e in rest {
            eprintln!("{e}");
        }
        return Err(ExitError {
            code: crate::error::EXIT_ENGINE,
            source: anyhow::anyhow!("{first}"),
        }
        .into());
    }
    Ok(())
}
