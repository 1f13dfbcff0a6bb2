//! Podman's report formatter (containers/common `pkg/report`): how a
//! `--format` string becomes a Go template, the `table` keyword, the
//! header row and the tabwriter.
//!
//! * `table ...`: `table ` is dropped, `\t`, `\n` and spaces become tabs
//!   and newlines, the body is wrapped in `{{range .}}...{{end -}}`, a
//!   header row is printed (the same template run over a map of field name
//!   -> column title) and the output goes through Go's tabwriter
//!   (minwidth 12, padding 2).
//! * any other user format: `\t` and `\n` are unescaped and, unless the
//!   format ranges over `.` itself, it is wrapped in `{{range .}}`; no
//!   header, no alignment.
//! * `info` and `version` run their template over one document.
//!
//! Every normalised format ends with a newline.

use std::collections::HashMap;

use serde_json::Value as Json;

use super::gotemplate::{Data, Template};
use super::tabwriter;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Origin {
    /// A `--format` from the user (Podman's own formats behave the same
    /// here: they all start with `table`).
    User,
    /// A template run over one document (`info`, `version`).
    Unknown,
}

/// A parsed report template.
pub struct Formatter {
    pub template: Template,
    /// The format had the `table` keyword: headers and aligned columns.
    pub render_table: bool,
}

/// report.IsJSON: `json`, `{{json}}`, `{{ json. }}`.
pub fn is_json(format: &str) -> bool {
    let f = format.trim();
    if f == "json" {
        return true;
    }
    f.strip_prefix("{{")
        .and_then(|x| x.strip_suffix("}}"))
        .map(|x| matches!(x.trim(), "json" | "json."))
        .unwrap_or(false)
}

/// common.FormatLabels: `{{.Labels}}` of ps and pod ps, sorted `key=value`
/// pairs joined by commas, as the Docker CLI prints them.
pub fn format_labels<'a>(labels: impl IntoIterator<Item = (&'a String, &'a String)>) -> String {
    let mut pairs: Vec<(&String, &String)> = labels.into_iter().collect();
    pairs.sort_by_key(|(k, _)| *k);
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The field a `.Label "key"` call becomes (see [`rewrite_label_calls`]).
pub fn label_field(i: usize) -> String {
    format!("PsLabel{i}")
}

/// `ps`/`pod ps --format '{{ .Label "key" }}'` calls a method with an argument;
/// templates here see data only. Each such call becomes a field of its
/// own: (rewritten format, label keys in field order).
pub fn rewrite_label_calls(format: &str) -> (String, Vec<String>) {
    if !format.contains(".Label") {
        return (format.to_string(), Vec::new());
    }
    let re = regex::Regex::new(r#"\.Label\s+("(?:[^"\\]|\\.)*"|`[^`]*`)"#).expect("valid regex");
    let mut keys: Vec<String> = Vec::new();
    let out = re.replace_all(format, |c: &regex::Captures| {
        let lit = &c[1];
        let key = if lit.starts_with('`') {
            lit.trim_matches('`').to_string()
        } else {
            serde_json::from_str::<String>(lit)
                .unwrap_or_else(|_| lit.trim_matches('"').to_string())
        };
        let i = keys.iter().position(|k| *k == key).unwrap_or_else(|| {
            keys.push(key);
            keys.len() - 1
        });
        format!(".{}", label_field(i))
    });
    (out.into_owned(), keys)
}

/// report.NormalizeFormat.
pub fn normalize_format(format: &str) -> String {
    let mut f = if format.starts_with("table ") {
        replace_table(format)
    } else {
        format.replace("\\t", "\t").replace("\\n", "\n")
    };
    if !f.ends_with('\n') {
        f.push('\n');
    }
    f
}

/// strings.NewReplacer("table ", "", `\t`, "\t", " ", "\t", `\n`, "\n").
fn replace_table(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if let Some(r) = rest.strip_prefix("table ") {
            rest = r;
        } else if let Some(r) = rest.strip_prefix("\\t") {
            out.push('\t');
            rest = r;
        } else if let Some(r) = rest.strip_prefix(' ') {
            out.push('\t');
            rest = r;
        } else if let Some(r) = rest.strip_prefix("\\n") {
            out.push('\n');
            rest = r;
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// Does the format range over `.` itself (`{{ range . }}...{{ end }}`)?
fn has_range(format: &str) -> bool {
    fn ws(s: &str) -> &str {
        s.trim_start_matches(|c: char| c.is_whitespace())
    }
    let mut rest = format;
    while let Some(i) = rest.find("{{") {
        rest = &rest[i + 2..];
        let r = ws(rest);
        let Some(r) = r.strip_prefix("range") else {
            continue;
        };
        let Some(r) = ws(r).strip_prefix('.') else {
            continue;
        };
        let Some(r) = ws(r).strip_prefix("}}") else {
            continue;
        };
        let mut tail = r;
        while let Some(j) = tail.find("{{") {
            tail = &tail[j + 2..];
            let t = ws(tail);
            if let Some(t) = t.strip_prefix("end") {
                let t = ws(t);
                let t = ws(t.strip_prefix('-').unwrap_or(t));
                if t.starts_with("}}") {
                    return true;
                }
            }
        }
        return false;
    }
    false
}

/// report.EnforceRange.
pub fn enforce_range(format: &str) -> String {
    if has_range(format) {
        format.to_string()
    } else {
        format!("{{{{range .}}}}{format}{{{{end -}}}}")
    }
}

/// report.Formatter.Parse: the template Podman would run for `text`.
pub fn parse(name: &str, origin: Origin, text: &str) -> anyhow::Result<Formatter> {
    let (norm, raw, table) = match text.strip_prefix("table ") {
        Some(without) => (
            format!("{{{{range .}}}}{}{{{{end -}}}}", normalize_format(text)),
            format!("{{{{range .}}}}{without}{{{{end -}}}}"),
            true,
        ),
        None if origin == Origin::User => (
            enforce_range(&normalize_format(text)),
            enforce_range(text),
            false,
        ),
        None => (normalize_format(text), text.to_string(), false),
    };
    // Docker replaces `\n` with newlines, which breaks `{{printf "\n"}}`:
    // Podman then parses the format as it was given.
    let template = match Template::new(name, &norm) {
        Ok(t) => t,
        Err(_) => Template::new(name, &raw)?,
    };
    Ok(Formatter {
        template,
        render_table: table,
    })
}

/// camelcase.Split as containers/common has it: runs of lower case, upper
/// case, digits and others, with an upper-case letter before lower case
/// moved to the next run (`PDFLoader` -> `PDF`, `Loader`).
pub fn camel_split(src: &str) -> Vec<String> {
    let class = |c: char| {
        if c.is_lowercase() {
            1
        } else if c.is_uppercase() {
            2
        } else if c.is_numeric() {
            3
        } else {
            4
        }
    };
    let mut runs: Vec<Vec<char>> = Vec::new();
    let mut last = 0;
    for c in src.chars() {
        let k = class(c);
        match runs.last_mut() {
            Some(r) if k == last => r.push(c),
            _ => runs.push(vec![c]),
        }
        last = k;
    }
    for i in 0..runs.len().saturating_sub(1) {
        if runs[i][0].is_uppercase() && runs[i + 1][0].is_lowercase() {
            let c = runs[i].pop().unwrap_or(' ');
            runs[i + 1].insert(0, c);
        }
    }
    runs.into_iter()
        .filter(|r| !r.is_empty())
        .map(|r| r.into_iter().collect())
        .collect()
}

/// A column title as report.Headers makes it: `CreatedAt` -> `CREATED AT`.
pub fn header_for(field: &str, overrides: &HashMap<&str, &str>) -> String {
    match overrides.get(field) {
        Some(h) => h.to_uppercase(),
        None => camel_split(field).join(" ").to_uppercase(),
    }
}

/// The header row: a map of field name -> column title.
pub fn header_row(fields: &[String], overrides: &HashMap<&str, &str>) -> Json {
    let mut m = serde_json::Map::new();
    for k in overrides.keys() {
        m.insert(k.to_string(), Json::String(header_for(k, overrides)));
    }
    for f in fields {
        m.insert(f.clone(), Json::String(header_for(f, overrides)));
    }
    Json::Object(m)
}

/// The name Podman gives the template: the (sub)command's name, from argv.
pub fn command_name() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    name_from_args(&args)
}

const GLOBAL_FLAGS_WITH_VALUE: &[&str] = &[
    "--root",
    "--runroot",
    "--storage-driver",
    "--storage-opt",
    "--log-level",
    "--cgroup-manager",
    "--runtime",
    "--runtime-flag",
    "--conmon",
    "--network-cmd-path",
    "--network-config-dir",
    "--events-backend",
    "--hooks-dir",
    "--tmpdir",
    "--url",
    "--connection",
    "-c",
    "--identity",
    "--module",
    "--volumepath",
    "--imagestore",
    "--db-backend",
    "--config",
    "--ssh",
    "--out",
    "--cni-config-dir",
    "--registries-conf",
    "--cdi-spec-dir",
];

const GROUPS: &[&str] = &[
    "container",
    "image",
    "network",
    "volume",
    "pod",
    "system",
    "machine",
    "secret",
    "manifest",
    "artifact",
    "generate",
    "kube",
    "healthcheck",
    "farm",
    "quadlet",
];

pub fn name_from_args(args: &[String]) -> String {
    let mut words: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        if a.starts_with('-') {
            if words.is_empty() && GLOBAL_FLAGS_WITH_VALUE.contains(&a) {
                i += 1;
            }
        } else {
            words.push(a);
            if words.len() == 2 || !GROUPS.contains(&words[0]) {
                break;
            }
        }
        i += 1;
    }
    match words.as_slice() {
        [] => "podman".into(),
        [w] => w.to_string(),
        [g, w, ..] => match (*g, *w) {
            ("container" | "image", "ls") => "list".into(),
            ("pod", "ls" | "list") => "ps".into(),
            ("network" | "volume", "list") => "ls".into(),
            _ => w.to_string(),
        },
    }
}

/// The Go type Podman's template runs over, for error messages.
pub fn root_type(name: &str, sample: Option<&Json>) -> &'static str {
    let has = |k: &str| sample.and_then(|s| s.get(k)).is_some();
    match name {
        "ps" => "containers.psReporter",
        "list" if has("Repository") => "images.imageReporter",
        "list" => "containers.psReporter",
        "images" => "images.imageReporter",
        "history" => "images.historyReporter",
        "ls" if has("driver") || has("Driver") => "network.ListPrintReports",
        "ls" => "volumes.volumeReporter",
        "inspect" if has("RepoTags") => "*entities.ImageInspectReport",
        "inspect" => "*entities.ContainerInspectReport",
        "info" => "*define.Info",
        "version" => "*entities.SystemVersionReport",
        "stats" => "containers.containerStats",
        _ => "struct {}",
    }
}

/// Render a report of `rows` for `--format` as Podman does.
pub fn render_rows(
    name: &str,
    format: &str,
    rows: &[Json],
    overrides: &HashMap<&str, &str>,
    noheading: bool,
) -> anyhow::Result<String> {
    let f = parse(name, Origin::User, format)?;
    let template = f.template.with_root_type(root_type(name, rows.first()));
    let mut out = String::new();
    if f.render_table && !noheading {
        let fields = template.top_fields();
        let hdrs = [header_row(&fields, overrides)];
        if template
            .execute_into(Data::MapRows(&hdrs), &mut out)
            .is_err()
        {
            // Podman fails here; a header made of the field names serves
            // the user better.
            out.clear();
            let titles: Vec<String> = fields.iter().map(|f| header_for(f, overrides)).collect();
            out.push_str(&titles.join("\t"));
            out.push('\n');
        }
    }
    template.execute_into(Data::Rows(rows), &mut out)?;
    Ok(if f.render_table {
        tabwriter::tabwrite(&out, 12, 2, b' ')
    } else {
        out
    })
}

/// Render one document (`inspect`, `info`, `version`).
pub fn render_one(name: &str, format: &str, doc: &Json) -> anyhow::Result<String> {
    let single = matches!(name, "info" | "version");
    let origin = if single {
        Origin::Unknown
    } else {
        Origin::User
    };
    let f = parse(name, origin, format)?;
    let template = f.template.with_root_type(root_type(name, Some(doc)));
    let out = if single {
        template.execute(Data::One(doc))?
    } else {
        template.execute(Data::Rows(std::slice::from_ref(doc)))?
    };
    Ok(if f.render_table {
        tabwriter::tabwrite(&out, 12, 2, b' ')
    } else {
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hdrs() -> HashMap<&'static str, &'static str> {
        [("ID", "CONTAINER ID")].into_iter().collect()
    }

    fn rows() -> Vec<Json> {
        vec![
            json!({"ID": "abc", "Names": "n1", "State": "running", "CreatedAt": "now", "Labels": {"a": "1"}}),
            json!({"ID": "def", "Names": "second", "State": "exited", "CreatedAt": "then", "Labels": {}}),
        ]
    }

    #[test]
    fn table_formats_get_headers_and_aligned_columns() {
        let out = render_rows("ps", "table {{.ID}} {{.Names}}", &rows(), &hdrs(), false).unwrap();
        assert_eq!(
            out,
            "CONTAINER ID  NAMES\nabc           n1\ndef           second\n"
        );
        let out = render_rows(
            "ps",
            "table {{.ID}}\\t{{.CreatedAt}}\\t{{.State}}",
            &rows(),
            &hdrs(),
            true,
        )
        .unwrap();
        assert_eq!(
            out,
            "abc         now         running\ndef         then        exited\n"
        );
        let out = render_rows(
            "ps",
            "table {{.Names}}\t{{.Labels.a}}",
            &rows(),
            &hdrs(),
            false,
        )
        .unwrap();
        assert_eq!(
            out,
            "NAMES       LABELS\nn1          1\nsecond      <no value>\n"
        );
    }

    #[test]
    fn user_formats_print_rows_as_given() {
        let out = render_rows("ps", "{{.ID}}\\t{{.Names}}", &rows(), &hdrs(), false).unwrap();
        assert_eq!(out, "abc\tn1\ndef\tsecond\n");
        let out = render_rows("ps", "{{range .}}{{.ID}},{{end}}", &rows(), &hdrs(), false).unwrap();
        assert_eq!(out, "abc,def,\n");
        let out = render_rows(
            "ps",
            "{{ range . }}{{.ID}}{{ end -}}",
            &rows(),
            &hdrs(),
            false,
        )
        .unwrap();
        // The format's own `-}}` eats the newline Podman appends.
        assert_eq!(out, "abcdef");
    }

    #[test]
    fn errors_point_where_podman_points() {
        // Podman's e2e test (test/e2e/stats_test.go) for a format in quotes.
        let r = render_rows(
            "stats",
            "\"table {{.ID}} {{.NoSuchField}} \"",
            &rows(),
            &hdrs(),
            false,
        );
        assert_eq!(
            r.unwrap_err().to_string(),
            "template: stats:1:28: executing \"stats\" at <.NoSuchField>: can't evaluate field NoSuchField in type containers.containerStats"
        );
        let r = render_rows("ps", "{{.Foo}}", &rows(), &hdrs(), false);
        assert_eq!(
            r.unwrap_err().to_string(),
            "template: ps:1:13: executing \"ps\" at <.Foo>: can't evaluate field Foo in type containers.psReporter"
        );
        let r = render_rows("ps", "{{.ID", &rows(), &hdrs(), false);
        // Podman parses `{{range .}}{{.ID\n{{end -}}` first, then the format as
        // given, and reports the second failure.
        assert_eq!(
            r.unwrap_err().to_string(),
            "template: ps:1: bad character U+007B '{'"
        );
    }

    #[test]
    fn inspect_info_and_version_render_one_document() {
        let doc = json!({"State": {"Status": "running", "Pid": 42}, "Config": {"Labels": {"a": "b"}}, "Name": "c"});
        assert_eq!(
            render_one("inspect", "{{.State.Status}}", &doc).unwrap(),
            "running\n"
        );
        assert_eq!(
            render_one("inspect", "{{.Name}} {{.State.Pid}}", &doc).unwrap(),
            "c 42\n"
        );
        assert_eq!(
            render_one("inspect", "{{.Config.Labels.a}}|{{.Config.Labels.x}}", &doc).unwrap(),
            "b|<no value>\n"
        );
        assert_eq!(
            render_one("inspect", "{{json .State}}", &doc).unwrap(),
            "{\"Status\":\"running\",\"Pid\":42}\n"
        );
        // `\n` inside a string breaks the unescaped parse: Podman parses the
        // format as given.
        assert_eq!(
            render_one("inspect", "{{printf \"\\n\"}}", &doc).unwrap(),
            "\n"
        );
        let info = json!({"host": {"arch": "amd64", "ociRuntime": {"name": "runc"}}, "store": {"graphStatus": {"Backing Filesystem": "extfs"}}});
        assert_eq!(
            render_one("info", "{{.Host.Arch}}", &info).unwrap(),
            "amd64\n"
        );
        assert_eq!(
            render_one(
                "info",
                "{{index .Store.GraphStatus \"Backing Filesystem\"}}",
                &info
            )
            .unwrap(),
            "extfs\n"
        );
        let e = render_one("info", "{{.Host.Nope}}", &info)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "template: info:1:2: executing \"info\" at <.Host.Nope>: can't evaluate field Nope in type *define.HostInfo");
    }

    #[test]
    fn headers_split_camel_case() {
        assert_eq!(camel_split("PDFLoader"), vec!["PDF", "Loader"]);
        assert_eq!(camel_split("CreatedAt"), vec!["Created", "At"]);
        let none = HashMap::new();
        assert_eq!(header_for("RunningFor", &none), "RUNNING FOR");
        assert_eq!(header_for("ID", &none), "ID");
        assert_eq!(header_for("MemUsage", &none), "MEM USAGE");
        assert_eq!(header_for("ID", &hdrs()), "CONTAINER ID");
    }

    #[test]
    fn the_template_is_named_after_the_command() {
        let n = |a: &[&str]| name_from_args(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            n(&["--root", "/x", "ps", "-a", "--format", "{{.ID}}"]),
            "ps"
        );
        assert_eq!(n(&["container", "ls"]), "list");
        assert_eq!(n(&["network", "ls", "--format", "x"]), "ls");
        assert_eq!(n(&["inspect", "--format", "{{.Id}}", "c"]), "inspect");
        assert_eq!(n(&["image", "inspect", "i"]), "inspect");
        assert_eq!(n(&["--log-level=debug", "images"]), "images");
    }

    #[test]
    fn normalize_format_is_podmans() {
        assert_eq!(
            normalize_format("table {{.ID}} {{.Names}}"),
            "{{.ID}}\t{{.Names}}\n"
        );
        assert_eq!(
            normalize_format("{{.ID}} {{.Names}}\\n"),
            "{{.ID}} {{.Names}}\n"
        );
        assert_eq!(enforce_range("{{.ID}}\n"), "{{range .}}{{.ID}}\n{{end -}}");
        assert_eq!(enforce_range("{{range .}}x{{end}}"), "{{range .}}x{{end}}");
    }
}
