//! Podman's container filters (`--filter KEY=VALUE`), as `ps`, `rm`,
//! `stop`, `kill`, `start`, `pause`, … accept them
//! (pkg/domain/filters/containers.go in Podman 5).
//!
//! Values of one key combine as Podman combines them (most keys: any value
//! matches; `label`: every value must match; `before`/`since`: the earliest
//! of the named containers), and different keys must all match.
//! [`parse`] turns the flags into keys and values, [`ContainerFilter::new`]
//! checks them (Podman's error texts) and resolves what they name once,
//! [`ContainerFilter::matches`] is cheap per container.

use std::collections::BTreeMap;

use regex::Regex;

use super::model::{ContainerConfig, ContainerState, NetworkMode, Status};

/// The filter flags grouped by key, keys in the order first given.
pub type Filters = Vec<(String, Vec<String>)>;

/// `--filter` values to keys and values: `KEY=VALUE`, a key repeated adds
/// a value. Podman's error for a flag without `=`.
pub fn parse<S: AsRef<str>>(flags: &[S]) -> anyhow::Result<Filters> {
    let mut out: Filters = Vec::new();
    for f in flags {
        let f = f.as_ref();
        let Some((k, v)) = f.split_once('=') else {
            anyhow::bail!("invalid filter {f:?}");
        };
        match out.iter_mut().find(|(key, _)| key == k) {
            Some((_, vals)) => vals.push(v.to_string()),
            None => out.push((k.to_string(), vec![v.to_string()])),
        }
    }
    Ok(out)
}

/// Podman's state name of a container (`.State` in ps, the `status` filter).
pub fn podman_state(st: &ContainerState) -> &'static str {
    match st.status {
        Status::Configured => "created",
        // Created in the runtime (`podman init`): Podman's "initialized".
        Status::Created if st.pid > 0 => "initialized",
        Status::Created => "created",
        Status::Running => "running",
        Status::Paused => "paused",
        Status::Stopping => "stopping",
        Status::Exited => "exited",
        Status::Stopped => "stopped",
        Status::Removing => "removing",
    }
}

/// Whether the container has exited (Podman's `Exited`), for `exited=`.
pub fn has_exited(st: &ContainerState) -> bool {
    matches!(st.status, Status::Exited | Status::Stopped)
}

/// What the filters need to resolve names they are given.
pub trait Lookup {
    /// A container by name, full ID or unique ID prefix: (ID, created ns).
    fn container(&self, name_or_id: &str) -> anyhow::Result<(String, i64)>;
    /// A network's name by name or ID (prefix); None when there is none.
    fn network(&self, name_or_id: &str) -> anyhow::Result<Option<String>>;
    /// A pod's ID by name or ID (prefix); None when there is none.
    fn pod(&self, name_or_id: &str) -> anyhow::Result<Option<String>>;
}

/// Which containers the filter will see: podman's own, or containers that
/// exist only in storage (`ps --external`), which fewer filters apply to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Podman,
    External,
}

/// A container as the filters see it. External containers have only a
/// storage record: their state is "storage", they never exited.
pub struct Subject<'a> {
    pub cfg: &'a ContainerConfig,
    pub st: &'a ContainerState,
    pub external: bool,
    /// The healthcheck status ("" without a healthcheck), read by the
    /// caller from the container's healthcheck log.
    pub health: String,
}

impl<'a> Subject<'a> {
    pub fn new(cfg: &'a ContainerConfig, st: &'a ContainerState) -> Subject<'a> {
        Subject {
            cfg,
            st,
            external: false,
            health: String::new(),
        }
    }

    pub fn with_health(mut self, health: String) -> Subject<'a> {
        self.health = health;
        self
    }

    fn state(&self) -> &'static str {
        if self.external {
            "storage"
        } else {
            podman_state(self.st)
        }
    }

    fn exit_code(&self) -> Option<i32> {
        (!self.external && has_exited(self.st)).then_some(self.st.exit_code)
    }
}

enum Pred {
    Id(Vec<IdMatch>),
    Label(Vec<String>),
    NotLabel(Vec<String>),
    Name(Vec<Regex>),
    /// External containers: the names are the patterns (as Podman has it).
    NameReversed(Vec<String>),
    Exited(Vec<i32>),
    Status(Vec<String>),
    Ancestor(Vec<String>, Vec<Regex>),
    Before(i64),
    Since(i64),
    Volume(Vec<String>),
    Health(Vec<String>),
    Until(i64),
    /// Members of these pods (IDs).
    Pod(Vec<String>),
    Network {
        names: Vec<String>,
        container_ids: Vec<String>,
    },
    RestartPolicy(Vec<String>),
    Command(Vec<Regex>),
    ShouldStartOnBoot(bool),
}

enum IdMatch {
    Prefix(String),
    Regex(Regex),
}

/// Checked, resolved filters; matching one container is cheap.
pub struct ContainerFilter {
    preds: Vec<Pred>,
}

const STATES: [&str; 8] = [
    "unknown",
    "created",
    "initialized",
    "running",
    "stopped",
    "paused",
    "exited",
    "removing",
];

const RESTART_POLICIES: [&str; 5] = ["none", "no", "always", "on-failure", "unless-stopped"];

/// Go's regexp.MatchString: a pattern that does not compile matches nothing.
fn regexes(values: &[String]) -> Vec<Regex> {
    values.iter().filter_map(|v| Regex::new(v).ok()).collect()
}

fn any_match(res: &[Regex], s: &str) -> bool {
    res.iter().any(|r| r.is_match(s))
}

impl ContainerFilter {
    pub fn new(filters: &Filters, lookup: &dyn Lookup, scope: Scope) -> anyhow::Result<Self> {
        let mut preds = Vec::with_capacity(filters.len());
        for (key, values) in filters {
            preds.push(Self::pred(key, values, lookup, scope)?);
        }
        Ok(ContainerFilter { preds })
    }

    fn pred(
        key: &str,
        values: &[String],
        lookup: &dyn Lookup,
        scope: Scope,
    ) -> anyhow::Result<Pred> {
        let external = scope == Scope::External;
        Ok(match key {
            "id" => Pred::Id(
                values
                    .iter()
                    .filter_map(|v| {
                        if v.chars().all(|c| c.is_ascii_hexdigit()) {
                            Some(IdMatch::Prefix(v.to_ascii_lowercase()))
                        } else {
                            Regex::new(v).ok().map(IdMatch::Regex)
                        }
                    })
                    .collect(),
            ),
            "label" => Pred::Label(values.to_vec()),
            "label!" => Pred::NotLabel(values.to_vec()),
            "name" if external => {
                Pred::NameReversed(values.iter().map(|v| v.replace('/', "")).collect())
            }
            "name" => Pred::Name(regexes(
                &values
                    .iter()
                    .map(|v| v.replace('/', ""))
                    .collect::<Vec<_>>(),
            )),
            "exited" => {
                let mut codes = Vec::new();
                for v in values {
                    codes.push(parse_exit_code(v)?);
                }
                Pred::Exited(codes)
            }
            "status" => {
                for v in values {
                    if !STATES.contains(&v.as_str()) {
                        anyhow::bail!("unknown container state: {v}: invalid argument");
                    }
                }
                Pred::Status(
                    values
                        .iter()
                        .map(|v| {
                            if v == "stopped" {
                                "exited".into()
                            } else {
                                v.clone()
                            }
                        })
                        .collect(),
                )
            }
            "ancestor" => Pred::Ancestor(values.to_vec(), regexes(values)),
            "before" | "since" => {
                // The earliest creation time of the containers named.
                let mut when: Option<i64> = None;
                for v in values {
                    match lookup.container(v) {
                        Ok((_, created)) => when = Some(when.map_or(created, |w| w.min(created))),
                        Err(e) if !external => return Err(e),
                        Err(_) => {}
                    }
                }
                // None (external, nothing found): Go's zero time.
                let t = when.unwrap_or(i64::MIN);
                if key == "before" {
                    Pred::Before(t)
                } else {
                    Pred::Since(t)
                }
            }
            "volume" | "health" | "restart-policy" if external => {
                anyhow::bail!("filter {key} is not applicable for external containers")
            }
            "volume" => Pred::Volume(values.to_vec()),
            "health" => Pred::Health(values.to_vec()),
            "until" => {
                if values.len() != 1 {
                    anyhow::bail!("specify exactly one timestamp for until");
                }
                Pred::Until(crate::timestamp::go_timestamp_ns(
                    &values[0],
                    common::time::now_nanos(),
                )?)
            }
            // Podman looks each value up as a pod; one that names none
            // matches nothing.
            "pod" => {
                let mut ids = Vec::new();
                for v in values {
                    if let Some(id) = lookup.pod(v)? {
                        ids.push(id);
                    }
                }
                Pred::Pod(ids)
            }
            "network" => {
                let mut names = Vec::new();
                for v in values {
                    if let Some(n) = lookup.network(v)? {
                        names.push(n);
                    }
                }
                let container_ids = if external {
                    Vec::new()
                } else {
                    values
                        .iter()
                        .filter_map(|v| v.strip_prefix("container:"))
                        .filter_map(|c| lookup.container(c).ok().map(|(id, _)| id))
                        .collect()
                };
                Pred::Network {
                    names,
                    container_ids,
                }
            }
            "restart-policy" => {
                let bad: Vec<&str> = values
                    .iter()
                    .map(String::as_str)
                    .filter(|p| !RESTART_POLICIES.contains(p))
                    .collect();
                match bad.len() {
                    0 => Pred::RestartPolicy(values.to_vec()),
                    1 => anyhow::bail!("{} invalid restart policy", bad[0]),
                    _ => anyhow::bail!("{} invalid restart policies", bad.join(", ")),
                }
            }
            "command" => Pred::Command(regexes(values)),
            "should-start-on-boot" if !external => {
                let mut want = false;
                for v in values {
                    want = parse_go_bool(v)?;
                }
                Pred::ShouldStartOnBoot(want)
            }
            other => anyhow::bail!("{other} is an invalid filter"),
        })
    }

    /// Every key matches.
    pub fn matches(&self, s: &Subject) -> bool {
        self.preds.iter().all(|p| p.matches(s))
    }
}

impl Pred {
    fn matches(&self, s: &Subject) -> bool {
        let cfg = s.cfg;
        match self {
            Pred::Id(ms) => ms.iter().any(|m| match m {
                IdMatch::Prefix(p) => cfg.id.starts_with(p.as_str()),
                IdMatch::Regex(r) => r.is_match(&cfg.id),
            }),
            Pred::Label(vals) => match_labels(vals, &cfg.labels),
            Pred::NotLabel(vals) => !match_labels(vals, &cfg.labels),
            Pred::Name(res) => any_match(res, &cfg.name),
            Pred::NameReversed(vals) => Regex::new(&cfg.name)
                .map(|r| vals.iter().any(|v| r.is_match(v)))
                .unwrap_or(false),
            Pred::Exited(codes) => s.exit_code().is_some_and(|c| codes.contains(&c)),
            Pred::Status(vals) => {
                let st = match s.state() {
                    "stopped" => "exited",
                    x => x,
                };
                vals.iter().any(|v| v == st)
            }
            Pred::Ancestor(vals, res) => {
                let (name, tag) = cfg.image_name.split_once(':').unwrap_or(("", ""));
                vals.iter().any(|v| {
                    cfg.image_id.contains(v.as_str())
                        || any_match(res, &cfg.image_name)
                        || (any_match(res, name) && tag == "latest")
                })
            }
            Pred::Before(t) => *t > cfg.created_ns,
            Pred::Since(t) => *t < cfg.created_ns,
            Pred::Volume(vals) => vals.iter().any(|v| {
                let (source, dest) = v.split_once(':').unwrap_or((v, ""));
                cfg.mounts.iter().any(|m| {
                    if dest.is_empty() {
                        // A container path, or a named volume's name.
                        m.destination == source || (m.kind == "volume" && m.source == source)
                    } else {
                        m.source == source && m.destination == dest
                    }
                })
            }),
            // libpod: the status equals one of the values ("" without a check).
            Pred::Health(vals) => vals.contains(&s.health),
            Pred::Until(t) => cfg.created_ns < *t,
            Pred::Pod(ids) => !cfg.extra.pod.is_empty() && ids.contains(&cfg.extra.pod),
            Pred::Network {
                names,
                container_ids,
            } => {
                if s.external {
                    return false;
                }
                if let NetworkMode::Container(other) = &cfg.network_mode {
                    return container_ids.iter().any(|id| id == other);
                }
                if !matches!(cfg.network_mode, NetworkMode::Bridge) {
                    return false;
                }
                cfg.networks.iter().any(|n| names.contains(&n.name))
            }
            Pred::RestartPolicy(vals) => vals
                .iter()
                .any(|p| (p == "none" && cfg.restart.name.is_empty()) || *p == cfg.restart.name),
            Pred::Command(res) => cfg.cmd.first().is_some_and(|c| any_match(res, c)),
            Pred::ShouldStartOnBoot(want) => should_start_on_boot(s) == *want,
        }
    }
}

fn should_start_on_boot(s: &Subject) -> bool {
    if s.external || matches!(s.st.status, Status::Configured | Status::Created) {
        return false;
    }
    match s.cfg.restart.name.as_str() {
        "always" => true,
        "unless-stopped" => !s.st.stopped_by_user,
        _ => false,
    }
}

/// Podman's MatchLabelFilters: every `KEY[=VALUE]` must match a label; an
/// empty VALUE matches any value; a KEY with `*` is a glob.
pub fn match_labels(filters: &[String], labels: &BTreeMap<String, String>) -> bool {
    filters.iter().all(|f| {
        let (fk, fv) = f.split_once('=').unwrap_or((f, ""));
        labels.iter().any(|(k, v)| {
            (fv.is_empty() || v == fv)
                && (k == fk || (fk.contains('*') && glob(&format!("*{fk}*"), k)))
        })
    })
}

/// filepath.Match with `/` treated as an ordinary character: `*`, `?`,
/// `[...]` classes (with `^`/`!` negation and ranges), `\` escapes.
fn glob(pattern: &str, s: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = s.chars().collect();
    glob_at(&p, &t)
}

fn glob_at(p: &[char], t: &[char]) -> bool {
    match p.first() {
        None => t.is_empty(),
        Some('*') => (0..=t.len()).any(|i| glob_at(&p[1..], &t[i..])),
        Some('?') => !t.is_empty() && glob_at(&p[1..], &t[1..]),
        Some('[') => {
            let Some(c) = t.first() else { return false };
            let Some(end) = p.iter().skip(1).position(|&x| x == ']').map(|i| i + 1) else {
                return false;
            };
            let mut class = &p[1..end];
            let negate = matches!(class.first(), Some('^') | Some('!'));
            if negate {
                class = &class[1..];
            }
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == '-' {
                    hit |= class[i] <= *c && *c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == *c;
                    i += 1;
                }
            }
            hit != negate && glob_at(&p[end + 1..], &t[1..])
        }
        Some('\\') if p.len() > 1 => t.first() == Some(&p[1]) && glob_at(&p[2..], &t[1..]),
        Some(c) => t.first() == Some(c) && glob_at(&p[1..], &t[1..]),
    }
}

/// strconv.ParseInt(v, 10, 32) with Podman's message around its error.
fn parse_exit_code(v: &str) -> anyhow::Result<i32> {
    let digits = v.strip_prefix(['+', '-']).unwrap_or(v);
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        anyhow::bail!(
            "exited code out of range '\\x00': strconv.ParseInt: parsing {v:?}: invalid syntax"
        );
    }
    v.parse::<i32>().map_err(|_| {
        // Go prints the clamped value with %q: not a valid rune.
        anyhow::anyhow!(
            "exited code out of range '\u{FFFD}': strconv.ParseInt: parsing {v:?}: value out of range"
        )
    })
}

/// strconv.ParseBool.
fn parse_go_bool(v: &str) -> anyhow::Result<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => anyhow::bail!("strconv.ParseBool: parsing {v:?}: invalid syntax"),
    }
}

/// Lookups against the state database, and the networks when a `network`
/// filter needs them (fetched by the caller, from net-setup).
pub struct DbLookup<'a> {
    pub db: &'a crate::state::State,
    /// (ID, name) of every network.
    pub networks: Vec<(String, String)>,
}

impl Lookup for DbLookup<'_> {
    fn container(&self, name_or_id: &str) -> anyhow::Result<(String, i64)> {
        let (c, _) = super::store::resolve(self.db, name_or_id)?;
        Ok((c.id, c.created_ns))
    }

    fn network(&self, name_or_id: &str) -> anyhow::Result<Option<String>> {
        Ok(network_by_name_or_id(&self.networks, name_or_id))
    }

    fn pod(&self, name_or_id: &str) -> anyhow::Result<Option<String>> {
        Ok(crate::pod::store::resolve(self.db, name_or_id)
            .ok()
            .map(|p| p.id))
    }
}

/// A network by exact name, full ID or unique ID prefix.
pub fn network_by_name_or_id(nets: &[(String, String)], v: &str) -> Option<String> {
    if let Some((_, n)) = nets.iter().find(|(id, n)| n == v || id == v) {
        return Some(n.clone());
    }
    let mut hits = nets
        .iter()
        .filter(|(id, _)| !v.is_empty() && id.starts_with(v));
    match (hits.next(), hits.next()) {
        (Some((_, n)), None) => Some(n.clone()),
        _ => None,
    }
}

/// Whether any filter key needs the network list.
pub fn needs_networks(filters: &Filters) -> bool {
    filters.iter().any(|(k, _)| k == "network")
}

#[cfg(test)]
mod tests;
