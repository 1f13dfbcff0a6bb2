//! `podman images` / `podman image ls`.

use std::collections::HashMap;

use clap::Args;
use proto::storage::v1::{Image, ListImagesRequest};

use crate::engine_config::EngineConfig;
use crate::format::table;
use crate::helper_procs;
use crate::image::view;

#[derive(Debug, Clone, Args)]
pub struct ImagesArgs {
    /// Show all images (by default intermediate images are hidden)
    #[arg(short, long)]
    pub all: bool,
    /// Show only image IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Do not truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Show digests
    #[arg(long)]
    pub digests: bool,
    /// Do not print column headings
    #[arg(short = 'n', long)]
    pub noheading: bool,
    /// Filter output: dangling=true|false, reference=PATTERN, label=KEY[=VALUE], before=IMAGE, since=IMAGE, id=ID
    #[arg(short, long, value_name = "FILTER")]
    pub filter: Vec<String>,
    /// Pretty-print images using a Go template, or json
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Only images whose name matches this reference pattern
    pub reference: Option<String>,
}

/// Shell-style `*` matching (for reference filters).
fn glob(pattern: &str, s: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == s,
        Some((pre, rest)) => {
            if !s.starts_with(pre) {
                return false;
            }
            let tail = &s[pre.len()..];
            (0..=tail.len())
                .filter(|i| tail.is_char_boundary(*i))
                .any(|i| glob(rest, &tail[i..]))
        }
    }
}

fn reference_matches(pattern: &str, img: &Image) -> bool {
    img.names.iter().any(|n| {
        let no_tag_pattern = !pattern.rsplit('/').next().unwrap_or("").contains(':');
        let candidates: Vec<String> = {
            let repo = n
                .rsplit_once(':')
                .filter(|(_, t)| !t.contains('/'))
                .map(|(r, _)| r.to_string())
                .unwrap_or_else(|| n.clone());
            let short_repo = repo.rsplit('/').next().unwrap_or(&repo).to_string();
            let short_full = n.rsplit('/').next().unwrap_or(n).to_string();
            if no_tag_pattern {
                vec![repo, short_repo]
            } else {
                vec![n.clone(), short_full]
            }
        };
        candidates.iter().any(|c| glob(pattern, c))
    })
}

fn created(img: &Image) -> i64 {
    view::created_unix(img)
}

fn apply_filter(f: &str, images: Vec<Image>, all: &[Image]) -> anyhow::Result<Vec<Image>> {
    let (k, v) = f
        .split_once('=')
        .ok_or_else(|| anyhow::anyhow!("invalid filter {f:?}: expected KEY=VALUE"))?;
    let find = |name: &str| -> anyhow::Result<i64> {
        all.iter()
            .find(|i| {
                i.id.starts_with(name)
                    || i.names.iter().any(|n| {
                        n == name
                            || n.ends_with(&format!("/{name}"))
                            || n.ends_with(&format!("/{name}:latest"))
                    })
            })
            .map(created)
            .ok_or_else(|| anyhow::anyhow!("filter {f:?}: no image {name:?}"))
    };
    Ok(match k {
        "dangling" => {
            let want: bool = v.parse().map_err(|_| anyhow::anyhow!("invalid filter {f:?}: dangling takes true or false"))?;
            images.into_iter().filter(|i| i.names.is_empty() == want).collect()
        }
        "reference" => images.into_iter().filter(|i| reference_matches(v, i)).collect(),
        "id" => images.into_iter().filter(|i| i.id.starts_with(v)).collect(),
        "label" => {
            let (lk, lv) = v.split_once('=').map(|(a, b)| (a, Some(b))).unwrap_or((v, None));
            images
                .into_iter()
                .filter(|i| {
                    let labels = view::config_json(i)["config"]["Labels"].clone();
                    match (&labels[lk], lv) {
                        (serde_json::Value::String(s), Some(want)) => s == want,
                        (serde_json::Value::String(_), None) => true,
                        _ => false,
                    }
                })
                .collect()
        }
        "before" => {
            let t = find(v)?;
            images.into_iter().filter(|i| created(i) < t).collect()
        }
        "since" => {
            let t = find(v)?;
            images.into_iter().filter(|i| created(i) > t).collect()
        }
        _ => anyhow::bail!("invalid filter {f:?}: supported filters are dangling, reference, label, before, since, id"),
    })
}

pub async fn run(cfg: &EngineConfig, args: &ImagesArgs) -> anyhow::Result<()> {
    let mut storage = helper_procs::storage(cfg).await?;
    let req = ListImagesRequest { all: args.all };
    let listed = storage
        .call(
            "ListImages",
            |mut c| async move { c.list_images(req).await },
        )
        .await;
    storage.close().await?;
    let all = listed?.images;
    let mut images = all.clone();
    for f in &args.filter {
        images = apply_filter(f, images, &all)?;
    }
    if let Some(r) = &args.reference {
        images.retain(|i| reference_matches(r, i));
    }
    images.sort_by_key(|i| std::cmp::Reverse(created(i)));
    if args.quiet {
        let mut seen = Vec::new();
        for i in &images {
            let id = if args.no_trunc {
                format!("sha256:{}", i.id)
            } else {
                i.id[..12.min(i.id.len())].to_string()
            };
            if !seen.contains(&id) {
                println!("{id}");
                seen.push(id);
            }
        }
        return Ok(());
    }
    let mut rows: Vec<serde_json::Value> = images.iter().flat_map(|i| view::rows(i, 0)).collect();
    if args.no_trunc {
        for r in &mut rows {
            r["ID"] = serde_json::json!(format!("sha256:{}", r["Id"].as_str().unwrap_or("")));
        }
    }
    let out = match args.format.as_deref() {
        Some("json") => format!(
            "{}\n",
            serde_json::to_string_pretty(&images.iter().map(list_json).collect::<Vec<_>>())?
        ),
        Some(f) => table::render_rows(f, &rows, &headers(), args.noheading)?,
        None => {
            let f = if args.digests {
                "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
            } else {
                "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
            };
            table::render_rows(f, &rows, &headers(), args.noheading)?
        }
    };
    print!("{out}");
    Ok(())
}

fn headers() -> HashMap<&'static str, &'static str> {
    [
        ("ID", "IMAGE ID"),
        ("CreatedSince", "CREATED"),
        ("CreatedAt", "CREATED AT"),
        ("Repository", "REPOSITORY"),
    ]
    .into_iter()
    .collect()
}

/// `podman images --format json`: Podman's ImageSummary shape.
fn list_json(i: &Image) -> serde_json::Value {
    let config = view::config_json(i);
    serde_json::json!({
        "Id": i.id,
        "ParentId": "",
        "RepoTags": i.names,
        "RepoDigests": i.names.iter().filter_map(|n| crate::image::reference::Reference::parse(n).ok()).map(|r| format!("{}@{}", r.repository(), i.digest)).collect::<Vec<_>>(),
        "Size": i.size,
        "SharedSize": 0,
        "VirtualSize": i.size,
        "Labels": config["config"]["Labels"],
        "Containers": 0,
        "Names": i.names,
        "Digest": i.digest,
        "Digests": i.digests,
        "History": i.names,
        "Created": created(i),
        "CreatedAt": config["created"],
        "Dangling": i.names.is_empty(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_patterns() {
        let img = Image {
            names: vec!["127.0.0.1:5000/team/bb:1.0".into()],
            ..Default::default()
        };
        assert!(reference_matches("bb", &img));
        assert!(reference_matches("127.0.0.1:5000/team/bb", &img));
        assert!(reference_matches("bb:1.0", &img));
        assert!(reference_matches("*bb*", &img));
        assert!(!reference_matches("bb:2.0", &img));
        assert!(!reference_matches("b", &img));
    }
}
