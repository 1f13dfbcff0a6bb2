//! The part of every helper's command line that is the same everywhere:
//! `HELPER [--log-level L] serve (--grpc-fd N | --listen unix:PATH)`.

use proto::transport::{ServeTarget, TransportError};

#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Serve one connection on this inherited socket (how podman runs helpers).
    #[arg(long, value_name = "N", conflicts_with = "listen")]
    pub grpc_fd: Option<i32>,
    /// Serve many connections on a unix socket, e.g. unix:/run/helper.sock.
    #[arg(long, value_name = "unix:PATH")]
    pub listen: Option<String>,
}

impl ServeArgs {
    pub fn target(&self) -> Result<ServeTarget, TransportError> {
        match (&self.grpc_fd, &self.listen) {
            (Some(fd), _) => Ok(ServeTarget::Fd(*fd)),
            (None, Some(l)) => l.parse(),
            (None, None) => Ok(ServeTarget::Fd(proto::transport::HELPER_FD)),
        }
    }
}

/// `--log-level` shared by all helpers.
#[derive(Debug, Clone, clap::Args)]
pub struct LogArgs {
    /// trace, debug, info, warn, error
    #[arg(long, global = true, default_value = "warn", value_parser = parse_level_arg)]
    pub log_level: String,
}

fn parse_level_arg(s: &str) -> Result<String, String> {
    crate::logging::parse_level(s)
        .map(|_| s.to_string())
        .ok_or_else(|| format!("use one of {}", crate::logging::LEVELS.join(", ")))
}

impl LogArgs {
    pub fn init(&self, process: &'static str) {
        let level = crate::logging::parse_level(&self.log_level)
            .unwrap_or(tracing_subscriber::filter::LevelFilter::WARN);
        crate::logging::init(process, level);
    }
}

/// Run a helper's `main`: a single-threaded tokio runtime (helpers are small
/// and start often), errors printed as one `Error: NAME: ...` line, exit
/// code 125 on failure as Podman uses for engine errors.
pub fn run<F>(process: &'static str, body: F) -> std::process::ExitCode
where
    F: std::future::Future<Output = anyhow::Result<()>>,
{
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|rt| {
            let r = rt.block_on(body);
            // Once the body is done (the caller hung up) nothing is left to
            // report to: do not wait for background or blocking tasks.
            rt.shutdown_background();
            r
        });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {process}: {}", format!("{e:#}").replace('\n', " "));
            std::process::ExitCode::from(125)
        }
    }
}
