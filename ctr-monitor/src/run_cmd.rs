//! `ctr-monitor run`: CreateContainer + StartContainer from the command line,
//! for people and tools that do not speak gRPC. The command returns once the
//! container runs, printing its pid (or JSON); the monitor stays behind,
//! serving `<socket_dir>/<id>/monitor.sock`, until the container exits.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use proto::monitor::v1::{CreateContainerRequest, LogDriver as ProtoLogDriver};
use tracing::warn;

use crate::detach::ReadyPipe;
use crate::log_driver::LogKind;
use crate::monitor::Monitor;
use crate::server::Server;
use crate::service::MonitorService;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    #[arg(long)]
    id: String,
    /// Bundle directory holding config.json.
    #[arg(long)]
    bundle: PathBuf,
    /// The OCI runtime binary.
    #[arg(long, default_value = "/usr/sbin/runc")]
    runtime: PathBuf,
    /// Global runtime argument (repeat), e.g. --runtime-arg=--root --runtime-arg=/run/runc.
    #[arg(long = "runtime-arg", allow_hyphen_values = true)]
    runtime_args: Vec<String>,
    /// Where the exit files <id> and <id>.json go.
    #[arg(long)]
    exit_dir: PathBuf,
    /// Sockets and logs go to SOCKET_DIR/<id>/ [default: RUNROOT/monitor].
    #[arg(long)]
    socket_dir: Option<PathBuf>,
    #[arg(long)]
    log_path: Option<PathBuf>,
    /// k8s-file, passthrough or none [default: k8s-file with --log-path, else none].
    #[arg(long, value_parser = clap::value_parser!(LogKindArg))]
    log_driver: Option<LogKindArg>,
    /// Start the log over when it would grow beyond this many bytes.
    #[arg(long, default_value_t = 0)]
    log_size_max: u64,
    /// config.json has process.terminal=true.
    #[arg(long, short = 't')]
    terminal: bool,
    /// Keep stdin open for attach clients.
    #[arg(long, short = 'i')]
    stdin: bool,
    #[arg(long)]
    stdin_once: bool,
    #[arg(long)]
    pid_file: Option<PathBuf>,
    /// Program to run after the exit files are written.
    #[arg(long)]
    exit_command: Option<PathBuf>,
    /// Argument for the exit command (repeat).
    #[arg(long = "exit-command-arg", allow_hyphen_values = true)]
    exit_command_args: Vec<String>,
    /// Run `RUNTIME delete --force ID` after the exit.
    #[arg(long)]
    delete_after_exit: bool,
    #[arg(long)]
    monitor_pid_file: Option<PathBuf>,
    /// Print JSON instead of the pid.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct LogKindArg(LogKind);

impl std::str::FromStr for LogKindArg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        s.parse().map(LogKindArg)
    }
}

fn abs(p: &Path) -> String {
    std::path::absolute(p)
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}

fn abs_opt(p: &Option<PathBuf>) -> String {
    p.as_deref().map(abs).unwrap_or_default()
}

impl RunArgs {
    fn request(&self, runroot: &Path) -> CreateContainerRequest {
        let log_driver = match self.log_driver.map(|k| k.0) {
            None => ProtoLogDriver::Unspecified,
            Some(LogKind::K8sFile) => ProtoLogDriver::K8sFile,
            Some(LogKind::Passthrough) => ProtoLogDriver::Passthrough,
            Some(LogKind::None) => ProtoLogDriver::None,
        };
        let mut exit_command = Vec::new();
        if let Some(p) = &self.exit_command {
            exit_command.push(abs(p));
            exit_command.extend(self.exit_command_args.iter().cloned());
        }
        CreateContainerRequest {
            id: self.id.clone(),
            bundle: abs(&self.bundle),
            runtime: abs(&self.runtime),
            runtime_args: self.runtime_args.clone(),
            create_args: Vec::new(),
            pid_file: abs_opt(&self.pid_file),
            socket_dir: self
                .socket_dir
                .as_deref()
                .map(abs)
                .unwrap_or_else(|| runroot.join("monitor").display().to_string()),
            exit_dir: abs(&self.exit_dir),
            exit_command,
            log_driver: log_driver as i32,
            log_path: abs_opt(&self.log_path),
            log_size_max: self.log_size_max,
            terminal: self.terminal,
            stdin: self.stdin,
            stdin_once: self.stdin_once,
            rows: 0,
            cols: 0,
            delete_after_exit: self.delete_after_exit,
            monitor_pid_file: abs_opt(&self.monitor_pid_file),
            // Created, then started below: a start failure is rolled back.
            start: false,
            timeout_seconds: 0,
            timer_command: vec![],
            timer_interval_ms: 0,
        }
    }
}

/// In the detached monitor: create, start, report through `ready`, monitor.
pub async fn run(args: RunArgs, runroot: PathBuf, mut ready: ReadyPipe) -> anyhow::Result<()> {
    crate::reaper::start()?;
    crate::footprint::start();
    let monitor = Monitor::new(runroot.clone(), true);
    let server = Arc::new(Server::default());
    let api = MonitorService::new(monitor.clone(), server.clone());
    let created = match api.create_and_serve(args.request(&runroot)).await {
        Ok(r) => r,
        Err(e) => {
            ready.fail(&e.to_string());
            return Ok(());
        }
    };
    let container = monitor.container(&args.id)?;
    if let Err(e) = container.start().await {
        ready.fail(&e.to_string());
        // Do not leave a created container behind; its exit is handled as usual.
        if let Err(e) = container
            .runtime
            .run("delete", &["--force", &args.id])
            .await
        {
            warn!(id = %args.id, error = %e, "removing the container that did not start");
        }
    } else if args.json {
        let out = serde_json::json!({
            "id": args.id,
            "pid": created.pid,
            "monitor_pid": created.monitor_pid,
            "monitor_socket": created.monitor_socket,
            "attach_socket": created.attach_socket,
            "monitor_log": created.monitor_log,
        });
        ready.ok(&format!("{out}\n"));
    } else {
        ready.ok(&format!("{}\n", created.pid));
    }
    crate::live(&monitor, &server, None).await
}
