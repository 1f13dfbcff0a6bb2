//! `podman exec`: a process in a running container, run by its monitor
//! (`runtime exec`), with stdio over an attach socket of its own.

use clap::Args;
use proto::monitor::v1::{exec_event::Event, ExecRequest};

use crate::container::store;
use crate::engine_config::EngineConfig;
use crate::error::{exec_error, ExitError};
use crate::lifecycle::attach::{self, AttachEnd};
use crate::lifecycle::paths::ContainerPaths;

#[derive(Debug, Clone, Args)]
pub struct ExecArgs {
    /// Run in the background and print the exec session ID
    #[arg(short, long)]
    pub detach: bool,
    /// Keep STDIN open
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short, long)]
    pub tty: bool,
    /// Set environment variables
    #[arg(short, long = "env")]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long = "env-file")]
    pub env_file: Vec<std::path::PathBuf>,
    /// Username or UID[:GROUP]
    #[arg(short, long)]
    pub user: Option<String>,
    /// Working directory
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// Give extended privileges
    #[arg(long)]
    pub privileged: bool,
    /// Detach key sequence
    #[arg(long)]
    pub detach_keys: Option<String>,
    /// Act on the latest container
    #[arg(short, long)]
    pub latest: bool,
    /// Pass N additional file descriptors (3 and up) to the process
    #[arg(long = "preserve-fds", value_name = "N", default_value_t = 0)]
    pub preserve_fds: u32,
    /// Pass these file descriptors to the process (comma-separated or repeated)
    #[arg(long = "preserve-fd", value_name = "FD", value_delimiter = ',')]
    pub preserve_fd: Vec<u32>,
    #[arg(required_unless_present = "latest")]
    pub container: Option<String>,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

pub async fn run(engine: &EngineConfig, a: &ExecArgs) -> anyhow::Result<()> {
    let preserved = crate::lifecycle::preserve_fds::take(a.preserve_fds, &a.preserve_fd)?;
    let db = crate::state::open_state(engine)?;
    let (container, command) = match &a.container {
        Some(first) if a.latest => {
            let mut cmd = vec![first.clone()];
            cmd.extend(a.command.iter().cloned());
            (store::latest(&db)?, cmd)
        }
        None => (store::latest(&db)?, a.command.clone()),
        Some(c) => (store::resolve(&db, c)?, a.command.clone()),
    };
    let (cfg, st) = crate::lifecycle::cleanup::refresh(engine, container).await?;
    if command.is_empty() {
        anyhow::bail!(
            "must provide a non-empty command to start an exec session: invalid argument"
        );
    }
    if st.status != crate::container::model::Status::Running {
        anyhow::bail!(
            "can only create exec sessions on running containers: container state improper"
        );
    }
    let paths = ContainerPaths::new(engine, &cfg.id);
    let exec_id = crate::container::names::new_id()?;
    let mut env = Vec::new();
    // As Podman: the env files first, then each --env over them.
    for f in &a.env_file {
        env.extend(crate::container::parse::env_file(f)?);
    }
    env.extend(
        a.env
            .iter()
            .flat_map(|e| crate::container::parse::env_var(e)),
    );
    let process_path = write_process(
        engine,
        &cfg,
        &st,
        &paths,
        &exec_id,
        &ProcessOptions {
            command: command.clone(),
            tty: a.tty,
            user: a.user.clone(),
            workdir: a.workdir.clone(),
            privileged: a.privileged,
            env,
        },
    )?;
    let _cleanup = RemoveOnDrop(process_path.clone());
    let ch = proto::transport::connect_unix(&paths.monitor_socket(&cfg.id))
        .await
        .map_err(|e| anyhow::anyhow!("contacting the monitor of {}: {e}", cfg.name))?;
    let mut monitor = proto::monitor::v1::monitor_client::MonitorClient::new(ch);
    let (rows, cols) = if a.tty {
        attach::terminal_size().unwrap_or((0, 0))
    } else {
        (0, 0)
    };
    let req = ExecRequest {
        id: cfg.id.clone(),
        exec_id: exec_id[..8].to_string(),
        process_path: process_path.display().to_string(),
        terminal: a.tty,
        stdin: a.interactive,
        stdin_once: a.interactive,
        attach: !a.detach,
        attach_timeout_ms: 0,
        detach: a.detach,
        rows,
        cols,
        preserve_fds: preserved.borrowed().iter().map(|(_, t)| *t).collect(),
        session_dir: paths.exec_dir().join(&exec_id[..8]).display().to_string(),
    };
    // A detached exec that cannot start is podman's failure: 125.
    let fail = |msg: &str| {
        let e = exec_error(&command, msg);
        if a.detach {
            ExitError {
                code: 125,
                source: anyhow::anyhow!("{}", crate::error::one_line(&e)),
            }
            .into()
        } else {
            e
        }
    };
    let mut stream = monitor
        .exec(req)
        .await
        .map_err(|s| fail(s.message()))?
        .into_inner();
    let mut pump: Option<tokio::task::JoinHandle<AttachEnd>> = None;
    let detach = attach::detach_sequence(a.detach_keys.as_deref().unwrap_or(&cfg.detach_keys))?;
    let tty = a.tty && std::io::IsTerminal::is_terminal(&std::io::stdin());
    let raw = tty.then(attach::RawMode::enable);
    let mut exit = None;
    loop {
        let ev = match stream.message().await {
            Ok(Some(m)) => m.event,
            Ok(None) => break,
            Err(s) => {
                drop(raw);
                return Err(fail(s.message()));
            }
        };
        if let Some(Event::Ready(r)) = &ev {
            if !r.fds_socket.is_empty() {
                preserved
                    .send(std::path::Path::new(&r.fds_socket))
                    .map_err(|e| fail(&e.to_string()))?;
            }
        }
        match ev {
            Some(Event::Ready(r)) if !r.attach_socket.is_empty() => {
                let sock = attach::connect_socket(std::path::Path::new(&r.attach_socket))?;
                let (stdin, d) = (a.interactive, detach.clone());
                pump = Some(tokio::task::spawn_blocking(move || {
                    attach::pump(sock, stdin, d, tty, attach::Outputs::default())
                }));
            }
            Some(Event::Started(_)) if a.detach => {
                crate::events::container(&cfg, "exec");
                println!("{}", &exec_id[..8]);
                return Ok(());
            }
            Some(Event::Started(_)) => crate::events::container(&cfg, "exec"),
            Some(Event::Exited(e)) => {
                exit = Some(e.exit_code);
                break;
            }
            _ => {}
        }
    }
    let end = match pump {
        Some(p) => p.await?,
        None => AttachEnd::Lost,
    };
    drop(raw);
    let code = match (end, exit) {
        (AttachEnd::Exited(c), _) => c,
        (AttachEnd::Detached, _) => return Ok(()),
        (_, Some(c)) => c,
        _ => anyhow::bail!("lost the exec session's exit code"),
    };
    crate::events::exec_died(&cfg, &exec_id[..8], code);
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

/// Run `command` in the running container as an exec session of its own
/// (no terminal, no stdin) and collect what it prints: (exit code, stdout,
/// stderr). Errors starting it are exec's (126, 127, 125).
pub async fn capture(
    engine: &EngineConfig,
    cfg: &crate::container::model::ContainerConfig,
    st: &crate::container::model::ContainerState,
    command: &[String],
) -> anyhow::Result<(i32, Vec<u8>, Vec<u8>)> {
    let paths = ContainerPaths::new(engine, &cfg.id);
    let exec_id = crate::container::names::new_id()?;
    let process_path = write_process(
        engine,
        cfg,
        st,
        &paths,
        &exec_id,
        &ProcessOptions {
            command: command.to_vec(),
            ..Default::default()
        },
    )?;
    let _cleanup = RemoveOnDrop(process_path.clone());
    let ch = proto::transport::connect_unix(&paths.monitor_socket(&cfg.id))
        .await
        .map_err(|e| anyhow::anyhow!("contacting the monitor of {}: {e}", cfg.name))?;
    let mut monitor = proto::monitor::v1::monitor_client::MonitorClient::new(ch);
    let req = ExecRequest {
        id: cfg.id.clone(),
        exec_id: exec_id[..8].to_string(),
        process_path: process_path.display().to_string(),
        attach: true,
        session_dir: paths.exec_dir().join(&exec_id[..8]).display().to_string(),
        ..Default::default()
    };
    let mut stream = monitor
        .exec(req)
        .await
        .map_err(|s| exec_error(command, s.message()))?
        .into_inner();
    let mut collect = None;
    let mut exit = None;
    loop {
        match stream.message().await {
            Ok(Some(m)) => match m.event {
                Some(Event::Ready(r)) if !r.attach_socket.is_empty() => {
                    let sock = attach::connect_socket(std::path::Path::new(&r.attach_socket))?;
                    collect = Some(tokio::task::spawn_blocking(move || attach::collect(sock)));
                }
                Some(Event::Exited(e)) => {
                    exit = Some(e.exit_code);
                    break;
                }
                _ => {}
            },
            Ok(None) => break,
            Err(s) => return Err(exec_error(command, s.message())),
        }
    }
    let Some(collect) = collect else {
        anyhow::bail!(
            "the monitor of {} gave no attach socket for the exec",
            cfg.name
        );
    };
    let (out, err, code) = collect.await?;
    match code.or(exit) {
        Some(c) => Ok((c, out, err)),
        None => anyhow::bail!("lost the exec session's exit code"),
    }
}

/// An exec session's process, as the flags (or the API's exec body) ask.
#[derive(Debug, Clone, Default)]
pub struct ProcessOptions {
    pub command: Vec<String>,
    pub tty: bool,
    pub user: Option<String>,
    pub workdir: Option<String>,
    pub privileged: bool,
    /// KEY=VALUE pairs over the container's environment.
    pub env: Vec<String>,
}

/// Write the exec's OCI process (the container's own settings, changed
/// by `o`) into the bundle; its path. It holds the session's environment
/// (`-e PASSWORD=...`): 0600. The caller removes it when the session ends.
pub fn write_process(
    engine: &EngineConfig,
    cfg: &crate::container::model::ContainerConfig,
    st: &crate::container::model::ContainerState,
    paths: &ContainerPaths,
    exec_id: &str,
    o: &ProcessOptions,
) -> anyhow::Result<std::path::PathBuf> {
    let rootfs = std::path::Path::new(&st.mountpoint);
    let mut pcfg = cfg.clone();
    pcfg.entrypoint = vec![];
    pcfg.cmd = o.command.clone();
    pcfg.terminal = o.tty;
    pcfg.init = false;
    if let Some(u) = &o.user {
        pcfg.user = u.clone();
    }
    if let Some(w) = &o.workdir {
        pcfg.working_dir = w.clone();
    }
    pcfg.privileged |= o.privileged;
    // A container made with -t has TERM=xterm in its environment; its
    // execs inherit it, with or without their own terminal.
    if cfg.terminal && !pcfg.env.iter().any(|e| e.starts_with("TERM=")) {
        pcfg.env.push("TERM=xterm".to_string());
    }
    pcfg.env
        .extend(crate::lifecycle::secrets::environment(engine, cfg)?);
    pcfg.env.extend(o.env.iter().cloned());
    let process = crate::spec::exec_process::process(
        &pcfg,
        rootfs,
        engine.containers.containers.default_capabilities.as_deref(),
    )?;
    let process_path = paths.bundle.join(format!("exec-{}.json", &exec_id[..8]));
    common::atomic_file::write_atomic_mode(
        &process_path,
        &serde_json::to_vec(&process)?,
        common::private_dir::FILE_MODE,
        common::atomic_file::Durability::NoSync,
    )?;
    Ok(process_path)
}

/// Removes the exec's process file when the session ends.
pub struct RemoveOnDrop(pub std::path::PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
