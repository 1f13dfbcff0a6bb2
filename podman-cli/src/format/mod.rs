//! `--format`: `json`, or a Go template as Podman accepts it.

pub mod gotemplate;
pub mod human;
pub mod report;
pub mod table;
pub mod tabwriter;
pub mod time;
mod yaml;

pub use yaml::render as yaml_like;

/// Render `value` for `--format`. `json` prints indented JSON; anything else
/// is a Go template over the same data with Go field names.
pub fn render(format: &str, value: &serde_json::Value) -> anyhow::Result<String> {
    if format.trim() == "json" {
        return Ok(format!("{}\n", serde_json::to_string_pretty(value)?));
    }
    report::render_one(&report::command_name(), format, value)
}

/// `value` as Go's json.MarshalIndent(v, "", indent) prints it: Podman
/// indents some outputs with one space, some with four.
pub fn json_indent<T: serde::Serialize + ?Sized>(
    value: &T,
    indent: &str,
) -> anyhow::Result<String> {
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(indent.as_bytes());
    value.serialize(&mut serde_json::Serializer::with_formatter(&mut out, fmt))?;
    Ok(String::from_utf8(out)?)
}

/// Print `inspect` documents: a JSON array, or a template per document.
pub fn print_inspect(docs: &[serde_json::Value], format: Option<&str>) -> anyhow::Result<()> {
    match format {
        None | Some("json") => println!("{}", serde_json::to_string_pretty(docs)?),
        Some(f) => {
            for d in docs {
                print!("{}", render(f, d)?);
            }
        }
    }
    Ok(())
}
