//! Arguments defined only when their command is chosen.
//!
//! clap's derive builds the arguments of every subcommand on every run,
//! though one command line uses one subcommand's. With podman's many
//! commands and flags, building them all is a large share of the start-up
//! of every short command (`ps`, `inspect`, the helpers' callers). `Lazy<T>`
//! defers `T`'s definition to the moment clap builds the chosen
//! subcommand (`Command::defer`); `--help` of a command and parsing are
//! unchanged.

use std::ops::Deref;

use clap::{ArgMatches, Args, Command, FromArgMatches, Id};

/// `T`, defined lazily; derefs to `T`.
#[derive(Debug, Clone)]
pub struct Lazy<T>(pub T);

impl<T> Deref for Lazy<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Run `augment` keeping the command's own description: the derive gives
/// an args struct's doc comment as `about`, which the command's (set
/// first, now that the args come later) must still win over.
fn keep_about(cmd: Command, augment: fn(Command) -> Command) -> Command {
    let about = cmd.get_about().cloned();
    let long = cmd.get_long_about().cloned();
    let cmd = augment(cmd);
    let cmd = match about {
        Some(a) => cmd.about(a),
        None => cmd.about(None::<&str>),
    };
    match long {
        Some(l) => cmd.long_about(l),
        None => cmd.long_about(None::<&str>),
    }
}

impl<T: FromArgMatches> FromArgMatches for Lazy<T> {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches(m).map(Lazy)
    }
    fn from_arg_matches_mut(m: &mut ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches_mut(m).map(Lazy)
    }
    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches(m)
    }
    fn update_from_arg_matches_mut(&mut self, m: &mut ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches_mut(m)
    }
}

impl<T: Args> Args for Lazy<T> {
    fn augment_args(cmd: Command) -> Command {
        cmd.defer(|c| super::pflag::bools(keep_about(c, T::augment_args)))
    }
    fn augment_args_for_update(cmd: Command) -> Command {
        cmd.defer(|c| super::pflag::bools(keep_about(c, T::augment_args_for_update)))
    }
    fn group_id() -> Option<Id> {
        T::group_id()
    }
}
