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

use std::collections::HashMap;
use std::time::{Duration, Instant};

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::Deserialize;
use tracing::debug;

use crate::auth_challenge::{self, Challenge};
use crate::auth_file::Credentials;
use crate::error::{chain, FetchError};

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
                Err(e) => failures.push(format!("{base}/v2/: {}", chain(&e))),
            }
        }
        let mut detail = format!(
            "pinging container registry {}: {}",
            self.host,
            failures.join("; ")
        );
        if !self.insecure && !failures.iter().any(|f| f.contains("onnection refused")) {
            detail.push_str(&format!(" (if {} serves plain HTTP or a self-signed certificate, use --tls-verify=false or mark it insecure in registries.conf)", self.host));
        }
        Err(FetchError::Network {
            context: context.to_string(),
            detail,
        })
    }

    /// The Authorization header for `scopes`, fetching a bearer token if needed.
    async fn authorization(
        &self,
        scopes: &[String],
        refresh: bool,
        context: &str,
    ) -> Result<Option<String>, FetchError> {
        let mut st = self.state.lock().await;
        let Some(ch) = st.challenge.clone() else {
            return Ok(None);
        };
        match ch.scheme.as_str() {
            "basic" => Ok(self.creds.as_ref().map(basic_header)),
            "bearer" => {
                let key = scopes.join(" ");
                if !refresh {
                    if let Some(t) = st.tokens.get(&key) {
                        return Ok(Some(format!("Bearer {t}")));
                    }
                }
                let base = st.base.clone().unwrap_or_default();
                let token = self.fetch_token(&ch, scopes, &base, context).await?;
                st.tokens.insert(key, token.clone());
                Ok(Some(format!("Bearer {token}")))
            }
            other => {
                debug!(
                    scheme = other,
                    "unsupported auth scheme; trying anonymously"
                );
                Ok(None)
            }
        }
    }

    async fn fetch_token(
        &self,
        ch: &Challenge,
        scopes: &[String],
        base: &str,
        context: &str,
    ) -> Result<String, FetchError> {
        let started = Instant::now();
        let realm = ch.param("realm").ok_or_else(|| FetchError::Registry {
            context: context.to_string(),
            status: 401,
            detail: "the registry asked for a bearer token but named no realm".into(),
        })?;
        let mut url = reqwest::Url::parse(realm).map_err(|e| FetchError::Registry {
            context: context.to_string(),
            status: 401,
            detail: format!("token realm {realm:?} is not a URL: {e}"),
        })?;
        check_realm(&url, base, self.insecure, &self.host).map_err(|detail| {
            FetchError::Registry {
                context: context.to_string(),
                status: 401,
                detail,
            }
        })?;
        {
            let mut q = url.query_pairs_mut();
            if let Some(s) = ch.param("service") {
                q.append_pair("service", s);
            }
            for s in scopes {
                q.append_pair("scope", s);
            }
        }
        let mut req = self.http.get(url.clone());
        if let Some(c) = &self.creds {
            req = req.basic_auth(&c.username, Some(&c.password));
        }
        let resp = req.send().await.map_err(|e| FetchError::Network {
            context: context.to_string(),
            detail: format!("getting a token from {realm}: {}", chain(&e)),
        })?;
        if !resp.status().is_success() {
            return Err(self.error_from(resp, context, true).await);
        }
        #[derive(Deserialize)]
        struct TokenResponse {
            #[serde(default)]
            token: String,
            #[serde(default)]
            access_token: String,
        }
        let body = read_limited(resp, MAX_SMALL_BODY, context).await?;
        let t: TokenResponse = serde_json::from_slice(&body).map_err(|e| FetchError::Registry {
            context: context.to_string(),
            status: 200,
            detail: format!("token response from {realm} is not JSON: {e}"),
        })?;
        let token = if t.token.is_empty() {
            t.access_token
        } else {
            t.token
        };
        if token.is_empty() {
            return Err(FetchError::Registry {
                context: context.to_string(),
                status: 200,
                detail: format!("token response from {realm} has no token"),
            });
        }
        debug!(realm, scopes = ?scopes, elapsed_ms = started.elapsed().as_millis() as u64, "got bearer token");
        Ok(token)
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

    /// [`Self::error_for`]; `from_realm`: the response is the token
    /// realm's, which did receive the credentials.
    async fn error_from(&self, resp: Response, context: &str, from_realm: bool) -> FetchError {
        let status = resp.status();
        // A refusal from a redirect target (a CDN) is not the registry
        // judging our credentials, which that host never received. (The
        // realm's answers come while `authorization` holds the state lock,
        // so they are not checked here.)
        let elsewhere = if from_realm {
            None
        } else {
            let base = self.state.lock().await.base.clone().unwrap_or_default();
            let u = resp.url();
            (!base.is_empty() && !same_origin(u, &base)).then(|| {
                format!(
                    "{}{}",
                    u.host_str().unwrap_or_default(),
                    u.port().map(|p| format!(":{p}")).unwrap_or_default()
                )
            })
        };
        let body = read_limited(resp, MAX_SMALL_BODY, context)
            .await
            .unwrap_or_default();
        let message = registry_message(&body).unwrap_or_else(|| {
            status
                .canonical_reason()
                .unwrap_or("error")
                .to_ascii_lowercase()
        });
        let context = context.to_string();
        match status.as_u16() {
            401 | 403 if elsewhere.is_some() => FetchError::Registry {
                context,
                status: status.as_u16(),
                detail: format!(
                    "HTTP {status} from {}, where the registry redirected us (credentials are never sent there): {message}",
                    elsewhere.unwrap_or_default()
                ),
            },
            401 => match &self.creds {
                None => FetchError::AuthRequired { context },
                Some(c) => FetchError::AuthRejected {
                    context,
                    user: c.username.clone(),
                    detail: message,
                },
            },
            403 => FetchError::Denied {
                context,
                detail: message,
            },
            404 => FetchError::NotFound {
                context,
                detail: message,
            },
            s => FetchError::Registry {
                context,
                status: s,
                detail: format!("HTTP {s}: {message}"),
            },
        }
    }
}

/// Whether `url` has the scheme, host and port of `base` (`scheme://host[:port]`).
fn same_origin(url: &reqwest::Url, base: &str) -> bool {
    let Ok(b) = reqwest::Url::parse(base) else {
        return false;
    };
    url.scheme() == b.scheme()
        && url.host_str().map(str::to_ascii_lowercase) == b.host_str().map(str::to_ascii_lowercase)
        && url.port_or_known_default() == b.port_or_known_default()
}

/// A token realm may be any https URL the registry names; a plain-http one
/// only when the registry itself is insecure or served over plain http:
/// credentials and tokens for a TLS registry never travel in the clear.
fn check_realm(realm: &reqwest::Url, base: &str, insecure: bool, host: &str) -> Result<(), String> {
    match realm.scheme() {
        "https" => Ok(()),
        "http" if insecure || base.starts_with("http://") => Ok(()),
        "http" => Err(format!(
            "the registry {host} is reached over TLS but its token realm {realm} is plain HTTP: refusing to send credentials in the clear (use --tls-verify=false or mark {host} insecure in registries.conf only if this is intended)"
        )),
        other => Err(format!(
            "token realm {realm} has scheme {other:?}: only https (or http for an insecure registry) is used"
        )),
    }
}

/// Bearer over basic over anything else.
fn preferred_challenge(resp: &Response) -> Option<Challenge> {
    let mut all: Vec<Challenge> = resp
        .headers()
        .get_all(reqwest::header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(auth_challenge::parse)
        .collect();
    all.sort_by_key(|c| match c.scheme.as_str() {
        "bearer" => 0,
        "basic" => 1,
        _ => 2,
    });
    all.into_iter().next()
}

fn basic_header(c: &Credentials) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", c.username, c.password))
    )
}

/// `errors[0].message` (lowercase, as Podman shows it) from a registry error body.
fn registry_message(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Errors {
        errors: Vec<RegistryError>,
    }
    #[derive(Deserialize)]
    struct RegistryError {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    if let Ok(e) = serde_json::from_slice::<Errors>(body) {
        let first = e.errors.into_iter().next()?;
        let m = if first.message.is_empty() {
            first.code.to_ascii_lowercase().replace('_', " ")
        } else {
            first.message
        };
        return Some(crate::error::one_line(&m));
    }
    // Token servers: Docker Hub's {"details": ...}, OAuth2's error_description, or a message.
    if let Ok(serde_json::Value::Object(o)) = serde_json::from_slice::<serde_json::Value>(body) {
        if let Some(m) = ["details", "error_description", "message", "error"]
            .iter()
            .find_map(|k| o.get(*k).and_then(|v| v.as_str()))
        {
            return Some(crate::error::one_line(m));
        }
    }
    let text = String::from_utf8_lossy(body);
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    Some(line.chars().take(200).collect())
}

/// Read a whole body, refusing more than `limit` bytes.
pub async fn read_limited(
    mut resp: Response,
    limit: usize,
    context: &str,
) -> Result<Vec<u8>, FetchError> {
    let mut out = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(c)) => {
                if out.len() + c.len() > limit {
                    return Err(FetchError::Registry {
                        context: context.to_string(),
                        status: resp.status().as_u16(),
                        detail: format!("response body is larger than {limit} bytes"),
                    });
                }
                out.extend_from_slice(&c);
            }
            Ok(None) => return Ok(out),
            Err(e) => {
                return Err(FetchError::Network {
                    context: context.to_string(),
                    detail: format!("reading the response: {}", chain(&e)),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_error_bodies_give_one_message() {
        let b = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}"#;
        assert_eq!(registry_message(b).as_deref(), Some("manifest unknown"));
        let b = br#"{"errors":[{"code":"NAME_UNKNOWN"}]}"#;
        assert_eq!(registry_message(b).as_deref(), Some("name unknown"));
        assert_eq!(
            registry_message(b"\n  <html>oops</html>\n").as_deref(),
            Some("<html>oops</html>")
        );
        assert_eq!(
            registry_message(br#"{"details":"incorrect username or password"}"#).as_deref(),
            Some("incorrect username or password")
        );
        assert_eq!(
            registry_message(br#"{"error":"invalid_grant","error_description":"bad token"}"#)
                .as_deref(),
            Some("bad token")
        );
        assert_eq!(registry_message(b""), None);
        let c = Credentials {
            username: "user".into(),
            password: "pass".into(),
        };
        assert_eq!(basic_header(&c), "Basic dXNlcjpwYXNz");
    }

    #[test]
    fn origins_and_realms() {
        let u = |s: &str| reqwest::Url::parse(s).unwrap();
        assert!(same_origin(
            &u("https://reg.example/v2/x"),
            "https://reg.example"
        ));
        assert!(same_origin(
            &u("https://REG.example:443/v2/"),
            "https://reg.example"
        ));
        assert!(same_origin(
            &u("http://127.0.0.1:5000/v2/"),
            "http://127.0.0.1:5000"
        ));
        assert!(!same_origin(
            &u("http://reg.example/v2/"),
            "https://reg.example"
        ));
        assert!(!same_origin(
            &u("https://reg.example:5000/v2/"),
            "https://reg.example"
        ));
        assert!(!same_origin(
            &u("https://cdn.example/v2/"),
            "https://reg.example"
        ));
        assert!(!same_origin(
            &u("http://127.0.0.2:5000/b"),
            "http://127.0.0.1:5000"
        ));

        assert!(check_realm(
            &u("https://auth.example/token"),
            "https://reg.example",
            false,
            "reg.example"
        )
        .is_ok());
        let e = check_realm(
            &u("http://auth.example/token"),
            "https://reg.example",
            false,
            "reg.example",
        )
        .unwrap_err();
        assert!(
            e.contains("is plain HTTP: refusing to send credentials in the clear"),
            "{e}"
        );
        assert!(check_realm(
            &u("http://auth.example/token"),
            "https://reg.example",
            true,
            "reg.example"
        )
        .is_ok());
        assert!(check_realm(
            &u("http://a/token"),
            "http://127.0.0.1:5000",
            false,
            "127.0.0.1:5000"
        )
        .is_ok());
        assert!(check_realm(
            &u("file:///etc/passwd"),
            "https://reg.example",
            true,
            "reg.example"
        )
        .is_err());
    }
}
