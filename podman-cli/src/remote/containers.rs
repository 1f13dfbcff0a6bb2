//! Container commands over the libpod API: what `ps`, `start`, `stop`,
//! `kill`, `rm`, `logs`, `inspect` and `version` send and how they print
//! the answers (as the local commands print theirs).

use http::{Method, StatusCode};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::{json, Value};

use super::client::{self, ClientError};
use super::Target;
use crate::commands::ps::{Entry, PsArgs};

pub(super) fn enc(s: &str) -> String {
    utf8_percent_encode(s, NON_ALPHANUMERIC).to_string()
}

/// Filters as the API takes them: `{"name": ["a", "b"], ...}`.
fn filters_query(filters: &[String]) -> String {
    let mut m: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for f in filters {
        let (k, v) = f.split_once('=').unwrap_or((f.as_str(), ""));
        m.entry(k).or_default().push(v);
    }
    enc(&serde_json::to_string(&m).unwrap_or_default())
}

pub async fn list(t: &Target, a: &PsArgs) -> anyhow::Result<Vec<Entry>> {
    let mut q = format!(
        "/containers/json?all={}&size={}&namespace={}&sync={}",
        a.all || a.latest || a.last.is_some(),
        a.size,
        a.ns,
        a.sync
    );
    if !a.filter.is_empty() {
        q.push_str(&format!("&filters={}", filters_query(&a.filter)));
    }
    if a.latest {
        q.push_str("&last=1");
    } else if let Some(n) = a.last.filter(|n| *n >= 0) {
        q.push_str(&format!("&last={n}"));
    }
    let v = client::get_json(t, &q).await?;
    let mut entries: Vec<Entry> = serde_json::from_value::<Vec<Entry>>(v)
        .map_err(|e| anyhow::anyhow!("the service's container list is not understood: {e}"))?
        .into_iter()
        .map(Entry::with_port_specs)
        .collect();
    if !a.external {
        entries.retain(|e| !e.state.is_empty());
    }
    if let Some(by) = &a.sort {
        crate::commands::ps::sort_entries(by, &mut entries);
    }
    Ok(entries)
}

/// The names to act on: those given, or with `--all` every container the
/// service lists.
async fn names_or_all(t: &Target, given: &[String], all: bool) -> anyhow::Result<Vec<String>> {
    if !all {
        if given.is_empty() {
            anyhow::bail!("you must provide at least one name or id");
        }
        return Ok(given.to_vec());
    }
    let v = client::get_json(t, "/containers/json?all=true").await?;
    Ok(v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["Id"].as_str().map(str::to_string))
        .collect())
}

/// Run `call` for each name, printing each as done; errors are printed
/// and the last one decides the exit, as Podman's loops do.
async fn each<F, Fut>(names: Vec<String>, call: F) -> anyhow::Result<()>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<Option<String>, ClientError>>,
{
    let mut last: Option<ClientError> = None;
    for n in names {
        match call(n.clone()).await {
            Ok(Some(shown)) => println!("{shown}"),
            Ok(None) => {}
            Err(e) => {
                if let Some(prev) = last.replace(e) {
                    eprintln!("Error: {prev}");
                }
            }
        }
    }
    match last {
        Some(e) => Err(anyhow::Error::new(e)),
        None => Ok(()),
    }
}

/// A verb's answer for `name`: shown when done; with `--ignore` a missing
/// container is skipped silently.
fn shown_unless_ignored(
    r: Result<client::Response, ClientError>,
    name: String,
    ignore: bool,
) -> Result<Option<String>, ClientError> {
    match r {
        Ok(_) => Ok(Some(name)),
        Err(ClientError::Api { status, .. }) if ignore && status == StatusCode::NOT_FOUND => {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

pub async fn start(t: &Target, a: &crate::commands::start::StartArgs) -> anyhow::Result<()> {
    if a.attach || a.interactive {
        anyhow::bail!("start --attach/--interactive is not available with the remote client of podman-rs yet: start it detached and use `logs -f`");
    }
    let names = names_or_all(t, &a.containers, a.all).await?;
    each(names, |n| async move {
        // 304 (already running) is no error for start.
        client::request(
            t,
            Method::POST,
            &format!("/containers/{}/start", enc(&n)),
            None,
        )
        .await?;
        Ok(Some(n))
    })
    .await
}

pub async fn stop(t: &Target, a: &crate::commands::stop::StopArgs) -> anyhow::Result<()> {
    if !a.cidfile.is_empty() || !a.filter.is_empty() || a.latest {
        anyhow::bail!("stop --cidfile/--filter/--latest are not available with the remote client of podman-rs yet: name the containers");
    }
    let names = names_or_all(t, &a.containers, a.all).await?;
    let timeout = a.time.map(|s| format!("?timeout={s}")).unwrap_or_default();
    let ignore = a.ignore;
    each(names, |n| {
        let timeout = timeout.clone();
        async move {
            let path = format!("/containers/{}/stop{timeout}", enc(&n));
            shown_unless_ignored(
                client::request(t, Method::POST, &path, None).await,
                n,
                ignore,
            )
        }
    })
    .await
}

pub async fn kill(t: &Target, a: &crate::commands::kill::KillArgs) -> anyhow::Result<()> {
    if !a.cidfile.is_empty() || !a.filter.is_empty() || a.latest {
        anyhow::bail!("kill --cidfile/--filter/--latest are not available with the remote client of podman-rs yet: name the containers");
    }
    let names = names_or_all(t, &a.containers, a.all).await?;
    let signal = enc(&a.signal);
    each(names, |n| {
        let signal = signal.clone();
        async move {
            let path = format!("/containers/{}/kill?signal={signal}", enc(&n));
            client::request(t, Method::POST, &path, None).await?;
            Ok(Some(n))
        }
    })
    .await
}

pub async fn rm(t: &Target, a: &crate::commands::rm::RmArgs) -> anyhow::Result<()> {
    if !a.cidfile.is_empty() || a.latest || a.depend {
        anyhow::bail!("rm --cidfile/--latest/--depend are not available with the remote client of podman-rs yet: name the containers");
    }
    let names = names_or_all(t, &a.containers, a.all).await?;
    let mut q = format!("?force={}&v={}", a.force, a.volumes);
    if let Some(s) = a.time {
        q.push_str(&format!("&timeout={s}"));
    }
    let ignore = a.ignore;
    each(names, |n| {
        let q = q.clone();
        async move {
            let path = format!("/containers/{}{q}", enc(&n));
            shown_unless_ignored(
                client::request(t, Method::DELETE, &path, None).await,
                n,
                ignore,
            )
        }
    })
    .await
}

pub async fn inspect(t: &Target, a: &crate::commands::inspect::InspectArgs) -> anyhow::Result<()> {
    if a.latest {
        anyhow::bail!("inspect --latest is not available with the remote client of podman-rs yet: name the containers");
    }
    let mut docs = Vec::new();
    let mut missing = None;
    for n in &a.names {
        let path = format!("/containers/{}/json?size={}", enc(n), a.size);
        match client::get_json(t, &path).await {
            Ok(d) => docs.push(d),
            Err(ClientError::Api { status, .. }) if status == StatusCode::NOT_FOUND => {
                missing = Some(format!("no such container {n}"));
            }
            Err(e) => return Err(e.into()),
        }
    }
    crate::format::print_inspect(&docs, a.format.as_deref())?;
    match missing {
        Some(m) => anyhow::bail!(m),
        None => Ok(()),
    }
}

/// Logs as the service frames them (stream 1 stdout, 2 stderr), onto our
/// own stdout and stderr as they arrive.
pub async fn logs(t: &Target, a: &crate::commands::logs::LogsArgs) -> anyhow::Result<()> {
    if a.containers.len() != 1 || a.latest || a.names || a.color || a.until.is_some() {
        anyhow::bail!("logs of one named container (with --follow, --since, --tail, --timestamps) is what the remote client of podman-rs has yet");
    }
    let mut q = format!(
        "/containers/{}/logs?stdout=true&stderr=true&follow={}&timestamps={}",
        enc(&a.containers[0]),
        a.follow,
        a.timestamps
    );
    if let Some(s) = &a.since {
        q.push_str(&format!("&since={}", enc(s)));
    }
    if let Some(n) = a.tail.filter(|n| *n >= 0) {
        q.push_str(&format!("&tail={n}"));
    }
    let mut r = client::request(t, Method::GET, &q, None).await?;
    let mut frames = super::run::Frames::default();
    while let Some(chunk) = r.chunk().await {
        frames.feed(&chunk?)?;
    }
    Ok(())
}

/// `version`: our client block and the service's, as Podman's remote
/// client shows both.
pub async fn version(t: &Target, format: Option<&str>) -> anyhow::Result<()> {
    let v = client::get_json(t, "/version").await?;
    let podman = v["Components"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["Name"] == "Podman Engine")
        .map(|c| c["Details"].clone())
        .unwrap_or(Value::Null);
    let s = |x: &Value| x.as_str().unwrap_or_default().to_string();
    let server = json!({
        "APIVersion": podman["APIVersion"].as_str().map(str::to_string).unwrap_or_else(|| s(&v["Version"])),
        "Version": s(&v["Version"]),
        "GoVersion": s(&v["GoVersion"]),
        "GitCommit": s(&v["GitCommit"]),
        "BuiltTime": s(&podman["BuildTime"]),
        "Built": v["Built"].as_i64().unwrap_or(0),
        "OsArch": format!("{}/{}", s(&v["Os"]), s(&v["Arch"])),
        "Os": s(&v["Os"]),
    });
    let doc = json!({"Client": crate::commands::version::client_block(), "Server": server});
    let out = match format {
        Some(f) => crate::format::render(f, &doc)?,
        None => {
            let mut out = String::new();
            for (title, block) in [("Client:", &doc["Client"]), ("Server:", &doc["Server"])] {
                out.push_str(&format!("{title}       Podman Engine\n"));
                for (k, label) in [
                    ("Version", "Version:"),
                    ("APIVersion", "API Version:"),
                    ("GoVersion", "Go Version:"),
                    ("GitCommit", "Git Commit:"),
                    ("BuiltTime", "Built:"),
                    ("OsArch", "OS/Arch:"),
                ] {
                    out.push_str(&format!("{label:<13}{}\n", s(&block[k])));
                }
                out.push('\n');
            }
            out.trim_end().to_string()
        }
    };
    if out.ends_with('\n') {
        print!("{out}");
    } else {
        println!("{out}");
    }
    Ok(())
}
