//! `podman pull`.

use std::path::PathBuf;

use clap::Args;

use crate::engine_config::EngineConfig;
use crate::image::pull::{by_policy, pull_retrying, PullOptions, PullPolicy, Retry};

/// How to reach a registry: the flags pull and push share.
#[derive(Debug, Clone, Args)]
pub struct RegistryArgs {
    /// Require HTTPS and verify certificates when contacting registries
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub tls_verify: Option<bool>,
    /// Credentials USERNAME[:PASSWORD] for the registry
    #[arg(long, value_name = "CREDS")]
    pub creds: Option<String>,
    /// Path of the authentication file
    #[arg(long, value_name = "PATH")]
    pub authfile: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct PullArgs {
    /// Image to pull: NAME[:TAG|@DIGEST], docker://..., oci:DIR[:REF], oci-archive:FILE, docker-archive:FILE, dir:DIR
    pub image: String,
    /// Suppress progress output
    #[arg(short, long)]
    pub quiet: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Pull for this platform: OS/ARCH[/VARIANT]
    #[arg(long, value_name = "PLATFORM")]
    pub platform: Option<String>,
    /// Pull for this architecture
    #[arg(long, value_name = "ARCH")]
    pub arch: Option<String>,
    /// Pull for this OS
    #[arg(long, value_name = "OS")]
    pub os: Option<String>,
    /// Pull for this architecture variant
    #[arg(long, value_name = "VARIANT")]
    pub variant: Option<String>,
    /// Pull image policy: always, missing, never or newer (default always)
    #[arg(long, value_name = "POLICY")]
    pub policy: Option<String>,
    /// Number of times to retry in case of failure when performing pull (default 3, or containers.conf's retry)
    #[arg(long, value_name = "N")]
    pub retry: Option<u32>,
    /// Delay between retries in case of pull failures (default 2s doubling, or containers.conf's retry_delay)
    #[arg(long, value_name = "DURATION")]
    pub retry_delay: Option<String>,
}

impl PullArgs {
    pub fn options(&self) -> anyhow::Result<PullOptions> {
        let mut o = PullOptions {
            quiet: self.quiet,
            tls_verify: self.registry.tls_verify,
            authfile: self.registry.authfile.clone(),
            ..Default::default()
        };
        if let Some(c) = &self.registry.creds {
            o.set_creds(c)?;
        }
        if self.platform.is_some() && (self.arch.is_some() || self.os.is_some()) {
            anyhow::bail!("--platform option can not be specified with --arch or --os");
        }
        if let Some(p) = &self.platform {
            o.set_platform(p)?;
        }
        if let Some(a) = &self.arch {
            o.arch = a.clone();
        }
        if let Some(os) = &self.os {
            o.os = os.clone();
        }
        if let Some(v) = &self.variant {
            o.variant = v.clone();
        }
        Ok(o)
    }
}

pub async fn run(cfg: &EngineConfig, args: &PullArgs) -> anyhow::Result<()> {
    let policy: PullPolicy = args.policy.as_deref().unwrap_or("always").parse()?;
    let retry = Retry::new(cfg, args.retry, args.retry_delay.as_deref())?;
    crate::image::auth_store::check_authfile(args.registry.authfile.as_deref())?;
    let opts = args.options()?;
    let image = if policy == PullPolicy::Always {
        pull_retrying(cfg, &args.image, &opts, retry).await?
    } else {
        let mut storage = crate::helper_procs::storage(cfg).await?;
        let r = by_policy(cfg, &mut storage, &args.image, policy, &opts, retry).await;
        storage.close().await?;
        r?
    };
    println!("{}", image.id);
    Ok(())
}
