//! What the standalone `pull` / `push` faces print: Podman-like progress
//! lines on stderr (rewritten in place on a terminal, plain lines at most
//! once a second per blob otherwise), the manifest digest on stdout, or the
//! final Done as JSON with --json.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use proto::fetcher::v1 as pb;
use tokio::sync::mpsc::UnboundedReceiver;

#[derive(Debug, Clone, Copy)]
pub struct OutputMode {
    pub quiet: bool,
    pub json: bool,
}

struct Printer {
    show: bool,
    tty: bool,
    config: String,
    last: HashMap<String, Instant>,
    open_line: bool,
}

impl Printer {
    fn new(mode: OutputMode) -> Printer {
        Printer {
            show: !mode.quiet && !mode.json,
            tty: std::io::stderr().is_terminal(),
            config: String::new(),
            last: HashMap::new(),
            open_line: false,
        }
    }

    fn line(&mut self, text: &str) {
        if !self.show {
            return;
        }
        let mut e = std::io::stderr().lock();
        if self.open_line {
            let _ = write!(e, "\r\x1b[2K");
            self.open_line = false;
        }
        let _ = writeln!(e, "{text}");
    }

    fn progress(&mut self, p: &pb::Progress) {
        if !self.show || p.bytes_done == 0 || p.bytes_done == p.bytes_total {
            return;
        }
        let text = format!(
            "Copying {} {} {} / {}",
            self.kind(&p.digest),
            short(&p.digest),
            size(p.bytes_done),
            size(p.bytes_total)
        );
        if self.tty {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K{text}");
            self.open_line = true;
            return;
        }
        let now = Instant::now();
        if self
            .last
            .get(&p.digest)
            .is_some_and(|t| now.duration_since(*t) < Duration::from_secs(1))
        {
            return;
        }
        self.last.insert(p.digest.clone(), now);
        self.line(&text);
    }

    fn kind(&self, digest: &str) -> &'static str {
        if digest == self.config {
            "config"
        } else {
            "blob"
        }
    }
}

/// `4abcf2066143` from `sha256:4abcf2066143...`.
fn short(digest: &str) -> &str {
    let hex = digest.split_once(':').map_or(digest, |(_, h)| h);
    &hex[..hex.len().min(12)]
}

fn size(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n}B")
    } else {
        format!("{v:.1}{}", UNITS[u])
    }
}

pub async fn print_pull(mut rx: UnboundedReceiver<pb::PullEvent>, mode: OutputMode) {
    use pb::pull_event::Event;
    let mut p = Printer::new(mode);
    while let Some(ev) = rx.recv().await {
        match ev.event {
            Some(Event::Resolved(r)) => {
                p.config = r.config_digest.clone();
                let total: u64 = r.layers.iter().map(|l| l.size).sum::<u64>() + r.config_size;
                let platform = r
                    .platform
                    .map(|pl| {
                        format!(
                            ", {}/{}{}",
                            pl.os,
                            pl.architecture,
                            if pl.variant.is_empty() {
                                String::new()
                            } else {
                                format!("/{}", pl.variant)
                            }
                        )
                    })
                    .unwrap_or_default();
                p.line(&format!(
                    "Resolved {} to manifest {} ({} layers, {}{platform})",
                    r.ref_name,
                    short(&r.manifest_digest),
                    r.layers.len(),
                    size(total)
                ));
            }
            Some(Event::Progress(pr)) => p.progress(&pr),
            Some(Event::BlobDone(b)) => {
                let how = if b.reused {
                    "skipped: already exists"
                } else {
                    "done"
                };
                let text = format!("Copying {} {} {how}", p.kind(&b.digest), short(&b.digest));
                p.line(&text);
            }
            Some(Event::Done(d)) => {
                p.line("Writing manifest to image destination");
                if mode.json {
                    let v = serde_json::json!({
                        "manifest_digest": d.manifest_digest,
                        "config_digest": d.config_digest,
                        "ref_name": d.ref_name,
                        "blobs_copied": d.blobs_copied,
                        "bytes_copied": d.bytes_copied,
                    });
                    println!("{v}");
                } else {
                    println!("{}", d.manifest_digest);
                }
            }
            None => {}
        }
    }
}

pub async fn print_push(mut rx: UnboundedReceiver<pb::PushEvent>, mode: OutputMode) {
    use pb::push_event::Event;
    let mut p = Printer::new(mode);
    while let Some(ev) = rx.recv().await {
        match ev.event {
            Some(Event::Resolved(r)) => p.config = r.config_digest,
            Some(Event::Progress(pr)) => p.progress(&pr),
            Some(Event::BlobPushed(b)) => {
                let how = match (b.skipped, b.mounted) {
                    (true, _) => "skipped: already exists",
                    (_, true) => "mounted from another repository",
                    _ => "done",
                };
                let text = format!("Copying {} {} {how}", p.kind(&b.digest), short(&b.digest));
                p.line(&text);
            }
            Some(Event::Done(d)) => {
                p.line("Writing manifest to image destination");
                if mode.json {
                    let v = serde_json::json!({
                        "manifest_digest": d.manifest_digest,
                        "destination": d.destination,
                        "blobs_uploaded": d.blobs_uploaded,
                        "bytes_uploaded": d.bytes_uploaded,
                    });
                    println!("{v}");
                } else {
                    println!("{}", d.manifest_digest);
                }
            }
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_short_digests() {
        assert_eq!(size(512), "512B");
        assert_eq!(size(3 << 20), "3.0MiB");
        assert_eq!(short("sha256:0123456789abcdef"), "0123456789ab");
    }
}
