//! Image commands over the libpod API: `pull`.

use http::Method;
use serde_json::{json, Value};

use super::client;
use super::Target;
use crate::commands::pull::PullArgs;

/// `pull`: the service pulls into its store; its progress lines end with
/// the image's ID (printed, as the local pull prints it) or an error.
pub async fn pull(t: &Target, a: &PullArgs) -> anyhow::Result<()> {
    for (flag, given) in [
        ("--policy", a.policy.is_some()),
        ("--retry", a.retry.is_some()),
        ("--retry-delay", a.retry_delay.is_some()),
    ] {
        if given {
            anyhow::bail!("{flag} is not supported with --remote yet: pull on the service's host, or without {flag}");
        }
    }
    if a.registry.authfile.is_some() {
        anyhow::bail!("--authfile names a file on this machine, which the service cannot read: give --creds USER:PASSWORD");
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
    let req = PullRequest {
        image: &a.image,
        tls_verify: a.registry.tls_verify,
        platform,
        creds: a.registry.creds.as_deref(),
        quiet: a.quiet,
    };
    let id = pull_image(t, &req).await?;
    println!("{id}");
    Ok(())
}

/// What a pull asks the service for.
pub struct PullRequest<'a> {
    pub image: &'a str,
    pub tls_verify: Option<bool>,
    pub platform: Option<String>,
    pub creds: Option<&'a str>,
    /// No progress on stderr.
    pub quiet: bool,
}

/// Pull `r.image` into the service's store; its ID.
pub async fn pull_image(t: &Target, req: &PullRequest<'_>) -> anyhow::Result<String> {
    let r = req;
    let mut q = format!("/images/pull?reference={}", super::containers::enc(r.image));
    if let Some(v) = r.tls_verify {
        q.push_str(&format!("&tlsVerify={v}"));
    }
    if let Some(p) = &r.platform {
        q.push_str(&format!("&platform={}", super::containers::enc(p)));
    }
    let auth = match r.creds {
        Some(c) => {
            use base64::Engine;
            let (u, p) = c.split_once(':').unwrap_or((c, ""));
            Some(
                base64::engine::general_purpose::URL_SAFE
                    .encode(serde_json::to_vec(&json!({"username": u, "password": p}))?),
            )
        }
        None => None,
    };
    let headers: Vec<(&str, String)> = auth.into_iter().map(|a| ("X-Registry-Auth", a)).collect();
    let mut resp = client::request_with(t, Method::POST, &q, None, &headers).await?;
    let mut pending: Vec<u8> = Vec::new();
    let mut id = None;
    while let Some(chunk) = resp.chunk().await {
        pending.extend_from_slice(&chunk?);
        while let Some(nl) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=nl).collect();
            let Ok(v) = serde_json::from_slice::<Value>(&line) else {
                continue;
            };
            if let Some(e) = v["error"].as_str().filter(|e| !e.is_empty()) {
                anyhow::bail!("{e}");
            }
            if let Some(s) = v["stream"].as_str().filter(|s| !s.is_empty() && !r.quiet) {
                eprint!("{s}");
            }
            if let Some(i) = v["id"].as_str().filter(|i| !i.is_empty()) {
                id = Some(i.to_string());
            }
        }
    }
    id.ok_or_else(|| {
        anyhow::anyhow!(
            "the service ended the pull of {} without an image ID",
            r.image
        )
    })
}
