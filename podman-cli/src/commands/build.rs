//! `podman build` / `image build` / `buildx build`: the flags, the
//! Containerfile and context they name, and the result's report (each
//! tag, then the image ID).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use clap::Args;

use super::pull::RegistryArgs;
use crate::build::options::BuildOptions;
use crate::build::platform::Platform;
use crate::engine_config::EngineConfig;
use crate::image::naming::local_name;
use crate::image::pull::PullOptions;

#[derive(Debug, Clone, Args)]
pub struct BuildArgs {
    /// Context directory (default: the current directory; `-` reads the Containerfile from stdin)
    pub context: Option<String>,
    /// Containerfile or Dockerfile to build (`-` for stdin; several are joined)
    #[arg(short, long = "file", value_name = "PATH")]
    pub file: Vec<String>,
    /// Name (and tag) of the resulting image
    #[arg(short, long = "tag", value_name = "NAME")]
    pub tag: Vec<String>,
    /// Build argument KEY=VALUE (KEY alone takes it from the environment)
    #[arg(long = "build-arg", value_name = "KEY[=VALUE]")]
    pub build_arg: Vec<String>,
    /// File of KEY=VALUE build arguments, one a line
    #[arg(long = "build-arg-file", value_name = "PATH")]
    pub build_arg_file: Vec<PathBuf>,
    /// Additional build context NAME=PATH or NAME=docker-image://REF
    #[arg(long = "build-context", value_name = "NAME=VALUE")]
    pub build_context: Vec<String>,
    /// Stage to build (and the stages it needs)
    #[arg(long)]
    pub target: Option<String>,
    /// Do not use cached images
    #[arg(long)]
    pub no_cache: bool,
    /// Cache intermediate images
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL", value_parser = clap::builder::BoolishValueParser::new())]
    pub layers: Option<bool>,
    /// Pull policy for base images: always, missing, never, newer (default "missing")
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "always", default_value = "missing", value_name = "POLICY")]
    pub pull: String,
    /// Always pull base images (--pull=always)
    #[arg(long, hide = true)]
    pub pull_always: bool,
    /// Never pull base images (--pull=never)
    #[arg(long, hide = true)]
    pub pull_never: bool,
    /// Squash the layers the build added into one (the base image's layers stay)
    #[arg(long)]
    pub squash: bool,
    /// Squash all layers, the base image's too, into one
    #[arg(long)]
    pub squash_all: bool,
    /// Format of the image manifest and metadata: oci or docker
    #[arg(long, value_parser = ["oci", "docker"])]
    pub format: Option<String>,
    /// File to write the image ID to
    #[arg(long, value_name = "PATH")]
    pub iidfile: Option<PathBuf>,
    /// Set a label on the image: KEY=VALUE
    #[arg(long, value_name = "KEY=VALUE")]
    pub label: Vec<String>,
    /// Remove a label the base image set (or an earlier stage)
    #[arg(long, value_name = "KEY")]
    pub unsetlabel: Vec<String>,
    /// Set an environment variable in the image (and its RUN steps): NAME=VALUE, or NAME to take the host's value
    #[arg(long, value_name = "NAME[=VALUE]")]
    pub env: Vec<String>,
    /// Remove an environment variable from the final image
    #[arg(long, value_name = "NAME")]
    pub unsetenv: Vec<String>,
    /// Add the io.buildah.version label (default true)
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL", value_parser = clap::builder::BoolishValueParser::new())]
    pub identity_label: Option<bool>,
    /// Add an annotation to the image's manifest: KEY=VALUE
    #[arg(long, value_name = "KEY=VALUE")]
    pub annotation: Vec<String>,
    /// Remove intermediate containers after a successful build
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL", value_parser = clap::builder::BoolishValueParser::new())]
    pub rm: Option<bool>,
    /// Always remove intermediate containers, even when the build fails
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL", value_parser = clap::builder::BoolishValueParser::new())]
    pub force_rm: Option<bool>,
    /// Print only the image ID
    #[arg(short, long)]
    pub quiet: bool,
    /// Network mode for RUN: bridge, host, none, or a network name
    #[arg(long, alias = "net", value_name = "MODE")]
    pub network: Option<String>,
    /// Platform of the image: OS/ARCH[/VARIANT] (RUN needs the host to run its binaries)
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,
    /// Architecture of the image (instead of the host's)
    #[arg(long, value_name = "ARCH", conflicts_with = "platform")]
    pub arch: Option<String>,
    /// Operating system of the image (only linux)
    #[arg(long, value_name = "OS", conflicts_with = "platform")]
    pub os: Option<String>,
    /// Architecture variant of the image
    #[arg(long, value_name = "VARIANT", conflicts_with = "platform")]
    pub variant: Option<String>,
    /// Ignore file instead of the context's .containerignore/.dockerignore
    #[arg(long, value_name = "PATH")]
    pub ignorefile: Option<PathBuf>,
    /// Stages built at once (they are built one at a time here, which any N allows)
    #[arg(long, value_name = "N")]
    pub jobs: Option<u32>,
    /// Write the build's output (stdout and stderr) to this file
    #[arg(long, value_name = "PATH")]
    pub logfile: Option<PathBuf>,
    /// Ulimits of RUN containers: NAME=SOFT[:HARD]
    #[arg(long, value_name = "NAME=SOFT[:HARD]")]
    pub ulimit: Vec<String>,
    /// Security options of RUN containers (seccomp=, apparmor=, label=, no-new-privileges)
    #[arg(long, value_name = "OPT")]
    pub security_opt: Vec<String>,
    /// Add capabilities to RUN containers
    #[arg(long, value_name = "CAP")]
    pub cap_add: Vec<String>,
    /// Drop capabilities from RUN containers
    #[arg(long, value_name = "CAP")]
    pub cap_drop: Vec<String>,
    /// Add a host-to-IP mapping to RUN containers (host:ip)
    #[arg(long, value_name = "HOST:IP")]
    pub add_host: Vec<String>,
    /// Do not write /etc/hosts for RUN steps: they see the image's own
    #[arg(long)]
    pub no_hosts: bool,
    /// DNS servers of RUN containers
    #[arg(long, value_name = "IP")]
    pub dns: Vec<String>,
    /// DNS search domains of RUN containers
    #[arg(long, value_name = "DOMAIN")]
    pub dns_search: Vec<String>,
    /// Bind mount for RUN steps: /HOST-DIR:/CONTAINER-DIR[:OPTIONS] (what RUN writes there stays out of the image)
    #[arg(short = 'v', long = "volume", value_name = "HOST:CONTAINER[:OPTS]")]
    pub volume: Vec<String>,
    /// Also write the final root file system: type=local,dest=DIR, type=tar,dest=FILE, DIR, or - (a tar on stdout)
    #[arg(short = 'o', long, value_name = "OUTPUT")]
    pub output: Option<String>,
    /// Seconds since the epoch to record as the image's creation time and to give every file in its new layers
    #[arg(long, value_name = "SECONDS")]
    pub timestamp: Option<String>,
    /// Seconds since the epoch to record as the creation time (default: $SOURCE_DATE_EPOCH); also the SOURCE_DATE_EPOCH build argument
    #[arg(long, value_name = "SECONDS")]
    pub source_date_epoch: Option<String>,
    /// With --source-date-epoch: files newer than it in new layers get its time
    #[arg(long)]
    pub rewrite_timestamp: bool,
    /// Registry repository whose images are a cache: a step missing the local cache is pulled from REPO:KEY when there
    #[arg(long, value_name = "HOST/REPO")]
    pub cache_from: Vec<String>,
    /// Registry repository every newly built step is pushed to as REPO:KEY
    #[arg(long, value_name = "HOST/REPO")]
    pub cache_to: Vec<String>,
    /// User namespace of RUN steps: host, private (or container, or empty) for a new one, or a namespace's path
    #[arg(long, value_name = "HOW")]
    pub userns: Option<String>,
    /// UID map of RUN steps' user namespace: CTR:HOST:LENGTH triples
    #[arg(long = "userns-uid-map", value_name = "CTR:HOST:LEN")]
    pub userns_uid_map: Vec<String>,
    /// GID map of RUN steps' user namespace: CTR:HOST:LENGTH triples
    #[arg(long = "userns-gid-map", value_name = "CTR:HOST:LEN")]
    pub userns_gid_map: Vec<String>,
    /// User whose /etc/subuid ranges map RUN steps' UIDs
    #[arg(long = "userns-uid-map-user", value_name = "USER")]
    pub userns_uid_map_user: Option<String>,
    /// Group whose /etc/subgid ranges map RUN steps' GIDs
    #[arg(long = "userns-gid-map-group", value_name = "GROUP")]
    pub userns_gid_map_group: Option<String>,
    /// Add the image to this manifest list (not supported: no manifest lists here yet)
    #[arg(long, value_name = "NAME")]
    pub manifest: Option<String>,
    /// Build for every platform of the base image (not supported: no manifest lists here yet)
    #[arg(long)]
    pub all_platforms: bool,
    /// Load the result into local storage (`buildx build --load`; a build always does)
    #[arg(long, hide = true)]
    pub load: bool,
    /// Secret for RUN --mount=type=secret: id=NAME,src=PATH or id=NAME,env=VAR
    #[arg(long, value_name = "id=NAME,src=PATH")]
    pub secret: Vec<String>,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

fn is_url(p: &str) -> bool {
    p.starts_with("http://") || p.starts_with("https://")
}

fn read_path(p: &str) -> anyhow::Result<String> {
    if p == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        return Ok(s);
    }
    std::fs::read_to_string(p).map_err(|e| {
        anyhow::anyhow!(
            "the specified Containerfile or Dockerfile does not exist, {p}: {}",
            io_reason(&e)
        )
    })
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        _ => e.to_string(),
    }
}

fn key_value(s: &str, what: &str) -> anyhow::Result<(String, String)> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => anyhow::bail!("invalid {what} {s:?}: use KEY=VALUE"),
    }
}

impl BuildArgs {
    /// The plain options, the Containerfile read, and a temporary empty
    /// context when the Containerfile came from stdin without one.
    fn options(&self) -> anyhow::Result<(BuildOptions, Option<tempfile::TempDir>)> {
        if let Some(m) = &self.manifest {
            anyhow::bail!("--manifest {m}: manifest lists are not supported here yet: build each platform's image on its own (-t NAME --platform OS/ARCH) and push them by name");
        }
        if self.all_platforms {
            anyhow::bail!("--all-platforms: building a manifest list is not supported here yet: build each platform on its own with --platform OS/ARCH");
        }
        if self.squash && self.squash_all {
            anyhow::bail!("cannot specify --squash-all with --squash");
        }
        let mut temp = None;
        let (context, files) =
            super::build_flags::context_and_files(self.context.as_deref(), &self.file, &mut temp)?;
        if self.jobs == Some(0) {
            anyhow::bail!("--jobs must be at least 1");
        }
        let mut text = String::new();
        for f in &files {
            text.push_str(&read_path(f)?);
            text.push('\n');
        }
        let mut build_args = BTreeMap::new();
        for f in &self.build_arg_file {
            let body = std::fs::read_to_string(f).map_err(|e| {
                anyhow::anyhow!("--build-arg-file {}: {}", f.display(), io_reason(&e))
            })?;
            for l in body
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
            {
                let (k, v) = key_value(l, "build argument")?;
                build_args.insert(k, v);
            }
        }
        for a in &self.build_arg {
            match a.split_once('=') {
                Some((k, v)) => {
                    build_args.insert(k.to_string(), v.to_string());
                }
                None => {
                    if let Ok(v) = std::env::var(a) {
                        build_args.insert(a.clone(), v);
                    }
                }
            }
        }
        if self.no_hosts && !self.add_host.is_empty() {
            anyhow::bail!("--no-hosts and --add-host cannot be set together");
        }
        for v in &self.volume {
            let src = v.split(':').next().unwrap_or("");
            if !src.starts_with('/') {
                anyhow::bail!("invalid --volume {v:?}: the host directory must be an absolute path (named volumes are not available to RUN)");
            }
            if !Path::new(src).exists() {
                anyhow::bail!("--volume {v:?}: {src}: no such file or directory");
            }
        }
        let mut env = Vec::new();
        for e in &self.env {
            match e.split_once('=') {
                Some(("", _)) => {
                    anyhow::bail!("invalid --env {e:?}: the name is empty: use NAME=VALUE")
                }
                Some((k, v)) => env.push((k.to_string(), v.to_string())),
                // NAME alone: the host's value, nothing when it has none.
                None => {
                    if let Ok(v) = std::env::var(e) {
                        env.push((e.clone(), v));
                    }
                }
            }
        }
        let timestamps = self.timestamps(&mut build_args)?;
        let mut labels = BTreeMap::new();
        for l in &self.label {
            let (k, v) = match l.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (l.clone(), String::new()),
            };
            labels.insert(k, v);
        }
        let mut annotations = BTreeMap::new();
        for a in &self.annotation {
            let (k, v) = key_value(a, "--annotation")?;
            annotations.insert(k, v);
        }
        let mut build_contexts = BTreeMap::new();
        for c in &self.build_context {
            let (k, v) = key_value(c, "--build-context")?;
            if crate::build::executor_image_context(&v).is_none() {
                if v.contains("://") {
                    anyhow::bail!("--build-context {c}: only directories and docker-image:// references are supported offline");
                }
                if !Path::new(&v).is_dir() {
                    anyhow::bail!("--build-context {c}: {v} is not a directory");
                }
            }
            build_contexts.insert(k, v);
        }
        let pull = if self.pull_never {
            "never".to_string()
        } else if self.pull_always {
            "always".to_string()
        } else {
            match self.pull.as_str() {
                "missing" | "ifmissing" | "false" => "missing".into(),
                "always" | "true" => "always".into(),
                "never" => "never".into(),
                "newer" | "ifnewer" => "newer".into(),
                o => anyhow::bail!("invalid --pull {o:?}: use always, missing, never or newer"),
            }
        };
        let mut pull_options = PullOptions {
            quiet: self.quiet,
            tls_verify: self.registry.tls_verify,
            authfile: self.registry.authfile.clone(),
            ..Default::default()
        };
        if let Some(c) = &self.registry.creds {
            pull_options.set_creds(c)?;
        }
        if let Some(a) = &self.registry.authfile {
            if !a.exists() {
                anyhow::bail!(
                    "credential file is not accessible: stat {}: no such file or directory",
                    a.display()
                );
            }
        }
        let mut push_options = crate::image::transfer::PushOptions {
            tls_verify: self.registry.tls_verify,
            authfile: self.registry.authfile.clone(),
            ..Default::default()
        };
        if let Some(c) = &self.registry.creds {
            (push_options.username, push_options.password) = crate::image::pull::parse_creds(c)?;
        }
        if (!self.cache_from.is_empty() || !self.cache_to.is_empty())
            && (self.layers == Some(false) || self.squash_all)
        {
            anyhow::bail!("--cache-from and --cache-to cache each step's image: they need --layers (and no --squash-all)");
        }
        let platform = match &self.platform {
            Some(p) => Platform::parse(p)?,
            None => {
                let host = Platform::host();
                Platform::new(
                    self.os.as_deref().unwrap_or(&host.os),
                    self.arch.as_deref().unwrap_or(&host.arch),
                    self.variant.as_deref().unwrap_or(""),
                )?
            }
        };
        if !platform.is_host() {
            pull_options.os = platform.os.clone();
            pull_options.arch = platform.arch.clone();
            pull_options.variant = platform.variant.clone();
        }
        let secrets = super::build_flags::secret_files(&self.secret, &mut temp)?;
        let format = match &self.format {
            Some(f) => f.clone(),
            None => std::env::var("BUILDAH_FORMAT").unwrap_or_else(|_| "oci".into()),
        };
        let file_name = if files.len() == 1 && files[0] != "-" {
            files[0].clone()
        } else if files.len() == 1 {
            "stdin".to_string()
        } else {
            files.join("+")
        };
        Ok((
            BuildOptions {
                context,
                file_name,
                file_text: text,
                tags: self
                    .tag
                    .iter()
                    .map(|t| local_name(t))
                    .collect::<Result<_, _>>()?,
                build_args,
                target: self.target.clone(),
                no_cache: self.no_cache,
                layers: self
                    .layers
                    .or_else(|| {
                        std::env::var("BUILDAH_LAYERS")
                            .ok()
                            .map(|v| matches!(v.as_str(), "1" | "true" | "yes"))
                    })
                    .unwrap_or(true)
                    && !self.squash_all,
                pull,
                pull_options,
                squash_all: self.squash_all,
                squash: self.squash,
                docker_format: format == "docker",
                iidfile: self.iidfile.clone(),
                labels,
                annotations,
                build_contexts,
                rm: self.rm.unwrap_or(true) || self.force_rm == Some(true),
                force_rm: self.force_rm == Some(true),
                quiet: self.quiet,
                network: self.network.iter().cloned().collect(),
                secrets,
                ignorefile: self.ignorefile.clone(),
                run: crate::build::options::RunFlags {
                    ulimit: self.ulimit.clone(),
                    security_opt: self.security_opt.clone(),
                    cap_add: self.cap_add.clone(),
                    cap_drop: self.cap_drop.clone(),
                    add_host: self.add_host.clone(),
                    dns: self.dns.clone(),
                    dns_search: self.dns_search.clone(),
                    volume: self.volume.clone(),
                    no_hosts: self.no_hosts,
                    userns: self.run_userns()?,
                    uidmap: super::build_flags::id_triples(
                        "--userns-uid-map",
                        &self.userns_uid_map,
                    )?,
                    gidmap: super::build_flags::id_triples(
                        "--userns-gid-map",
                        &self.userns_gid_map,
                    )?,
                    subuidname: self.userns_uid_map_user.clone(),
                    subgidname: self.userns_gid_map_group.clone(),
                },
                tags_given: self.tag.clone(),
                unset_labels: self.unsetlabel.clone(),
                unset_env: self.unsetenv.clone(),
                identity_label: self.identity_label.unwrap_or(true),
                env,
                output: self
                    .output
                    .as_deref()
                    .map(crate::build::output::parse)
                    .transpose()?,
                output_stdout: None,
                timestamps,
                cache_from: super::build_flags::cache_repos("--cache-from", &self.cache_from)?,
                cache_to: super::build_flags::cache_repos("--cache-to", &self.cache_to)?,
                push_options,
                platform,
            },
            temp,
        ))
    }
}

pub async fn run(engine: &EngineConfig, a: &BuildArgs) -> anyhow::Result<()> {
    if let Some(log) = &a.logfile {
        redirect_output(log)?;
    }
    // `-f URL`: the Containerfile is downloaded (by image-fetcher) first.
    let mut a = a.clone();
    let mut downloaded = None;
    if a.file.iter().any(|f| is_url(f)) {
        let dir = super::build_flags::private_temp_dir()?;
        let mut fetcher = crate::helper_procs::fetcher(engine).await?;
        let mut result = Ok(());
        for (i, f) in a.file.iter_mut().enumerate().filter(|(_, f)| is_url(f)) {
            let path = dir.path().join(format!("Containerfile.{i}"));
            result = crate::build::add_url::fetch_to(&mut fetcher, f, &path, a.registry.tls_verify)
                .await
                .map_err(|e| anyhow::anyhow!("reading Containerfile {f}: {e:#}"));
            if result.is_err() {
                break;
            }
            *f = path.display().to_string();
        }
        let closed = fetcher.close().await;
        result?;
        closed?;
        downloaded = Some(dir);
    }
    let (mut opts, _temp) = a.options()?;
    if opts.output == Some(crate::build::output::BuildOutput::Tar(None)) {
        // The tar owns stdout: what the build prints goes to stderr.
        use std::os::fd::AsFd;
        let out = std::io::stdout().as_fd().try_clone_to_owned()?;
        nix::unistd::dup2(2, 1)?;
        opts.output_stdout = Some(std::sync::Arc::new(out));
    }
    let _downloaded = downloaded;
    let img = crate::build::build(engine, &opts).await?;
    crate::events::image(
        "build",
        &img.id,
        opts.tags.first().map(String::as_str).unwrap_or(""),
    );
    if let Some(f) = &opts.iidfile {
        std::fs::write(f, format!("sha256:{}", img.id))
            .map_err(|e| anyhow::anyhow!("failed to write image ID: {}: {e}", f.display()))?;
    }
    if !opts.quiet {
        for t in &opts.tags {
            println!("Successfully tagged {t}");
        }
    }
    println!("{}", img.id);
    Ok(())
}

/// `--logfile`: this process's stdout and stderr (and so the RUN
/// containers' output, which goes through them) go to the file.
fn redirect_output(path: &Path) -> anyhow::Result<()> {
    use std::os::fd::AsRawFd;
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| anyhow::anyhow!("--logfile {}: {}", path.display(), io_reason(&e)))?;
    for fd in [1, 2] {
        nix::unistd::dup2(f.as_raw_fd(), fd)?;
    }
    Ok(())
}

/// `buildx version`: the builder's version, as Podman prints Buildah's.
pub fn buildx_version() -> anyhow::Result<()> {
    println!("buildah {}", crate::compat::BUILDAH_VERSION);
    Ok(())
}
