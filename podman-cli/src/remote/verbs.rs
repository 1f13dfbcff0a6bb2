//! Small remote verbs over the existing routes: `wait`, `restart`,
//! `pause`/`unpause`, `tag`, `rmi`, `image inspect`. Each prints what the
//! local command prints.

use http::{Method, StatusCode};

use super::client::{self, ClientError};
use super::containers::enc;
use super::Target;

fn no_latest(latest: bool) -> anyhow::Result<()> {
    if latest {
        anyhow::bail!(
            "--latest is not available with the remote client of podman-rs: name the containers"
        );
    }
    Ok(())
}

/// Names given, or with `all` the IDs of the containers `filter` selects.
async fn targets(
    t: &Target,
    given: &[String],
    all: bool,
    filter: &str,
) -> anyhow::Result<Vec<String>> {
    if !all {
        if given.is_empty() {
            anyhow::bail!("you must provide at least one name or id");
        }
        return Ok(given.to_vec());
    }
    let q = format!(
        "/containers/json?all=true&filters={}",
        enc(&format!("{{\"status\":[\"{filter}\"]}}"))
    );
    let v = client::get_json(t, &q).await?;
    Ok(v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["Id"].as_str().map(str::to_string))
        .collect())
}

/// POST `verb` on each container, printing each done; the last error
/// decides the exit, earlier ones are printed.
async fn each_post(t: &Target, names: Vec<String>, verb: &str, q: &str) -> anyhow::Result<()> {
    let mut last: Option<ClientError> = None;
    for n in names {
        let path = format!("/containers/{}/{verb}{q}", enc(&n));
        match client::request(t, Method::POST, &path, None).await {
            Ok(_) => println!("{n}"),
            Err(e) => {
                if let Some(prev) = last.replace(e) {
                    eprintln!("Error: {prev}");
                }
            }
        }
    }
    match last {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

pub async fn wait(t: &Target, a: &crate::commands::wait::WaitArgs) -> anyhow::Result<()> {
    no_latest(a.latest)?;
    if a.condition.len() > 1 || a.exit_first_match {
        anyhow::bail!("one --condition (and no --exit-first-match) is what the remote client of podman-rs sends: wait once per condition");
    }
    let cond = a.condition.first().map_or("stopped", String::as_str);
    let mut last = None;
    for n in &a.containers {
        let path = format!("/containers/{}/wait?condition={}", enc(n), enc(cond));
        let r = match client::request(t, Method::POST, &path, None).await {
            Ok(r) => r.json().await,
            Err(e) => Err(e),
        };
        match r {
            Ok(v) => match v.as_i64() {
                Some(code) => println!("{code}"),
                None => last = Some(anyhow::anyhow!("{n}: {}", v["Error"]["Message"])),
            },
            Err(ClientError::Api { status, .. }) if a.ignore && status == StatusCode::NOT_FOUND => {
                println!("-1")
            }
            Err(e) => {
                if let Some(prev) = last.replace(e.into()) {
                    eprintln!("Error: {prev}");
                }
            }
        }
    }
    last.map_or(Ok(()), Err)
}

pub async fn restart(t: &Target, a: &crate::commands::restart::RestartArgs) -> anyhow::Result<()> {
    no_latest(a.latest)?;
    if !a.cidfile.is_empty() || !a.filter.is_empty() {
        anyhow::bail!("restart --cidfile/--filter are not available with the remote client of podman-rs yet: name the containers");
    }
    let names = targets(t, &a.containers, a.all || a.running, "running").await?;
    let names = if a.all && !a.running {
        targets(t, &[], true, "exited")
            .await?
            .into_iter()
            .chain(names)
            .collect()
    } else {
        names
    };
    let q = a.time.map(|s| format!("?t={s}")).unwrap_or_default();
    each_post(t, names, "restart", &q).await
}

pub async fn pause(
    t: &Target,
    a: &crate::commands::targets::NamesArgs,
    pause: bool,
) -> anyhow::Result<()> {
    no_latest(a.latest)?;
    let state = if pause { "running" } else { "paused" };
    let names = targets(t, &a.containers, a.all, state).await?;
    each_post(t, names, if pause { "pause" } else { "unpause" }, "").await
}

pub async fn tag(t: &Target, a: &crate::commands::tag::TagArgs) -> anyhow::Result<()> {
    for name in &a.names {
        let full = crate::commands::tag::qualify(name)?;
        let (repo, tag) = match full.rsplit_once(':') {
            Some((r, tg)) if !tg.contains('/') => (r.to_string(), tg.to_string()),
            _ => (full.clone(), "latest".to_string()),
        };
        let path = format!(
            "/images/{}/tag?repo={}&tag={}",
            enc(&a.image),
            enc(&repo),
            enc(&tag)
        );
        client::request(t, Method::POST, &path, None).await?;
    }
    Ok(())
}

/// `rmi`: the service's report, printed as the local one (Untagged:,
/// Deleted:); Podman's exit codes (1 missing, 2 in use).
pub async fn rmi(t: &Target, a: &crate::commands::rmi::RmiArgs) -> anyhow::Result<()> {
    let names: Vec<String> = if a.all {
        let v = client::get_json(t, "/images/json?all=true").await?;
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| i["Id"].as_str().map(str::to_string))
            .collect()
    } else {
        a.images.clone()
    };
    let mut code = 0u8;
    let mut errors = Vec::new();
    for n in &names {
        let path = format!("/images/{}?force={}", enc(n), a.force);
        match client::request(t, Method::DELETE, &path, None).await {
            Ok(r) => {
                let v = r.json().await?;
                for u in v["Untagged"].as_array().into_iter().flatten() {
                    println!("Untagged: {}", u.as_str().unwrap_or_default());
                }
                for d in v["Deleted"].as_array().into_iter().flatten() {
                    println!("Deleted: {}", d.as_str().unwrap_or_default());
                }
            }
            Err(ClientError::Api { status, .. }) if status == StatusCode::NOT_FOUND && a.ignore => {
            }
            Err(ClientError::Api { status, message }) => {
                code = code.max(match status {
                    StatusCode::NOT_FOUND => 1,
                    StatusCode::CONFLICT => 2,
                    _ => crate::error::EXIT_ENGINE,
                });
                errors.push(message);
            }
            Err(e) => return Err(e.into()),
        }
    }
    if errors.is_empty() {
        return Ok(());
    }
    let last = errors.pop().unwrap_or_default();
    for e in errors {
        eprintln!("Error: {e}");
    }
    Err(crate::error::ExitError {
        code,
        source: anyhow::anyhow!("{last}"),
    }
    .into())
}

pub async fn image_inspect(
    t: &Target,
    a: &crate::commands::image_inspect::ImageInspectArgs,
) -> anyhow::Result<()> {
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    for n in &a.images {
        match client::get_json(t, &format!("/images/{}/json", enc(n))).await {
            Ok(d) => docs.push(d),
            Err(ClientError::Api { status, .. }) if status == StatusCode::NOT_FOUND => {
                errors.push(format!("{n}: image not known"))
            }
            Err(e) => return Err(e.into()),
        }
    }
    crate::format::print_inspect(&docs, a.format.as_deref())?;
    if !errors.is_empty() {
        anyhow::bail!("{}", errors.join("; "));
    }
    Ok(())
}

/// `container exists`: exit 0 or 1, nothing printed.
pub async fn container_exists(
    t: &Target,
    a: &crate::commands::container_exists::ExistsArgs,
) -> anyhow::Result<()> {
    if a.external {
        anyhow::bail!("--external is not available with the remote client of podman-rs: run it where the containers are");
    }
    let path = format!("/containers/{}/exists", enc(&a.container));
    match client::request(t, Method::GET, &path, None).await {
        Ok(_) => Ok(()),
        Err(ClientError::Api { status, .. }) if status == StatusCode::NOT_FOUND => {
            Err(crate::error::ExitError {
                code: crate::error::EXIT_NO_SUCH_OBJECT,
                source: anyhow::anyhow!(""),
            }
            .into())
        }
        Err(e) => Err(e.into()),
    }
}
