//! This command's connections to the state database: opened once, handed
//! back when a step is done with one, reused by the next step.

use super::State;
use crate::engine_config::EngineConfig;

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
