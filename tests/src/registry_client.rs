//! A small blocking client for the OCI distribution (registry v2) HTTP API,
//! used to push fixture images to a real registry and read them back.
//!
//! It speaks plain HTTP with optional basic auth; the push is the standard
//! one: `HEAD` each blob, `POST /blobs/uploads/` + monolithic `PUT ?digest=`
//! for missing ones, then `PUT` the manifest.

use std::io::Read;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::oci_image::{sha256_digest, Image, ImageIndex, ALL_MANIFEST_TYPES};

/// Largest response body read (manifests and fixture blobs are far smaller).
const MAX_BODY: u64 = 256 << 20;

/// A raw HTTP response, whatever its status.
#[derive(Clone, Debug)]
pub struct HttpResponse {
    /// HTTP status code.
    pub status: u16,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// First value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as (lossy) text, for error messages.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn expect(self, ok: &[u16], what: &str) -> Result<HttpResponse> {
        if !ok.contains(&self.status) {
            bail!("{what}: HTTP {} {}", self.status, self.text());
        }
        Ok(self)
    }
}

/// A manifest (or index) fetched from a registry.
#[derive(Clone, Debug)]
pub struct FetchedManifest {
    /// `Content-Type` of the response.
    pub media_type: String,
    /// The `Docker-Content-Digest` header, if the registry sent one.
    pub digest_header: Option<String>,
    /// The exact manifest bytes.
    pub body: Vec<u8>,
}

impl FetchedManifest {
    /// `sha256:` digest of the body.
    pub fn digest(&self) -> String {
        sha256_digest(&self.body)
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> Result<serde_json::Value> {
        serde_json::from_slice(&self.body).context("parse manifest JSON")
    }
}

/// Client for one registry (`http://host:port`), optionally with basic auth.
#[derive(Clone, Debug)]
pub struct RegistryClient {
    base: String,
    auth: Option<String>,
    agent: ureq::Agent,
}

impl RegistryClient {
    /// A client for `addr` (`"127.0.0.1:5000"` or `"http://127.0.0.1:5000"`).
    pub fn new(addr: &str) -> RegistryClient {
        let base = if addr.contains("://") {
            addr.to_string()
        } else {
            format!("http://{addr}")
        };
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(5))
            .timeout(Duration::from_secs(120))
            .build();
        RegistryClient {
            base: base.trim_end_matches('/').to_string(),
            auth: None,
            agent,
        }
    }

    /// The same client sending `Authorization: Basic ...` on every request.
    pub fn with_basic_auth(mut self, user: &str, password: &str) -> RegistryClient {
        self.auth = Some(format!(
            "Basic {}",
            base64(format!("{user}:{password}").as_bytes())
        ));
        self
    }

    /// Absolute URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Send a request and return the response whatever its status; only
    /// transport failures are errors.
    pub fn request(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<HttpResponse> {
        let mut req = self.agent.request(method, url);
        if let Some(auth) = &self.auth {
            req = req.set("Authorization", auth);
        }
        for (name, value) in headers {
            req = req.set(name, value);
        }
        let result = match body {
            Some(body) => req.send_bytes(body),
            None => req.call(),
        };
        let resp = match result {
            Ok(resp) => resp,
            Err(ureq::Error::Status(_, resp)) => resp,
            Err(e) => return Err(e).with_context(|| format!("{method} {url}")),
        };
        let status = resp.status();
        let headers = resp
            .headers_names()
            .into_iter()
            .filter_map(|n| {
                resp.header(&n)
                    .map(|v| (n.to_ascii_lowercase(), v.to_string()))
            })
            .collect();
        let mut body = Vec::new();
        if method != "HEAD" {
            resp.into_reader()
                .take(MAX_BODY)
                .read_to_end(&mut body)
                .with_context(|| format!("read body of {method} {url}"))?;
        }
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }

    /// Status of `GET /v2/` (200 when reachable and authorized, 401 when
    /// credentials are needed).
    pub fn ping(&self) -> Result<u16> {
        Ok(self.request("GET", &self.url("/v2/"), &[], None)?.status)
    }

    /// Whether `repo` already has blob `digest` (`HEAD /v2/<repo>/blobs/<digest>`).
    pub fn blob_exists(&self, repo: &str, digest: &str) -> Result<bool> {
        let url = self.url(&format!("/v2/{repo}/blobs/{digest}"));
        let resp = self.request("HEAD", &url, &[], None)?;
        match resp.status {
            200 => Ok(true),
            404 => Ok(false),
            other => bail!("HEAD {url}: HTTP {other}"),
        }
    }

    /// Upload a blob unless the registry already has it. Returns whether it
    /// was uploaded.
    pub fn push_blob(&self, repo: &str, digest: &str, bytes: &[u8]) -> Result<bool> {
        if self.blob_exists(repo, digest)? {
            return Ok(false);
        }
        let start = self.url(&format!("/v2/{repo}/blobs/uploads/"));
        let resp = self
            .request("POST", &start, &[], Some(&[]))?
            .expect(&[202], &format!("POST {start}"))?;
        let location = resp
            .header("location")
            .context("upload answer has no Location")?;
        let url = upload_url(&self.base, location, digest);
        self.request(
            "PUT",
            &url,
            &[("Content-Type", "application/octet-stream")],
            Some(bytes),
        )?
        .expect(&[201], &format!("PUT blob {digest} to {repo}"))?;
        Ok(true)
    }

    /// `PUT /v2/<repo>/manifests/<reference>`; returns the digest the
    /// registry reports (or the body digest when it sends none).
    pub fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<String> {
        let url = self.url(&format!("/v2/{repo}/manifests/{reference}"));
        let resp = self
            .request("PUT", &url, &[("Content-Type", media_type)], Some(bytes))?
            .expect(&[201], &format!("PUT {url}"))?;
        Ok(resp
            .header("docker-content-digest")
            .map_or_else(|| sha256_digest(bytes), str::to_string))
    }

    /// Push an image's blobs, then its manifest as `repo:tag`. Returns the
    /// manifest digest.
    pub fn push_image(&self, repo: &str, tag: &str, image: &Image) -> Result<String> {
        for (digest, bytes) in image.blobs() {
            self.push_blob(repo, digest, bytes)?;
        }
        self.put_manifest(repo, tag, &image.manifest_media_type, &image.manifest_bytes)
    }

    /// Push every image of `index` by digest, then the index as `repo:tag`.
    /// Returns the index digest.
    pub fn push_index(&self, repo: &str, tag: &str, index: &ImageIndex) -> Result<String> {
        for image in &index.images {
            self.push_image(repo, &image.manifest_digest, image)?;
        }
        self.put_manifest(repo, tag, &index.media_type, &index.bytes)
    }

    /// `GET /v2/<repo>/manifests/<reference>` accepting every OCI and Docker
    /// manifest type.
    pub fn get_manifest(&self, repo: &str, reference: &str) -> Result<FetchedManifest> {
        self.get_manifest_accepting(repo, reference, ALL_MANIFEST_TYPES)
    }

    /// `GET /v2/<repo>/manifests/<reference>` with an explicit `Accept` list.
    pub fn get_manifest_accepting(
        &self,
        repo: &str,
        reference: &str,
        accept: &[&str],
    ) -> Result<FetchedManifest> {
        let url = self.url(&format!("/v2/{repo}/manifests/{reference}"));
        let accept = accept.join(", ");
        let resp = self
            .request("GET", &url, &[("Accept", &accept)], None)?
            .expect(&[200], &format!("GET {url}"))?;
        Ok(FetchedManifest {
            media_type: resp.header("content-type").unwrap_or_default().to_string(),
            digest_header: resp.header("docker-content-digest").map(str::to_string),
            body: resp.body,
        })
    }

    /// `GET /v2/<repo>/blobs/<digest>`, checked against `digest`.
    pub fn get_blob(&self, repo: &str, digest: &str) -> Result<Vec<u8>> {
        let url = self.url(&format!("/v2/{repo}/blobs/{digest}"));
        let body = self
            .request("GET", &url, &[], None)?
            .expect(&[200], &format!("GET {url}"))?
            .body;
        let actual = sha256_digest(&body);
        if actual != digest {
            bail!("GET {url}: body has digest {actual}");
        }
        Ok(body)
    }

    /// Tags of `repo` (`GET /v2/<repo>/tags/list`), sorted.
    pub fn list_tags(&self, repo: &str) -> Result<Vec<String>> {
        let url = self.url(&format!("/v2/{repo}/tags/list"));
        let resp = self
            .request("GET", &url, &[], None)?
            .expect(&[200], &format!("GET {url}"))?;
        let json: serde_json::Value =
            serde_json::from_slice(&resp.body).context("parse tag list")?;
        let mut tags: Vec<String> = json["tags"]
            .as_array()
            .map(|t| {
                t.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        tags.sort();
        Ok(tags)
    }

    /// `DELETE /v2/<repo>/manifests/<digest>`.
    pub fn delete_manifest(&self, repo: &str, digest: &str) -> Result<()> {
        let url = self.url(&format!("/v2/{repo}/manifests/{digest}"));
        self.request("DELETE", &url, &[], None)?
            .expect(&[202], &format!("DELETE {url}"))?;
        Ok(())
    }
}

/// The URL to `PUT` a monolithic upload to: `location` made absolute
/// against `base`, with `digest=<digest>` appended to its query.
pub fn upload_url(base: &str, location: &str, digest: &str) -> String {
    let absolute = if location.contains("://") {
        location.to_string()
    } else if location.starts_with('/') {
        format!("{}{location}", base.trim_end_matches('/'))
    } else {
        format!("{}/{location}", base.trim_end_matches('/'))
    };
    let separator = if absolute.contains('?') { '&' } else { '?' };
    format!("{absolute}{separator}digest={}", digest.replace(':', "%3A"))
}

/// Standard base64 with padding (enough for basic-auth headers).
pub fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}
