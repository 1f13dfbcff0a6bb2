//! The exec sessions of a container: their states, for ExecStatus and
//! Resize, and the registry a container keeps of them. Running a session
//! is the exec module's job; this one knows nothing of the container.

use std::sync::{Arc, Mutex};

use proto::monitor::v1::ExitInfo;
use tokio::sync::watch;

use crate::error::MonitorError;
use crate::input::Input;

/// Finished sessions remembered for ExecStatus.
const KEEP_SESSIONS: usize = 32;

#[derive(Debug, Clone, PartialEq)]
pub enum ExecState {
    Starting,
    Running { pid: i32 },
    Exited { pid: i32, exit: ExitInfo },
    Failed(String),
}

pub struct Session {
    pub id: String,
    state: watch::Sender<ExecState>,
    /// The session's stdin and terminal size, fed by its attach clients.
    pub input: Arc<Input>,
}

impl Session {
    pub fn new(id: String, input: Arc<Input>) -> Arc<Session> {
        Arc::new(Session {
            id,
            state: watch::Sender::new(ExecState::Starting),
            input,
        })
    }

    pub fn set_state(&self, state: ExecState) {
        self.state.send_replace(state);
    }

    pub fn state(&self) -> ExecState {
        self.state.borrow().clone()
    }

    pub fn resize(&self, rows: u16, cols: u16) -> std::io::Result<()> {
        self.input.resize(rows, cols)
    }

    fn finished(&self) -> bool {
        matches!(
            self.state(),
            ExecState::Exited { .. } | ExecState::Failed(_)
        )
    }
}

#[derive(Default)]
pub struct Sessions {
    list: Mutex<Vec<Arc<Session>>>,
}

impl Sessions {
    pub fn get(&self, id: &str) -> Option<Arc<Session>> {
        self.list.lock().ok()?.iter().find(|s| s.id == id).cloned()
    }

    pub fn insert(&self, s: Arc<Session>) -> Result<(), MonitorError> {
        let mut list = self
            .list
            .lock()
            .map_err(|_| MonitorError::FailedPrecondition("exec sessions lock poisoned".into()))?;
        if let Some(i) = list.iter().position(|x| x.id == s.id) {
            if !list[i].finished() {
                return Err(MonitorError::AlreadyExists(format!(
                    "exec session {} is still running: pick another exec_id",
                    s.id
                )));
            }
            list.remove(i);
        }
        while list.len() >= KEEP_SESSIONS {
            match list.iter().position(|x| x.finished()) {
                Some(i) => {
                    list.remove(i);
                }
                None => break,
            }
        }
        list.push(s);
        Ok(())
    }
}
