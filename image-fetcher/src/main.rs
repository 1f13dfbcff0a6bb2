//! image-fetcher: registries <-> verified blobs.
//!
//! `image-fetcher serve --grpc-fd 3` is how podman runs it;
//! `image-fetcher serve --listen unix:PATH` serves other tools;
//! `image-fetcher pull REF --dest DIR` and `image-fetcher push DIR[:REF] docker://...`
//! do one copy from the command line; `image-fetcher fetch-url URL --dest FILE`
//! downloads one file (what a build's ADD URL asks); `image-fetcher info [--json]` shows
//! what it found on this host.

#![deny(unsafe_code)]

mod auth_challenge;
mod auth_file;
mod blob_copy;
mod cli_output;
mod digest;
mod error;
mod file_tree;
mod http_client;
mod info;
mod layout;
mod local_source;
mod login_check;
mod manifest;
mod platform;
mod pull;
mod push;
mod push_compress;
mod reference;
mod registry_api;
mod registry_client;
mod registry_endpoints;
mod service;
mod source;
mod trust_policy;
mod url_fetch;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use common::helper_cli::{LogArgs, ServeArgs};

use crate::cli_output::OutputMode;
use crate::source::AuthOptions;

#[derive(Parser)]
#[command(
    name = "image-fetcher",
    version,
    about = "Fetch and push images for podman"
)]
struct Cli {
    #[command(flatten)]
    log: LogArgs,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve the fetcher.v1 gRPC API.
    Serve(ServeArgs),
    /// Show TLS roots and certificate directories found on this host.
    Info {
        #[arg(long)]
        json: bool,
    },
    /// Pull an image into an OCI layout directory (blobs verified, index.json updated).
    Pull(PullArgs),
    /// Push an image from an OCI layout directory to a registry.
    Push(PushArgs),
    /// Check credentials against a registry (what `podman login` asks); stores nothing.
    CheckLogin(CheckLoginArgs),
    /// Download one http(s) URL into a new file (what a build's ADD URL asks).
    FetchUrl(FetchUrlArgs),
}

#[derive(Args)]
struct FetchUrlArgs {
    url: String,
    /// File to create (it must not exist).
    #[arg(long, value_name = "FILE")]
    dest: PathBuf,
    /// Verify certificates (default true).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    tls_verify: Option<bool>,
}

#[derive(Args)]
struct CheckLoginArgs {
    /// HOST[:PORT] of the registry.
    registry: String,
    /// Credentials USER:PASSWORD to check.
    #[arg(long, value_name = "USER:PASSWORD")]
    creds: String,
    /// Require HTTPS and verify certificates (default: registries.conf decides).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    tls_verify: Option<bool>,
}

#[derive(Args)]
struct RegistryArgs {
    /// Require HTTPS and verify certificates (false: allow plain HTTP and skip checks).
    /// Default: registries.conf `insecure` for the registry decides.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    tls_verify: Option<bool>,
    /// Credentials USER:PASSWORD for the registry.
    #[arg(long, value_name = "USER:PASSWORD")]
    creds: Option<String>,
    /// auth.json to read credentials from (default: $REGISTRY_AUTH_FILE or containers-auth.json(5) paths).
    #[arg(long, value_name = "FILE")]
    authfile: Option<PathBuf>,
    /// Blobs copied at once.
    #[arg(long, default_value_t = pull::DEFAULT_CONCURRENCY)]
    max_concurrent: usize,
    /// No progress output.
    #[arg(long, short)]
    quiet: bool,
    /// Print the result as JSON (no progress lines).
    #[arg(long)]
    json: bool,
}

impl RegistryArgs {
    fn auth(&self) -> anyhow::Result<AuthOptions> {
        let creds = self
            .creds
            .as_deref()
            .map(auth_file::parse_creds)
            .transpose()
            .map_err(anyhow::Error::msg)?;
        Ok(AuthOptions {
            creds,
            auth_file: self.authfile.clone(),
        })
    }
    fn mode(&self) -> OutputMode {
        OutputMode {
            quiet: self.quiet,
            json: self.json,
        }
    }
}

#[derive(Args)]
struct PullArgs {
    /// docker://HOST/REPO[:TAG|@DIGEST], HOST/REPO:TAG, oci:DIR[:REF], oci-archive:FILE[:REF],
    /// docker-archive:FILE[:REF] or dir:DIR.
    reference: String,
    /// OCI layout directory to pull into (created if missing).
    #[arg(long, value_name = "DIR")]
    dest: PathBuf,
    /// os/arch[/variant] to pick from a multi-platform image (default: this host).
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    platform: Option<String>,
    /// policy.json to enforce (default: containers-policy.json(5) paths).
    #[arg(long, value_name = "FILE")]
    signature_policy: Option<PathBuf>,
    #[command(flatten)]
    registry: RegistryArgs,
}

#[derive(Args)]
struct PushArgs {
    /// OCI layout directory, optionally with :REF (a ref name or manifest digest in its index.json).
    source: String,
    /// docker://HOST/REPO[:TAG].
    destination: String,
    /// Compression of layers stored uncompressed (and with --force-compression of the others): gzip or zstd.
    #[arg(long, value_name = "FORMAT", default_value = "gzip")]
    compression_format: String,
    /// Compression level (gzip 0-9, zstd 1-20).
    #[arg(long, value_name = "N")]
    compression_level: Option<i32>,
    /// Recompress layers already compressed in another format.
    #[arg(long)]
    force_compression: bool,
    #[command(flatten)]
    registry: RegistryArgs,
}

fn main() -> std::process::ExitCode {
    // Die with podman (PR_SET_PDEATHSIG) when it started us.
    proto::transport::watch_parent();
    let cli = Cli::parse();
    cli.log.init("image-fetcher");
    common::helper_cli::run("image-fetcher", async {
        match cli.cmd {
            Cmd::Serve(args) => {
                let routes = tonic::service::Routes::new(
                    proto::fetcher::v1::fetcher_server::FetcherServer::new(service::FetcherService),
                );
                proto::transport::serve(args.target()?, routes).await?;
            }
            Cmd::Info { json } => {
                let i = info::gather();
                if json {
                    println!("{}", serde_json::to_string_pretty(&i)?);
                } else {
                    println!(
                        "TLS roots: {} certificate(s) from {}",
                        i.certificate_count,
                        i.sources.join(", ")
                    );
                    println!(
                        "Certificate directories: {}",
                        if i.cert_dirs.is_empty() {
                            "none".into()
                        } else {
                            i.cert_dirs.join(", ")
                        }
                    );
                }
            }
            Cmd::Pull(a) => run_pull(a).await?,
            Cmd::Push(a) => run_push(a).await?,
            Cmd::CheckLogin(a) => {
                let creds = auth_file::parse_creds(&a.creds).map_err(anyhow::Error::msg)?;
                let ok = login_check::check_login(&login_check::LoginCheck {
                    registry: a.registry.clone(),
                    creds,
                    tls_verify: a.tls_verify,
                })
                .await?;
                let how = if ok.auth_scheme.is_empty() {
                    "no authentication required".to_string()
                } else {
                    format!("{} auth", ok.auth_scheme)
                };
                println!("Credentials accepted by {} ({how})", ok.endpoint);
            }
            Cmd::FetchUrl(a) => {
                let got = url_fetch::fetch_url(&url_fetch::UrlFetch {
                    url: a.url,
                    dest: a.dest.clone(),
                    tls_verify: a.tls_verify,
                })
                .await?;
                println!(
                    "{} bytes from {} to {}",
                    got.size,
                    got.final_url,
                    a.dest.display()
                );
            }
        }
        Ok(())
    })
}

async fn run_pull(a: PullArgs) -> anyhow::Result<()> {
    let platform = a
        .platform
        .as_deref()
        .map(platform::Platform::parse)
        .transpose()
        .map_err(anyhow::Error::msg)?
        .unwrap_or_default();
    let opts = pull::PullOptions {
        reference: a.reference,
        dest: a.dest,
        platform,
        tls_verify: a.registry.tls_verify,
        auth: a.registry.auth()?,
        max_concurrent: a.registry.max_concurrent,
        signature_policy: a.signature_policy,
    };
    let mode = a.registry.mode();
    if !mode.quiet && !mode.json {
        eprintln!("Trying to pull {}...", opts.reference);
    }
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let printer = tokio::spawn(cli_output::print_pull(rx, mode));
    let result = pull::pull(&opts, &tx).await;
    drop(tx);
    let _ = printer.await;
    result?;
    Ok(())
}

async fn run_push(a: PushArgs) -> anyhow::Result<()> {
    let (src_dir, source) = split_layout_arg(&a.source);
    let opts = push::PushOptions {
        src_dir,
        source,
        destination: a.destination,
        tls_verify: a.registry.tls_verify,
        auth: a.registry.auth()?,
        max_concurrent: a.registry.max_concurrent,
        compression: push_compress::Compression::parse(
            &a.compression_format,
            a.compression_level,
            a.force_compression,
        )?,
        scratch_dir: None,
    };
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let printer = tokio::spawn(cli_output::print_push(rx, a.registry.mode()));
    let result = push::push(&opts, &tx).await;
    drop(tx);
    let _ = printer.await;
    result?;
    Ok(())
}

/// `[oci:]DIR[:REF]`: an existing directory as a whole wins; else split at the first ':'.
fn split_layout_arg(s: &str) -> (PathBuf, String) {
    let s = s.strip_prefix("oci:").unwrap_or(s);
    if std::path::Path::new(s).is_dir() {
        return (PathBuf::from(s), String::new());
    }
    match s.split_once(':') {
        Some((d, r)) => (PathBuf::from(d), r.to_string()),
        None => (PathBuf::from(s), String::new()),
    }
}
