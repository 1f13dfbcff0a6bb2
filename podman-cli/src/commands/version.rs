//! `podman version`: the client and every helper's version, asked over RPC.

use proto::common::v1::InfoRequest;
use serde_json::json;

use crate::engine_config::EngineConfig;
use crate::helper_procs;

/// Podman's `Client` block, from what the build recorded.
pub fn client_block() -> serde_json::Value {
    let built: i64 = env!("PODMAN_BUILT").parse().unwrap_or(0);
    json!({
        "APIVersion": env!("CARGO_PKG_VERSION"),
        "Version": env!("CARGO_PKG_VERSION"),
        "RustVersion": env!("PODMAN_RUSTC_VERSION"),
        "GitCommit": env!("PODMAN_GIT_COMMIT"),
        "BuiltTime": crate::format::time::format_time(built),
        "Built": built,
        "OsArch": format!("{}/{}", std::env::consts::OS, crate::host_info::go_arch()),
        "Os": std::env::consts::OS,
    })
}

pub async fn run(cfg: &EngineConfig, format: Option<&str>) -> anyhow::Result<()> {
    let answers = helper_procs::info_all(cfg, InfoRequest::default()).await?;
    let helpers: Vec<serde_json::Value> = answers
        .iter()
        .map(|(a, path)| {
            let id = a.identity().cloned().unwrap_or_default();
            json!({"Name": id.name, "Version": id.version, "APIVersion": id.api_version, "Path": path.display().to_string()})
        })
        .collect();
    let doc = json!({"Client": client_block(), "Helpers": helpers});
    let out = match format {
        Some(f) => crate::format::render(f, &doc)?,
        None => human(&doc),
    };
    print!("{out}");
    Ok(())
}

fn human(doc: &serde_json::Value) -> String {
    let c = &doc["Client"];
    let s = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();
    let mut out = format!(
        "Client:       Podman Engine (Rust)\nVersion:      {}\nAPI Version:  {}\nRust Version: {}\nGit Commit:   {}\nBuilt:        {}\nOS/Arch:      {}\n\nHelpers:\n",
        s(&c["Version"]),
        s(&c["APIVersion"]),
        s(&c["RustVersion"]),
        s(&c["GitCommit"]),
        s(&c["BuiltTime"]),
        s(&c["OsArch"])
    );
    for h in doc["Helpers"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "  {:<15} {:<8} (api {}) {}\n",
            s(&h["Name"]),
            s(&h["Version"]),
            h["APIVersion"],
            s(&h["Path"])
        ));
    }
    out
}
