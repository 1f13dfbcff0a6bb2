//! `podman events --filter`, `--since` and `--until`, as libpod's
//! `generateEventFilters`: values of one key are ORed, keys are ANDed.

use std::collections::BTreeMap;

use super::record::Event;
use super::time::{parse_input_time, EventTime};

#[derive(Debug, Clone, PartialEq)]
enum Test {
    Container(String),
    Status(String),
    Image(String),
    Artifact(String),
    Pod(String),
    Volume(String),
    Network(String),
    Type(String),
    Label(String, Option<String>),
    Since(i64),
    Until(i64),
}

impl Test {
    fn matches(&self, e: &Event) -> bool {
        let name_or_id =
            |kind: &str, v: &str| e.kind == kind && (e.name == v || e.id.starts_with(v));
        match self {
            Test::Container(v) => name_or_id("container", v),
            Test::Status(v) => e.status == *v,
            Test::Image(v) => name_or_id("image", v),
            Test::Artifact(v) => name_or_id("artifact", v),
            Test::Pod(v) => name_or_id("pod", v),
            Test::Volume(v) => e.kind == "volume" && e.name.starts_with(v.as_str()),
            Test::Network(v) => {
                e.kind == "network" && (e.network == *v || e.id.starts_with(v.as_str()))
            }
            Test::Type(v) => e.kind == *v,
            Test::Label(k, v) => e
                .attributes
                .iter()
                .flatten()
                .any(|(ek, ev)| ek == k && v.as_ref().is_none_or(|v| v == ev)),
            Test::Since(t) => e.time.unix_ns > *t,
            Test::Until(t) => e.time.unix_ns < *t,
        }
    }
}

/// A parsed set of filters.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    by_key: BTreeMap<String, Vec<Test>>,
    /// `--until`, for ending a stream.
    pub until: Option<EventTime>,
}

impl Filters {
    /// Parse `--filter` values and `--since`/`--until`. Errors carry
    /// libpod's words; the caller prefixes "failed to parse event filters".
    pub fn parse(filters: &[String], since: &str, until: &str) -> Result<Filters, String> {
        let mut f = Filters::default();
        for raw in filters {
            let Some((key, value)) = raw.split_once('=') else {
                return Err(format!("{raw} is an invalid filter"));
            };
            let v = value.to_string();
            let test = match key.to_ascii_uppercase().as_str() {
                "CONTAINER" => Test::Container(v),
                // Docker's "die" is our "died".
                "EVENT" | "STATUS" => Test::Status(if v == "die" { "died".into() } else { v }),
                "IMAGE" => Test::Image(v),
                "ARTIFACT" => Test::Artifact(v),
                "POD" => Test::Pod(v),
                "VOLUME" => Test::Volume(v),
                "NETWORK" => Test::Network(v),
                "TYPE" => Test::Type(v),
                "LABEL" => match v.split_once('=') {
                    Some((k, val)) => Test::Label(k.into(), Some(val.into())),
                    None => Test::Label(v, None),
                },
                _ => return Err(format!("{key} is an invalid filter")),
            };
            f.by_key.entry(key.to_string()).or_default().push(test);
        }
        if !since.is_empty() {
            let t = parse_input_time(since, true)
                .map_err(|e| format!("unable to convert since time of {since}: {e}"))?;
            f.by_key
                .insert("since".into(), vec![Test::Since(t.unix_ns)]);
        }
        if !until.is_empty() {
            let t = parse_input_time(until, false)
                .map_err(|e| format!("unable to convert until time of {until}: {e}"))?;
            f.by_key
                .insert("until".into(), vec![Test::Until(t.unix_ns)]);
            f.until = Some(t);
        }
        Ok(f)
    }

    pub fn matches(&self, e: &Event) -> bool {
        self.by_key
            .values()
            .all(|tests| tests.iter().any(|t| t.matches(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: &str, status: &str, id: &str, name: &str, ns: i64) -> Event {
        let mut e = Event::new(kind, status);
        e.id = id.into();
        e.name = name.into();
        e.time = EventTime::utc(ns);
        e
    }

    fn f(filters: &[&str]) -> Filters {
        let v: Vec<String> = filters.iter().map(|s| s.to_string()).collect();
        Filters::parse(&v, "", "").unwrap()
    }

    #[test]
    fn same_key_ors_different_keys_and() {
        let a = ev("container", "start", "aaaa1111", "c1", 10);
        let b = ev("container", "start", "bbbb2222", "c2", 10);
        let c = ev("container", "stop", "bbbb2222", "c2", 10);
        let i = ev("image", "start", "aaaa1111", "c1", 10);
        let both = f(&["container=c1", "container=bbbb", "event=start"]);
        assert!(both.matches(&a) && both.matches(&b));
        assert!(!both.matches(&c) && !both.matches(&i));
        assert!(f(&["status=die"]).matches(&ev("container", "died", "x", "y", 1)));
        assert!(f(&["type=image"]).matches(&i));
        assert!(f(&["image=aaaa"]).matches(&i));
        assert!(!f(&["image=c2"]).matches(&i));
        assert!(f(&[]).matches(&a));
    }

    #[test]
    fn labels_match_by_key_or_pair() {
        let mut e = ev("container", "start", "x", "y", 1);
        e.attributes = Some([("k".to_string(), "v=1".to_string())].into());
        assert!(f(&["label=k"]).matches(&e));
        assert!(f(&["label=k=v=1"]).matches(&e));
        assert!(!f(&["label=k=v"]).matches(&e));
        assert!(!f(&["label=other"]).matches(&e));
        e.attributes = None;
        assert!(!f(&["label=k"]).matches(&e));
    }

    #[test]
    fn volume_prefix_and_network_names() {
        let mut v = Event::new("volume", "create");
        v.name = "myvolume".into();
        assert!(f(&["volume=myvol"]).matches(&v));
        let mut n = Event::new("network", "connect");
        n.network = "net1".into();
        n.id = "cid".into();
        assert!(f(&["network=net1"]).matches(&n));
        assert!(!f(&["network=net2"]).matches(&n));
    }

    #[test]
    fn since_and_until_are_strict_bounds() {
        let t0 = 1_649_237_202_000_000_000;
        let fl = Filters::parse(&[], "1649237202", "1649237203").unwrap();
        assert!(!fl.matches(&ev("image", "pull", "", "", t0)));
        assert!(fl.matches(&ev("image", "pull", "", "", t0 + 1)));
        assert!(!fl.matches(&ev("image", "pull", "", "", t0 + 1_000_000_000)));
        assert_eq!(fl.until.unwrap().unix_ns, t0 + 1_000_000_000);
    }

    #[test]
    fn bad_input_is_refused_with_libpods_words() {
        let e = |fs: &[&str], s: &str| {
            let v: Vec<String> = fs.iter().map(|x| x.to_string()).collect();
            Filters::parse(&v, s, "").unwrap_err()
        };
        assert_eq!(e(&["foo=bar"], ""), "foo is an invalid filter");
        assert_eq!(e(&["nokey"], ""), "nokey is an invalid filter");
        assert_eq!(
            e(&[], "the dawn of time...ish"),
            "unable to convert since time of the dawn of time...ish: unable to interpret time value"
        );
    }
}
