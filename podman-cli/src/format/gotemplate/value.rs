//! Template values over JSON documents, and how Go prints them (`%v`).
//!
//! Podman's templates address Go struct fields, whose names are the JSON
//! keys with a capital first letter, plus a few acronyms (`OCIRuntime`,
//! `CPUs`, `OS`, `IDMappings`). JSON objects are Go structs (an unknown
//! field is an error) except under keys that are Go maps (`Labels`,
//! `GraphStatus`, ...), where keys are data and a missing one is
//! `<no value>`.

use std::borrow::Cow;
use std::rc::Rc;

use serde_json::Value as Json;

/// JSON keys whose Go field name is not just the key with a capital letter.
const GO_NAMES: &[(&str, &str)] = &[
    ("ociRuntime", "OCIRuntime"),
    ("cpus", "CPUs"),
    ("os", "OS"),
    ("idMappings", "IDMappings"),
    // InspectIDMappings' json tags.
    ("UidMap", "UIDMap"),
    ("GidMap", "GIDMap"),
    ("cgroupVersion", "CgroupsVersion"),
    ("apiVersion", "APIVersion"),
    ("id", "ID"),
    ("Id", "ID"),
    // info's host.security (Podman's SecurityInfo).
    ("apparmorEnabled", "AppArmorEnabled"),
    ("seccompEnabled", "SECCOMPEnabled"),
    ("seccompProfilePath", "SECCOMPProfilePath"),
    ("selinuxEnabled", "SELinuxEnabled"),
    // InspectContainerConfig's json tags.
    ("HealthcheckMaxLogCount", "HealthMaxLogCount"),
    ("HealthcheckMaxLogSize", "HealthMaxLogSize"),
];

/// Pointer fields Podman's JSON omits when nil (omitempty), by the key of
/// the struct holding them: a template still reads them as `<nil>`.
const OMITTED_NILS: &[(&str, &str)] = &[("Config", "StartupHealthCheck")];

/// Whether `field` of a struct found under `shape` is a nil pointer the
/// JSON left out.
pub fn omitted_nil(shape: Shape, field: &str) -> bool {
    matches!(shape, Shape::Struct(Some(parent)) if OMITTED_NILS.contains(&(parent, field)))
}

/// Fields of an image's `Config` (OCI's ImageConfig, all omitempty) that
/// the JSON leaves out when empty: a template reads their zero value.
const OMITTED_ZEROS: &[(&str, &str)] = &[
    ("Config", "Env"),
    ("Config", "Cmd"),
    ("Config", "Entrypoint"),
    ("Config", "User"),
    ("Config", "WorkingDir"),
    ("Config", "StopSignal"),
    ("Config", "Labels"),
    ("Config", "Volumes"),
    ("Config", "ExposedPorts"),
];

static EMPTY_LIST: Json = Json::Array(Vec::new());
static EMPTY_MAP: std::sync::LazyLock<Json> =
    std::sync::LazyLock::new(|| Json::Object(serde_json::Map::new()));

/// The zero value of `field` of a struct found under `shape`, when it is
/// one the JSON leaves out empty.
pub fn omitted_zero(shape: Shape, field: &str) -> Option<Value<'static>> {
    let Shape::Struct(Some(parent)) = shape else {
        return None;
    };
    if !OMITTED_ZEROS.contains(&(parent, field)) {
        return None;
    }
    Some(match field {
        "Env" | "Cmd" | "Entrypoint" => Value::Json(&EMPTY_LIST, Shape::Struct(Some("Config"))),
        "Labels" | "Volumes" | "ExposedPorts" => Value::Json(&EMPTY_MAP, Shape::Map),
        _ => Value::Str(Cow::Borrowed("")),
    })
}

/// JSON keys whose values are Go maps: their own keys are data, not fields.
const MAP_FIELDS: &[&str] = &[
    "graphStatus",
    "graphOptions",
    "Labels",
    "labels",
    "Annotations",
    "annotations",
    "registries",
    "options",
    "Options",
    "ipam_options",
    "Networks",
    "Ports",
    "PortBindings",
    "ExposedPorts",
    "Volumes",
    "Sysctls",
    "Tmpfs",
    "StorageOpt",
    "Data",
    "DriverOpts",
    "Config",
    "GraphStatus",
    "GraphOptions",
    "LogDriverOpts",
    "Attributes",
];

/// Objects found under these keys are Go structs even though the key is in
/// MAP_FIELDS for other parents (`Config` of a container vs `LogConfig.Config`).
const STRUCT_PARENTS_OF_CONFIG: &[&str] = &["", "Image"];

/// time.Duration fields (nanoseconds in JSON) of these Go structs print as
/// Go prints a Duration ("30s"): the healthcheck configs of inspect.
const DURATION_PARENTS: &[&str] = &["Healthcheck", "StartupHealthCheck"];
const DURATION_FIELDS: &[&str] = &["Interval", "Timeout", "StartPeriod", "StartInterval"];

/// Go type names of well-known nested structs, for error messages.
const TYPE_NAMES: &[(&str, &str)] = &[
    ("State", "*define.InspectContainerState"),
    ("Config", "*define.InspectContainerConfig"),
    ("HostConfig", "*define.InspectContainerHostConfig"),
    ("NetworkSettings", "*define.InspectNetworkSettings"),
    ("GraphDriver", "*define.DriverData"),
    ("Health", "*define.HealthCheckResults"),
    ("Mounts", "define.InspectMount"),
    ("host", "*define.HostInfo"),
    ("store", "*define.StoreInfo"),
    ("Client", "*define.Version"),
    ("Server", "*define.Version"),
];

/// Field order (json tags) of Go structs whose objects reach the `json`
/// function: Go writes a struct's fields in declaration order, while our
/// JSON objects keep their keys sorted. An object is taken for one of
/// these when it has the first field and no key outside the list.
const GO_FIELD_ORDERS: &[&[&str]] = &[
    // libpod's NetworkContainerInfo, NetInterface and NetAddress
    // (`network inspect`'s containers).
    &["name", "interfaces"],
    &["subnets", "mac_address"],
    &["ipnet", "gateway"],
];

/// The Go field order of `obj`, when it is one of [`GO_FIELD_ORDERS`].
pub fn go_field_order(obj: &serde_json::Map<String, Json>) -> Option<&'static [&'static str]> {
    GO_FIELD_ORDERS
        .iter()
        .find(|o| obj.contains_key(o[0]) && obj.keys().all(|k| o.contains(&k.as_str())))
        .copied()
}

/// The Go name of a JSON key.
pub fn go_name(key: &str) -> String {
    if let Some((_, g)) = GO_NAMES.iter().find(|(k, _)| *k == key) {
        return g.to_string();
    }
    let mut c = key.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// Does the JSON key `key` stand for the Go field `field`? (No allocation.)
fn key_is_field(key: &str, field: &str) -> bool {
    if let Some((_, g)) = GO_NAMES.iter().find(|(k, _)| *k == key) {
        return *g == field;
    }
    let mut k = key.chars();
    let mut f = field.chars();
    match (k.next(), f.next()) {
        (Some(a), Some(b)) => {
            b.is_uppercase() && a.to_uppercase().eq(std::iter::once(b)) && k.as_str() == f.as_str()
        }
        _ => false,
    }
}

/// Look up Go field `field` in a JSON object used as a struct.
pub fn struct_field<'a>(
    obj: &'a serde_json::Map<String, Json>,
    field: &str,
) -> Option<(&'a str, &'a Json)> {
    if let Some((k, v)) = obj.get_key_value(field) {
        return Some((k.as_str(), v));
    }
    obj.iter()
        .find(|(k, _)| key_is_field(k, field))
        .map(|(k, v)| (k.as_str(), v))
}

/// Methods of Podman's Go types that return one of their fields under
/// another name: InspectContainerState.Healthcheck() is its Health.
pub fn method_field(shape: Shape, name: &str) -> Option<&'static str> {
    match (shape, name) {
        (Shape::Struct(Some("State")), "Healthcheck") => Some("Health"),
        _ => None,
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Shape<'a> {
    /// A Go struct, found under this key (None for the root).
    Struct(Option<&'a str>),
    /// A Go map.
    Map,
}

#[derive(Clone, Debug)]
pub enum Value<'a> {
    /// Go's invalid reflect.Value: a missing map key. Prints `<no value>`.
    Missing,
    /// JSON null or the `nil` literal. Prints `<nil>`.
    Nil,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(Cow<'a, str>),
    /// A JSON array or object from the data.
    Json(&'a Json, Shape<'a>),
    /// The rows a report template ranges over.
    Rows(&'a [Json], Shape<'a>),
    /// A list made by a function (`split`).
    List(Rc<Vec<Value<'a>>>),
}

impl<'a> Value<'a> {
    /// A value found in the data under `key` of a parent with `parent` shape.
    pub fn from_json(j: &'a Json, key: Option<&'a str>, parent: Shape<'a>) -> Value<'a> {
        match j {
            Json::Null => Value::Nil,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => {
                if let (Shape::Struct(Some(p)), Some(k), Some(ns)) = (parent, key, n.as_i64()) {
                    if DURATION_PARENTS.contains(&p) && DURATION_FIELDS.contains(&k) {
                        return Value::str(common::time::go_duration(
                            std::time::Duration::from_nanos(ns.max(0) as u64),
                        ));
                    }
                }
                if let Some(i) = n.as_i64() {
                    Value::Int(i)
                } else if let Some(u) = n.as_u64() {
                    Value::Uint(u)
                } else {
                    Value::Float(n.as_f64().unwrap_or(0.0))
                }
            }
            Json::String(s) => Value::Str(Cow::Borrowed(s)),
            Json::Array(_) => Value::Json(j, Shape::Struct(key)),
            Json::Object(_) => {
                let is_map = match (parent, key) {
                    (Shape::Map, _) | (_, None) => false,
                    (Shape::Struct(pk), Some(k)) => {
                        MAP_FIELDS.contains(&k)
                            && !(k == "Config"
                                && STRUCT_PARENTS_OF_CONFIG.contains(&pk.unwrap_or("")))
                    }
                };
                Value::Json(
                    j,
                    if is_map {
                        Shape::Map
                    } else {
                        Shape::Struct(key)
                    },
                )
            }
        }
    }

    pub fn str(s: impl Into<String>) -> Value<'a> {
        Value::Str(Cow::Owned(s.into()))
    }

    /// Go's truth: false, 0, nil, empty strings and collections are false.
    pub fn truth(&self) -> bool {
        match self {
            Value::Missing | Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Uint(u) => *u != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::Json(Json::Array(a), _) => !a.is_empty(),
            Value::Json(Json::Object(o), Shape::Map) => !o.is_empty(),
            Value::Json(..) => true,
            Value::Rows(r, _) => !r.is_empty(),
            Value::List(l) => !l.is_empty(),
        }
    }

    /// Elements, for arrays and lists.
    pub fn elements(&self) -> Option<Vec<Value<'a>>> {
        match self {
            // Elements are structs even under a map-valued key (`Ports` of
            // a ps row is a list of port structs): pass a map parent.
            Value::Json(Json::Array(a), Shape::Struct(k)) => Some(
                a.iter()
                    .map(|x| Value::from_json(x, *k, Shape::Map))
                    .collect(),
            ),
            Value::Rows(r, shape) => Some(
                r.iter()
                    .map(|x| match x {
                        Json::Object(_) => Value::Json(x, *shape),
                        _ => Value::from_json(x, None, *shape),
                    })
                    .collect(),
            ),
            Value::List(l) => Some(l.as_ref().clone()),
            _ => None,
        }
    }

    /// Go's name for the value's type, for error messages.
    pub fn type_name(&self, root: &str) -> String {
        match self {
            Value::Missing => "<nil>".into(),
            Value::Nil => "interface {}".into(),
            Value::Bool(_) => "bool".into(),
            Value::Int(_) => "int".into(),
            Value::Uint(_) => "uint64".into(),
            Value::Float(_) => "float64".into(),
            Value::Str(_) => "string".into(),
            Value::Json(Json::Array(a), Shape::Struct(k)) => match a.first() {
                Some(Json::String(_)) => "[]string".into(),
                Some(Json::Object(_)) => {
                    let t = struct_type_name(*k, root);
                    format!("[]{}", t.trim_start_matches('*'))
                }
                Some(Json::Number(_)) => "[]int".into(),
                _ => "[]interface {}".into(),
            },
            Value::Json(Json::Object(o), Shape::Map) => {
                if o.values().all(|v| v.is_string()) {
                    "map[string]string".into()
                } else {
                    "map[string]interface {}".into()
                }
            }
            Value::Json(_, Shape::Struct(k)) => struct_type_name(*k, root),
            Value::Json(..) => "map[string]interface {}".into(),
            Value::Rows(..) => format!("[]{root}"),
            Value::List(_) => "[]string".into(),
        }
    }
}

fn struct_type_name(key: Option<&str>, root: &str) -> String {
    match key {
        None => root.to_string(),
        Some(k) => TYPE_NAMES
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, t)| t.to_string())
            .unwrap_or_else(|| format!("*{}", go_name(k))),
    }
}

/// Write `v` as Go's `fmt.Print` does (the `%v` verb).
pub fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::Missing => out.push_str("<no value>"),
        Value::Nil => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            use std::fmt::Write;
            let _ = write!(out, "{i}");
        }
        Value::Uint(u) => {
            use std::fmt::Write;
            let _ = write!(out, "{u}");
        }
        Value::Float(f) => out.push_str(&format_g(*f, None, false)),
        Value::Str(s) => out.push_str(s),
        Value::Json(j, shape) => write_json(out, j, *shape),
        Value::Rows(r, shape) => {
            out.push('[');
            for (i, x) in r.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_json(out, x, *shape);
            }
            out.push(']');
        }
        Value::List(l) => {
            out.push('[');
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_value(out, x);
            }
            out.push(']');
        }
    }
}

fn write_json(out: &mut String, j: &Json, shape: Shape) {
    match j {
        Json::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_json(out, x, Shape::Struct(None));
            }
            out.push(']');
        }
        Json::Object(o) => {
            if shape == Shape::Map {
                out.push_str("map[");
                for (i, (k, x)) in super::exec::sorted(o).into_iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push_str(k);
                    out.push(':');
                    write_json(out, x, Shape::Struct(None));
                }
                out.push(']');
            } else {
                // Nested structs are pointers in Podman's types; print them
                // as values all the same.
                out.push('{');
                for (i, (k, x)) in o.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    let child = match Value::from_json(x, Some(k), shape) {
                        Value::Json(_, s) => s,
                        _ => Shape::Struct(None),
                    };
                    write_json(out, x, child);
                }
                out.push('}');
            }
        }
        Json::Null => out.push_str("<nil>"),
        other => write_value(out, &Value::from_json(other, None, Shape::Struct(None))),
    }
}

/// The value as a string for `%v`.
pub fn to_string(v: &Value) -> String {
    if let Value::Str(s) = v {
        return s.to_string();
    }
    let mut s = String::new();
    write_value(&mut s, v);
    s
}

/// Go's `%g`/`%v` for floats: shortest representation (or `prec`
/// significant digits), exponent form when the exponent is < -4 or >= the
/// precision (6 for the shortest form, as strconv does).
pub fn format_g(f: f64, prec: Option<usize>, upper: bool) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let (neg, digits, exp) = decimal_digits(f, prec.map(|p| p.max(1)));
    let eprec = match prec {
        Some(p) => p.max(1) as i32,
        None => 6,
    };
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    // Trim trailing zeros (as %g does).
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    if exp < -4 || exp >= eprec {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push(if upper { 'E' } else { 'e' });
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.abs()));
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(digits);
    } else {
        let e = exp as usize;
        if digits.len() > e + 1 {
            out.push_str(&digits[..=e]);
            out.push('.');
            out.push_str(&digits[e + 1..]);
        } else {
            out.push_str(digits);
            for _ in 0..(e + 1 - digits.len()) {
                out.push('0');
            }
        }
    }
    out
}

/// Decimal digits of |f| and its decimal exponent: the shortest round-trip
/// digits, or `n` significant digits.
pub fn decimal_digits(f: f64, n: Option<usize>) -> (bool, String, i32) {
    let s = match n {
        Some(n) => format!("{:.*e}", n - 1, f.abs()),
        None => format!("{:e}", f.abs()),
    };
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    (f.is_sign_negative(), digits, exp.parse().unwrap_or(0))
}
