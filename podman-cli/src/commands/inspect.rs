//! `podman inspect` and `podman container inspect`: Podman's JSON shape.

use clap::Args;

use crate::container::inspect_doc::container_json;
use crate::container::store;
use crate::engine_config::EngineConfig;
use crate::error::ExitError;

#[derive(Debug, Clone, Args)]
pub struct InspectArgs {
    pub names: Vec<String>,
    /// Format the output using a Go template, or json
    #[arg(short, long)]
    pub format: Option<String>,
    /// Inspect the latest container
    #[arg(short, long)]
    pub latest: bool,
    /// Only this kind of object: container, image, volume, all
    #[arg(short = 't', long = "type", default_value = "all")]
    pub kind: String,
}

pub async fn run(engine: &EngineConfig, args: &InspectArgs) -> anyhow::Result<()> {
    let db = crate::state::open_state(engine)?;
    let mut names = args.names.clone();
    if args.latest {
        names.push(store::latest(&db)?.0.id);
    }
    if names.is_empty() {
        anyhow::bail!("inspect needs at least one name or ID, or --latest");
    }
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    let mut image_names = Vec::new();
    // Containers' layer paths come from storage: one helper for all.
    let mut storage = None;
    for n in &names {
        if args.kind == "volume" {
            match crate::volume::store::get(&db, n) {
                Ok(v) => docs.push(v.inspect_json(&engine.volume_path)),
                Err(_) => errors.push(format!("no such volume {n}")),
            }
            continue;
        }
        if args.kind != "image" {
            match store::resolve(&db, n) {
                Ok(rec) => {
                    let (c, s) = crate::lifecycle::cleanup::refresh(engine, rec).await?;
                    if storage.is_none() {
                        storage = Some(crate::helper_procs::storage(engine).await?);
                    }
                    let layer = match storage.as_mut() {
                        Some(h) => {
                            let req = proto::storage::v1::GetContainerRequest { id: c.id.clone() };
                            h.call("GetContainer", |mut cl| async move {
                                cl.get_container(req).await
                            })
                            .await
                            .ok()
                        }
                        None => None,
                    };
                    let mut doc = container_json(
                        &c,
                        &s,
                        &engine.storage_driver,
                        layer.as_ref(),
                        engine
                            .containers
                            .network
                            .default_network
                            .as_deref()
                            .unwrap_or("podman"),
                    );
                    crate::lifecycle::health::inspect_fields(engine, &c, &mut doc);
                    crate::lifecycle::cgroups::inspect_fields(engine, &c, &mut doc["HostConfig"]);
                    doc["Mounts"] = crate::volume::attach::inspect_mounts(engine, &c);
                    docs.push(doc);
                    continue;
                }
                Err(store::ContainerStoreError::NotFound(_)) => {}
                Err(e) => {
                    errors.push(e.to_string());
                    continue;
                }
            }
        }
        if args.kind == "container" {
            errors.push(format!("no such container {n:?}"));
        } else if let Some(v) = (args.kind == "all")
            .then(|| crate::volume::store::get(&db, n).ok())
            .flatten()
        {
            docs.push(v.inspect_json(&engine.volume_path));
        } else {
            image_names.push(n.clone());
        }
    }
    if let Some(h) = storage {
        h.close().await?;
    }
    if !image_names.is_empty() {
        let mut s = crate::helper_procs::storage(engine).await?;
        for n in image_names {
            match crate::image::lookup::find(&mut s, &n).await {
                Ok(img) => docs.push(crate::image::view::inspect(
                    &img,
                    &engine.storage_driver,
                    &engine.graph_root,
                )),
                Err(e) if e.is_not_found() => errors.push(format!("no such object: \"{n}\"")),
                Err(e) => errors.push(e.to_string()),
            }
        }
        s.close().await?;
    }
    crate::format::print_inspect(&docs, args.format.as_deref())?;
    if !errors.is_empty() {
        return Err(ExitError {
            code: crate::error::EXIT_ENGINE,
            source: anyhow::anyhow!("{}", errors.join("; ")),
        }
        .into());
    }
    Ok(())
}
