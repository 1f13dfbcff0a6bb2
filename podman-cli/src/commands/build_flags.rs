//! The `podman build` flags that need more than a copy into the plain
//! options: user namespace maps, cache repositories, timestamps.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::build::BuildArgs;

/// Buildah's map values: one or more CTR:HOST:LEN triples (joined by
/// colons or commas), each as `podman run --uidmap` takes it.
pub(super) fn id_triples(flag: &str, values: &[String]) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for v in values {
        let nums: Vec<&str> = v.split([':', ',']).collect();
        if nums.is_empty()
            || !nums.len().is_multiple_of(3)
            || nums.iter().any(|n| n.parse::<u32>().is_err())
        {
            anyhow::bail!("invalid {flag} {v:?}: give CTR:HOST:LENGTH triples of numbers, e.g. 0:100000:65536");
        }
        out.extend(nums.chunks(3).map(|c| c.join(":")));
    }
    Ok(out)
}

/// `--cache-from`/`--cache-to` values: fully qualified repositories
/// without a tag or digest (the tags are the cache keys).
pub(super) fn cache_repos(flag: &str, values: &[String]) -> anyhow::Result<Vec<String>> {
    values
        .iter()
        .map(|v| {
            let plain = v.strip_prefix("docker://").unwrap_or(v);
            let r = crate::image::reference::Reference::parse(plain)
                .map_err(|e| anyhow::anyhow!("{flag} {v:?}: {e}"))?;
            if r.is_short() || r.tag.is_some() || r.digest.is_some() {
                anyhow::bail!("{flag} {v:?}: give a registry repository, HOST/REPO, without a tag: its tags are the cache keys");
            }
            Ok(r.repository())
        })
        .collect()
}

impl BuildArgs {
    /// Buildah's `--userns` in `podman run`'s words: a new namespace is
    /// made from the maps given, or `auto` ranges when none are.
    pub(super) fn run_userns(&self) -> anyhow::Result<Option<String>> {
        let maps = !self.userns_uid_map.is_empty()
            || !self.userns_gid_map.is_empty()
            || self.userns_uid_map_user.is_some()
            || self.userns_gid_map_group.is_some();
        Ok(match self.userns.as_deref() {
            None => None,
            Some("host") if !maps => None,
            Some("host") => anyhow::bail!("--userns=host cannot be used with --userns-uid-map/--userns-gid-map: the maps make a new user namespace"),
            Some("" | "private" | "container") if maps => None,
            Some("" | "private" | "container") => Some("auto".into()),
            Some(p) if p.starts_with('/') || p.starts_with("ns:") => {
                if maps {
                    anyhow::bail!("--userns={p} joins an existing user namespace: its maps cannot be given");
                }
                Some(format!("ns:{}", p.trim_start_matches("ns:")))
            }
            Some(o) => anyhow::bail!("invalid --userns {o:?}: use host, private, container, or the path of a user namespace"),
        })
    }
}

fn seconds(flag: &str, v: &str) -> anyhow::Result<i64> {
    v.trim()
        .parse::<i64>()
        .ok()
        .filter(|t| *t >= 0)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "invalid {flag} {v:?}: give whole seconds since the epoch, e.g. 1700000000"
            )
        })
}

impl BuildArgs {
    /// `--timestamp`, else `--source-date-epoch`, else a SOURCE_DATE_EPOCH
    /// build argument, else $SOURCE_DATE_EPOCH; the epoch is also the
    /// SOURCE_DATE_EPOCH build argument, as Buildah provides it.
    pub(super) fn timestamps(
        &self,
        build_args: &mut BTreeMap<String, String>,
    ) -> anyhow::Result<crate::build::options::Timestamps> {
        use crate::build::options::Timestamps;
        const NAME: &str = "SOURCE_DATE_EPOCH";
        if let Some(t) = &self.timestamp {
            if self.source_date_epoch.is_some() {
                anyhow::bail!("--timestamp and --source-date-epoch cannot be used together: --timestamp also sets file times, --source-date-epoch only the creation time");
            }
            if self.rewrite_timestamp {
                anyhow::bail!("--rewrite-timestamp goes with --source-date-epoch: --timestamp already sets every file's time");
            }
            return Ok(Timestamps::Fixed(seconds("--timestamp", t)?));
        }
        let epoch = match (&self.source_date_epoch, build_args.get(NAME)) {
            (Some(e), _) => Some(seconds("--source-date-epoch", e)?),
            (None, Some(e)) => Some(seconds("--build-arg SOURCE_DATE_EPOCH", e)?),
            (None, None) => std::env::var(NAME)
                .ok()
                .filter(|v| !v.is_empty())
                .map(|v| seconds("SOURCE_DATE_EPOCH (environment)", &v))
                .transpose()?,
        };
        match epoch {
            Some(epoch) => {
                build_args.insert(NAME.to_string(), epoch.to_string());
                Ok(Timestamps::SourceDateEpoch {
                    epoch,
                    rewrite: self.rewrite_timestamp,
                })
            }
            None if self.rewrite_timestamp => anyhow::bail!("--rewrite-timestamp needs --source-date-epoch (or SOURCE_DATE_EPOCH) to know the latest time"),
            None => Ok(Timestamps::Now),
        }
    }
}

/// A private directory, removed when dropped (the empty context of
/// `podman build -`, downloaded Containerfiles, secret copies).
pub(super) fn private_temp_dir() -> anyhow::Result<tempfile::TempDir> {
    Ok(tempfile::Builder::new().prefix("podman-build-").tempdir()?)
}

/// The context directory and the Containerfiles to read: `-` for a
/// Containerfile on stdin (with an empty context made in `temp`), the
/// context's Containerfile or Dockerfile when none is named, each named
/// file relative to the current directory, else to the context.
pub(super) fn context_and_files(
    context: Option<&str>,
    file: &[String],
    temp: &mut Option<tempfile::TempDir>,
) -> anyhow::Result<(PathBuf, Vec<String>)> {
    let (context, files): (PathBuf, Vec<String>) = match context {
        Some("-") => {
            let d = private_temp_dir()?;
            let p = d.path().to_path_buf();
            *temp = Some(d);
            (p, vec!["-".into()])
        }
        Some(c) => {
            let p = PathBuf::from(c);
            if c.contains("://") {
                anyhow::bail!("context {c}: remote contexts (URLs, git) are not supported offline: clone or download it and pass the directory");
            }
            if !p.is_dir() {
                if p.exists() {
                    anyhow::bail!("context must be a directory: {c}");
                }
                anyhow::bail!("context directory {c}: no such file or directory");
            }
            (p, file.to_vec())
        }
        None => match file.first() {
            Some(f) if f != "-" => (
                Path::new(f)
                    .parent()
                    .map(Path::to_path_buf)
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or_else(|| PathBuf::from(".")),
                file.to_vec(),
            ),
            _ => (PathBuf::from("."), file.to_vec()),
        },
    };
    let files = if files.is_empty() {
        let found = ["Containerfile", "Dockerfile"]
            .iter()
            .map(|n| context.join(n))
            .find(|p| p.is_file())
            .ok_or_else(|| anyhow::anyhow!("no Containerfile or Dockerfile specified or found in context directory, {}: no such file or directory", context.display()))?;
        vec![found.display().to_string()]
    } else {
        files
            .into_iter()
            .map(|f| {
                // Relative to the current directory, else to the context.
                if f == "-" || Path::new(&f).is_absolute() || Path::new(&f).exists() {
                    f
                } else if context.join(&f).exists() {
                    context.join(&f).display().to_string()
                } else {
                    f
                }
            })
            .collect()
    };
    Ok((context, files))
}

/// `--secret id=,src=|env=`: each secret's value read once into a private
/// copy (under `temp`), so a later change of the source does not leak into
/// a step; each RUN mounts a copy of it with the mount's mode and owner.
pub(super) fn secret_files(
    specs: &[String],
    temp: &mut Option<tempfile::TempDir>,
) -> anyhow::Result<BTreeMap<String, PathBuf>> {
    let mut secrets = BTreeMap::new();
    for spec in specs {
        let (id, src) =
            crate::build::run_mounts::parse_secret(spec).map_err(|e| anyhow::anyhow!(e))?;
        if id.contains('/') || id == "." || id == ".." {
            anyhow::bail!(
                "invalid --secret {spec:?}: the id names a file under /run/secrets: no '/'"
            );
        }
        let value = match src.to_str().and_then(|p| p.strip_prefix("env:")) {
            Some(var) => std::env::var(var)
                .map_err(|_| {
                    anyhow::anyhow!("--secret {spec}: the environment variable {var} is not set")
                })?
                .into_bytes(),
            None => {
                if !src.is_file() {
                    anyhow::bail!("--secret {spec}: {} is not a file", src.display());
                }
                std::fs::read(&src).map_err(|e| {
                    anyhow::anyhow!("--secret {spec}: reading {}: {e}", src.display())
                })?
            }
        };
        // A private copy for the whole build (a later change of the
        // source does not leak into a step); each RUN mounts a copy of
        // it with the mount's mode and owner.
        if temp.is_none() {
            *temp = Some(private_temp_dir()?);
        }
        let dir = temp
            .as_ref()
            .map(|t| t.path().join("secrets"))
            .unwrap_or_default();
        std::fs::create_dir_all(&dir)?;
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
        let path = dir.join(&id);
        common::atomic_file::write_atomic_mode(
            &path,
            &value,
            0o600,
            common::atomic_file::Durability::NoSync,
        )?;
        secrets.insert(id, path);
    }
    Ok(secrets)
}
