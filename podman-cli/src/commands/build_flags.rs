//! The `podman build` flags that need more than a copy into the plain
//! options: user namespace maps, cache repositories, timestamps.

use std::collections::BTreeMap;

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
