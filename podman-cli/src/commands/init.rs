//! `podman init`.

use super::targets::{names, NamesArgs};
use crate::container::store;
use crate::engine_config::EngineConfig;
use crate::lifecycle::paths::{ContainerLock, ContainerPaths};

/// `podman init`: create the container in the runtime without starting it.
pub async fn run(engine: &EngineConfig, a: &NamesArgs) -> anyhow::Result<()> {
    for n in names(engine, a)? {
        let db = crate::state::open_state(engine)?;
        let (cfg, _) = store::resolve(&db, &n)?;
        let paths = ContainerPaths::new(engine, &cfg.id);
        let _lock = ContainerLock::acquire(&paths)?;
        let (cfg, mut st) = store::resolve(&db, &cfg.id)?;
        if st.status.is_active() || st.pid > 0 {
            anyhow::bail!(
                "container {} has already been initialized or started: container state improper",
                cfg.name
            );
        }
        let init = crate::lifecycle::start::init(engine, &cfg, &mut st, &paths, false).await?;
        init.monitor.close().await?;
        println!("{n}");
    }
    Ok(())
}
