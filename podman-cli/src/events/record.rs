//! One event, as libpod's `events.Event` marshals it into the log file
//! (field order and names included), and as `podman events` prints it:
//! the human line, `--format json` and Go templates.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::time::EventTime;

/// Event types libpod knows (`events.Type`).
pub const TYPES: &[&str] = &[
    "artifact",
    "container",
    "image",
    "machine",
    "network",
    "pod",
    "system",
    "volume",
    "secret",
];

impl Serialize for EventTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.rfc3339_nano())
    }
}

impl<'de> Deserialize<'de> for EventTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        EventTime::parse_rfc3339(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("invalid time {s:?}")))
    }
}

fn zero_time() -> EventTime {
    EventTime::utc(0)
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// libpod's `events.Event` with its embedded `Details`, in marshal order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    #[serde(
        rename = "ContainerExitCode",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub container_exit_code: Option<i64>,
    #[serde(rename = "OOMKilled", skip_serializing_if = "Option::is_none", default)]
    pub oom_killed: Option<bool>,
    #[serde(rename = "ID", skip_serializing_if = "String::is_empty", default)]
    pub id: String,
    #[serde(rename = "Image", skip_serializing_if = "String::is_empty", default)]
    pub image: String,
    #[serde(rename = "Name", skip_serializing_if = "String::is_empty", default)]
    pub name: String,
    #[serde(rename = "network", skip_serializing_if = "String::is_empty", default)]
    pub network: String,
    #[serde(rename = "Status", default)]
    pub status: String,
    #[serde(rename = "Time", default = "zero_time")]
    pub time: EventTime,
    #[serde(rename = "Type", default)]
    pub kind: String,
    #[serde(
        rename = "health_status",
        skip_serializing_if = "String::is_empty",
        default
    )]
    pub health_status: String,
    #[serde(
        rename = "health_log",
        skip_serializing_if = "String::is_empty",
        default
    )]
    pub health_log: String,
    #[serde(
        rename = "health_failing_streak",
        skip_serializing_if = "is_zero",
        default
    )]
    pub health_failing_streak: i64,
    #[serde(rename = "error", skip_serializing_if = "String::is_empty", default)]
    pub error: String,
    #[serde(
        rename = "ContainerInspectData",
        skip_serializing_if = "String::is_empty",
        default
    )]
    pub container_inspect_data: String,
    #[serde(rename = "PodID", skip_serializing_if = "String::is_empty", default)]
    pub pod_id: String,
    /// `null` when unset, as Go marshals a nil map.
    #[serde(rename = "Attributes", default)]
    pub attributes: Option<BTreeMap<String, String>>,
}

impl Event {
    pub fn new(kind: &str, status: &str) -> Event {
        Event {
            container_exit_code: None,
            oom_killed: None,
            id: String::new(),
            image: String::new(),
            name: String::new(),
            network: String::new(),
            status: status.to_string(),
            time: EventTime::now(),
            kind: kind.to_string(),
            health_status: String::new(),
            health_log: String::new(),
            health_failing_streak: 0,
            error: String::new(),
            container_inspect_data: String::new(),
            pod_id: String::new(),
            attributes: None,
        }
    }

    /// The log-file line (without its newline).
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("an event always serializes")
    }

    pub fn from_line(line: &str) -> Result<Event, serde_json::Error> {
        serde_json::from_str(line)
    }

    /// `podman events --format json`: the CLI's own event struct, with
    /// `time` and `timeNano` numbers instead of the RFC 3339 `Time`.
    pub fn to_cli_json(&self) -> String {
        let mut m = serde_json::Map::new();
        let mut put = |k: &str, v: serde_json::Value| {
            m.insert(k.to_string(), v);
        };
        if let Some(c) = self.container_exit_code {
            put("ContainerExitCode", c.into());
        }
        if let Some(o) = self.oom_killed {
            put("OOMKilled", o.into());
        }
        for (k, v) in [
            ("ID", &self.id),
            ("Image", &self.image),
            ("Name", &self.name),
            ("network", &self.network),
        ] {
            if !v.is_empty() {
                put(k, v.as_str().into());
            }
        }
        put("Status", self.status.as_str().into());
        if self.time.unix_secs() != 0 {
            put("time", self.time.unix_secs().into());
        }
        if self.time.unix_ns != 0 {
            put("timeNano", self.time.unix_ns.into());
        }
        put("Type", self.kind.as_str().into());
        for (k, v) in [
            ("health_status", &self.health_status),
            ("Error", &self.error),
            ("ContainerInspectData", &self.container_inspect_data),
            ("PodID", &self.pod_id),
        ] {
            if !v.is_empty() {
                put(k, v.as_str().into());
            }
        }
        put(
            "Attributes",
            serde_json::to_value(&self.attributes).unwrap_or_default(),
        );
        // serde_json's map keeps insertion order (preserve_order) or sorts;
        // write the object by hand so the order is Go's either way.
        let mut out = String::from("{");
        let order = [
            "ContainerExitCode",
            "OOMKilled",
            "ID",
            "Image",
            "Name",
            "network",
            "Status",
            "time",
            "timeNano",
            "Type",
            "health_status",
            "Error",
            "ContainerInspectData",
            "PodID",
            "Attributes",
        ];
        let mut first = true;
        for k in order {
            if let Some(v) = m.get(k) {
                if !first {
                    out.push(',');
                }
                first = false;
                out.push_str(&serde_json::to_string(k).unwrap_or_default());
                out.push(':');
                out.push_str(&serde_json::to_string(v).unwrap_or_default());
            }
        }
        out.push('}');
        out
    }

    /// The data a `--format` Go template sees: the CLI event's Go fields.
    pub fn template_value(&self) -> serde_json::Value {
        serde_json::json!({
            "ContainerExitCode": self.container_exit_code,
            "OOMKilled": self.oom_killed,
            "ID": self.id,
            "Image": self.image,
            "Name": self.name,
            "Network": self.network,
            "Status": self.status,
            "Time": self.time.unix_secs(),
            "TimeNano": self.time.unix_ns,
            "Type": self.kind,
            "HealthStatus": self.health_status,
            "Error": self.error,
            "ContainerInspectData": self.container_inspect_data,
            "PodID": self.pod_id,
            "Attributes": self.attributes.clone().unwrap_or_default(),
        })
    }

    /// libpod's `ToHumanReadable`; attributes in key order (Go's map order
    /// is random).
    pub fn human(&self, truncate: bool) -> String {
        let id = if truncate {
            truncate_id(&self.id)
        } else {
            &self.id
        };
        let t = self.time.go_string();
        let (k, s) = (&self.kind, &self.status);
        match k.as_str() {
            "container" | "pod" => {
                let mut h = format!("{t} {k} {s} {id} (image={}, name={}", self.image, self.name);
                if !self.pod_id.is_empty() {
                    h += &format!(", pod_id={}", self.pod_id);
                }
                if s == "health_status" {
                    h += &format!(
                        ", health_status={}, health_failing_streak={}, health_log={}",
                        self.health_status, self.health_failing_streak, self.health_log
                    );
                }
                for (ak, av) in self.attributes.iter().flatten() {
                    h += &format!(", {ak}={av}");
                }
                h + ")"
            }
            "network" => {
                if s == "create" || s == "remove" {
                    match self.attributes.as_ref().and_then(|a| a.get("driver")) {
                        Some(driver) => format!(
                            "{t} {k} {s} {} (name={}, type={driver})",
                            self.id, self.network
                        ),
                        None => String::new(),
                    }
                } else {
                    format!("{t} {k} {s} {id} (container={id}, name={})", self.network)
                }
            }
            "image" | "artifact" => {
                let mut h = format!("{t} {k} {s} {id} {}", self.name);
                if !self.error.is_empty() {
                    h += &format!(" {}", self.error);
                }
                h
            }
            "system" if !self.name.is_empty() => format!("{t} {k} {s} {}", self.name),
            "system" => format!("{t} {k} {s}"),
            "volume" | "machine" => format!("{t} {k} {s} {}", self.name),
            "secret" => format!("{t} {k} {s} {id}"),
            _ => String::new(),
        }
    }
}

/// The first 12 characters of an ID (`stringid.TruncateID`, which also
/// drops a `sha256:` prefix).
pub fn truncate_id(id: &str) -> &str {
    let id = id.split_once(':').map(|(_, r)| r).unwrap_or(id);
    match id.char_indices().nth(12) {
        Some((i, _)) => &id[..i],
        None => id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Event {
        let mut e = Event::new("container", "died");
        e.time = EventTime::parse_rfc3339("2024-01-01T12:00:00.123456789Z").unwrap();
        e.id = "a".repeat(64);
        e.image = "quay.io/libpod/testimage:20241011".into();
        e.name = "c1".into();
        e.container_exit_code = Some(17);
        e.attributes = Some(BTreeMap::from([
            ("b".to_string(), "2".to_string()),
            ("a".to_string(), "1 x".to_string()),
        ]));
        e
    }

    #[test]
    fn the_file_line_is_libpods() {
        let e = sample();
        let line = e.to_line();
        assert_eq!(
            line,
            format!(
                "{{\"ContainerExitCode\":17,\"ID\":\"{}\",\"Image\":\"quay.io/libpod/testimage:20241011\",\"Name\":\"c1\",\"Status\":\"died\",\"Time\":\"2024-01-01T12:00:00.123456789Z\",\"Type\":\"container\",\"Attributes\":{{\"a\":\"1 x\",\"b\":\"2\"}}}}",
                "a".repeat(64)
            )
        );
        assert_eq!(Event::from_line(&line).unwrap(), e);
    }

    #[test]
    fn podmans_own_lines_read_back_unchanged() {
        for line in [
            r#"{"Name":"busybox","Status":"pull","Time":"2022-04-06T11:26:42.723667951+02:00","Type":"image","Attributes":null}"#,
            r#"{"Name":"/x/events.txt","Status":"log-rotation","Time":"2022-04-06T11:26:42.7+02:00","Type":"system","Attributes":{"io.podman.event.rotate":"begin"}}"#,
            r#"{"ID":"abc","network":"podman","Status":"connect","Time":"2022-04-06T11:26:42Z","Type":"network","Attributes":null}"#,
            r#"{"ID":"abc","Status":"pull-error","Time":"2022-04-06T11:26:42Z","Type":"image","error":"boom","Attributes":null}"#,
        ] {
            assert_eq!(Event::from_line(line).unwrap().to_line(), line);
        }
        assert!(Event::from_line("{not json").is_err());
    }

    #[test]
    fn the_cli_json_has_unix_times() {
        let e = Event::from_line(r#"{"Name":"busybox","Status":"pull","Time":"2022-04-06T11:26:42.723667951+02:00","Type":"image","Attributes":null}"#).unwrap();
        assert_eq!(
            e.to_cli_json(),
            r#"{"Name":"busybox","Status":"pull","time":1649237202,"timeNano":1649237202723667951,"Type":"image","Attributes":null}"#
        );
        let s = sample().to_cli_json();
        assert!(s.starts_with("{\"ContainerExitCode\":17,\"ID\":"), "{s}");
        assert!(
            s.ends_with("\"Type\":\"container\",\"Attributes\":{\"a\":\"1 x\",\"b\":\"2\"}}"),
            "{s}"
        );
    }

    #[test]
    fn human_lines_are_libpods() {
        let e = sample();
        let (off, name) = super::super::time::local_zone(e.time.unix_secs());
        let zone = if off == 0 { name } else { "UTC".into() };
        assert_eq!(
            e.human(false),
            format!(
                "2024-01-01 12:00:00.123456789 +0000 {zone} container died {} (image=quay.io/libpod/testimage:20241011, name=c1, a=1 x, b=2)",
                "a".repeat(64)
            )
        );
        assert!(e.human(true).contains(" died aaaaaaaaaaaa (image="));
        let mut i = Event::new("image", "pull-error");
        i.name = "localhost:1/bogus".into();
        i.error = "connection refused".into();
        assert!(i
            .human(true)
            .ends_with(" image pull-error  localhost:1/bogus connection refused"));
        let mut n = Event::new("network", "create");
        n.id = "f".repeat(64);
        n.network = "net1".into();
        n.attributes = Some(BTreeMap::from([("driver".into(), "bridge".into())]));
        assert!(n.human(true).ends_with(&format!(
            " network create {} (name=net1, type=bridge)",
            "f".repeat(64)
        )));
        assert_eq!(truncate_id("sha256:0123456789abcdef"), "0123456789ab");
    }

    #[test]
    fn templates_see_go_field_names() {
        let v = sample().template_value();
        assert_eq!(v["ID"], "a".repeat(64));
        assert_eq!(v["Time"], 1_704_110_400);
        assert_eq!(v["Attributes"]["a"], "1 x");
    }
}
