//! `podman pause` and `podman unpause`.

use super::targets::{names, NamesArgs};
use crate::container::model::Status;
use crate::engine_config::EngineConfig;

/// `pause` (freeze) and `unpause` through the runtime. With `--all`, as
/// libpod: containers not in the state the verb needs (not running for
/// pause, not paused for unpause) are passed over, not errors.
pub async fn run(engine: &EngineConfig, a: &NamesArgs, pause: bool) -> anyhow::Result<()> {
    let targets = if a.all {
        let want = if pause {
            Status::Running
        } else {
            Status::Paused
        };
        let db = crate::state::open_state(engine)?;
        let records = crate::container::store::list(&db)?;
        drop(db);
        let mut ids = Vec::new();
        for rec in records {
            let (c, st) = crate::lifecycle::cleanup::refresh(engine, rec).await?;
            if st.status == want {
                ids.push(c.id);
            }
        }
        ids
    } else {
        names(engine, a)?
    };
    for n in targets {
        crate::lifecycle::pause::pause(engine, &n, pause).await?;
        println!("{n}");
    }
    Ok(())
}
