//! `podman version`: the client and every helper's version, asked over RPC.

use proto::common::v1::InfoRequest;
use serde_json::json;

use crate::engine_config::EngineConfig;
use crate::helper_procs;

pub use crate::compat::PODMAN_VERSION;

/// Podman's `Client` block, from what the build recorded. `Version` and
/// `APIVersion` are Podman's (the contract we implement); `BuildOrigin`
/// (Podman's free-form "who built this" field) names our own build, and
/// `GoVersion` the toolchain that built it (rustc: there is no Go).
pub fn client_block() -> serde_json::Value {
    let built: i64 = env!("PODMAN_BUILT").parse().unwrap_or(0);
    json!({
        "APIVersion": PODMAN_VERSION,
        "Version": PODMAN_VERSION,
        "GoVersion": env!("PODMAN_RUSTC_VERSION"),
        "GitCommit": env!("PODMAN_GIT_COMMIT"),
        "BuiltTime": crate::format::time::format_time(built),
        "Built": built,
        "BuildOrigin": format!("podman-rs {}", env!("CARGO_PKG_VERSION")),
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
    // A template's output ends its line, as Podman's report writer does.
    if out.ends_with('\n') {
        print!("{out}");
    } else {
        println!("{out}");
    }
    Ok(())
}

/// Podman's version template (local: the Client block alone), then the
/// helpers we asked.
fn human(doc: &serde_json::Value) -> String {
    let c = &doc["Client"];
    let s = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();
    let mut rows = vec![
        ("Client:", "Podman Engine".to_string()),
        ("Version:", s(&c["Version"])),
        ("API Version:", s(&c["APIVersion"])),
        ("Go Version:", s(&c["GoVersion"])),
    ];
    if !s(&c["GitCommit"]).is_empty() {
        rows.push(("Git Commit:", s(&c["GitCommit"])));
    }
    rows.push(("Built:", s(&c["BuiltTime"])));
    rows.push(("Build Origin:", s(&c["BuildOrigin"])));
    rows.push(("OS/Arch:", s(&c["OsArch"])));
    let mut out = String::new();
    for (k, v) in rows {
        out.push_str(&format!("{k:<14}{v}\n"));
    }
    out.push_str("\nHelpers:\n");
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
