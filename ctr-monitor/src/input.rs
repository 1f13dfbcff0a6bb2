//! Where attached clients' keystrokes and resizes go: the container's (or an
//! exec's) stdin pipe or pty master.
//!
//! The target may arrive after clients do (a pty master comes from the
//! runtime during create/exec); writes wait for it.

use std::sync::{Arc, Mutex};

use tokio::sync::watch;
use tracing::debug;

use crate::fdio::FdIo;

/// The EOF character a terminal in canonical mode understands (^D).
const VEOF: u8 = 4;

pub enum StdinTarget {
    Pipe(FdIo),
    Pty(Arc<FdIo>),
}

enum Slot {
    Pending,
    Open(StdinTarget),
    Closed,
}

pub struct Input {
    slot: tokio::sync::Mutex<Slot>,
    settled: watch::Sender<bool>,
    pty: Mutex<Option<Arc<FdIo>>>,
    size: Mutex<Option<(u16, u16)>>,
}

impl Input {
    pub fn new() -> Arc<Input> {
        Arc::new(Input {
            slot: tokio::sync::Mutex::new(Slot::Pending),
            settled: watch::Sender::new(false),
            pty: Mutex::new(None),
            size: Mutex::new(None),
        })
    }

    /// Where stdin goes from now on; None: there is no stdin.
    pub async fn set_stdin(&self, target: Option<StdinTarget>) {
        let mut slot = self.slot.lock().await;
        if matches!(*slot, Slot::Pending) {
            *slot = match target {
                Some(t) => Slot::Open(t),
                None => Slot::Closed,
            };
        }
        self.settled.send_replace(true);
    }

    /// The terminal to resize; a size asked for earlier is applied now.
    pub fn set_pty(&self, pty: Arc<FdIo>) {
        let size = self.size.lock().ok().and_then(|s| *s);
        if let Some((rows, cols)) = size {
            if let Err(e) = set_winsize(pty.raw(), rows, cols) {
                debug!(error = %e, "initial terminal size");
            }
        }
        if let Ok(mut p) = self.pty.lock() {
            *p = Some(pty);
        }
    }

    pub async fn write(&self, data: &[u8]) {
        let _ = self.settled.subscribe().wait_for(|s| *s).await;
        let slot = self.slot.lock().await;
        let result = match &*slot {
            Slot::Open(StdinTarget::Pipe(p)) => p.write_all(data).await,
            Slot::Open(StdinTarget::Pty(p)) => p.write_all(data).await,
            _ => Ok(()),
        };
        if let Err(e) = result {
            debug!(error = %e, "writing to the container's stdin");
        }
    }

    /// End of stdin: close the pipe, or send ^D to a terminal.
    pub async fn close(&self) {
        let mut slot = self.slot.lock().await;
        match std::mem::replace(&mut *slot, Slot::Closed) {
            Slot::Open(StdinTarget::Pty(p)) => {
                let _ = p.write_all(&[VEOF]).await;
            }
            Slot::Open(StdinTarget::Pipe(p)) => drop(p),
            Slot::Pending | Slot::Closed => {}
        }
        debug!("stdin closed");
        self.settled.send_replace(true);
    }

    /// The process is gone: let go of its descriptors.
    pub async fn release(&self) {
        *self.slot.lock().await = Slot::Closed;
        self.settled.send_replace(true);
        if let Ok(mut p) = self.pty.lock() {
            p.take();
        }
    }

    /// TIOCSWINSZ on the terminal (remembered if it is not there yet).
    pub fn resize(&self, rows: u16, cols: u16) -> std::io::Result<()> {
        if let Ok(mut s) = self.size.lock() {
            *s = Some((rows, cols));
        }
        let pty = self.pty.lock().ok().and_then(|p| p.clone());
        match pty {
            Some(p) => set_winsize(p.raw(), rows, cols),
            None => Ok(()),
        }
    }
}

pub fn set_winsize(fd: std::os::fd::RawFd, rows: u16, cols: u16) -> std::io::Result<()> {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize from the pointer we pass.
    if unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, &ws) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
