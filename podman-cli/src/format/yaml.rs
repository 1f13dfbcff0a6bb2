//! The YAML-looking plain output Podman uses for `info`.

pub fn render(v: &serde_json::Value) -> String {
    let mut out = String::new();
    write(v, 0, &mut out);
    out
}

fn scalar(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => {
            let plain = !s.is_empty()
                && !s
                    .starts_with(|c: char| c.is_whitespace() || "-?:,[]{}#&*!|>'\"%@`".contains(c))
                && !s.contains(": ")
                && !s.contains(" #")
                && !s.ends_with(':')
                && !matches!(s.as_str(), "true" | "false" | "null" | "yes" | "no")
                && s.parse::<f64>().is_err();
            if plain {
                s.clone()
            } else {
                format!("'{}'", s.replace('\'', "''"))
            }
        }
        serde_json::Value::Null => "null".into(),
        other => other.to_string(),
    }
}

fn write(v: &serde_json::Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                let key = scalar(&serde_json::Value::String(k.clone()));
                match x {
                    serde_json::Value::Object(o) if !o.is_empty() => {
                        out.push_str(&format!("{pad}{key}:\n"));
                        write(x, indent + 2, out);
                    }
                    serde_json::Value::Array(a) if !a.is_empty() => {
                        out.push_str(&format!("{pad}{key}:\n"));
                        write(x, indent, out);
                    }
                    serde_json::Value::Object(_) => out.push_str(&format!("{pad}{key}: {{}}\n")),
                    serde_json::Value::Array(_) => out.push_str(&format!("{pad}{key}: []\n")),
                    _ => out.push_str(&format!("{pad}{key}: {}\n", scalar(x))),
                }
            }
        }
        serde_json::Value::Array(a) => {
            for x in a {
                match x {
                    serde_json::Value::Object(o) if !o.is_empty() => {
                        let mut inner = String::new();
                        write(x, indent + 2, &mut inner);
                        // The first line of the item goes after "- ".
                        let trimmed = inner.trim_start_matches(' ');
                        out.push_str(&format!("{pad}- {trimmed}"));
                    }
                    _ => out.push_str(&format!("{pad}- {}\n", scalar(x))),
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar(other))),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn nested_documents_render() {
        let v = serde_json::json!({"host": {"arch": "amd64", "list": ["a", "b"], "rt": [{"name": "runc", "works": true}]}, "n": 3, "e": ""});
        let s = super::render(&v);
        // In the document's (Podman's struct) order.
        assert_eq!(s, "host:\n  arch: amd64\n  list:\n  - a\n  - b\n  rt:\n  - name: runc\n    works: true\nn: 3\ne: ''\n");
    }
}
