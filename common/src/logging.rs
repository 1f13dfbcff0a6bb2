//! `--log-level` for podman and its helpers: one format, to stderr, with the
//! process name so interleaved helper output can be told apart.

use tracing_subscriber::filter::LevelFilter;

/// Podman's level names; `fatal` and `panic` map to `error`.
pub const LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error", "fatal", "panic"];

pub fn parse_level(s: &str) -> Option<LevelFilter> {
    Some(match s.to_ascii_lowercase().as_str() {
        "trace" => LevelFilter::TRACE,
        "debug" => LevelFilter::DEBUG,
        "info" => LevelFilter::INFO,
        "warn" | "warning" => LevelFilter::WARN,
        "error" | "fatal" | "panic" => LevelFilter::ERROR,
        _ => return None,
    })
}

/// Install the global subscriber. `process` prefixes every line.
/// The HTTP/2 and gRPC libraries log every frame at debug; they speak only
/// at trace, so `--log-level debug` shows our stages and calls.
pub fn init(process: &'static str, level: LevelFilter) {
    let quiet = if level >= LevelFilter::TRACE {
        LevelFilter::TRACE
    } else {
        LevelFilter::WARN.min(level)
    };
    let filter = tracing_subscriber::filter::Targets::new()
        .with_default(level)
        .with_target("h2", quiet)
        .with_target("hyper", quiet)
        .with_target("hyper_util", quiet)
        .with_target("tower", quiet)
        .with_target("tonic", quiet);
    use tracing_subscriber::layer::{Layer, SubscriberExt};
    use tracing_subscriber::util::SubscriberInitExt;
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(false)
        .event_format(Format { process });
    let _ = tracing_subscriber::registry()
        .with(fmt.with_filter(filter))
        .try_init();
}

struct Format {
    process: &'static str,
}

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for Format
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut w: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        // logrus's text format, as Podman prints it:
        // time="2026-12-04T18:10:00Z" level=warning msg="..." key=value
        // (plus proc=NAME[PID] so interleaved helper lines can be told apart).
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let level = match *event.metadata().level() {
            tracing::Level::WARN => "warning".to_string(),
            l => l.as_str().to_ascii_lowercase(),
        };
        let mut fields = Fields::default();
        event.record(&mut fields);
        let mut msg = String::new();
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                msg.push_str(span.name());
                msg.push_str(": ");
            }
        }
        msg.push_str(&fields.message);
        let ts = crate::time::rfc3339_nanos(now.as_nanos() as i64);
        write!(
            w,
            "time={ts:?} level={level} msg={msg:?} proc={}[{}]",
            self.process,
            std::process::id()
        )?;
        for (k, v) in &fields.rest {
            if v.contains(' ') || v.contains('"') || v.is_empty() {
                write!(w, " {k}={v:?}")?;
            } else {
                write!(w, " {k}={v}")?;
            }
        }
        writeln!(w)
    }
}

/// An event's message and its other fields, in order.
#[derive(Default)]
struct Fields {
    message: String,
    rest: Vec<(String, String)>,
}

impl tracing::field::Visit for Fields {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_string();
        } else {
            self.rest
                .push((field.name().to_string(), value.to_string()));
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let v = format!("{value:?}");
        if field.name() == "message" {
            self.message = v;
        } else {
            self.rest.push((field.name().to_string(), v));
        }
    }
}
