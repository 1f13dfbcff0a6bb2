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
    /// Do not truncate output
    #[arg(long)]
    pub no_trunc: bool,
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
