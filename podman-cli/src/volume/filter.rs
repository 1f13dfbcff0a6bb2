//! `volume ls --filter` and `volume prune --filter`, as Podman reads them:
//! values of one key are alternatives (any may match) except `label`, whose
//! values must all match; different keys must all match.

use std::collections::BTreeMap;

use super::Volume;

#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    #[error("invalid filter {0:?}: expected KEY=VALUE")]
    Syntax(String),
    #[error("{0} is an invalid filter")]
    UnknownKey(String),
    #[error("invalid filter value {value:?} for {key}: {why}")]
    Value {
        key: String,
        value: String,
        why: String,
    },
}

/// Filters by key, in the order given.
pub type Filters = BTreeMap<String, Vec<String>>;

const LS_KEYS: &[&str] = &[
    "name",
    "driver",
    "scope",
    "label",
    "label!",
    "opt",
    "dangling",
    "until",
    "after",
    "since",
    "anonymous",
];
const PRUNE_KEYS: &[&str] = &[
    "label",
    "label!",
    "until",
    "after",
    "since",
    "anonymous",
    "all",
];

pub fn parse(given: &[String], prune: bool) -> Result<Filters, FilterError> {
    let keys = if prune { PRUNE_KEYS } else { LS_KEYS };
    let mut out = Filters::new();
    for f in given {
        let (k, v) = f
            .split_once('=')
            .ok_or_else(|| FilterError::Syntax(f.clone()))?;
        if !keys.contains(&k) {
            return Err(FilterError::UnknownKey(k.to_string()));
        }
        if matches!(k, "dangling" | "anonymous" | "all")
            && !matches!(v, "true" | "false" | "1" | "0")
        {
            return Err(FilterError::Value {
                key: k.into(),
                value: v.into(),
                why: "expected true or false".into(),
            });
        }
        out.entry(k.to_string()).or_default().push(v.to_string());
    }
    Ok(out)
}

fn truthy(v: &str) -> bool {
    matches!(v, "true" | "1")
}

/// What matching needs beyond the volume: whether it is used, the time now,
/// the other volumes (for `after`/`since`).
pub struct Ctx<'a> {
    pub in_use: &'a dyn Fn(&str) -> bool,
    pub now: i64,
    pub all: &'a [Volume],
}

fn label_matches(labels: &BTreeMap<String, String>, want: &str) -> bool {
    match want.split_once('=') {
        Some((k, v)) => labels.get(k).is_some_and(|x| x == v),
        None => labels.contains_key(want),
    }
}

pub fn matches(f: &Filters, v: &Volume, ctx: &Ctx) -> anyhow::Result<bool> {
    let c = &v.config;
    for (key, values) in f {
        let ok = match key.as_str() {
            "name" => values
                .iter()
                .any(|p| regex::Regex::new(p).is_ok_and(|r| r.is_match(&c.name))),
            "driver" => values.contains(&c.driver),
            "scope" => values.iter().any(|s| s == "local"),
            "label" => values.iter().all(|l| label_matches(&c.labels, l)),
            "label!" => values.iter().all(|l| !label_matches(&c.labels, l)),
            "opt" => values.iter().any(|o| match o.split_once('=') {
                Some((k, val)) => c.options.get(k).is_some_and(|x| x == val),
                None => c.options.contains_key(o),
            }),
            "dangling" => values.iter().any(|d| truthy(d) != (ctx.in_use)(&c.name)),
            "anonymous" => values.iter().any(|d| truthy(d) == c.anonymous),
            "all" => true,
            "until" => {
                let mut any = false;
                for u in values {
                    let until = crate::timestamp::go_timestamp_ns(
                        u,
                        ctx.now.saturating_mul(1_000_000_000),
                    )?;
                    if c.created_ns < until {
                        any = true;
                    }
                }
                any
            }
            "after" | "since" => {
                let mut any = false;
                for name in values {
                    let other = ctx
                        .all
                        .iter()
                        .find(|o| o.config.name == *name)
                        .ok_or_else(|| super::VolumeError::NotFound(name.clone()))?;
                    if c.created_ns > other.config.created_ns {
                        any = true;
                    }
                }
                any
            }
            _ => false,
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}
