//! HTTP clients for registries: rustls (ring provider) with the system
//! roots, per-registry CAs and client certificates from certs.d
//! (containers-certs.d(5)), and certificate checks off only when the
//! registry is insecure.

use std::path::Path;
use std::time::Duration;

use tracing::debug;

use crate::error::FetchError;

/// Directories holding `HOST[:PORT]/` certificate folders.
const CERT_DIR_ROOTS: &[&str] = &["/etc/containers/certs.d", "/etc/docker/certs.d"];

pub const USER_AGENT: &str = concat!("image-fetcher/", env!("CARGO_PKG_VERSION"), " (podman-rs)");

/// A client for `host`; `insecure` skips certificate verification.
pub fn build(host: &str, insecure: bool) -> Result<reqwest::Client, FetchError> {
    let mut b = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(Duration::from_secs(30))
        .read_timeout(Duration::from_secs(120))
        .pool_idle_timeout(Duration::from_secs(30))
        .redirect(redirect_policy(insecure));
    if insecure {
        b = b.danger_accept_invalid_certs(true);
    }
    for root in CERT_DIR_ROOTS {
        b = add_cert_dir(b, &Path::new(root).join(host))?;
    }
    b.build().map_err(|e| {
        FetchError::Config(format!(
            "setting up HTTP for {host}: {}",
            crate::error::chain(&e)
        ))
    })
}

/// Follow up to 10 redirects. reqwest drops `Authorization` when a redirect
/// changes host or port; a TLS registry redirecting to plain http on the
/// same host and port would keep it, so that is refused unless the
/// registry is insecure.
fn redirect_policy(insecure: bool) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= 10 {
            return attempt.error("too many redirects (more than 10)");
        }
        let downgrade = attempt.previous().last().is_some_and(|prev| {
            let next = attempt.url();
            prev.scheme() == "https"
                && next.scheme() == "http"
                && prev.host_str() == next.host_str()
                && prev.port_or_known_default() == next.port_or_known_default()
        });
        if downgrade && !insecure {
            let msg = format!(
                "refusing a redirect from https to plain http {}",
                attempt.url()
            );
            return attempt.error(msg);
        }
        attempt.follow()
    })
}

/// `*.crt` are extra CAs; `NAME.cert` + `NAME.key` a client certificate.
fn add_cert_dir(
    mut b: reqwest::ClientBuilder,
    dir: &Path,
) -> Result<reqwest::ClientBuilder, FetchError> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Ok(b);
    };
    let mut paths: Vec<_> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    let bad =
        |p: &Path, why: String| FetchError::Config(format!("certificate {}: {why}", p.display()));
    for p in &paths {
        match p.extension().and_then(|e| e.to_str()) {
            Some("crt") => {
                let pem = std::fs::read(p).map_err(|e| bad(p, e.to_string()))?;
                for cert in reqwest::Certificate::from_pem_bundle(&pem)
                    .map_err(|e| bad(p, e.to_string()))?
                {
                    b = b.add_root_certificate(cert);
                }
                debug!(file = %p.display(), "extra CA");
            }
            Some("cert") => {
                let key = p.with_extension("key");
                let mut pem = std::fs::read(p).map_err(|e| bad(p, e.to_string()))?;
                let key_pem = std::fs::read(&key)
                    .map_err(|e| bad(&key, format!("{e} (a .cert needs its .key)")))?;
                pem.extend_from_slice(&key_pem);
                b = b.identity(
                    reqwest::Identity::from_pem(&pem).map_err(|e| bad(p, e.to_string()))?,
                );
                debug!(file = %p.display(), "client certificate");
            }
            _ => {}
        }
    }
    Ok(b)
}
