//! `pod` verbs over libpod's `/pods` routes: `ps` printed by the local
//! report code, `exists`, and start/stop/restart/kill/pause/unpause/rm by
//! name, each printing what the local command prints.

use http::{Method, StatusCode};

use super::client::{self, ClientError};
use super::containers::enc;
use super::Target;
use crate::cli::PodCommand;
use crate::commands::pod::PodsArgs;
use crate::error::ExitError;

pub async fn run(t: &Target, c: &PodCommand) -> anyhow::Result<()> {
    match c {
        PodCommand::Ps(a) => {
            let v = client::get_json(t, "/pods/json").await?;
            let list = v.as_array().cloned().unwrap_or_default();
            crate::commands::pod_ps::print(a, list)
        }
        PodCommand::Exists(a) => {
            let path = format!("/pods/{}/exists", enc(&a.pod));
            match client::request(t, Method::GET, &path, None).await {
                Ok(_) => Ok(()),
                Err(ClientError::Api { status, .. }) if status == StatusCode::NOT_FOUND => {
                    Err(ExitError {
                        code: crate::error::EXIT_NO_SUCH_OBJECT,
                        source: anyhow::anyhow!(""),
                    }
                    .into())
                }
                Err(e) => Err(e.into()),
            }
        }
        PodCommand::Start(a) => each(t, names(t, a).await?, "start", String::new(), false, false).await,
        PodCommand::Restart(a) => {
            each(t, names(t, a).await?, "restart", String::new(), false, false).await
        }
        PodCommand::Pause(a) => each(t, names(t, a).await?, "pause", String::new(), false, false).await,
        PodCommand::Unpause(a) => {
            each(t, names(t, a).await?, "unpause", String::new(), false, false).await
        }
        PodCommand::Stop(a) => {
            let q = match a.time.and_then(|t| u32::try_from(t).ok()) {
                Some(n) => format!("?t={n}"),
                None => String::new(),
            };
            each(t, names(t, &a.pods).await?, "stop", q, a.ignore, false).await
        }
        PodCommand::Kill(a) => {
            let sig = crate::container::parse::signal(&a.signal)?;
            each(t, names(t, &a.pods).await?, "kill", format!("?signal={sig}"), false, false).await
        }
        PodCommand::Rm(a) => {
            let mut q = format!("?force={}", a.force);
            if let Some(n) = a.time.and_then(|t| u32::try_from(t).ok()) {
                q.push_str(&format!("&timeout={n}"));
            }
            // As Podman: --force skips missing pods too.
            each(t, names(t, &a.pods).await?, "", q, a.ignore || a.force, true).await
        }
        _ => anyhow::bail!(
            "{} is not available with the remote client of podman-rs yet: run it where the pods are, or use the REST API",
            crate::format::report::command_name()
        ),
    }
}

/// The pods named, or with `--all` every pod of the service; `--latest`
/// and `--pod-id-file` are refused here.
async fn names(t: &Target, a: &PodsArgs) -> anyhow::Result<Vec<String>> {
    if a.latest || !a.pod_id_file.is_empty() {
        anyhow::bail!("--latest and --pod-id-file are not available with the remote client of podman-rs: name the pods");
    }
    if a.all {
        let v = client::get_json(t, "/pods/json").await?;
        return Ok(v
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["Id"].as_str().map(str::to_string))
            .collect());
    }
    if a.pods.is_empty() {
        anyhow::bail!("you must provide at least one name or id");
    }
    Ok(a.pods.clone())
}

/// `verb` on each pod (DELETE when empty), printing its ID; errors are
/// printed as they come, the exit code from the last (1 for a missing pod
/// under `missing_is_1`, as the local `pod rm`).
async fn each(
    t: &Target,
    names: Vec<String>,
    verb: &str,
    q: String,
    ignore: bool,
    missing_is_1: bool,
) -> anyhow::Result<()> {
    let mut failed = None;
    for n in names {
        let (method, path) = if verb.is_empty() {
            (Method::DELETE, format!("/pods/{}{q}", enc(&n)))
        } else {
            (Method::POST, format!("/pods/{}/{verb}{q}", enc(&n)))
        };
        let r = match client::request(t, method, &path, None).await {
            Ok(r) => r.json().await,
            Err(e) => Err(e),
        };
        match r {
            Ok(v) => println!("{}", v["Id"].as_str().unwrap_or(&n)),
            Err(ClientError::Api { status, .. }) if status == StatusCode::NOT_FOUND && ignore => {}
            Err(e) => {
                let missing = matches!(&e, ClientError::Api { status, .. } if *status == StatusCode::NOT_FOUND);
                failed = Some(if missing && missing_is_1 {
                    crate::error::EXIT_NO_SUCH_OBJECT
                } else {
                    125
                });
                eprintln!("Error: {e}");
            }
        }
    }
    match failed {
        Some(code) => Err(ExitError {
            code,
            source: anyhow::anyhow!(""),
        }
        .into()),
        None => Ok(()),
    }
}
