//! `podman tag`, `untag`, `rmi`, `image exists`, `image inspect`,
//! `image history`, `image prune`.

use clap::Args;
use proto::storage::v1::{RemoveImageRequest, TagImageRequest, UntagImageRequest};

use crate::engine_config::EngineConfig;
use crate::error::ExitError;
use crate::helpers;
use crate::image::lookup::find;
use crate::image::reference::Reference;

#[derive(Debug, Clone, Args)]
pub struct TagArgs {
    /// Image to tag
    pub image: String,
    /// New names
    #[arg(required = true)]
    pub names: Vec<String>,
}

/// A new name as stored: fully qualified, `localhost/` for short names.
fn qualify(name: &str) -> anyhow::Result<String> {
    let r = Reference::parse(name)?;
    let r = if r.is_short() { r.on("localhost") } else { r };
    Ok(r.with_default_tag().to_string())
}

pub async fn tag(cfg: &EngineConfig, args: &TagArgs) -> anyhow::Result<()> {
    let names: Vec<(String, &String)> = args
        .names
        .iter()
        .map(|n| qualify(n).map(|q| (q, n)))
        .collect::<anyhow::Result<_>>()?;
    let mut s = helpers::storage(cfg).await?;
    let result = async {
        let img = find(&mut s, &args.image).await?;
        for (n, given) in names {
            let req = TagImageRequest {
                image: img.id.clone(),
                new_name: n,
            };
            s.call("TagImage", |mut c| async move { c.tag_image(req).await })
                .await?;
            crate::events::image("tag", &img.id, given);
        }
        anyhow::Ok(())
    }
    .await;
    s.close().await?;
    result
}

#[derive(Debug, Clone, Args)]
pub struct UntagArgs {
    pub image: String,
    /// Names to remove (all names when none given)
    pub names: Vec<String>,
}

pub async fn untag(cfg: &EngineConfig, args: &UntagArgs) -> anyhow::Result<()> {
    let mut s = helpers::storage(cfg).await?;
    let result = async {
        let img = find(&mut s, &args.image).await?;
        let names: Vec<String> = if args.names.is_empty() {
            vec![String::new()]
        } else {
            args.names
                .iter()
                .map(|n| qualify(n))
                .collect::<anyhow::Result<_>>()?
        };
        let mut had = img.names.clone();
        for n in names {
            let req = UntagImageRequest {
                image: img.id.clone(),
                name: n,
            };
            let r = s
                .call(
                    "UntagImage",
                    |mut c| async move { c.untag_image(req).await },
                )
                .await?;
            had.iter()
                .filter(|u| !r.names.contains(u))
                .for_each(|u| crate::events::image("untag", &img.id, u));
            had = r.names;
        }
        anyhow::Ok(())
    }
    .await;
    s.close().await?;
    result
}

#[derive(Debug, Clone, Args)]
pub struct RmiArgs {
    /// Images to remove
    pub images: Vec<String>,
    /// Remove all images
    #[arg(short, long)]
    pub all: bool,
    /// Force removal of images in use by containers (removing those containers)
    #[arg(short, long)]
    pub force: bool,
    /// Ignore errors when a specified image is missing
    #[arg(short, long)]
    pub ignore: bool,
}

/// Podman's `rmi` exit codes: 1 when an image did not exist (and nothing
/// worse happened), 2 when an image is in use, 125 otherwise.
pub async fn rmi(cfg: &EngineConfig, args: &RmiArgs) -> anyhow::Result<()> {
    if args.images.is_empty() && !args.all {
        anyhow::bail!("image name or ID must be specified: give one or use --all");
    }
    let mut s = helpers::storage(cfg).await?;
    let mut targets = args.images.clone();
    if args.all {
        let list = s
            .call("ListImages", |mut c| async move {
                c.list_images(proto::storage::v1::ListImagesRequest { all: true })
                    .await
            })
            .await?;
        targets = list.images.into_iter().map(|i| i.id).collect();
    }
    let (mut missing, mut in_use, mut other) = (Vec::new(), Vec::new(), Vec::new());
    for t in &targets {
        let img = match find(&mut s, t).await {
            Ok(i) => i,
            Err(e) if e.is_not_found() => {
                if !args.ignore {
                    missing.push(format!("{t}: image not known"));
                }
                continue;
            }
            Err(e) => {
                other.push(e.to_string());
                continue;
            }
        };
        let users = crate::commands::containers_using_image(cfg, &img.id)?;
        if !users.is_empty() {
            if !args.force {
                in_use.push(format!(
                    "image used by {}: image is in use by a container: consider listing external containers and force-removing image",
                    users.join(", ")
                ));
                continue;
            }
            for id in &users {
                crate::commands::remove_container_for_rmi(cfg, id).await?;
            }
        }
        let req = RemoveImageRequest {
            image: img.id.clone(),
            force: args.force,
        };
        match s
            .call(
                "RemoveImage",
                |mut c| async move { c.remove_image(req).await },
            )
            .await
        {
            Ok(r) => {
                for u in r.untagged {
                    crate::events::image("untag", &img.id, &u);
                    println!("Untagged: {u}");
                }
                if !r.deleted.is_empty() {
                    crate::events::image("remove", &img.id, t);
                    println!("Deleted: {}", r.deleted);
                }
            }
            Err(proto::transport::TransportError::Call {
                code: tonic::Code::FailedPrecondition,
                message,
                ..
            }) => in_use.push(message),
            Err(e) => other.push(e.to_string()),
        }
    }
    s.close().await?;
    let code = if !other.is_empty() {
        125
    } else if !in_use.is_empty() {
        2
    } else if !missing.is_empty() {
        1
    } else {
        return Ok(());
    };
    let all: Vec<String> = other.into_iter().chain(in_use).chain(missing).collect();
    Err(ExitError {
        code,
        source: anyhow::anyhow!("{}", all.join("; ")),
    }
    .into())
}

#[derive(Debug, Clone, Args)]
pub struct ExistsArgs {
    pub image: String,
}

/// Exit 0 when the image exists, 1 when it does not.
pub async fn exists(cfg: &EngineConfig, args: &ExistsArgs) -> anyhow::Result<()> {
    let mut s = helpers::storage(cfg).await?;
    let r = find(&mut s, &args.image).await;
    s.close().await?;
    match r {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Err(ExitError {
            code: 1,
            source: anyhow::anyhow!(""),
        }
        .into()),
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Clone, Args)]
pub struct ImageInspectArgs {
    #[arg(required = true)]
    pub images: Vec<String>,
    /// Format the output using a Go template, or json
    #[arg(short, long)]
    pub format: Option<String>,
}

pub async fn inspect(cfg: &EngineConfig, args: &ImageInspectArgs) -> anyhow::Result<()> {
    let mut s = helpers::storage(cfg).await?;
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    for name in &args.images {
        match find(&mut s, name).await {
            Ok(img) => docs.push(crate::image::view::inspect(&img, &cfg.storage_driver)),
            Err(e) if e.is_not_found() => errors.push(format!("{name}: image not known")),
            Err(e) => errors.push(e.to_string()),
        }
    }
    s.close().await?;
    crate::commands::print_inspect(&docs, args.format.as_deref())?;
    if !errors.is_empty() {
        return Err(ExitError {
            code: 125,
            source: anyhow::anyhow!("{}", errors.join("; ")),
        }
        .into());
    }
    Ok(())
}

#[derive(Debug, Clone, Args)]
pub struct HistoryArgs {
    pub image: String,
    /// Display the numeric IDs only
    #[arg(short, long)]
    pub quiet: bool,
    /// Do not truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Format the output using a Go template, or json
    #[arg(long)]
    pub format: Option<String>,
}

pub async fn history(cfg: &EngineConfig, args: &HistoryArgs) -> anyhow::Result<()> {
    let mut s = helpers::storage(cfg).await?;
    let img = find(&mut s, &args.image).await;
    s.close().await?;
    let img = img?;
    let config = crate::image::view::config_json(&img);
    let manifest: serde_json::Value = serde_json::from_slice(&img.manifest).unwrap_or_default();
    let mut layer_sizes = manifest["layers"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|l| l["size"].as_u64().unwrap_or(0));
    let mut rows = Vec::new();
    let history = config["history"].as_array().cloned().unwrap_or_default();
    let n = history.len();
    for (i, h) in history.iter().enumerate() {
        let empty = h["empty_layer"].as_bool().unwrap_or(false);
        let size = if empty {
            0
        } else {
            layer_sizes.next().unwrap_or(0)
        };
        let created =
            crate::format::human::parse_rfc3339(h["created"].as_str().unwrap_or("")).unwrap_or(0);
        let id = if i + 1 == n {
            img.id.clone()
        } else {
            "<missing>".to_string()
        };
        let mut by = h["created_by"].as_str().unwrap_or("").to_string();
        if !args.no_trunc && by.chars().count() > 45 {
            by = by.chars().take(42).collect::<String>() + "...";
        }
        rows.push(serde_json::json!({
            "ID": if args.no_trunc || id == "<missing>" { id.clone() } else { id[..12].to_string() },
            "Created": crate::format::human::since(created),
            "CreatedBy": by,
            "Size": crate::format::human::size(size),
            "Comment": h["comment"].as_str().unwrap_or(""),
        }));
    }
    rows.reverse();
    if args.quiet {
        for r in rows {
            println!("{}", r["ID"].as_str().unwrap_or(""));
        }
        return Ok(());
    }
    let headers = [
        ("ID", "ID"),
        ("Created", "CREATED"),
        ("CreatedBy", "CREATED BY"),
        ("Size", "SIZE"),
        ("Comment", "COMMENT"),
    ]
    .into_iter()
    .collect();
    let out = match args.format.as_deref() {
        Some("json") => format!("{}\n", serde_json::to_string_pretty(&rows)?),
        Some(f) => crate::format::table::render_rows(f, &rows, &headers, false)?,
        None => crate::format::table::render_rows(
            "table {{.ID}}\t{{.Created}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}",
            &rows,
            &headers,
            false,
        )?,
    };
    print!("{out}");
    Ok(())
}

#[derive(Debug, Clone, Args)]
pub struct PruneArgs {
    /// Remove all unused images, not just dangling ones
    #[arg(short, long)]
    pub all: bool,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
}

pub async fn prune(cfg: &EngineConfig, args: &PruneArgs) -> anyhow::Result<()> {
    let mut s = helpers::storage(cfg).await?;
    let result = async {
        let list = s
            .call("ListImages", |mut c| async move {
                c.list_images(proto::storage::v1::ListImagesRequest { all: true })
                    .await
            })
            .await?;
        for img in list.images {
            if !args.all && !img.names.is_empty() {
                continue;
            }
            if !crate::commands::containers_using_image(cfg, &img.id)?.is_empty() {
                continue;
            }
            let req = RemoveImageRequest {
                image: img.id.clone(),
                force: false,
            };
            let r = s
                .call(
                    "RemoveImage",
                    |mut c| async move { c.remove_image(req).await },
                )
                .await?;
            r.untagged
                .iter()
                .for_each(|u| crate::events::image("untag", &img.id, u));
            crate::events::image("remove", &img.id, &img.id);
            println!("{}", img.id);
        }
        anyhow::Ok(())
    }
    .await;
    s.close().await?;
    result
}
