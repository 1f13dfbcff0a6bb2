//! The credentials' side of a registry client: the Authorization header
//! for a request (basic, or a bearer token from the challenge's realm),
//! and the origin and realm checks that keep credentials where they
//! belong.

use std::time::Instant;

use reqwest::Response;
use serde::Deserialize;
use tracing::debug;

use super::response::read_limited;
use super::{RegistryClient, MAX_SMALL_BODY};
use crate::auth_challenge::{self, Challenge};
use crate::auth_file::Credentials;
use crate::error::{chain, FetchError};

impl RegistryClient {
    /// The Authorization header for `scopes`, fetching a bearer token if needed.
    pub(super) async fn authorization(
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
pub(super) fn preferred_challenge(resp: &Response) -> Option<Challenge> {
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

#[cfg(test)]
mod tests {
    use super::super::response::same_origin;
    use super::*;

    #[test]
    fn basic_credentials_header() {
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
