//! `podman login` and `podman logout`. Login checks the credentials with
//! the registry first (image-fetcher's CheckLogin: `/v2/` with basic auth
//! or a bearer token) and only then stores them in the auth file
//! (containers-auth.json(5), written atomically, mode 0600). Prompts need a
//! terminal on stdin; without one, missing credentials are an error.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use proto::fetcher::v1::CheckLoginRequest;
use proto::transport::TransportError;

use crate::engine_config::EngineConfig;
use crate::error::ExitError;
use crate::helper_procs;
use crate::image::auth_store::{self, parse_key, Credentials};

#[derive(Debug, Clone, Args)]
pub struct LoginArgs {
    /// Registry (HOST[:PORT] or HOST/NAMESPACE); default: the first unqualified-search registry
    pub registry: Option<String>,
    /// Username for the registry
    #[arg(short, long)]
    pub username: Option<String>,
    /// Password for the registry (visible to other users in the process list: prefer --password-stdin)
    #[arg(short, long)]
    pub password: Option<String>,
    /// Read the password from stdin
    #[arg(long)]
    pub password_stdin: bool,
    /// Path of the authentication file
    #[arg(long, value_name = "PATH")]
    pub authfile: Option<PathBuf>,
    /// Require HTTPS and verify certificates when contacting the registry
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub tls_verify: Option<bool>,
    /// Print the user name logged in to the registry, and nothing else
    #[arg(long)]
    pub get_login: bool,
}

#[derive(Debug, Clone, Args)]
pub struct LogoutArgs {
    /// Registry (HOST[:PORT] or HOST/NAMESPACE); default: the first unqualified-search registry
    pub registry: Option<String>,
    /// Remove the credentials of every registry
    #[arg(short, long)]
    pub all: bool,
    /// Path of the authentication file
    #[arg(long, value_name = "PATH")]
    pub authfile: Option<PathBuf>,
}

fn key_of(cfg: &EngineConfig, arg: Option<&str>, verb: &str) -> anyhow::Result<(String, String)> {
    match arg {
        Some(a) => Ok(parse_key(a)?),
        None => {
            let first = cfg.registries()?.unqualified_search_registries.first().with_context(|| format!("please provide a registry to {verb}: no unqualified-search registries in registries.conf"))?;
            Ok((first.clone(), first.clone()))
        }
    }
}

/// Ask on stdout, read a line from the terminal on stdin (echo off for secrets).
fn prompt(label: &str, what: &str, secret: bool) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        anyhow::bail!("cannot prompt for the {what}: stdin is not a terminal; pass --{what} (or --password-stdin)");
    }
    print!("{label}");
    std::io::stdout().flush()?;
    let saved = if secret {
        use nix::sys::termios::{tcgetattr, tcsetattr, LocalFlags, SetArg};
        let old = tcgetattr(&stdin).context("reading terminal settings")?;
        let mut quiet = old.clone();
        quiet.local_flags.remove(LocalFlags::ECHO);
        tcsetattr(&stdin, SetArg::TCSANOW, &quiet).context("turning terminal echo off")?;
        Some(old)
    } else {
        None
    };
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if let Some(old) = saved {
        let _ = nix::sys::termios::tcsetattr(&stdin, nix::sys::termios::SetArg::TCSANOW, &old);
        println!();
    }
    read.with_context(|| format!("reading the {what}"))?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

/// What the registry said about a set of credentials.
enum Verdict {
    Accepted,
    Refused,
    /// Could not tell (network, TLS, registry errors): the fetcher's message.
    Failed(String),
}

/// Ask image-fetcher whether the registry takes these credentials.
async fn check(
    cfg: &EngineConfig,
    registry: &str,
    creds: &Credentials,
    tls_verify: Option<bool>,
) -> anyhow::Result<Verdict> {
    let mut fetcher = helper_procs::fetcher(cfg).await?;
    let req = CheckLoginRequest {
        registry: registry.to_string(),
        username: creds.username.clone(),
        password: creds.password.clone(),
        tls_verify,
    };
    let r = fetcher
        .call(
            "CheckLogin",
            |mut c| async move { c.check_login(req).await },
        )
        .await;
    fetcher.close().await?;
    Ok(match r {
        Ok(ok) => {
            tracing::debug!(registry, scheme = %ok.auth_scheme, endpoint = %ok.endpoint, "credentials accepted");
            Verdict::Accepted
        }
        Err(TransportError::Call {
            code: proto::ErrorCode::Unauthenticated,
            ..
        }) => Verdict::Refused,
        Err(TransportError::Call { message, .. }) => Verdict::Failed(message),
        Err(e) => return Err(e.into()),
    })
}

pub async fn login(cfg: &EngineConfig, args: &LoginArgs) -> anyhow::Result<()> {
    let (key, registry) = key_of(cfg, args.registry.as_deref(), "log in to")?;
    let path = auth_store::default_path(args.authfile.as_deref());
    let stored = auth_store::get(&path, &key)?;
    if args.get_login {
        let c = stored.with_context(|| format!("not logged into {key}"))?;
        println!("{}", c.username);
        return Ok(());
    }
    let mut password = args.password.clone().unwrap_or_default();
    if args.password_stdin {
        if args.password.is_some() {
            anyhow::bail!("can't specify both --password-stdin and --password");
        }
        if args.username.as_deref().unwrap_or("").is_empty() {
            anyhow::bail!("must provide --username with --password-stdin");
        }
        let mut all = String::new();
        std::io::stdin()
            .lock()
            .read_to_string(&mut all)
            .context("reading the password from stdin")?;
        password = all.lines().collect::<String>();
    }
    let mut username = args.username.clone().unwrap_or_default();
    if username.is_empty() && password.is_empty() {
        if let Some(c) = &stored {
            println!("Authenticating with existing credentials for {key}");
            match check(cfg, &registry, c, args.tls_verify).await? {
                Verdict::Accepted => {
                    println!("Existing credentials are valid. Already logged in to {registry}");
                    return Ok(());
                }
                Verdict::Refused => println!(
                    "Existing credentials are invalid, please enter valid username and password"
                ),
                Verdict::Failed(m) => anyhow::bail!("authenticating creds for {key:?}: {m}"),
            }
        }
    }
    if username.is_empty() {
        let previous = stored
            .as_ref()
            .map(|c| c.username.clone())
            .unwrap_or_default();
        let label = if previous.is_empty() {
            "Username: ".to_string()
        } else {
            format!("Username ({previous}): ")
        };
        username = prompt(&label, "username", false)?.trim().to_string();
        if username.is_empty() {
            username = previous;
        }
        if username.is_empty() {
            anyhow::bail!("logging into {key:?}: the user name is empty");
        }
    }
    if password.is_empty() {
        password = prompt("Password: ", "password", true)?;
    }
    let creds = Credentials { username, password };
    match check(cfg, &registry, &creds, args.tls_verify).await? {
        Verdict::Accepted => {}
        Verdict::Refused => anyhow::bail!("logging into {key:?}: invalid username/password"),
        Verdict::Failed(m) => anyhow::bail!("authenticating creds for {key:?}: {m}"),
    }
    auth_store::set(&path, &key, &creds)?;
    tracing::debug!(file = %path.display(), key, "credentials stored");
    println!("Login Succeeded!");
    Ok(())
}

pub async fn logout(cfg: &EngineConfig, args: &LogoutArgs) -> anyhow::Result<()> {
    auth_store::check_authfile(args.authfile.as_deref())?;
    let path = auth_store::default_path(args.authfile.as_deref());
    if args.all {
        if args.registry.is_some() {
            anyhow::bail!("--all takes no arguments");
        }
        auth_store::remove_all(&path)?;
        println!("Removed login credentials for all registries");
        return Ok(());
    }
    let (key, _) = key_of(cfg, args.registry.as_deref(), "log out from")?;
    if auth_store::remove(&path, &key)? {
        println!("Removed login credentials for {key}");
        Ok(())
    } else {
        Err(ExitError::engine(anyhow::anyhow!("not logged into {key}")).into())
    }
}
