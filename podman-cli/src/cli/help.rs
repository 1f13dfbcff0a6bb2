//! Podman's (cobra's) help layout for our clap parser.
//!
//! clap parses; this module renders `--help` and `podman help CMD` in
//! cobra's layout (`Usage:` / `podman CMD [options] ARGS`, `Available
//! Commands:`, `Options:`), and the synopses and argument counts that
//! `usage_error` words its errors with. Everything is derived from the clap
//! definitions: a command's positionals make its synopsis and its
//! argument-count errors.

use std::ffi::OsString;

use clap::{Arg, Command};

use crate::error::EXIT_ENGINE;

/// How the process ends instead of running a command.
#[derive(Debug)]
pub struct Exit {
    pub code: u8,
    pub stdout: String,
    pub stderr: String,
}

impl Exit {
    pub(super) fn usage(msg: String) -> Exit {
        Exit {
            code: EXIT_ENGINE,
            stdout: String::new(),
            stderr: format!("Error: {msg}\n"),
        }
    }

    /// Print and return the exit code.
    pub fn finish(self) -> u8 {
        use std::io::Write;
        if !self.stdout.is_empty() {
            let mut o = std::io::stdout().lock();
            let _ = o.write_all(self.stdout.as_bytes());
            let _ = o.flush();
        }
        if !self.stderr.is_empty() {
            let _ = std::io::stderr().write_all(self.stderr.as_bytes());
        }
        self.code
    }
}

/// Commands whose `-l` combines with a positional (it is not a container).
pub(super) const LATEST_TAKES_ARGS: &[&str] = &["exec", "port", "top", "ps", "list", "ls"];

/// Whether `flag` (as typed, no `=value`) is one of `cmd`'s and takes a
/// value; None if `cmd` has no such flag.
pub(super) fn flag_takes_value(cmd: &Command, flag: &str) -> Option<bool> {
    let a = if let Some(l) = flag.strip_prefix("--") {
        cmd.get_arguments().find(|a| {
            a.get_long() == Some(l) || a.get_all_aliases().is_some_and(|v| v.contains(&l))
        })
    } else {
        let c = flag.strip_prefix('-')?.chars().last()?;
        cmd.get_arguments().find(|a| a.get_short() == Some(c))
    };
    a.map(|a| !super::pflag::is_switch(a))
}

/// The command path `argv` names (canonical names below the root) and the
/// index of the first argument after it. Flags before and between the
/// command words are the root's (and global) ones.
pub fn locate(root: &Command, argv: &[OsString]) -> (Vec<String>, usize) {
    let mut path = Vec::new();
    let mut cur = root;
    let mut i = 1;
    while i < argv.len() {
        let Some(s) = argv[i].to_str() else { break };
        if s == "--" {
            break;
        }
        if s.starts_with('-') && s.len() > 1 {
            let (flag, inline) = match s.split_once('=') {
                Some((f, _)) => (f, true),
                None => (s, false),
            };
            if flag_takes_value(root, flag) == Some(true) && !inline {
                i += 1;
            }
            i += 1;
            continue;
        }
        if !cur.has_subcommands() {
            break;
        }
        match cur.find_subcommand(s) {
            Some(sc) => {
                path.push(sc.get_name().to_string());
                cur = sc;
                i += 1;
                if !cur.has_subcommands() {
                    break;
                }
            }
            None => break,
        }
    }
    (path, i)
}

/// The built command at `path` (its deferred arguments defined, global
/// flags propagated). The root alone is built without its commands:
/// building all of them would cost `podman --help` the start-up the lazy
/// parser saves.
pub(super) fn built(root: &Command, path: &[String]) -> Command {
    let mut top = match path.first().and_then(|f| root.find_subcommand(f)) {
        Some(sc) => super::top_level().subcommand(sc.clone()),
        None => super::top_level().subcommand_required(false),
    };
    top.build();
    let mut cur = &top;
    for p in path {
        match cur.find_subcommand(p) {
            Some(s) => cur = s,
            None => break,
        }
    }
    cur.clone()
}

pub(super) fn command_path(path: &[String]) -> String {
    std::iter::once("podman")
        .chain(path.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Podman's names for a positional: upper case, singular.
fn positional_name(a: &Arg) -> String {
    let raw = a
        .get_value_names()
        .and_then(|v| v.first().map(|s| s.to_string()))
        .unwrap_or_else(|| a.get_id().to_string());
    let mut n = raw.to_ascii_uppercase().replace('-', "_");
    if multiple(a) && n.ends_with('S') && !n.ends_with("SS") && n.len() > 3 {
        n.pop();
    }
    n
}

fn multiple(a: &Arg) -> bool {
    a.get_num_args().is_some_and(|r| r.max_values() > 1)
}

pub(super) fn positionals(cmd: &Command) -> Vec<&Arg> {
    let mut v: Vec<&Arg> = cmd.get_positionals().filter(|a| !a.is_hide_set()).collect();
    v.sort_by_key(|a| a.get_index().unwrap_or(0));
    v
}

/// The argument part of a synopsis: `IMAGE [COMMAND [ARG...]]` style.
///
/// Names a command needs unless `--all`/`--latest` stands in for them are
/// shown as required (`CONTAINER [CONTAINER...]`), as Podman shows them;
/// not for the commands that do something else without names.
pub fn args_synopsis(cmd: &Command) -> String {
    /// Without names these act on everything (`podman mount` lists what
    /// is mounted, `podman stats` shows every running container).
    const NAMES_OPTIONAL: &[&str] = &["mount", "stats"];
    let has = |l: &str| cmd.get_arguments().any(|a| a.get_long() == Some(l));
    let names_or_all = (has("all") || has("latest")) && !NAMES_OPTIONAL.contains(&cmd.get_name());
    let mut out = Vec::new();
    let mut closing = 0;
    let ps = positionals(cmd);
    let single = ps.len() == 1;
    for a in ps {
        let n = positional_name(a);
        let required = a.is_required_set() || (single && names_or_all && multiple(a));
        let text = match (required, multiple(a)) {
            (true, true) => format!("{n} [{n}...]"),
            (true, false) => n,
            (false, true) => {
                closing += 1;
                format!("[{n}...")
            }
            (false, false) => {
                closing += 1;
                format!("[{n}")
            }
        };
        out.push(text);
    }
    let mut s = out.join(" ");
    s.push_str(&"]".repeat(closing));
    s
}

/// The synopsis line, without the two leading spaces.
pub fn usage_line(cmd: &Command, path: &[String]) -> String {
    let p = command_path(path);
    if path.is_empty() {
        return format!("{p} [options] [command]");
    }
    if cmd.has_subcommands() {
        return format!("{p} [command]");
    }
    let args = args_synopsis(cmd);
    if args.is_empty() {
        format!("{p} [options]")
    } else {
        format!("{p} [options] {args}")
    }
}

/// The minimum and maximum (None: unbounded) number of positionals.
pub(super) fn arg_counts(cmd: &Command) -> (usize, Option<usize>) {
    let mut min = 0;
    let mut max = Some(0usize);
    for a in positionals(cmd) {
        let r = a.get_num_args();
        if a.is_required_set() {
            min += r.map(|r| r.min_values()).unwrap_or(1).max(1);
        }
        if multiple(a) {
            max = None;
        } else if let Some(m) = max.as_mut() {
            *m += 1;
        }
    }
    (min, max)
}

/// How many positionals `args` holds for `cmd`, skipping flags and their
/// values.
pub(super) fn count_positionals(cmd: &Command, args: &[OsString]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < args.len() {
        let s = args[i].to_string_lossy();
        if s == "--" {
            return n + args.len() - i - 1;
        }
        if s.starts_with('-') && s.len() > 1 {
            let (flag, inline) = match s.split_once('=') {
                Some((f, _)) => (f, true),
                None => (&*s, false),
            };
            if flag_takes_value(cmd, flag) == Some(true) && !inline {
                let short_cluster_with_value = !flag.starts_with("--") && flag.len() > 2;
                if !short_cluster_with_value {
                    i += 1;
                }
            }
        } else {
            n += 1;
        }
        i += 1;
    }
    n
}

/// Cobra's argument-count texts.
pub(super) fn count_error(cmd: &Command, path: &[String], received: usize) -> String {
    let p = command_path(path);
    match arg_counts(cmd) {
        (_, Some(0)) => format!("`{p}` takes no arguments"),
        (min, Some(max)) if min == max => format!("accepts {min} arg(s), received {received}"),
        (min, Some(max)) if received > max => {
            if min == 0 {
                format!("accepts at most {max} arg(s), received {received}")
            } else {
                format!("accepts between {min} and {max} arg(s), received {received}")
            }
        }
        (min, _) => format!("requires at least {min} arg(s), only received {received}"),
    }
}

/// pflag's two-column flag listing.
fn flag_usages(args: &[&Arg], cmd_name: &str) -> String {
    let mut rows = Vec::new();
    for a in args {
        let mut left = match (a.get_short(), a.get_long()) {
            (Some(s), Some(l)) => format!("  -{s}, --{l}"),
            (None, Some(l)) => format!("      --{l}"),
            (Some(s), None) => format!("  -{s}"),
            (None, None) => continue,
        };
        let takes = !super::pflag::is_switch(a);
        if takes {
            let t = a
                .get_value_names()
                .and_then(|v| v.first().map(|s| s.to_string()))
                .map(|s| {
                    if s.chars().all(|c| !c.is_ascii_lowercase()) {
                        "string".to_string()
                    } else {
                        s
                    }
                })
                .unwrap_or_else(|| "string".into());
            left.push(' ');
            left.push_str(&t);
        }
        let mut help = match a.get_id().as_str() {
            "help" => format!("help for {cmd_name}"),
            _ => a.get_help().map(|h| h.to_string()).unwrap_or_default(),
        };
        help = help.lines().next().unwrap_or("").to_string();
        let defaults: Vec<String> = a
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect();
        if takes && !defaults.is_empty() && !defaults.iter().all(String::is_empty) {
            help.push_str(&format!(" (default {:?})", defaults.join(",")));
        } else if !takes && defaults == ["true"] {
            // cobra shows a switch's default only when it is on.
            help.push_str(" (default true)");
        }
        rows.push((left, help));
    }
    let width = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    rows.iter()
        .map(|(l, h)| format!("{l:width$}   {h}").trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether `--remote` belongs in the root's help (Podman drops it when a
/// remote destination is already chosen).
fn show_remote(argv: &[OsString]) -> bool {
    let env = |k| std::env::var_os(k).is_some_and(|v| !v.is_empty());
    !(env("CONTAINER_HOST")
        || env("CONTAINER_CONNECTION")
        || argv.iter().any(|a| {
            let s = a.to_string_lossy();
            s == "--url"
                || s.starts_with("--url=")
                || s == "--connection"
                || s.starts_with("--connection=")
                || s == "-c"
        }))
}

/// The help of the command at `path`, in Podman's layout.
pub fn render(root: &Command, path: &[String], argv: &[OsString]) -> String {
    let cmd = built(root, path);
    let name = path.last().map(String::as_str).unwrap_or("podman");
    let short = cmd.get_about().map(|a| a.to_string()).unwrap_or_default();
    let mut out = String::new();
    if path.is_empty() {
        out.push_str(super::ROOT_ABOUT);
        out.push_str("\n\n");
    } else {
        let long = cmd
            .get_long_about()
            .map(|a| a.to_string())
            .unwrap_or_else(|| short.clone());
        out.push_str(&format!("{short}\n\nDescription:\n  {long}\n\n"));
    }
    out.push_str(&format!("Usage:\n  {}\n", usage_line(&cmd, path)));
    let aliases: Vec<&str> = cmd.get_visible_aliases().collect();
    if !aliases.is_empty() {
        out.push_str(&format!("\nAliases:\n  {name}, {}\n", aliases.join(", ")));
    }
    if let Some(examples) = super::examples::of(path) {
        // Podman's indentExamples: two spaces before every non-empty line.
        out.push_str("\nExamples:\n");
        for line in examples.lines() {
            if !line.is_empty() {
                out.push_str("  ");
            }
            out.push_str(line);
            out.push('\n');
        }
    }
    // The root's commands as defined (their arguments are not needed).
    let listed = if path.is_empty() { root } else { &cmd };
    if listed.has_subcommands() {
        let mut subs: Vec<(String, String)> = listed
            .get_subcommands()
            .filter(|s| !s.is_hide_set())
            .map(|s| {
                (
                    s.get_name().to_string(),
                    s.get_about().map(|a| a.to_string()).unwrap_or_default(),
                )
            })
            .collect();
        if path.is_empty() {
            subs.push(("help".into(), "Help about any command".into()));
        }
        subs.sort();
        let pad = subs.iter().map(|(n, _)| n.len()).max().unwrap_or(0).max(11);
        out.push_str("\nAvailable Commands:\n");
        for (n, a) in subs {
            out.push_str(format!("  {n:pad$} {a}").trim_end());
            out.push('\n');
        }
    }
    let remote = show_remote(argv);
    let mut flags: Vec<&Arg> = cmd
        .get_arguments()
        .filter(|a| !a.is_positional() && !a.is_hide_set())
        .filter(|a| path.is_empty() || !a.is_global_set())
        .filter(|a| remote || a.get_id() != "remote")
        .collect();
    flags.sort_by_key(|a| {
        a.get_long()
            .map(str::to_string)
            .unwrap_or_else(|| a.get_short().map(String::from).unwrap_or_default())
    });
    if !flags.is_empty() {
        out.push_str(&format!("\nOptions:\n{}\n", flag_usages(&flags, name)));
    }
    out.push('\n');
    out
}

const HELP_HELP: &str = "Help about any command\n\nDescription:\n  Help provides help for any command in the application.\n\nUsage:\n  podman help [command]\n\nOptions:\n  -h, --help   help for help\n\n";

/// `podman help [COMMAND...]`.
pub fn help_command(root: &Command, argv: &[OsString]) -> Exit {
    let (_, at) = locate(root, argv);
    // Words after `help`: the command path to explain.
    let mut path = Vec::new();
    let mut cur = root;
    for w in argv.iter().skip(at + 1) {
        let w = w.to_string_lossy();
        if w.starts_with('-') {
            if w == "--help" || w == "-h" {
                // `podman help --help`
                let mut out = String::from(HELP_HELP);
                if !path.is_empty() {
                    out = render(root, &path, argv);
                }
                return Exit {
                    code: 0,
                    stdout: out,
                    stderr: String::new(),
                };
            }
            continue;
        }
        if path.is_empty() && w == "help" {
            return Exit {
                code: 0,
                stdout: HELP_HELP.into(),
                stderr: String::new(),
            };
        }
        match cur.find_subcommand(&*w) {
            Some(s) => {
                path.push(s.get_name().to_string());
                cur = s;
            }
            None => {
                return Exit::usage(format!(
                    "unrecognized command `{} {w}`\nTry '{} --help' for more information",
                    command_path(&path),
                    command_path(&path)
                ))
            }
        }
    }
    Exit {
        code: 0,
        stdout: render(root, &path, argv),
        stderr: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ArgAction;

    fn argv(s: &[&str]) -> Vec<OsString> {
        s.iter().map(OsString::from).collect()
    }

    #[test]
    fn synopsis_puts_required_before_optional() {
        let c = Command::new("x")
            .arg(Arg::new("image").required(true))
            .arg(Arg::new("command").num_args(1..).required(false));
        assert_eq!(args_synopsis(&c), "IMAGE [COMMAND...]");
        let c = Command::new("x").arg(Arg::new("containers").num_args(1..).required(true));
        assert_eq!(args_synopsis(&c), "CONTAINER [CONTAINER...]");
    }

    #[test]
    fn counts_skip_flag_values() {
        let c = Command::new("x")
            .arg(Arg::new("t").short('t').long("time"))
            .arg(Arg::new("a").short('a').action(ArgAction::SetTrue))
            .arg(Arg::new("n").num_args(0..));
        assert_eq!(
            count_positionals(&c, &argv(&["-t", "3", "x", "-a", "y"])),
            2
        );
        assert_eq!(
            count_positionals(&c, &argv(&["--time=3", "x", "--", "-a"])),
            2
        );
    }

    #[test]
    fn count_errors_use_cobra_texts() {
        let none = Command::new("ps");
        assert_eq!(
            count_error(&none, &["ps".into()], 1),
            "`podman ps` takes no arguments"
        );
        let two = Command::new("rename")
            .arg(Arg::new("a").required(true))
            .arg(Arg::new("b").required(true));
        assert_eq!(count_error(&two, &[], 3), "accepts 2 arg(s), received 3");
        let many = Command::new("rm").arg(Arg::new("a").num_args(1..).required(true));
        assert_eq!(
            count_error(&many, &[], 0),
            "requires at least 1 arg(s), only received 0"
        );
    }
}
