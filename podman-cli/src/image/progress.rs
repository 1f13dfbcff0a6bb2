//! Pull and push progress: one bar per layer with bytes and rate on a
//! terminal, plain lines when stderr is not a terminal, nothing with
//! `--quiet`. Always on stderr, so stdout carries only results.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

pub enum Progress {
    Quiet,
    Plain,
    Bars {
        multi: MultiProgress,
        bars: HashMap<String, ProgressBar>,
        style: ProgressStyle,
    },
}

fn short(digest: &str) -> &str {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    &hex[..hex.len().min(12)]
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        if quiet {
            Progress::Quiet
        } else if std::io::stderr().is_terminal() {
            let style = ProgressStyle::with_template(
                "Copying blob {prefix} {bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            Progress::Bars {
                multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
                bars: HashMap::new(),
                style,
            }
        } else {
            Progress::Plain
        }
    }

    pub fn line(&self, text: &str) {
        match self {
            Progress::Quiet => {}
            Progress::Plain => {
                let _ = writeln!(std::io::stderr(), "{text}");
            }
            Progress::Bars { multi, .. } => {
                let _ = multi.println(text);
            }
        }
    }

    /// A blob is announced (size known).
    pub fn blob(&mut self, digest: &str, total: u64) {
        if let Progress::Bars { multi, bars, style } = self {
            let bar = multi.add(ProgressBar::new(total));
            bar.set_style(style.clone());
            bar.set_prefix(short(digest).to_string());
            bars.insert(digest.to_string(), bar);
        }
    }

    pub fn advance(&mut self, digest: &str, done: u64, total: u64) {
        if let Progress::Bars { bars, .. } = self {
            if let Some(b) = bars.get(digest) {
                b.set_length(total.max(done));
                b.set_position(done);
            }
        }
    }

    /// A blob finished; `note` is "done" or "skipped: already exists".
    pub fn blob_done(&mut self, digest: &str, note: &str) {
        match self {
            Progress::Quiet => {}
            Progress::Plain => {
                let _ = writeln!(std::io::stderr(), "Copying blob {} {note}", short(digest));
            }
            Progress::Bars { bars, .. } => {
                if let Some(b) = bars.get(digest) {
                    if let Some(len) = b.length() {
                        b.set_position(len);
                    }
                    b.finish_with_message(note.to_string());
                }
            }
        }
    }

    pub fn finish(&mut self) {
        if let Progress::Bars { bars, .. } = self {
            for b in bars.values() {
                if !b.is_finished() {
                    b.finish();
                }
            }
        }
    }
}
