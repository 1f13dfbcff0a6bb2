//! Tables: `align` for tab-separated lines (two spaces between columns),
//! and `render_rows` for `--format` reports (see [`super::report`]).

use std::collections::HashMap;

/// Align tab-separated lines into columns.
pub fn align(lines: &[String]) -> String {
    let rows: Vec<Vec<&str>> = lines.iter().map(|l| l.split('\t').collect()).collect();
    let cols = rows.iter().map(|r| r.len()).max().unwrap_or(0);
    let mut widths = vec![0usize; cols];
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            if i + 1 < r.len() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
    }
    let mut out = String::new();
    for r in &rows {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            line.push_str(c);
            if i + 1 < r.len() {
                line.push_str(&" ".repeat(widths[i] - c.chars().count() + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Render rows for `--format` as Podman does: a `table` format gets a
/// header row (titles from `headers`, else the field name split at its
/// capitals and upper-cased) and aligned columns; any other format prints
/// each row as given. The template is named after the running (sub)command
/// (see [`super::report::command_name`]).
pub fn render_rows(
    format: &str,
    rows: &[serde_json::Value],
    headers: &HashMap<&str, &str>,
    noheading: bool,
) -> anyhow::Result<String> {
    super::report::render_rows(
        &super::report::command_name(),
        format,
        rows,
        headers,
        noheading,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_table_templates_get_headers() {
        let s = align(&["A\tBB\tC".into(), "longer\tx\ty".into()]);
        assert_eq!(s, "A       BB  C\nlonger  x   y\n");
        let rows = vec![serde_json::json!({"ID": "abc", "Repository": "r"})];
        let h: HashMap<&str, &str> = [("ID", "IMAGE ID")].into_iter().collect();
        let out = render_rows("table {{.ID}}\\t{{.Repository}}", &rows, &h, false).unwrap();
        assert_eq!(out, "IMAGE ID    REPOSITORY\nabc         r\n");
        assert_eq!(render_rows("{{.ID}}", &rows, &h, false).unwrap(), "abc\n");
    }
}
