//! Reading a registry's responses: bodies with a size limit, and the error
//! a failed response stands for, in one line.

use reqwest::Response;
use serde::Deserialize;

use super::{RegistryClient, MAX_SMALL_BODY};
use crate::error::{chain, FetchError};

impl RegistryClient {
    /// [`Self::error_for`]; `from_realm`: the response is the token
    /// realm's, which did receive the credentials.
    pub(super) async fn error_from(
        &self,
        resp: Response,
        context: &str,
        from_realm: bool,
    ) -> FetchError {
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
pub(super) fn same_origin(url: &reqwest::Url, base: &str) -> bool {
    let Ok(b) = reqwest::Url::parse(base) else {
        return false;
    };
    url.scheme() == b.scheme()
        && url.host_str().map(str::to_ascii_lowercase) == b.host_str().map(str::to_ascii_lowercase)
        && url.port_or_known_default() == b.port_or_known_default()
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
    }
}
