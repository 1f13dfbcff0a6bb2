//! `podman kill`.

use clap::Args;

use super::targets::{for_each, select, Selection};
use crate::engine_config::EngineConfig;

#[derive(Debug, Clone, Args)]
pub struct KillArgs {
    pub containers: Vec<String>,
    /// Signal to send to the container
    #[arg(short, long, default_value = "KILL", allow_hyphen_values = true)]
    pub signal: String,
    /// Signal all running containers
    #[arg(short, long)]
    pub all: bool,
    /// Act on the latest container podman is aware of
    #[arg(short, long)]
    pub latest: bool,
    /// Read the container ID from the file
    #[arg(long)]
    pub cidfile: Vec<String>,
    /// Filter output based on conditions given
    #[arg(long)]
    pub filter: Vec<String>,
}

/// Podman's `signal.ParseSignalNameOrNumber`: a leading `-` is dropped, then
/// a number (not 0) or a name with or without `SIG`, any case.
pub fn parse_signal(raw: &str) -> anyhow::Result<i32> {
    let base = raw.strip_prefix('-').unwrap_or(raw);
    let bad = || anyhow::anyhow!("invalid signal: {base}");
    if let Ok(n) = base.parse::<i64>() {
        return match n {
            0 => Err(bad()),
            1..=64 => Ok(n as i32),
            _ => Err(anyhow::anyhow!("valid signals are 1 through 64")),
        };
    }
    let up = base.to_ascii_uppercase();
    let name = up.strip_prefix("SIG").unwrap_or(&up);
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-')
    {
        return Err(bad());
    }
    // Go's map has RTMIN, RTMIN+N, RTMAX-N and RTMAX.
    let rt = |s: &str| -> Option<i32> {
        let (min, max) = (libc::SIGRTMIN(), libc::SIGRTMAX());
        match s {
            "RTMIN" => Some(min),
            "RTMAX" => Some(max),
            _ => {
                if let Some(n) = s.strip_prefix("RTMIN+") {
                    n.parse::<i32>().ok().map(|n| min + n).filter(|v| *v <= max)
                } else if let Some(n) = s.strip_prefix("RTMAX-") {
                    n.parse::<i32>().ok().map(|n| max - n).filter(|v| *v >= min)
                } else {
                    None
                }
            }
        }
    };
    if let Some(n) = rt(name) {
        return Ok(n);
    }
    format!("SIG{name}")
        .parse::<nix::sys::signal::Signal>()
        .map(|s| s as i32)
        .map_err(|_| bad())
}

pub async fn run(engine: &EngineConfig, args: &KillArgs) -> anyhow::Result<()> {
    let sig = parse_signal(&args.signal)?;
    let names = select(
        engine,
        &Selection {
            given: &args.containers,
            all: args.all,
            latest: args.latest,
            cidfiles: &args.cidfile,
            filters: &args.filter,
            ignore: false,
        },
    )?;
    let names = if args.all {
        // `kill --all` signals the running containers only.
        let db = crate::state::open_state(engine)?;
        names
            .into_iter()
            .filter(|n| {
                crate::container::store::resolve(&db, n)
                    .map(|(_, st)| st.status.is_active())
                    .unwrap_or(false)
            })
            .collect()
    } else {
        names
    };
    for_each(
        &names,
        |c| async move {
            crate::lifecycle::stop::kill(engine, &c, sig)
                .await
                .map(|_| ())
        },
        true,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::parse_signal;

    #[test]
    fn signals_parse_as_podman_does() {
        assert_eq!(parse_signal("1").unwrap(), 1);
        assert_eq!(parse_signal("-1").unwrap(), 1);
        assert_eq!(parse_signal("-INT").unwrap(), 2);
        assert_eq!(parse_signal("fpe").unwrap(), 8);
        assert_eq!(parse_signal("-SIGUSR1").unwrap(), 10);
        assert_eq!(parse_signal("SIGUSR2").unwrap(), 12);
        assert_eq!(parse_signal("64").unwrap(), 64);
        assert_eq!(parse_signal("RTMIN+1").unwrap(), libc::SIGRTMIN() + 1);
        for n in ["65", "-65", "96", "999", "99999999"] {
            assert_eq!(
                parse_signal(n).unwrap_err().to_string(),
                "valid signals are 1 through 64"
            );
        }
        assert_eq!(
            parse_signal("-0").unwrap_err().to_string(),
            "invalid signal: 0"
        );
        assert_eq!(
            parse_signal("-").unwrap_err().to_string(),
            "invalid signal: "
        );
        for bad in [
            "0",
            "SIGBADSIG",
            "SIG",
            "BADSIG",
            "%%",
            "!",
            "''",
            "\"\"",
            " ",
            "",
        ] {
            assert_eq!(
                parse_signal(bad).unwrap_err().to_string(),
                format!("invalid signal: {bad}")
            );
        }
    }
}
