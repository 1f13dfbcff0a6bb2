//! Checking credentials for `podman login`: the registry's `/v2/` with
//! basic auth, or with a bearer token from the realm it challenges with
//! (Docker Hub style), through the same client pulls use. Nothing is
//! stored: writing auth.json is podman's job.

use std::time::Instant;

use reqwest::Method;
use tracing::debug;

use crate::auth_file::Credentials;
use crate::error::FetchError;
use crate::reference::{DOCKER_HUB, DOCKER_HUB_API};
use crate::registry_client::RegistryClient;

#[derive(Debug, Clone)]
pub struct LoginCheck {
    /// host[:port] (docker.io for Docker Hub).
    pub registry: String,
    pub creds: Credentials,
    pub tls_verify: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginOk {
    /// "basic", "bearer", or empty when the registry asked for nothing.
    pub auth_scheme: String,
    pub endpoint: String,
}

/// `host[:port]` with no scheme, path, tag or user info.
fn validate_registry(r: &str) -> Result<(), FetchError> {
    let bad = |why: &str| {
        FetchError::InvalidArgument(format!(
            "invalid registry {r:?}: {why}; give HOST[:PORT], e.g. quay.io or 127.0.0.1:5000"
        ))
    };
    if r.is_empty() {
        return Err(bad("empty"));
    }
    if r.contains("://") || r.contains('/') || r.contains('@') || r.chars().any(char::is_whitespace)
    {
        return Err(bad("it must be a host name with an optional port"));
    }
    Ok(())
}

pub async fn check_login(req: &LoginCheck) -> Result<LoginOk, FetchError> {
    validate_registry(&req.registry)?;
    if req.creds.username.is_empty() {
        return Err(FetchError::InvalidArgument(format!(
            "logging in to {}: the user name is empty",
            req.registry
        )));
    }
    let started = Instant::now();
    let conf = common::registries_conf::RegistriesConf::load()
        .map_err(|e| FetchError::Config(format!("registries.conf: {e}")))?;
    let conf_insecure = conf
        .find_registry(&req.registry)
        .map(|r| r.insecure)
        .unwrap_or(false);
    let insecure = match req.tls_verify {
        Some(v) => !v,
        None => conf_insecure,
    };
    let api_host = if req.registry == DOCKER_HUB || req.registry == "index.docker.io" {
        DOCKER_HUB_API
    } else {
        req.registry.as_str()
    };
    let client = RegistryClient::new(&req.registry, api_host, insecure, Some(req.creds.clone()))?;
    let context = format!("logging in to {}", req.registry);
    let endpoint = client.base(&context).await?;
    let resp = client
        .send(Method::GET, "/v2/", &[], true, &context, &mut |r| r)
        .await?;
    if !resp.status().is_success() {
        return Err(client.error_for(resp, &context).await);
    }
    let auth_scheme = client.challenge_scheme().await.unwrap_or_default();
    debug!(registry = %req.registry, %endpoint, scheme = %auth_scheme, elapsed_ms = started.elapsed().as_millis() as u64, "credentials accepted");
    Ok(LoginOk {
        auth_scheme,
        endpoint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registries_must_be_host_and_port() {
        for ok in ["quay.io", "127.0.0.1:5000", "localhost"] {
            assert!(validate_registry(ok).is_ok(), "{ok}");
        }
        for bad in ["", "https://quay.io", "quay.io/ns", "u@h", "a b"] {
            assert!(
                validate_registry(bad)
                    .unwrap_err()
                    .to_string()
                    .contains("HOST[:PORT]"),
                "{bad}"
            );
        }
    }
}
