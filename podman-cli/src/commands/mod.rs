//! One module per podman command (or family of small ones).

pub mod containers;
pub mod events;
pub mod exec;
pub mod image_ops;
pub mod images;
pub mod import;
pub mod info;
pub mod inspect;
pub mod load;
pub mod login;
pub mod logs;
pub mod more;
pub mod network;
pub mod ps;
pub mod pull;
pub mod push;
pub mod run;
pub mod save;
pub mod top;
pub mod version;
pub mod wait;

use crate::engine_config::EngineConfig;
use crate::state::State;

/// Open the state database of this store.
pub fn open_state(cfg: &EngineConfig) -> anyhow::Result<StateHandle> {
    let path = cfg.db_path();
    if let Some(s) = take_idle(&path) {
        return Ok(StateHandle(Some(s)));
    }
    Ok(StateHandle(Some(State::open(
        &path,
        &cfg.run_root,
        &cfg.storage_driver,
    )?)))
}

/// State connections no step of this command is using. A command opens the
/// database at several steps; reopening after the last connection closed
/// made SQLite rebuild its WAL index each time (reading the whole WAL).
static IDLE_STATES: std::sync::Mutex<Vec<State>> = std::sync::Mutex::new(Vec::new());

fn take_idle(path: &std::path::Path) -> Option<State> {
    let mut idle = IDLE_STATES.lock().unwrap_or_else(|p| p.into_inner());
    let i = idle.iter().position(|s| s.path() == path)?;
    Some(idle.swap_remove(i))
}

/// The state database, back to this command's idle connections when
/// dropped outside a transaction.
pub struct StateHandle(Option<State>);

impl std::ops::Deref for StateHandle {
    type Target = State;
    fn deref(&self) -> &State {
        self.0
            .as_ref()
            .expect("a StateHandle holds its State until dropped")
    }
}

impl std::ops::DerefMut for StateHandle {
    fn deref_mut(&mut self) -> &mut State {
        self.0
            .as_mut()
            .expect("a StateHandle holds its State until dropped")
    }
}

impl Drop for StateHandle {
    fn drop(&mut self) {
        if let Some(s) = self.0.take() {
            if s.is_idle() {
                IDLE_STATES
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(s);
            }
        }
    }
}

/// IDs of the containers created from image `image_id`.
pub fn containers_using_image(cfg: &EngineConfig, image_id: &str) -> anyhow::Result<Vec<String>> {
    let db = open_state(cfg)?;
    Ok(crate::container::store::list(&db)?
        .into_iter()
        .filter(|(c, _)| c.image_id == image_id)
        .map(|(c, _)| c.id)
        .collect())
}

/// `rmi --force` removes the containers that use the image first.
pub async fn remove_container_for_rmi(cfg: &EngineConfig, id: &str) -> anyhow::Result<()> {
    crate::lifecycle::remove::remove(cfg, id, true, false).await
}

/// Print `inspect` documents: a JSON array, or a template per document.
pub fn print_inspect(docs: &[serde_json::Value], format: Option<&str>) -> anyhow::Result<()> {
    match format {
        None | Some("json") => println!("{}", serde_json::to_string_pretty(docs)?),
        Some(f) => {
            for d in docs {
                print!("{}", crate::format::render(f, d)?);
            }
        }
    }
    Ok(())
}
