//! `podman system service [--time N] [URI]`: the REST API.

use clap::Args;

use crate::engine_config::EngineConfig;

#[derive(Debug, Clone, Args)]
pub struct ServiceArgs {
    /// Where to listen: unix:///path or tcp://host:port (default: the socket manager's, else unix:///run/podman/podman.sock)
    pub uri: Option<String>,
    /// Time until the service session expires in seconds; 0 disables the timeout
    #[arg(short = 't', long = "time", default_value_t = 5)]
    pub time: u64,
    /// Set CORS Headers
    #[arg(long, default_value = "")]
    pub cors: String,
    /// PEM file containing TLS serving certificate.
    #[arg(long)]
    pub tls_cert: Option<String>,
    /// PEM file containing TLS serving certificate private key
    #[arg(long)]
    pub tls_key: Option<String>,
    /// Only trust client connections with certificates signed by this CA PEM file
    #[arg(long)]
    pub tls_client_ca: Option<String>,
}

pub async fn run(engine: &EngineConfig, a: &ServiceArgs) -> anyhow::Result<()> {
    let tls = match (&a.tls_cert, &a.tls_key) {
        (Some(cert), Some(key)) => Some(crate::api::tls::TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
            client_ca: a.tls_client_ca.clone(),
        }),
        (Some(_), None) => anyhow::bail!("--tls-cert provided without --tls-key"),
        (None, Some(_)) => anyhow::bail!("--tls-key provided without --tls-cert"),
        (None, None) if a.tls_client_ca.is_some() => {
            anyhow::bail!("--tls-client-ca needs --tls-cert and --tls-key: the service checks client certificates only over TLS")
        }
        (None, None) => None,
    };
    // Short names are resolved without prompting: nothing reads stdin.
    if let Ok(null) = std::fs::File::open("/dev/null") {
        use std::os::fd::AsRawFd;
        let _ = nix::unistd::dup2(null.as_raw_fd(), 0);
    }
    crate::api::serve(
        engine.clone(),
        crate::api::ServiceOptions {
            idle_secs: a.time,
            uri: a.uri.clone(),
            cors: Some(a.cors.clone()).filter(|c| !c.is_empty()),
            tls,
        },
    )
    .await
}
