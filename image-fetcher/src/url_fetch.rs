//! One file from a URL (a Containerfile's `ADD http://...`): a GET with
//! redirects followed, the body streamed into a new file that is removed
//! again if anything fails, and what Buildah keeps of the answer (the
//! Last-Modified time, the name the URL's path ends with).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use tracing::debug;

use crate::error::FetchError;

pub struct UrlFetch {
    pub url: String,
    /// The file to create; it must not exist yet.
    pub dest: PathBuf,
    /// None: verify certificates (a URL has no registries.conf entry).
    pub tls_verify: Option<bool>,
}

#[derive(Debug, PartialEq)]
pub struct Fetched {
    pub size: u64,
    /// Unix seconds from Last-Modified; None when the server sent none.
    pub last_modified: Option<i64>,
    /// The URL that answered, after redirects.
    pub final_url: String,
}

pub async fn fetch_url(req: &UrlFetch) -> Result<Fetched, FetchError> {
    let context = format!("getting {:?}", req.url);
    let url = reqwest::Url::parse(&req.url)
        .map_err(|e| FetchError::InvalidArgument(format!("{context}: not a valid URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FetchError::InvalidArgument(format!(
            "{context}: only http and https URLs can be fetched"
        )));
    }
    let host = url.host_str().unwrap_or_default().to_string();
    let host_port = match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host,
    };
    let client = crate::http_client::build(&host_port, req.tls_verify == Some(false))?;
    let resp = client
        .get(url)
        .send()
        .await
        .map_err(|e| FetchError::Network {
            context: context.clone(),
            detail: crate::error::chain(&e),
        })?;
    let status = resp.status();
    if !status.is_success() {
        return Err(FetchError::Registry {
            context,
            status: status.as_u16(),
            detail: format!("invalid response status {}", status.as_u16()),
        });
    }
    let final_url = resp.url().to_string();
    let last_modified = resp
        .headers()
        .get(reqwest::header::LAST_MODIFIED)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&req.dest)
        .map_err(|e| FetchError::io(context.clone(), &req.dest, e))?;
    let written = async {
        let mut size = 0u64;
        let mut body = resp.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| FetchError::Network {
                context: context.clone(),
                detail: crate::error::chain(&e),
            })?;
            file.write_all(&chunk)
                .map_err(|e| FetchError::io(context.clone(), &req.dest, e))?;
            size += chunk.len() as u64;
        }
        file.flush()
            .map_err(|e| FetchError::io(context.clone(), &req.dest, e))?;
        Ok(size)
    }
    .await;
    let size = match written {
        Ok(s) => s,
        Err(e) => {
            remove_partial(&req.dest);
            return Err(e);
        }
    };
    debug!(url = %req.url, %final_url, size, "fetched");
    Ok(Fetched {
        size,
        last_modified,
        final_url,
    })
}

fn remove_partial(p: &Path) {
    if let Err(e) = std::fs::remove_file(p) {
        debug!(path = %p.display(), "removing a partial download: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refuses_other_schemes_and_leaves_nothing() {
        let dir = std::env::temp_dir().join(format!("url-fetch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let dest = dir.join("out");
        for url in ["ftp://h/x", "not a url"] {
            let e = fetch_url(&UrlFetch {
                url: url.into(),
                dest: dest.clone(),
                tls_verify: None,
            })
            .await
            .unwrap_err();
            assert!(matches!(e, FetchError::InvalidArgument(_)), "{url}: {e}");
            assert!(!dest.exists());
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
