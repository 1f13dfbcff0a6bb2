//! Usage errors as Podman words them: clap's parse errors translated into
//! cobra's texts (`Error: ...` on stderr, exit 125, a `See 'podman CMD
//! --help'` hint where Podman gives one), and the `--latest` checks.

use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{ArgMatches, Command};

use super::help::{
    built, command_path, count_error, count_positionals, flag_takes_value, locate, render, Exit,
    LATEST_TAKES_ARGS,
};
use crate::error::EXIT_ENGINE;

fn context_str(e: &clap::Error, k: ContextKind) -> Option<String> {
    match e.get(k)? {
        ContextValue::String(s) => Some(s.clone()),
        ContextValue::Strings(v) => v.first().cloned(),
        _ => None,
    }
}

/// A clap error as Podman says it.
pub fn error(e: clap::Error, root: &Command, argv: &[OsString]) -> Exit {
    let (path, at) = locate(root, argv);
    let p = command_path(&path);
    let see = format!("\nSee '{p} --help'");
    match e.kind() {
        ErrorKind::DisplayHelp => Exit {
            code: 0,
            stdout: render(root, &path, argv),
            stderr: String::new(),
        },
        ErrorKind::DisplayVersion => Exit {
            code: 0,
            stdout: format!("podman version {}\n", super::PODMAN_VERSION),
            stderr: String::new(),
        },
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand | ErrorKind::MissingSubcommand => {
            Exit {
                code: EXIT_ENGINE,
                stdout: render(root, &path, argv),
                stderr: format!("Error: missing command '{p} COMMAND'\n"),
            }
        }
        ErrorKind::InvalidSubcommand => {
            // cobra parses the flags first: an unknown flag wins.
            let level = built(root, &path);
            for a in argv.iter().skip(at + 1) {
                let s = a.to_string_lossy();
                if s == "--" {
                    break;
                }
                if s.starts_with('-') && s.len() > 1 {
                    let flag = s.split_once('=').map(|(f, _)| f).unwrap_or(&s);
                    if flag_takes_value(&level, flag).is_none() {
                        return Exit::usage(format!("{}{see}", unknown_flag(&s)));
                    }
                }
            }
            let word = argv
                .get(at)
                .map(|w| w.to_string_lossy().into_owned())
                .or_else(|| context_str(&e, ContextKind::InvalidSubcommand))
                .unwrap_or_default();
            Exit::usage(format!(
                "unrecognized command `{p} {word}`\nTry '{p} --help' for more information"
            ))
        }
        ErrorKind::UnknownArgument => {
            let arg = context_str(&e, ContextKind::InvalidArg).unwrap_or_default();
            if arg.starts_with('-') && arg.len() > 1 {
                return Exit::usage(format!("{}{see}", unknown_flag(&arg)));
            }
            let cmd = built(root, &path);
            let n = count_positionals(&cmd, &argv[at.min(argv.len())..]);
            Exit::usage(count_error(&cmd, &path, n))
        }
        ErrorKind::MissingRequiredArgument => {
            let missing = context_str(&e, ContextKind::InvalidArg).unwrap_or_default();
            if missing.starts_with('-') {
                let name = missing
                    .trim_start_matches('-')
                    .split([' ', '='])
                    .next()
                    .unwrap_or("")
                    .to_string();
                return Exit::usage(format!("required flag(s) \"{name}\" not set"));
            }
            let cmd = built(root, &path);
            let n = count_positionals(&cmd, &argv[at.min(argv.len())..]);
            Exit::usage(count_error(&cmd, &path, n))
        }
        ErrorKind::TooManyValues | ErrorKind::WrongNumberOfValues => {
            let cmd = built(root, &path);
            let n = count_positionals(&cmd, &argv[at.min(argv.len())..]);
            Exit::usage(count_error(&cmd, &path, n))
        }
        ErrorKind::InvalidValue | ErrorKind::ValueValidation | ErrorKind::NoEquals => {
            let value = context_str(&e, ContextKind::InvalidValue);
            let arg = context_str(&e, ContextKind::InvalidArg).unwrap_or_default();
            let flag = arg.split([' ', '=', '[']).next().unwrap_or("").to_string();
            match value {
                Some(v) if !v.is_empty() => {
                    let valid: Vec<String> = match e.get(ContextKind::ValidValue) {
                        Some(ContextValue::Strings(v)) => v.clone(),
                        _ => vec![],
                    };
                    let why =
                        if valid == ["true", "false"] || first_line(&e).contains("not a boolean") {
                            // A switch: pflag's strconv.ParseBool text.
                            format!("strconv.ParseBool: parsing {v:?}: invalid syntax")
                        } else if e.kind() == ErrorKind::InvalidValue {
                            format!("must be one of {}", valid.join(", "))
                        } else {
                            first_line(&e)
                        };
                    Exit::usage(format!(
                        "invalid argument {v:?} for \"{flag}\" flag: {why}{see}"
                    ))
                }
                _ => {
                    // A flag given without its value (at the end).
                    let typed = argv
                        .iter()
                        .rev()
                        .map(|a| a.to_string_lossy().into_owned())
                        .find(|a| a.starts_with('-'))
                        .unwrap_or(flag);
                    let msg = if typed.starts_with("--") {
                        format!("flag needs an argument: {typed}")
                    } else {
                        let c = typed.chars().last().unwrap_or('?');
                        format!("flag needs an argument: '{c}' in {typed}")
                    };
                    Exit::usage(format!("{msg}{see}"))
                }
            }
        }
        ErrorKind::ArgumentConflict => {
            let a = context_str(&e, ContextKind::InvalidArg).unwrap_or_default();
            let b = context_str(&e, ContextKind::PriorArg).unwrap_or_default();
            let name = |s: &str| s.split([' ', '=']).next().unwrap_or("").to_string();
            Exit::usage(format!(
                "{} and {} cannot be used together",
                name(&b),
                name(&a)
            ))
        }
        _ => Exit::usage(format!("{}{see}", first_line(&e))),
    }
}

fn first_line(e: &clap::Error) -> String {
    let rendered = e.render().to_string();
    rendered
        .lines()
        .next()
        .unwrap_or("invalid command line")
        .trim_start_matches("error: ")
        .to_string()
}

fn unknown_flag(arg: &str) -> String {
    if let Some(l) = arg.strip_prefix("--") {
        let l = l.split('=').next().unwrap_or(l);
        format!("unknown flag: --{l}")
    } else {
        let c = arg.chars().nth(1).unwrap_or('?');
        format!("unknown shorthand flag: '{c}' in {arg}")
    }
}

/// Podman's `--latest` rules, for every command that has it: not with
/// `--all`, not with container names.
pub fn check_latest(cmd: &Command, m: &ArgMatches, argv: &[OsString]) -> Result<(), Exit> {
    let _ = argv;
    let mut cur = cmd;
    let mut m = m;
    let mut leaf = "";
    while let Some((name, sm)) = m.subcommand() {
        match cur.find_subcommand(name) {
            Some(c) => cur = c,
            None => return Ok(()),
        }
        leaf = cur.get_name();
        m = sm;
    }
    if LATEST_TAKES_ARGS.contains(&leaf) {
        return Ok(());
    }
    let flag = |id: &str| matches!(m.try_get_one::<bool>(id), Ok(Some(true)));
    if !flag("latest") {
        return Ok(());
    }
    if flag("all") {
        return Err(Exit::usage(
            "--all and --latest cannot be used together".into(),
        ));
    }
    let given = cur.get_positionals().any(|a| {
        m.value_source(a.get_id().as_str()) == Some(clap::parser::ValueSource::CommandLine)
    });
    if given {
        return Err(Exit::usage(
            "--latest and containers cannot be used together".into(),
        ));
    }
    Ok(())
}
