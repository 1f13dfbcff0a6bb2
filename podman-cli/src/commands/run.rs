//! `podman run` and `podman start --attach`: create (for run), hand to the
//! monitor, attach before starting so no output is lost, and exit with the
//! container's own exit code.

use clap::Args;

use super::create::CreateArgs;
use crate::container::model::ContainerConfig;
use crate::container::store;
use crate::engine_config::EngineConfig;
use crate::error::ExitError;
use crate::lifecycle::attach::{self, AttachEnd};
use crate::lifecycle::paths::{ContainerLock, ContainerPaths};
use crate::lifecycle::start::Handover;

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Run the container in the background and print its ID
    #[arg(short, long)]
    pub detach: bool,
    /// Remove image unless used by other containers, implies --rm
    #[arg(long)]
    pub rmi: bool,
    /// Pass a number of additional file descriptors (3 and up) into the container
    #[arg(long = "preserve-fds", value_name = "N", default_value_t = 0)]
    pub preserve_fds: u32,
    /// Pass these file descriptors into the container (comma-separated or repeated)
    #[arg(long = "preserve-fd", value_name = "FD", value_delimiter = ',')]
    pub preserve_fd: Vec<u32>,
    #[command(flatten)]
    pub create: CreateArgs,
}

pub async fn run(engine: &EngineConfig, args: &RunArgs) -> anyhow::Result<()> {
    let preserved = crate::lifecycle::preserve_fds::take(args.preserve_fds, &args.preserve_fd)?;
    let preserved = (!preserved.is_empty()).then(|| std::sync::Arc::new(preserved));
    let mut create = args.create.options();
    if !args.detach && create.log_driver.is_none() && !create.tty && !create.interactive {
        // Foreground without -i/-t: still through the attach socket, so logs are kept.
    }
    create.quiet = create.quiet || args.detach;
    if args.rmi {
        if args.create.rm == Some(false) {
            anyhow::bail!("the --rmi option does not work without --rm");
        }
        create.rm = true;
        create.more.remove_image = true;
    }
    if args.detach && !create.more.attach.is_empty() {
        anyhow::bail!("--attach and --detach cannot be set together");
    }
    // `-a stdin` alone: Podman prints the ID and attaches no output.
    let stdin_only = !create.more.attach.is_empty()
        && create
            .more
            .attach
            .iter()
            .flat_map(|s| s.split(','))
            .all(|s| s.eq_ignore_ascii_case("stdin"));
    let cfg = crate::lifecycle::create::create(engine, &create).await?;
    if stdin_only {
        let opts = AttachOptions {
            preserve_fds: preserved,
            ..AttachOptions::default()
        };
        start_and_attach_with(engine, &cfg, false, false, &opts).await?;
        return wait_exit_code(engine, &cfg).await;
    }
    let streams: Vec<String> = create
        .more
        .attach
        .iter()
        .flat_map(|s| s.split(','))
        .map(str::to_ascii_lowercase)
        .collect();
    let opts = AttachOptions {
        outputs: if streams.is_empty() {
            attach::Outputs::default()
        } else {
            attach::Outputs {
                stdout: streams.iter().any(|s| s == "stdout"),
                stderr: streams.iter().any(|s| s == "stderr"),
            }
        },
        from_run: true,
        no_sig_proxy: args.create.more.sig_proxy == Some(false),
        preserve_fds: preserved,
        ..AttachOptions::default()
    };
    start_and_attach_with(engine, &cfg, !args.detach, args.create.interactive, &opts).await
}

/// `--sdnotify=conmon`: tell systemd (NOTIFY_SOCKET) that the container
/// runs, with the monitor as the main pid, as Podman does.
fn notify_ready(cfg: &ContainerConfig, engine: &EngineConfig) {
    if cfg.extra.sdnotify != "conmon" {
        return;
    }
    let Some(sock) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let monitor_pid = crate::state::open_state(engine)
        .ok()
        .and_then(|db| store::resolve(&db, &cfg.id).ok())
        .map(|(_, st)| st.monitor_pid)
        .unwrap_or(0);
    let msg = format!("MAINPID={monitor_pid}\nREADY=1\n");
    if let Ok(s) = std::os::unix::net::UnixDatagram::unbound() {
        if let Err(e) = s.send_to(msg.as_bytes(), std::path::Path::new(&sock)) {
            tracing::warn!("sd_notify READY: {e}");
        }
    }
}

/// What `start --attach` may set for one attach session.
#[derive(Debug, Clone, Default)]
pub struct AttachOptions {
    /// `--detach-keys` for this session (else the container's).
    pub detach_keys: Option<String>,
    /// `--sig-proxy=false` turns the signal proxy off.
    pub no_sig_proxy: bool,
    /// The output streams shown (`run --attach`).
    pub outputs: attach::Outputs,
    /// `run --preserve-fds`/`--preserve-fd`.
    pub preserve_fds: Option<std::sync::Arc<crate::lifecycle::preserve_fds::Preserved>>,
    /// `podman run`: a start that fails exits 126/127 (Podman's
    /// define.ExitCode), where `start` exits 125.
    pub from_run: bool,
}

/// Start `cfg` (attached: wait for it and exit with its code), with per-session options.
pub async fn start_and_attach_with(
    engine: &EngineConfig,
    cfg: &ContainerConfig,
    attached: bool,
    stdin: bool,
    opts: &AttachOptions,
) -> anyhow::Result<()> {
    let db = crate::state::open_state(engine)?;
    let paths = ContainerPaths::new(engine, &cfg.id);
    let lock = ContainerLock::acquire(&paths)?;
    let (cfg, mut st) = store::resolve(&db, &cfg.id)?;
    let started = if crate::lifecycle::start::is_initialized(&st) {
        // `podman init` already handed it to a monitor.
        let sock = if attached {
            Some(attach::connect_socket(&paths.attach_socket(&cfg.id))?)
        } else {
            None
        };
        crate::lifecycle::start::start_via_socket(engine, &cfg, &mut st, &paths)
            .await
            .map(|_| sock)
    } else {
        // Attached through a connection the monitor inherits, so it can
        // create and start in one runtime call without losing output; we
        // claim the cleanup (the monitor then skips its exit command).
        let (ours, theirs) = if attached && !cfg.log_driver.starts_with("passthrough") {
            let (ours, theirs) = attach::connection_pair()?;
            attach::claim_cleanup(&ours)?;
            (Some(ours), Some(theirs))
        } else {
            (None, None)
        };
        let handover = Handover {
            stdin_once: attached && stdin,
            start: true,
            attach: theirs,
            preserve_fds: opts.preserve_fds.clone(),
        };
        match crate::lifecycle::start::init_with(engine, &cfg, &mut st, &paths, handover).await {
            Ok(init) => {
                init.monitor.close().await?;
                crate::lifecycle::start::record_start(&db, &cfg).map(|_| ours)
            }
            Err(e) => {
                drop(lock);
                if cfg.auto_remove {
                    let _ = crate::lifecycle::remove::remove(engine, &cfg.id, true, false).await;
                }
                return Err(start_failed(e, opts));
            }
        }
    };
    drop(lock);
    let attach_sock = match started {
        Ok(s) => {
            notify_ready(&cfg, engine);
            s
        }
        Err(e) => {
            if cfg.auto_remove {
                let _ = crate::lifecycle::remove::remove(engine, &cfg.id, true, false).await;
            }
            return Err(start_failed(e, opts));
        }
    };
    let Some(sock) = attach_sock else {
        if !attached {
            // With passthrough our stdout is the container's: Podman prints no ID.
            if !cfg.log_driver.starts_with("passthrough") {
                println!("{}", cfg.id);
            }
            return Ok(());
        }
        return wait_exit_code(engine, &cfg).await;
    };
    crate::events::container(&cfg, "attach");
    let detach = attach::detach_sequence(opts.detach_keys.as_deref().unwrap_or(&cfg.detach_keys))?;
    let tty = cfg.terminal && std::io::IsTerminal::is_terminal(&std::io::stdin());
    let raw = tty.then(attach::RawMode::enable);
    // Kept past the pump to say when the claimed cleanup is done.
    let claim = sock.try_clone()?;
    let outputs = opts.outputs;
    let pump = tokio::task::spawn_blocking(move || attach::pump(sock, stdin, detach, tty, outputs));
    let end = attach::with_sig_proxy(engine, &cfg.id, !opts.no_sig_proxy, pump).await?;
    drop(raw);
    match end {
        AttachEnd::Detached => Ok(()),
        AttachEnd::Exited(code) => {
            // Clean up (and remove with --rm) before we return, so the next
            // command sees it; the monitor's exit command (if we did not
            // claim it, or in a race) finds nothing left to do.
            cleanup_unless_gone(engine, &cfg).await?;
            attach::cleanup_done(&claim);
            exit_with(code)
        }
        AttachEnd::Lost => wait_exit_code(engine, &cfg).await,
    }
}

fn start_failed(e: anyhow::Error, opts: &AttachOptions) -> anyhow::Error {
    if opts.from_run {
        crate::error::run_start_error(e)
    } else {
        e
    }
}

/// Whether another command (`rm -f`) removed the container meanwhile.
fn is_gone(engine: &EngineConfig, id: &str) -> bool {
    crate::state::open_state(engine)
        .ok()
        .is_some_and(|db| matches!(store::exists(&db, id), Ok(false)))
}

/// Clean up after the exit; a container someone else removed meanwhile
/// needs nothing more (Podman's run then still exits with its code).
async fn cleanup_unless_gone(engine: &EngineConfig, cfg: &ContainerConfig) -> anyhow::Result<()> {
    match crate::lifecycle::cleanup::cleanup(engine, &cfg.id, cfg.auto_remove).await {
        Err(_) if is_gone(engine, &cfg.id) => Ok(()),
        r => r,
    }
}

fn exit_with(code: i32) -> anyhow::Result<()> {
    if code == 0 {
        Ok(())
    } else {
        Err(ExitError {
            code: (code & 0xff) as u8,
            source: anyhow::anyhow!(""),
        }
        .into())
    }
}

/// Wait through the monitor and exit with the container's code.
async fn wait_exit_code(engine: &EngineConfig, cfg: &ContainerConfig) -> anyhow::Result<()> {
    let code = match super::wait::wait_for(engine, &cfg.id).await {
        Ok(code) => code,
        // Removed under us (`rm -f`): the code its exit left behind.
        Err(e) => match is_gone(engine, &cfg.id)
            .then(|| crate::events::last_exit_code(&cfg.id))
            .flatten()
        {
            Some(code) => return exit_with(code),
            None => return Err(e),
        },
    };
    cleanup_unless_gone(engine, cfg).await?;
    exit_with(code)
}
