//! The monitor's `--log-level` output: the same lines as every other helper
//! (`common::logging`), written by a subscriber that keeps nothing between
//! events.
//!
//! tracing-subscriber's registry preallocates a 32 kB span slab at start-up
//! and keeps it for the life of the process; a monitor lives as long as its
//! container and has no spans of its own, so it formats each event straight
//! into one `write` on stderr (which is the monitor log once a container is
//! created). Spans (only the HTTP/2 libraries open them, at trace level)
//! are not tracked and not printed.

use std::fmt::Write as _;
use std::io::Write as _;

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Libraries that log every frame at debug: they speak only at trace.
const CHATTY: &[&str] = &["h2", "hyper", "hyper_util", "tower", "tonic"];

struct Logger {
    process: &'static str,
    level: LevelFilter,
    /// The limit for [`CHATTY`] targets.
    quiet: LevelFilter,
}

fn is_chatty(target: &str) -> bool {
    CHATTY.iter().any(|c| {
        target
            .strip_prefix(c)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    })
}

impl Subscriber for Logger {
    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        let limit = if is_chatty(meta.target()) {
            self.quiet
        } else {
            self.level
        };
        limit >= *meta.level()
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(self.level)
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let mut line = String::with_capacity(160);
        let _ = write!(
            line,
            "time={}.{:06} level={} proc={}[{}] ",
            now.as_secs(),
            now.subsec_micros(),
            level_name(event.metadata().level()),
            self.process,
            std::process::id()
        );
        event.record(&mut Fields {
            out: &mut line,
            first: true,
        });
        line.push('\n');
        // One write per line, so lines of concurrent writers do not mix.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

fn level_name(level: &tracing::Level) -> &'static str {
    match *level {
        tracing::Level::TRACE => "trace",
        tracing::Level::DEBUG => "debug",
        tracing::Level::INFO => "info",
        tracing::Level::WARN => "warn",
        tracing::Level::ERROR => "error",
    }
}

/// tracing-subscriber's default field format: the message as is, then
/// `name=value` with values in their Debug form (`%x` fields: Display).
struct Fields<'a> {
    out: &'a mut String,
    first: bool,
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.record_debug(field, &format_args!("{value}"))
        } else {
            self.record_debug(field, &value)
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.record_debug(field, &format_args!("{value}"))
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if !std::mem::take(&mut self.first) {
            self.out.push(' ');
        }
        let _ = match field.name() {
            "message" => write!(self.out, "{value:?}"),
            name => write!(
                self.out,
                "{}={value:?}",
                name.strip_prefix("r#").unwrap_or(name)
            ),
        };
    }
}

/// Install the logger for `process` at `level` (see `common::logging`).
pub fn init(process: &'static str, level: LevelFilter) {
    let quiet = if level >= LevelFilter::TRACE {
        LevelFilter::TRACE
    } else {
        LevelFilter::WARN.min(level)
    };
    let _ = tracing::subscriber::set_global_default(Logger {
        process,
        level,
        quiet,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libraries_are_matched_by_crate_name() {
        assert!(is_chatty("h2"));
        assert!(is_chatty("h2::codec::framed_read"));
        assert!(is_chatty("hyper_util::server"));
        assert!(!is_chatty("h2o"));
        assert!(!is_chatty("ctr_monitor::server"));
    }

    #[test]
    fn fields_look_like_tracing_subscribers() {
        // The format the other helpers print (common::logging).
        struct Capture(std::sync::Mutex<String>);
        impl Subscriber for Capture {
            fn enabled(&self, _: &Metadata<'_>) -> bool {
                true
            }
            fn new_span(&self, _: &Attributes<'_>) -> Id {
                Id::from_u64(1)
            }
            fn record(&self, _: &Id, _: &Record<'_>) {}
            fn record_follows_from(&self, _: &Id, _: &Id) {}
            fn event(&self, e: &Event<'_>) {
                let mut s = self.0.lock().unwrap();
                e.record(&mut Fields {
                    out: &mut s,
                    first: true,
                });
            }
            fn enter(&self, _: &Id) {}
            fn exit(&self, _: &Id) {}
        }
        let cap = std::sync::Arc::new(Capture(Default::default()));
        let id = "c1";
        tracing::subscriber::with_default(cap.clone(), || {
            tracing::warn!(id = %id, sub = "start", ms = 5u64, "runtime \"command\"");
        });
        assert_eq!(
            *cap.0.lock().unwrap(),
            "runtime \"command\" id=c1 sub=\"start\" ms=5"
        );
    }
}
