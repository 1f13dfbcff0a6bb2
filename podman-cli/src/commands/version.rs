//! `podman version`: the client and every helper's version, asked over RPC.

use proto::common::v1::InfoRequest;
use serde_json::json;

use crate::cli::FormatArgs;
use crate::engine_config::EngineConfig;
use crate::helpers;

/// Podman's `Client` block, from what the build recorded.
pub fn client_block() -> serde_json::Value {
    let built: i64 = env!("PODMAN_BUILT").parse().unwrap_or(0);
    json!({
        "APIVersion": env!("CARGO_PKG_VERSION"),
        "Version": env!("CARGO_PKG_VERSION"),
        "RustVersion": env!("PODMAN_RUSTC_VERSION"),
        "GitCommit": env!("PODMAN_GIT_COMMIT"),
        "BuiltTime": format_time(built),
        "Built": built,
        "OsArch": format!("{}/{}", std::env::consts::OS, crate::host_info::go_arch()),
        "Os": std::env::consts::OS,
    })
}

pub fn format_time(secs: i64) -> String {
    // "Fri Nov 27 20:24:22 2026", as Go's time.ANSIC in UTC.
    let (y, mo, d, h, m, s) = common::time::utc(secs);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    format!(
        "{} {} {d:>2} {h:02}:{m:02}:{s:02} {y}",
        DAYS[secs.div_euclid(86400).rem_euclid(7) as usize],
        MONTHS[(mo - 1) as usize]
    )
}

pub async fn run(cfg: &EngineConfig, args: &FormatArgs) -> anyhow::Result<()> {
    let answers = helpers::info_all(cfg, InfoRequest::default()).await?;
    let helpers: Vec<serde_json::Value> = answers
        .iter()
        .map(|(a, path)| {
            let id = a.identity().cloned().unwrap_or_default();
            json!({"Name": id.name, "Version": id.version, "APIVersion": id.api_version, "Path": path.display().to_string()})
        })
        .collect();
    let doc = json!({"Client": client_block(), "Helpers": helpers});
    let out = match &args.format {
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

#[cfg(test)]
mod tests {
    #[test]
    fn times_format_like_go_ansic() {
        assert_eq!(super::format_time(0), "Thu Jan  1 00:00:00 1970");
        assert_eq!(
            super::format_time(1_795_811_062),
            "Fri Nov 27 20:24:22 2026"
        );
    }
}
