//! Go templates (`{{.Host.Arch}}`) over our JSON documents.
//!
//! Podman's templates address Go struct fields, whose names are the JSON
//! keys with a capital first letter, plus a few acronyms (`OCIRuntime`,
//! `CPUs`, `OS`, `IDMappings`). Keys of plain maps (`GraphStatus`,
//! `Labels`) stay as they are. Podman's extra functions `json`, `lower`,
//! `upper`, `join` and `truncate` are available.

use std::collections::HashMap;

use gtmpl::{Context, Func, FuncError, Template, Value};

/// JSON keys whose Go field name is not just the key with a capital letter.
const GO_NAMES: &[(&str, &str)] = &[
    ("ociRuntime", "OCIRuntime"),
    ("cpus", "CPUs"),
    ("os", "OS"),
    ("idMappings", "IDMappings"),
    ("cgroupVersion", "CgroupsVersion"),
    ("apiVersion", "APIVersion"),
    ("id", "ID"),
];

/// JSON keys whose values are maps: their own keys are data, not fields.
const MAP_FIELDS: &[&str] = &[
    "graphStatus",
    "graphOptions",
    "Labels",
    "labels",
    "Annotations",
    "registries",
    "Attributes",
];

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

/// Convert JSON to template data with Go field names.
pub fn to_value(v: &serde_json::Value) -> Value {
    convert(v, false)
}

fn convert(v: &serde_json::Value, is_map: bool) -> Value {
    match v {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                Value::from(u)
            } else if let Some(i) = n.as_i64() {
                Value::from(i)
            } else {
                Value::from(n.as_f64().unwrap_or(0.0))
            }
        }
        serde_json::Value::String(s) => Value::String(s.clone()),
        serde_json::Value::Array(a) => Value::Array(a.iter().map(|x| convert(x, false)).collect()),
        serde_json::Value::Object(o) => {
            let mut m = HashMap::new();
            for (k, x) in o {
                let child_is_map = MAP_FIELDS.contains(&k.as_str());
                let key = if is_map { k.clone() } else { go_name(k) };
                m.insert(key, convert(x, child_is_map));
            }
            if is_map {
                Value::Map(m)
            } else {
                Value::Object(m)
            }
        }
    }
}

/// Back to JSON for the `json` function.
fn to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::NoValue | Value::Nil | Value::Function(_) => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Number(n) => n
            .as_u64()
            .map(serde_json::Value::from)
            .or_else(|| n.as_i64().map(serde_json::Value::from))
            .or_else(|| n.as_f64().map(serde_json::Value::from))
            .unwrap_or(serde_json::Value::Null),
        Value::Array(a) => serde_json::Value::Array(a.iter().map(to_json).collect()),
        Value::Object(m) | Value::Map(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            serde_json::Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), to_json(&m[k])))
                    .collect(),
            )
        }
    }
}

fn one_arg<'a>(name: &str, args: &'a [Value]) -> Result<&'a Value, FuncError> {
    match args {
        [v] => Ok(v),
        _ => Err(FuncError::ExactlyXArgs(name.to_string(), 1)),
    }
}

fn string_arg(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn f_json(args: &[Value]) -> Result<Value, FuncError> {
    let v = one_arg("json", args)?;
    serde_json::to_string(&to_json(v))
        .map(Value::String)
        .map_err(|e| FuncError::Generic(e.to_string()))
}

fn f_lower(args: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::String(
        string_arg(one_arg("lower", args)?).to_lowercase(),
    ))
}

fn f_upper(args: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::String(
        string_arg(one_arg("upper", args)?).to_uppercase(),
    ))
}

fn f_join(args: &[Value]) -> Result<Value, FuncError> {
    match args {
        [Value::Array(a), sep] => Ok(Value::String(
            a.iter()
                .map(string_arg)
                .collect::<Vec<_>>()
                .join(&string_arg(sep)),
        )),
        [_, _] => Err(FuncError::UnableToConvertFromValue),
        _ => Err(FuncError::ExactlyXArgs("join".into(), 2)),
    }
}

fn f_truncate(args: &[Value]) -> Result<Value, FuncError> {
    match args {
        [s, Value::Number(n)] => {
            let n = n.as_u64().ok_or(FuncError::UnableToConvertFromValue)? as usize;
            Ok(Value::String(string_arg(s).chars().take(n).collect()))
        }
        [_, _] => Err(FuncError::UnableToConvertFromValue),
        _ => Err(FuncError::ExactlyXArgs("truncate".into(), 2)),
    }
}

const FUNCS: &[(&str, Func)] = &[
    ("json", f_json),
    ("lower", f_lower),
    ("upper", f_upper),
    ("join", f_join),
    ("truncate", f_truncate),
];

/// Podman normalises formats: `\t` and `\n` written literally become tabs
/// and newlines, and the output ends with a newline.
pub fn normalize(format: &str) -> String {
    format.replace("\\t", "\t").replace("\\n", "\n")
}

/// A parsed `--format` template, for rendering many rows.
pub struct Compiled {
    template: Template,
    source: String,
}

impl Compiled {
    pub fn new(format: &str) -> anyhow::Result<Compiled> {
        let text = normalize(format);
        let mut template = Template::default();
        template.add_funcs(FUNCS);
        template.parse(text.as_str()).map_err(|e| {
            anyhow::anyhow!("template parsing error: {e}: check the --format string")
        })?;
        Ok(Compiled {
            template,
            source: format.to_string(),
        })
    }

    /// Render over `value`; the output ends with a newline.
    pub fn render(&self, value: &serde_json::Value) -> anyhow::Result<String> {
        let out = self
            .template
            .render(&Context::from(to_value(value)))
            .map_err(|e| {
                anyhow::anyhow!("template execution error: {e}: check the field names in --format")
            })?;
        if out.contains("<no value>") {
            anyhow::bail!("template {:?} names a field that does not exist: check the field names in --format", self.source);
        }
        Ok(if out.ends_with('\n') { out } else { out + "\n" })
    }
}

/// Render `format` over `value`.
pub fn render(format: &str, value: &serde_json::Value) -> anyhow::Result<String> {
    Compiled::new(format)?.render(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> serde_json::Value {
        json!({"host": {"arch": "amd64", "ociRuntime": {"name": "runc"}, "cpus": 2, "cgroupControllers": ["cpu", "memory"]},
               "store": {"graphStatus": {"Backing Filesystem": "extfs"}, "graphRoot": "/x"}})
    }

    #[test]
    fn go_field_names_reach_json_keys() {
        assert_eq!(render("{{.Host.Arch}}", &doc()).unwrap(), "amd64\n");
        assert_eq!(
            render("{{.Host.OCIRuntime.Name}} {{.Host.CPUs}}", &doc()).unwrap(),
            "runc 2\n"
        );
        assert_eq!(
            render(
                "{{index .Store.GraphStatus \"Backing Filesystem\"}}",
                &doc()
            )
            .unwrap(),
            "extfs\n"
        );
        assert_eq!(
            render("{{range .Host.CgroupControllers}}{{.}},{{end}}", &doc()).unwrap(),
            "cpu,memory,\n"
        );
    }

    #[test]
    fn podman_functions_work() {
        assert_eq!(
            render("{{json .Host.OCIRuntime}}", &doc()).unwrap(),
            "{\"Name\":\"runc\"}\n"
        );
        assert_eq!(
            render(
                "{{upper .Host.Arch}}\\t{{join .Host.CgroupControllers \"+\"}}",
                &doc()
            )
            .unwrap(),
            "AMD64\tcpu+memory\n"
        );
        assert_eq!(
            render("{{truncate .Store.GraphRoot 1}}", &doc()).unwrap(),
            "/\n"
        );
    }

    #[test]
    fn bad_templates_and_fields_are_errors() {
        assert!(render("{{.Host.Arch", &doc()).is_err());
        assert!(render("{{.Host.Nope}}", &doc()).is_err());
    }
}
