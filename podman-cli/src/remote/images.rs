//! Image commands over the libpod API: `pull`.

use http::Method;
use serde_json::{json, Value};

use super::client;
use super::Target;
use crate::commands::pull::PullArgs;

/// `pull`: the service pulls into its store; its progress lines end with
/// the image's ID (printed, as the local pull prints it) or an error.
pub async fn pull(t: &Target, a: &PullArgs) -> anyhow::Result<()> {
    if a.registry.authfile.is_some() {
        anyhow::bail!("--authfile names a file on this machine, which the service cannot read: give --creds USER:PASSWORD");
    }
    let mut q = format!(
        "/images/pull?reference={}",
        super::containers::enc(&a.image)
    );
    if let Some(v) = a.registry.tls_verify {
        q.push_str(&format!("&tlsVerify={v}"));
    }
    let platform = match (&a.platform, &a.os, &a.arch, &a.variant) {
        (Some(p), ..) => Some(p.clone()),
        (None, None, None, None) => None,
        (None, os, arch, variant) => Some(
            [
                os.as_deref().unwrap_or("linux"),
                arch.as_deref().unwrap_or(crate::host_info::go_arch()),
            ]
            .into_iter()
            .chain(variant.as_deref())
            .collect::<Vec<_>>()
            .join("/"),
        ),
    };
    if let Some(p) = platform {
        q.push_str(&format!("&platform={}", super::containers::enc(&p)));
    }
    let auth = match &a.registry.creds {
        Some(c) => {
            use base64::Engine;
            let (u, p) = c.split_once(':').unwrap_or((c.as_str(), ""));
            Some(
                base64::engine::general_purpose::URL_SAFE
                    .encode(serde_json::to_vec(&json!({"username": u, "password": p}))?),
            )
        }
        None => None,
    };
    let headers: Vec<(&str, String)> = auth.into_iter().map(|a| ("X-Registry-Auth", a)).collect();
    let mut r = client::request_with(t, Method::POST, &q, None, &headers).await?;
    let mut pending: Vec<u8> = Vec::new();
    let mut id = None;
    while let Some(chunk) = r.chunk().await {
        pending.extend_from_slice(&chunk?);
        while let Some(nl) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=nl).collect();
            let Ok(v) = serde_json::from_slice::<Value>(&line) else {
                continue;
            };
            if let Some(e) = v["error"].as_str().filter(|e| !e.is_empty()) {
                anyhow::bail!("{e}");
            }
            if let Some(s) = v["stream"].as_str().filter(|s| !s.is_empty() && !a.quiet) {
                eprint!("{s}");
            }
            if let Some(i) = v["id"].as_str().filter(|i| !i.is_empty()) {
                id = Some(i.to_string());
            }
        }
    }
    match id {
        Some(i) => {
            println!("{i}");
            Ok(())
        }
        None => anyhow::bail!(
            "the service ended the pull of {} without an image ID",
            a.image
        ),
    }
}
