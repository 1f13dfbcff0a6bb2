//! pflag's boolean flags on clap.
//!
//! Podman's switches are pflag bools: `--rm`, `--rm=false`, `-t=false`
//! and clustered `-it` are all valid, and scripts use every form. clap's
//! `SetTrue` takes no value, so each switch is redefined here as an
//! optional value that must be attached with `=` (clap then leaves the
//! rest of a cluster such as `-it` to the next shorthand).

use clap::builder::BoolishValueParser;
use clap::{Arg, ArgAction, Command};

/// `cmd`'s own switches (not its subcommands') as pflag bools, and its
/// valued flags taking the next word as pflag does, even one that starts
/// with `-` (`--format --{{.ID}}--`, `--stop-signal -TERM`).
pub fn bools(cmd: Command) -> Command {
    cmd.mut_args(|a| {
        if matches!(a.get_action(), ArgAction::SetTrue) {
            as_pflag_bool(a)
        } else if !a.is_positional() && !is_switch(&a) {
            a.allow_hyphen_values(true)
        } else {
            a
        }
    })
}

fn as_pflag_bool(a: Arg) -> Arg {
    a.action(ArgAction::Set)
        .num_args(0..=1)
        .require_equals(true)
        .default_missing_value("true")
        .default_value("false")
        .value_parser(BoolishValueParser::new())
        .hide_default_value(true)
}

/// Whether `a` is a switch: a value is only ever attached with `=`, so
/// the next argument is never its value.
pub fn is_switch(a: &Arg) -> bool {
    !a.get_action().takes_values()
        || (a.is_require_equals_set() && a.get_num_args().is_some_and(|n| n.min_values() == 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd() -> Command {
        bools(
            Command::new("run")
                .arg(
                    Arg::new("tty")
                        .short('t')
                        .long("tty")
                        .action(ArgAction::SetTrue),
                )
                .arg(
                    Arg::new("interactive")
                        .short('i')
                        .long("interactive")
                        .action(ArgAction::SetTrue),
                )
                .arg(Arg::new("name").long("name"))
                .arg(Arg::new("image")),
        )
    }

    fn flags(args: &[&str]) -> (bool, bool, Option<String>) {
        let m = cmd().try_get_matches_from(args).expect("parses");
        (
            *m.get_one::<bool>("tty").expect("tty"),
            *m.get_one::<bool>("interactive").expect("interactive"),
            m.get_one::<String>("image").cloned(),
        )
    }

    #[test]
    fn every_pflag_bool_form_parses() {
        assert_eq!(flags(&["run", "img"]), (false, false, Some("img".into())));
        assert_eq!(
            flags(&["run", "-t", "img"]),
            (true, false, Some("img".into()))
        );
        assert_eq!(
            flags(&["run", "-it", "img"]),
            (true, true, Some("img".into()))
        );
        assert_eq!(
            flags(&["run", "-t=false", "img"]),
            (false, false, Some("img".into()))
        );
        assert_eq!(
            flags(&["run", "-i", "-t=true", "img"]),
            (true, true, Some("img".into()))
        );
        assert_eq!(
            flags(&["run", "--tty=false", "-i=false", "img"]),
            (false, false, Some("img".into()))
        );
        assert_eq!(
            flags(&["run", "--tty", "img"]),
            (true, false, Some("img".into()))
        );
    }

    #[test]
    fn a_valued_flag_takes_a_next_word_that_starts_with_a_dash() {
        let m = cmd()
            .try_get_matches_from(["run", "--name", "--x--", "-t", "img"])
            .expect("parses");
        assert_eq!(
            m.get_one::<String>("name").map(String::as_str),
            Some("--x--")
        );
        assert!(*m.get_one::<bool>("tty").expect("tty"));
        assert!(cmd()
            .try_get_matches_from(["run", "img", "--name"])
            .is_err());
    }

    #[test]
    fn a_bad_bool_value_is_an_error() {
        assert!(cmd()
            .try_get_matches_from(["run", "--tty=maybe", "img"])
            .is_err());
    }

    #[test]
    fn switches_are_told_from_valued_flags() {
        let c = cmd();
        let by = |id: &str| {
            c.get_arguments()
                .find(|a| a.get_id() == id)
                .expect("arg")
                .clone()
        };
        assert!(is_switch(&by("tty")));
        assert!(!is_switch(&by("name")));
    }
}

/// One field of a pflag string-slice flag (`--dns`, `--add-host`, ...):
/// pflag reads each value as a CSV record, so a field may be quoted
/// (`--add-host "a;b:10.0.0.1"` from a script that quotes inside the
/// word) and `""` inside quotes is one quote. Commas split fields
/// (clap's value delimiter runs first).
pub fn csv_field(s: &str) -> Result<String, String> {
    match s.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        Some(inner) if s.len() >= 2 => Ok(inner.replace("\"\"", "\"")),
        _ => Ok(s.to_string()),
    }
}

/// A string-slice flag's values without the empty ones: pflag reads an
/// empty value (`-p ""`) as no value at all.
pub fn nonempty(v: Vec<String>) -> Vec<String> {
    v.into_iter().filter(|s| !s.is_empty()).collect()
}

#[cfg(test)]
mod csv_tests {
    #[test]
    fn csv_fields_lose_their_quotes() {
        assert_eq!(super::csv_field("\"a;b:1.2.3.4\"").unwrap(), "a;b:1.2.3.4");
        assert_eq!(super::csv_field("a:1.2.3.4").unwrap(), "a:1.2.3.4");
        assert_eq!(super::csv_field("\"x\"\"y\"").unwrap(), "x\"y");
        assert_eq!(super::csv_field("\"").unwrap(), "\"");
    }
}
