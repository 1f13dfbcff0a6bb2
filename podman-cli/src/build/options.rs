//! What `podman build` asks for, as plain options (the commands layer
//! turns its flags into these).

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::image::pull::PullOptions;

#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// The context directory (COPY/ADD sources, the ignore file).
    pub context: PathBuf,
    /// The Containerfile's name (for messages) and text; several `-f`
    /// are joined in order.
    pub file_name: String,
    pub file_text: String,
    /// Fully qualified names to tag the result with.
    pub tags: Vec<String>,
    pub build_args: BTreeMap<String, String>,
    pub target: Option<String>,
    pub no_cache: bool,
    pub layers: bool,
    /// always, missing, never, newer.
    pub pull: String,
    pub pull_options: PullOptions,
    pub squash_all: bool,
    /// `--squash`: the final stage's new layers as one.
    pub squash: bool,
    pub docker_format: bool,
    pub iidfile: Option<PathBuf>,
    pub labels: BTreeMap<String, String>,
    /// `--annotation KEY=VALUE` on the final image's manifest.
    pub annotations: BTreeMap<String, String>,
    /// `--build-context name=value`: a directory, or docker-image://REF.
    pub build_contexts: BTreeMap<String, String>,
    pub rm: bool,
    pub force_rm: bool,
    pub quiet: bool,
    /// RUN's network (`--network`), empty for the default.
    pub network: Vec<String>,
    /// `--secret id=NAME,src=PATH`: NAME -> host file.
    pub secrets: BTreeMap<String, PathBuf>,
    /// `--ignorefile`, instead of the context's ignore file.
    pub ignorefile: Option<PathBuf>,
    /// What RUN containers get (`--ulimit`, `--security-opt`, ...).
    pub run: RunFlags,
    /// The `-t` names as given (Podman's COMMIT line shows them so).
    pub tags_given: Vec<String>,
    /// `--unsetlabel`, `--unsetenv`: taken out of the final image's config.
    pub unset_labels: Vec<String>,
    pub unset_env: Vec<String>,
    /// The platform built (`--platform`; the host's by default).
    pub platform: super::platform::Platform,
    /// `--identity-label`: every stage's image labelled io.buildah.version.
    pub identity_label: bool,
    /// `--env NAME=VALUE`: set in every stage's config after FROM (so RUN
    /// sees it and the image keeps it).
    pub env: Vec<(String, String)>,
    /// `--output`: where the final root file system is written too.
    pub output: Option<super::output::BuildOutput>,
    /// Podman's original standard output, set aside for `--output -`
    /// (everything printed goes to stderr then).
    pub output_stdout: Option<std::sync::Arc<std::os::fd::OwnedFd>>,
    /// `--timestamp`, `--source-date-epoch`, `--rewrite-timestamp`.
    pub timestamps: Timestamps,
    /// `--cache-from`: registry repositories (HOST/REPO) whose tags are
    /// cache keys, tried when a step misses the local cache.
    pub cache_from: Vec<String>,
    /// `--cache-to`: repositories each newly built step is pushed to.
    pub cache_to: Vec<String>,
    /// Credentials and TLS for `--cache-to` pushes.
    pub push_options: crate::image::transfer::PushOptions,
}

/// The times a build records, as Buildah's flags set them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Timestamps {
    /// Now, and files as they are.
    #[default]
    Now,
    /// `--timestamp T`: "created" is T and every file in a new layer gets T.
    Fixed(i64),
    /// `--source-date-epoch T` (or SOURCE_DATE_EPOCH): "created" is T; with
    /// `--rewrite-timestamp` files newer than T in new layers get T.
    SourceDateEpoch { epoch: i64, rewrite: bool },
}

impl Timestamps {
    pub fn created(self) -> Option<i64> {
        match self {
            Timestamps::Now => None,
            Timestamps::Fixed(t) | Timestamps::SourceDateEpoch { epoch: t, .. } => Some(t),
        }
    }

    pub fn layer_mtime(self) -> Option<i64> {
        match self {
            Timestamps::Fixed(t) => Some(t),
            Timestamps::SourceDateEpoch {
                epoch,
                rewrite: true,
            } => Some(epoch),
            _ => None,
        }
    }

    pub fn clamp(self) -> bool {
        matches!(self, Timestamps::SourceDateEpoch { rewrite: true, .. })
    }
}

/// Flags `podman build` hands to each RUN container, as `podman run` takes them.
#[derive(Debug, Clone, Default)]
pub struct RunFlags {
    pub ulimit: Vec<String>,
    pub security_opt: Vec<String>,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub add_host: Vec<String>,
    pub dns: Vec<String>,
    pub dns_search: Vec<String>,
    /// `-v HOST:CTR[:OPTS]`: bind mounts of every RUN step (not committed).
    pub volume: Vec<String>,
    /// `--no-hosts`: RUN sees the image's own /etc/hosts.
    pub no_hosts: bool,
    /// `--userns` as `podman run` takes it (None: the host's).
    pub userns: Option<String>,
    /// `--userns-uid-map`/`--userns-gid-map` triples, as `--uidmap`.
    pub uidmap: Vec<String>,
    pub gidmap: Vec<String>,
    /// `--userns-uid-map-user`/`--userns-gid-map-group`.
    pub subuidname: Option<String>,
    pub subgidname: Option<String>,
}
