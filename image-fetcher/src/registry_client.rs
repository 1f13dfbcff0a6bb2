//! One registry's HTTP API (OCI distribution spec): the `/v2/` ping that
//! decides the scheme and the auth challenge, anonymous / basic / bearer
//! token auth with a retry on a fresh challenge, bounded retries of
//! idempotent requests, and errors mapped to one clear line.
//!
//! Credentials go to two places only: the registry's own origin (the
//! scheme, host and port its `/v2/` answered on) and the token realm its
//! own challenge named. An absolute URL on another origin (an upload
//! `Location`, a redirect) gets no `Authorization`; a 401 that came from
//! another origin never becomes the registry's challenge; a plain-HTTP
//! realm for a registry reached over TLS is refused unless the registry is
//! insecure.
//!
//! [`auth`] holds the credentials' side (tokens, origins, realms);
//! [`response`] reads bodies and turns a failed response into an error.

mod auth;
mod response;

pub use response::read_limited;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use tracing::debug;

use crate::auth_challenge::Challenge;
use crate::auth_file::Credentials;
use crate::error::{chain, FetchError};
use auth::preferred_challenge;
use response::same_origin;

/// Attempts for an idempotent request that failed in transit or with 5xx/429.
const ATTEMPTS: u32 = 3;
/// Largest error body or token response read.
const MAX_SMALL_BODY: usize = 1 << 20;

pub struct RegistryClient {
    /// host[:port] the API is on.
    pub host: String,
    /// The registry as the user wrote it, for messages (docker.io, not registry-1.docker.io).
    pub registry: String,
    insecure: bool,
    http: reqwest::Client,
    creds: Option<Credentials>,
    state: tokio::sync::Mutex<State>,
}

#[derive(Default)]
struct State {
    /// `https://host` or `http://host` once pinged.
    base: Option<String>,
    challenge: Option<Challenge>,
    /// Bearer tokens by scope set.
    tokens: HashMap<String, String>,
}

/// What a request body is, rebuilt for each attempt.
pub type Build<'a> = &'a mut (dyn FnMut(RequestBuilder) -> RequestBuilder + Send);

impl RegistryClient {
    pub fn new(
        registry: &str,
        host: &str,
        insecure: bool,
        creds: Option<Credentials>,
    ) -> Result<RegistryClient, FetchError> {
        Ok(RegistryClient {
            host: host.to_string(),
            registry: registry.to_string(),
            insecure,
            http: crate::http_client::build(host, insecure)?,
            creds,
            state: tokio::sync::Mutex::new(State::default()),
        })
    }

    /// `scheme://host`, pinging `/v2/` the first time: https first, then
    /// plain http when the registry is insecure.
    pub async fn base(&self, context: &str) -> Result<String, FetchError> {
        let mut st = self.state.lock().await;
        if let Some(b) = &st.base {
            return Ok(b.clone());
        }
        let started = Instant::now();
        let schemes: &[&str] = if self.insecure {
            &["https", "http"]
        } else {
            &["https"]
        };
        let mut failures = Vec::new();
        for scheme in schemes {
            let base = format!("{scheme}://{}", self.host);
            match self.http.get(format!("{base}/v2/")).send().await {
                Ok(resp) => {
                    let status = resp.status();
                    if status == StatusCode::UNAUTHORIZED && same_origin(resp.url(), &base) {
                        st.challenge = preferred_challenge(&resp);
                    }
                    debug!(registry = %self.host, %base, %status, challenge = ?st.challenge.as_ref().map(|c| &c.scheme), elapsed_ms = started.elapsed().as_millis() as u64, "pinged registry");
                    st.base = Some(base.clone());
                    return Ok(base);
                }
                Err(e) => failures.push(go_get_error(&base, &self.host, &chain(&e))),
            }
        }
        let mut detail = failures.join("; ");
        if !self.insecure && !failures.iter().any(|f| f.contains("onnection refused")) {
            detail.push_str(&format!(" (if {} serves plain HTTP or a self-signed certificate, use --tls-verify=false or mark it insecure in registries.conf)", self.host));
        }
        // As containers/image: the ping's failure stands alone, not under
        // what the caller was about to do (`context`, for the debug log).
        debug!(registry = %self.host, context, "ping failed");
        Err(FetchError::Network {
            context: format!("pinging container registry {}", self.host),
            detail,
        })
    }

    /// Send a request to `path` (absolute URL or `/v2/...`), with auth for
    /// `scopes`. A 401 with a fresh challenge is retried once with a new
    /// token; idempotent requests are retried on transport errors and
    /// 5xx/429. Returns the response whatever its status.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        scopes: &[String],
        idempotent: bool,
        context: &str,
        build: Build<'_>,
    ) -> Result<Response, FetchError> {
        let base = self.base(context).await?;
        let url = if path.contains("://") {
            path.to_string()
        } else {
            format!("{base}{path}")
        };
        let own_origin = reqwest::Url::parse(&url).is_ok_and(|u| same_origin(&u, &base));
        if !own_origin {
            debug!(%url, registry = %self.host, "URL outside the registry's origin; sent without credentials");
        }
        let mut refreshed = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let auth = if own_origin {
                self.authorization(scopes, false, context).await?
            } else {
                None
            };
            let mut req = build(self.http.request(method.clone(), &url));
            if let Some(a) = &auth {
                req = req.header(reqwest::header::AUTHORIZATION, a);
            }
            let result = req.send().await;
            let retry_later = |what: String| -> Option<String> {
                (idempotent && attempt < ATTEMPTS).then_some(what)
            };
            let why = match result {
                Ok(resp)
                    if resp.status() == StatusCode::UNAUTHORIZED
                        && !refreshed
                        && own_origin
                        && same_origin(resp.url(), &base) =>
                {
                    // A new or first challenge: take it and try once more.
                    refreshed = true;
                    let ch = preferred_challenge(&resp);
                    let sent_basic = auth.as_deref().is_some_and(|a| a.starts_with("Basic "));
                    match ch {
                        Some(ch) if ch.scheme == "bearer" => {
                            self.state.lock().await.challenge = Some(ch);
                            self.authorization(scopes, true, context).await?;
                            continue;
                        }
                        Some(ch) if ch.scheme == "basic" && self.creds.is_some() && !sent_basic => {
                            self.state.lock().await.challenge = Some(ch);
                            continue;
                        }
                        _ => return Ok(resp),
                    }
                }
                Ok(resp)
                    if resp.status().is_server_error()
                        || resp.status() == StatusCode::TOO_MANY_REQUESTS =>
                {
                    match retry_later(format!("HTTP {}", resp.status())) {
                        Some(w) => w,
                        None => return Ok(resp),
                    }
                }
                Ok(resp) => return Ok(resp),
                Err(e) => {
                    let detail = format!("{method} {url}: {}", chain(&e));
                    match retry_later(detail.clone()) {
                        Some(w) => w,
                        None => {
                            return Err(FetchError::Network {
                                context: context.to_string(),
                                detail,
                            })
                        }
                    }
                }
            };
            let delay = Duration::from_millis(300 * u64::from(attempt * attempt));
            debug!(%url, attempt, why, ?delay, "retrying");
            tokio::time::sleep(delay).await;
        }
    }

    /// The scheme of the challenge the registry answered with, if any.
    pub async fn challenge_scheme(&self) -> Option<String> {
        self.state
            .lock()
            .await
            .challenge
            .as_ref()
            .map(|c| c.scheme.clone())
    }

    /// The error a failed response stands for, reading the registry's error body.
    pub async fn error_for(&self, resp: Response, context: &str) -> FetchError {
        self.error_from(resp, context, false).await
    }
}

/// A failed `GET /v2/` as Go's net/http words it (`Get "URL": ...`); a
/// refused connection reads `dial tcp HOST: connect: connection refused`,
/// the text scripts match.
fn go_get_error(base: &str, host: &str, chain: &str) -> String {
    let url = format!("{base}/v2/");
    if chain.contains("onnection refused") {
        format!("Get \"{url}\": dial tcp {host}: connect: connection refused")
    } else {
        format!("Get \"{url}\": {chain}")
    }
}
