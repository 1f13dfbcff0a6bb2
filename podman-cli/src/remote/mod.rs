//! The remote client (`--remote`, `--url`, `--connection`,
//! `CONTAINER_HOST`, `CONTAINER_CONNECTION`, a binary named
//! `podman-remote`): commands are sent to a `podman system service` over
//! its libpod API instead of acting on a local store.
//!
//! Which service, highest first (Podman's order): `--connection`, `--url`,
//! `CONTAINER_CONNECTION`, `CONTAINER_HOST`, the default named connection
//! (`podman system connection`), the default socket. ssh destinations are
//! refused: there is no ssh transport here.

pub mod client;
pub mod connections;
pub mod containers;
pub mod exec;
pub mod images;
pub mod listing;
pub mod objects;
pub mod pods;
pub mod run;
pub mod spec;
pub mod verbs;

use std::path::PathBuf;
use std::sync::Arc;

use crate::cli::{
    Cli, Command, ContainerCommand, ImageCommand, NetworkCommand, SystemCommand, VolumeCommand,
};

/// Where the service is.
#[derive(Debug, Clone)]
pub enum Endpoint {
    Unix(PathBuf),
    Tcp { host: String, port: u16 },
}

/// A resolved destination.
#[derive(Clone)]
pub struct Target {
    /// As the user or the connection gave it.
    pub uri: String,
    pub endpoint: Endpoint,
    pub tls: Option<Arc<tokio_rustls::rustls::ClientConfig>>,
}

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("{0}")]
    Connections(#[from] connections::ConnectionError),
    #[error("{uri}: ssh connections are not supported by podman-rs: serve the API on a unix socket or tcp:// (podman system service) and connect to that")]
    Ssh { uri: String },
    #[error("{flag}: ssh connections are not supported by podman-rs, so an ssh identity or mode cannot be used: connect over unix:// or tcp://")]
    SshFlag { flag: &'static str },
    #[error("invalid URI {uri:?}: {why}: use unix:///path/to/podman.sock or tcp://host:port")]
    BadUri { uri: String, why: String },
    #[error("connection {name}: {source}")]
    Tls {
        name: String,
        source: crate::api::tls::TlsError,
    },
}

/// Whether this invocation is a remote one.
pub fn wanted(cli: &Cli) -> bool {
    let r = &cli.root;
    r.remote
        || r.url.is_some()
        || r.connection.is_some()
        || std::env::var_os("CONTAINER_HOST").is_some_and(|v| !v.is_empty())
        || std::env::var_os("CONTAINER_CONNECTION").is_some_and(|v| !v.is_empty())
        || std::env::args_os()
            .next()
            .and_then(|a| {
                PathBuf::from(a)
                    .file_name()
                    .map(|n| n.to_string_lossy().ends_with("-remote"))
            })
            .unwrap_or(false)
}

/// The service this invocation talks to.
pub fn target(cli: &Cli) -> Result<Target, TargetError> {
    let r = &cli.root;
    if r.identity.is_some() {
        return Err(TargetError::SshFlag { flag: "--identity" });
    }
    if r.ssh.is_some() {
        return Err(TargetError::SshFlag { flag: "--ssh" });
    }
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let named = |name: &str| -> Result<Target, TargetError> {
        let all = connections::Connections::load()?;
        let d = all.get(name)?;
        from_destination(name, d)
    };
    if let Some(c) = &r.connection {
        return named(c);
    }
    if let Some(u) = &r.url {
        return parse_uri(u, None);
    }
    if let Some(c) = env("CONTAINER_CONNECTION") {
        return named(&c);
    }
    if let Some(u) = env("CONTAINER_HOST") {
        return parse_uri(&u, None);
    }
    let all = connections::Connections::load()?;
    if let Some(d) = all.default_name() {
        return from_destination(d, all.get(d)?);
    }
    parse_uri(
        &format!("unix://{}", crate::api::listen::default_socket().display()),
        None,
    )
}

fn from_destination(name: &str, d: &connections::Destination) -> Result<Target, TargetError> {
    let tls = if d.tls_ca.is_empty() && d.tls_cert.is_empty() {
        None
    } else {
        let ca = Some(d.tls_ca.as_str()).filter(|s| !s.is_empty());
        let pair = (!d.tls_cert.is_empty()).then_some((d.tls_cert.as_str(), d.tls_key.as_str()));
        Some(
            crate::api::tls::client_config(ca, pair).map_err(|source| TargetError::Tls {
                name: name.to_string(),
                source,
            })?,
        )
    };
    parse_uri(&d.uri, tls)
}

/// `unix:///path`, `unix:/path`, `tcp://host:port`.
pub fn parse_uri(
    uri: &str,
    tls: Option<Arc<tokio_rustls::rustls::ClientConfig>>,
) -> Result<Target, TargetError> {
    let bad = |why: &str| TargetError::BadUri {
        uri: uri.to_string(),
        why: why.to_string(),
    };
    let (scheme, rest) = uri.split_once(':').ok_or_else(|| bad("no scheme"))?;
    let endpoint = match scheme {
        "unix" => {
            let path = rest.trim_start_matches("//");
            let path = if path.starts_with('/') {
                path.to_string()
            } else {
                format!("/{path}")
            };
            Endpoint::Unix(PathBuf::from(path))
        }
        "tcp" => {
            let hostport = rest.trim_start_matches("//").trim_end_matches('/');
            let (host, port) = hostport
                .rsplit_once(':')
                .ok_or_else(|| bad("a tcp URI needs a port"))?;
            let port = port.parse().map_err(|_| bad("the port is not a number"))?;
            let host = host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string();
            Endpoint::Tcp { host, port }
        }
        "ssh" => {
            return Err(TargetError::Ssh {
                uri: uri.to_string(),
            })
        }
        _ => return Err(bad("unknown scheme")),
    };
    Ok(Target {
        uri: uri.to_string(),
        endpoint,
        tls,
    })
}

/// Run `cli` against the service. Commands without a remote form yet are
/// refused in one line rather than run against a local store.
pub async fn run(cli: &Cli) -> anyhow::Result<()> {
    let t = target(cli)?;
    tracing::debug!(uri = %t.uri, "remote client");
    match &cli.command {
        Command::Info(a) | Command::System(SystemCommand::Info(a)) => {
            let doc = client::get_json(&t, "/info").await?;
            crate::commands::info::print(&doc, a.format.as_deref())
        }
        Command::Version(a) => containers::version(&t, a.format.as_deref()).await,
        Command::Pull(a) | Command::Image(ImageCommand::Pull(a)) => {
            images::pull(&t, a).await
        }
        Command::Ps(a) | Command::Container(ContainerCommand::Ps(a)) => {
            crate::commands::ps::run_from(crate::commands::ps::Source::Remote(&t), a).await
        }
        Command::Start(a) | Command::Container(ContainerCommand::Start(a)) => {
            containers::start(&t, a).await
        }
        Command::Stop(a) | Command::Container(ContainerCommand::Stop(a)) => {
            containers::stop(&t, a).await
        }
        Command::Kill(a) | Command::Container(ContainerCommand::Kill(a)) => {
            containers::kill(&t, a).await
        }
        Command::Rm(a) | Command::Container(ContainerCommand::Rm(a)) => {
            containers::rm(&t, a).await
        }
        Command::Logs(a) | Command::Container(ContainerCommand::Logs(a)) => {
            containers::logs(&t, a).await
        }
        Command::Container(ContainerCommand::Inspect(a)) => containers::inspect(&t, a).await,
        Command::Create(a) | Command::Container(ContainerCommand::Create(a)) => {
            run::create(&t, a).await
        }
        Command::Run(a) | Command::Container(ContainerCommand::Run(a)) => run::run(&t, a).await,
        Command::Exec(a) | Command::Container(ContainerCommand::Exec(a)) => exec::exec(&t, a).await,
        Command::Wait(a) | Command::Container(ContainerCommand::Wait(a)) => verbs::wait(&t, a).await,
        Command::Restart(a) | Command::Container(ContainerCommand::Restart(a)) => {
            verbs::restart(&t, a).await
        }
        Command::Pause(a) | Command::Container(ContainerCommand::Pause(a)) => {
            verbs::pause(&t, a, true).await
        }
        Command::Unpause(a) | Command::Container(ContainerCommand::Unpause(a)) => {
            verbs::pause(&t, a, false).await
        }
        Command::Tag(a) | Command::Image(ImageCommand::Tag(a)) => verbs::tag(&t, a).await,
        Command::Rmi(a) | Command::Image(ImageCommand::Rm(a)) => verbs::rmi(&t, a).await,
        Command::Image(ImageCommand::Inspect(a)) => verbs::image_inspect(&t, a).await,
        Command::Images(a) | Command::Image(ImageCommand::Ls(a)) => listing::images(&t, a).await,
        Command::Port(a) | Command::Container(ContainerCommand::Port(a)) => {
            listing::port(&t, a).await
        }
        Command::Pod(c) => pods::run(&t, c).await,
        Command::Container(ContainerCommand::Exists(a)) => verbs::container_exists(&t, a).await,
        Command::Top(a) | Command::Container(ContainerCommand::Top(a)) => {
            listing::top(&t, a).await
        }
        Command::Network(NetworkCommand::Ls(a)) => objects::network_ls(&t, a).await,
        Command::Network(NetworkCommand::Inspect(a)) => objects::network_inspect(&t, a).await,
        Command::Network(NetworkCommand::Create(a)) => objects::network_create(&t, a).await,
        Command::Network(NetworkCommand::Rm(a)) => objects::network_rm(&t, a).await,
        Command::Volume(VolumeCommand::Ls(a)) => objects::volume_ls(&t, a).await,
        Command::Volume(VolumeCommand::Inspect(a)) => objects::volume_inspect(&t, a).await,
        Command::Volume(VolumeCommand::Create(a)) => objects::volume_create(&t, a).await,
        Command::Volume(VolumeCommand::Rm(a)) => objects::volume_rm(&t, a).await,
        Command::Attach(a) | Command::Container(ContainerCommand::Attach(a)) => {
            exec::attach(&t, a).await
        }
        _ => anyhow::bail!(
            "{} is not available with the remote client of podman-rs yet: run it where the containers are, or use the REST API",
            crate::format::report::command_name()
        ),
    }
}
