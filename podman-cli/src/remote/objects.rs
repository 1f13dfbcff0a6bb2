//! `network` and `volume` over the libpod API: ls/inspect print through
//! the local commands' printers from the service's documents (the same
//! documents the local commands build).

use http::{Method, StatusCode};
use serde_json::{json, Value};

use super::client::{self, ClientError};
use super::containers::enc;
use super::Target;
use crate::commands::{network, volume};

/// `k=v` flags as a JSON object.
fn pairs(list: &[String]) -> Value {
    let m: serde_json::Map<String, Value> = list
        .iter()
        .map(|l| {
            let (k, v) = crate::container::parse::label(l);
            (k, Value::String(v))
        })
        .collect();
    Value::Object(m)
}

fn filters_query(filters: &[String]) -> String {
    let mut m: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for f in filters {
        let (k, v) = f.split_once('=').unwrap_or((f.as_str(), ""));
        m.entry(k).or_default().push(v);
    }
    enc(&serde_json::to_string(&m).unwrap_or_default())
}

/// Inspect each name; missing ones are reported after the found ones
/// print, as the local inspects do.
async fn inspect_each(
    t: &Target,
    kind: &str,
    names: &[String],
    format: Option<&str>,
    missing: impl Fn(&str) -> String,
) -> anyhow::Result<()> {
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    for n in names {
        match client::get_json(t, &format!("/{kind}/{}/json", enc(n))).await {
            Ok(d) => docs.push(d),
            Err(ClientError::Api { status, .. }) if status == StatusCode::NOT_FOUND => {
                errors.push(missing(n))
            }
            Err(e) => return Err(e.into()),
        }
    }
    crate::format::print_inspect(&docs, format)?;
    if !errors.is_empty() {
        anyhow::bail!("{}", errors.join("; "));
    }
    Ok(())
}

/// DELETE each name, printing each removed; with `force` a missing one is
/// no error (as the local rm).
async fn remove_each(
    t: &Target,
    kind: &str,
    names: &[String],
    q: &str,
    force: bool,
) -> anyhow::Result<()> {
    let mut errors: Vec<ClientError> = Vec::new();
    for n in names {
        match client::request(t, Method::DELETE, &format!("/{kind}/{}{q}", enc(n)), None).await {
            Ok(_) => println!("{n}"),
            Err(ClientError::Api { status, .. }) if force && status == StatusCode::NOT_FOUND => {}
            Err(e) => errors.push(e),
        }
    }
    let last = errors.pop();
    for e in errors {
        eprintln!("Error: {e}");
    }
    last.map_or(Ok(()), |e| Err(e.into()))
}

pub async fn network_ls(t: &Target, a: &network::LsArgs) -> anyhow::Result<()> {
    let mut q = "/networks/json".to_string();
    if !a.filter.is_empty() {
        q.push_str(&format!("?filters={}", filters_query(&a.filter)));
    }
    let v = client::get_json(t, &q).await?;
    network::print_ls(v.as_array().cloned().unwrap_or_default(), a)
}

pub async fn network_inspect(t: &Target, a: &network::InspectArgs) -> anyhow::Result<()> {
    inspect_each(t, "networks", &a.names, a.format.as_deref(), |n| {
        format!("network {n}: unable to find network with name or ID {n}: network not found")
    })
    .await
}

pub async fn network_create(t: &Target, a: &network::CreateArgs) -> anyhow::Result<()> {
    if !a.ip_range.is_empty() {
        anyhow::bail!("--ip-range is not available with the remote client of podman-rs yet: create the network where the service runs");
    }
    if a.gateway.len() > a.subnet.len() {
        anyhow::bail!("every --gateway needs a --subnet before it");
    }
    let subnets: Vec<Value> = a
        .subnet
        .iter()
        .enumerate()
        .map(
            |(i, s)| json!({"subnet": s, "gateway": a.gateway.get(i).cloned().unwrap_or_default()}),
        )
        .collect();
    let body = json!({
        "name": a.name.clone().unwrap_or_default(),
        "driver": a.driver,
        "internal": a.internal,
        "ipv6_enabled": a.ipv6,
        "dns_enabled": !a.disable_dns,
        "network_interface": a.interface_name.clone().unwrap_or_default(),
        "subnets": subnets,
        "labels": pairs(&a.label),
        "options": pairs(&a.opt),
    });
    match client::request(t, Method::POST, "/networks/create", Some(&body)).await {
        Ok(r) => {
            let v = r.json().await?;
            println!("{}", v["name"].as_str().unwrap_or_default());
            Ok(())
        }
        Err(ClientError::Api { status, .. }) if a.ignore && status == StatusCode::CONFLICT => {
            println!("{}", a.name.as_deref().unwrap_or_default());
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn network_rm(t: &Target, a: &network::RmArgs) -> anyhow::Result<()> {
    let mut q = format!("?force={}", a.force);
    if let Some(s) = a.time {
        q.push_str(&format!("&timeout={s}"));
    }
    remove_each(t, "networks", &a.names, &q, a.force).await
}

pub async fn volume_ls(t: &Target, a: &volume::LsArgs) -> anyhow::Result<()> {
    let mut q = "/volumes/json".to_string();
    if !a.filter.is_empty() {
        q.push_str(&format!("?filters={}", filters_query(&a.filter)));
    }
    let v = client::get_json(t, &q).await?;
    volume::print_ls(v.as_array().cloned().unwrap_or_default(), a)
}

pub async fn volume_inspect(t: &Target, a: &volume::InspectArgs) -> anyhow::Result<()> {
    if a.all != a.names.is_empty() {
        anyhow::bail!("provide one or more volume names or use --all");
    }
    if a.all {
        let v = client::get_json(t, "/volumes/json").await?;
        return crate::format::print_inspect(
            v.as_array().map(Vec::as_slice).unwrap_or_default(),
            a.format.as_deref(),
        );
    }
    inspect_each(t, "volumes", &a.names, a.format.as_deref(), |n| {
        format!("no such volume {n}")
    })
    .await
}

pub async fn volume_create(t: &Target, a: &volume::CreateArgs) -> anyhow::Result<()> {
    if a.uid.is_some() || a.gid.is_some() {
        anyhow::bail!("--uid/--gid are not available with the remote client of podman-rs yet: give them as -o uid=N,gid=N");
    }
    let body = json!({
        "Name": a.name.clone().unwrap_or_default(),
        "Driver": a.driver,
        "Labels": pairs(&a.label),
        "Options": pairs(&a.opt),
    });
    match client::request(t, Method::POST, "/volumes/create", Some(&body)).await {
        Ok(r) => {
            let v = r.json().await?;
            println!("{}", v["Name"].as_str().unwrap_or_default());
            Ok(())
        }
        Err(ClientError::Api { status, .. }) if a.ignore && status == StatusCode::CONFLICT => {
            println!("{}", a.name.as_deref().unwrap_or_default());
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn volume_rm(t: &Target, a: &volume::RmArgs) -> anyhow::Result<()> {
    if a.all != a.names.is_empty() {
        anyhow::bail!("choose either one or more volumes or all");
    }
    let names: Vec<String> = if a.all {
        let v = client::get_json(t, "/volumes/json").await?;
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["Name"].as_str().map(str::to_string))
            .collect()
    } else {
        a.names.clone()
    };
    let mut q = format!("?force={}", a.force);
    if let Some(s) = a.time {
        q.push_str(&format!("&timeout={s}"));
    }
    remove_each(t, "volumes", &names, &q, a.force).await
}
