//! `podman history`.

use clap::Args;

use crate::engine_config::EngineConfig;
use crate::helper_procs;
use crate::image::lookup::find;

#[derive(Debug, Clone, Args)]
pub struct HistoryArgs {
    pub image: String,
    /// Display the numeric IDs only
    #[arg(short, long)]
    pub quiet: bool,
    /// Do not truncate the output
    #[arg(long, alias = "notruncate")]
    pub no_trunc: bool,
    /// Display sizes and dates in human readable format
    #[arg(short = 'H', long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub human: bool,
    /// Format the output using a Go template, or json
    #[arg(long)]
    pub format: Option<String>,
}

pub async fn run(cfg: &EngineConfig, args: &HistoryArgs) -> anyhow::Result<()> {
    let mut s = helper_procs::storage(cfg).await?;
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
    let mut docs = Vec::new();
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
            common::time::parse_rfc3339_secs(h["created"].as_str().unwrap_or("")).unwrap_or(0);
        let id = if i + 1 == n {
            img.id.clone()
        } else {
            "<missing>".to_string()
        };
        let full_by = h["created_by"].as_str().unwrap_or("").to_string();
        let mut by = full_by.clone();
        if !args.no_trunc && by.chars().count() > 45 {
            by = by.chars().take(42).collect::<String>() + "...";
        }
        let created_str = h["created"].as_str().unwrap_or("").to_string();
        let tags: Vec<String> = if i + 1 == n {
            crate::image::view::tagged_names(&img)
        } else {
            Vec::new()
        };
        // Podman's ImageHistory, as `--format json` prints it.
        let mut doc = serde_json::json!({"id": id.clone()});
        if !created_str.is_empty() {
            doc["created"] = serde_json::json!(created_str);
        }
        if !full_by.is_empty() {
            doc["CreatedBy"] = serde_json::json!(full_by);
        }
        doc["size"] = serde_json::json!(size);
        if let Some(c) = h["comment"].as_str().filter(|c| !c.is_empty()) {
            doc["comment"] = serde_json::json!(c);
        }
        if !tags.is_empty() {
            doc["tags"] = serde_json::json!(tags);
        }
        docs.push(doc);
        rows.push(serde_json::json!({
            "ID": if args.no_trunc || id == "<missing>" { id.clone() } else { id[..12].to_string() },
            "Created": if args.human {
                crate::format::human::since(created)
            } else {
                common::time::rfc3339_nanos(created * 1_000_000_000).replace(".000000000Z", "Z")
            },
            "CreatedSince": crate::format::human::since(created),
            "CreatedAt": common::time::rfc3339_nanos(created * 1_000_000_000)
                .replace(".000000000Z", "Z"),
            "CreatedBy": by,
            "Size": if args.human { crate::format::human::size(size) } else { size.to_string() },
            "Comment": h["comment"].as_str().unwrap_or(""),
            "Tags": tags,
        }));
    }
    rows.reverse();
    docs.reverse();
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
        Some("json") => format!("{}\n", serde_json::to_string_pretty(&docs)?),
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
