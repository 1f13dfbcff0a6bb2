//! ADD's URL sources: each downloaded by image-fetcher (the helper that
//! speaks HTTP) into the step's staging directory, under the name the
//! URL's path ends with, its mtime the answer's Last-Modified, as Buildah
//! does; the files then go into the step's tar like context files (never
//! extracted), so the cache key follows their content.

use std::path::Path;

use proto::fetcher::v1::FetchUrlRequest;

use super::executor::Builder;
use super::sources::Download;
use crate::helper_procs::{FetcherClient, Session};

/// The file name a URL's download gets: the last segment of its path.
pub fn url_file_name(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let path = rest.split(['?', '#']).next()?;
    let (_, path) = path.split_once('/')?;
    let name = path.rsplit('/').next()?;
    (!name.is_empty() && name != "." && name != "..").then(|| name.to_string())
}

/// Download `url` into the new file `file` (its mtime the answer's
/// Last-Modified, when there is one).
pub async fn fetch_to(
    fetcher: &mut Session<FetcherClient>,
    url: &str,
    file: &Path,
    tls_verify: Option<bool>,
) -> anyhow::Result<()> {
    let req = FetchUrlRequest {
        url: url.to_string(),
        dest_file: file.display().to_string(),
        tls_verify,
    };
    let got = fetcher
        .call("FetchUrl", |mut c| async move { c.fetch_url(req).await })
        .await?;
    if let Some(t) = got.last_modified {
        let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(t.max(0) as u64);
        std::fs::File::options()
            .write(true)
            .open(file)?
            .set_modified(when)?;
    }
    Ok(())
}

impl Builder<'_> {
    /// Download every URL among `srcs` into `dir`.
    pub(super) async fn download_urls(
        &mut self,
        srcs: &[String],
        dir: &Path,
    ) -> anyhow::Result<Vec<Download>> {
        let urls: Vec<&String> = srcs.iter().filter(|s| s.contains("://")).collect();
        if urls.is_empty() {
            return Ok(Vec::new());
        }
        let mut fetcher = crate::helper_procs::fetcher(self.engine).await?;
        let mut out = Vec::new();
        let mut result = Ok(());
        for (i, url) in urls.into_iter().enumerate() {
            let r = self
                .download(&mut fetcher, url, &dir.join(format!("url-{i}")))
                .await;
            match r {
                Ok(d) => out.push(d),
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        let closed = fetcher.close().await;
        result?;
        closed?;
        Ok(out)
    }

    async fn download(
        &self,
        fetcher: &mut Session<FetcherClient>,
        url: &str,
        dir: &Path,
    ) -> anyhow::Result<Download> {
        let name = url_file_name(url).ok_or_else(|| {
            anyhow::anyhow!("ADD {url}: the URL's path names no file: add the file name to the URL")
        })?;
        std::fs::create_dir(dir)?;
        let file = dir.join(&name);
        fetch_to(fetcher, url, &file, self.opts.pull_options.tls_verify).await?;
        Ok(Download {
            url: url.to_string(),
            name,
            file,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_urls() {
        for (url, want) in [
            ("http://h:8080/index.txt", Some("index.txt")),
            ("https://h/a/b/c.tar.gz?x=1#f", Some("c.tar.gz")),
            ("http://h/", None),
            ("http://h", None),
            ("http://h/dir/", None),
        ] {
            assert_eq!(url_file_name(url).as_deref(), want, "{url}");
        }
    }
}
