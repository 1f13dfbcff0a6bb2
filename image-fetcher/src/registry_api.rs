//! The distribution-spec operations the fetcher uses, on top of
//! [`RegistryClient`]: manifests by tag or digest, blob downloads
//! (redirects followed), and the push side (HEAD, cross-repo mount,
//! POST + monolithic PUT, manifest PUT).

use reqwest::{Method, Response, StatusCode};

use crate::error::FetchError;
use crate::manifest::{ACCEPT, MAX_MANIFEST_BYTES};
use crate::registry_client::{read_limited, RegistryClient};

pub fn pull_scope(repo: &str) -> String {
    format!("repository:{repo}:pull")
}

pub fn push_scope(repo: &str) -> String {
    format!("repository:{repo}:pull,push")
}

/// A manifest as the registry sent it.
pub struct FetchedManifest {
    pub bytes: Vec<u8>,
    pub content_type: Option<String>,
}

/// The start of a blob upload.
pub enum UploadStart {
    /// The registry mounted the blob from the other repository.
    Mounted,
    /// Upload to this URL.
    Location(String),
}

impl RegistryClient {
    /// `registry/repo` for messages.
    pub fn display(&self, repo: &str) -> String {
        format!("{}/{repo}", self.registry)
    }

    pub async fn get_manifest(
        &self,
        repo: &str,
        reference: &str,
    ) -> Result<FetchedManifest, FetchError> {
        let context = format!("reading manifest {reference} in {}", self.display(repo));
        let path = format!("/v2/{repo}/manifests/{reference}");
        let resp = self
            .send(
                Method::GET,
                &path,
                &[pull_scope(repo)],
                true,
                &context,
                &mut |r| r.header(reqwest::header::ACCEPT, ACCEPT),
            )
            .await?;
        if !resp.status().is_success() {
            return Err(self.error_for(resp, &context).await);
        }
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = read_limited(resp, MAX_MANIFEST_BYTES, &context).await?;
        Ok(FetchedManifest {
            bytes,
            content_type,
        })
    }

    /// A blob download, status checked; the caller streams and verifies the body.
    pub async fn get_blob(&self, repo: &str, digest: &str) -> Result<Response, FetchError> {
        let context = format!("reading blob {digest} from {}", self.display(repo));
        let path = format!("/v2/{repo}/blobs/{digest}");
        let resp = self
            .send(
                Method::GET,
                &path,
                &[pull_scope(repo)],
                true,
                &context,
                &mut |r| r,
            )
            .await?;
        if !resp.status().is_success() {
            return Err(self.error_for(resp, &context).await);
        }
        Ok(resp)
    }

    pub async fn blob_exists(
        &self,
        repo: &str,
        digest: &str,
        scopes: &[String],
    ) -> Result<bool, FetchError> {
        let context = format!("checking for blob {digest} in {}", self.display(repo));
        let path = format!("/v2/{repo}/blobs/{digest}");
        let resp = self
            .send(Method::HEAD, &path, scopes, true, &context, &mut |r| r)
            .await?;
        match resp.status() {
            s if s.is_success() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(self.error_for(resp, &context).await),
        }
    }

    /// Start an upload, asking to mount `digest` from `from` when given.
    pub async fn start_upload(
        &self,
        repo: &str,
        digest: &str,
        from: Option<&str>,
        scopes: &[String],
    ) -> Result<UploadStart, FetchError> {
        let context = format!("uploading blob {digest} to {}", self.display(repo));
        let path = match from {
            Some(f) => format!("/v2/{repo}/blobs/uploads/?mount={digest}&from={f}"),
            None => format!("/v2/{repo}/blobs/uploads/"),
        };
        let resp = self
            .send(Method::POST, &path, scopes, false, &context, &mut |r| {
                r.header(reqwest::header::CONTENT_LENGTH, "0")
            })
            .await?;
        match resp.status() {
            StatusCode::CREATED if from.is_some() => Ok(UploadStart::Mounted),
            StatusCode::ACCEPTED => {
                let loc = resp
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| FetchError::Registry {
                        context: context.clone(),
                        status: 202,
                        detail: "upload started without a Location header".into(),
                    })?;
                let base = self.base(&context).await?;
                let url = reqwest::Url::parse(&format!("{base}/"))
                    .and_then(|b| b.join(loc))
                    .map_err(|e| FetchError::Registry {
                        context: context.clone(),
                        status: 202,
                        detail: format!("upload Location {loc:?} is not a URL: {e}"),
                    })?;
                Ok(UploadStart::Location(url.to_string()))
            }
            _ => Err(self.error_for(resp, &context).await),
        }
    }

    /// Finish an upload with one PUT of the whole blob.
    pub async fn put_blob(
        &self,
        repo: &str,
        location: &str,
        digest: &str,
        size: u64,
        body: reqwest::Body,
        scopes: &[String],
    ) -> Result<(), FetchError> {
        let context = format!("uploading blob {digest} to {}", self.display(repo));
        let mut url = reqwest::Url::parse(location).map_err(|e| FetchError::Registry {
            context: context.clone(),
            status: 0,
            detail: format!("bad upload URL: {e}"),
        })?;
        url.query_pairs_mut().append_pair("digest", digest);
        let mut body = Some(body);
        let resp = self
            .send(
                Method::PUT,
                url.as_str(),
                scopes,
                false,
                &context,
                &mut |r| {
                    let r = r
                        .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                        .header(reqwest::header::CONTENT_LENGTH, size.to_string());
                    match body.take() {
                        Some(b) => r.body(b),
                        None => r,
                    }
                },
            )
            .await?;
        if resp.status() == StatusCode::CREATED
            || resp.status() == StatusCode::NO_CONTENT
            || resp.status() == StatusCode::OK
        {
            return Ok(());
        }
        Err(self.error_for(resp, &context).await)
    }

    /// PUT a manifest; returns the digest the registry reports, if any.
    pub async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
        scopes: &[String],
    ) -> Result<Option<String>, FetchError> {
        let context = format!("writing manifest {reference} to {}", self.display(repo));
        let path = format!("/v2/{repo}/manifests/{reference}");
        let body = bytes.to_vec();
        let resp = self
            .send(Method::PUT, &path, scopes, true, &context, &mut |r| {
                r.header(reqwest::header::CONTENT_TYPE, media_type)
                    .body(body.clone())
            })
            .await?;
        if !resp.status().is_success() {
            return Err(self.error_for(resp, &context).await);
        }
        Ok(resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string))
    }
}
