//! `podman attach`: join a running container's stdio through its
//! monitor's attach socket.

use clap::Args;

use crate::container::model::Status;
use crate::container::store;
use crate::engine_config::EngineConfig;
use crate::error::ExitError;
use crate::lifecycle::attach::{self, AttachEnd};
use crate::lifecycle::paths::ContainerPaths;

#[derive(Debug, Clone, Args)]
pub struct AttachArgs {
    #[arg(required_unless_present = "latest")]
    pub container: Option<String>,
    /// Do not attach STDIN
    #[arg(long)]
    pub no_stdin: bool,
    /// Detach key sequence
    #[arg(long)]
    pub detach_keys: Option<String>,
    /// Proxy received signals to the container's process
    #[arg(long, default_value_t = true, num_args = 0..=1, default_missing_value = "true", require_equals = true, action = clap::ArgAction::Set)]
    pub sig_proxy: bool,
    /// Act on the latest container podman is aware of
    #[arg(short, long)]
    pub latest: bool,
}

pub async fn run(engine: &EngineConfig, a: &AttachArgs) -> anyhow::Result<()> {
    let db = crate::state::open_state(engine)?;
    let record = match (&a.container, a.latest) {
        (Some(_), true) => anyhow::bail!("--latest and containers cannot be used together"),
        (Some(c), false) => store::resolve(&db, c)?,
        (None, _) => store::latest(&db)?,
    };
    let (cfg, st) = crate::lifecycle::cleanup::refresh(engine, record).await?;
    if cfg.log_driver.starts_with("passthrough") {
        // Its stdio went to the podman that started it; nothing to attach to.
        anyhow::bail!(
            "this container is using the '{}' log driver, cannot attach: this container is not logging output",
            cfg.log_driver
        );
    }
    if st.status != Status::Running {
        anyhow::bail!("you can only attach to running containers: container state improper");
    }
    let paths = ContainerPaths::new(engine, &cfg.id);
    let sock = attach::connect_socket(&paths.attach_socket(&cfg.id))?;
    crate::events::container(&cfg, "attach");
    let detach = attach::detach_sequence(a.detach_keys.as_deref().unwrap_or(&cfg.detach_keys))?;
    let tty = cfg.terminal && std::io::IsTerminal::is_terminal(&std::io::stdin());
    let raw = tty.then(attach::RawMode::enable);
    let stdin = cfg.stdin && !a.no_stdin;
    let pump = tokio::task::spawn_blocking(move || {
        attach::pump(sock, stdin, detach, tty, attach::Outputs::default())
    });
    let end = attach::with_sig_proxy(engine, &cfg.id, a.sig_proxy, pump).await?;
    drop(raw);
    match end {
        AttachEnd::Exited(code) => {
            crate::lifecycle::cleanup::cleanup(engine, &cfg.id, cfg.auto_remove).await?;
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
        AttachEnd::Detached | AttachEnd::Lost => Ok(()),
    }
}
