//! Tables as Podman prints them: a header line and tab-separated cells
//! aligned into columns (Go's tabwriter with padding 3), or a `table`
//! template whose header is derived from the field names.

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

/// Render rows with a user template. A leading `table` adds a header made
/// from the field names (mapped through `headers`, else upper-cased).
pub fn render_rows(
    format: &str,
    rows: &[serde_json::Value],
    headers: &HashMap<&str, &str>,
    noheading: bool,
) -> anyhow::Result<String> {
    let (is_table, body) = match format.strip_prefix("table") {
        Some(rest) => (true, rest.trim_start().to_string()),
        None => (false, format.to_string()),
    };
    let body = super::gotemplate::normalize(&body);
    let mut lines = Vec::new();
    if is_table && !noheading {
        lines.push(header_line(&body, headers));
    }
    let compiled = super::gotemplate::Compiled::new(&body)?;
    for r in rows {
        let out = compiled.render(r)?;
        lines.push(out.trim_end_matches('\n').to_string());
    }
    Ok(if is_table {
        align(&lines)
    } else {
        lines.iter().map(|l| format!("{l}\n")).collect()
    })
}

fn header_line(body: &str, headers: &HashMap<&str, &str>) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("}}") else {
            break;
        };
        let inner = rest[start + 2..start + end].trim();
        let field = inner
            .split_whitespace()
            .find(|w| w.starts_with('.'))
            .unwrap_or(inner)
            .trim_start_matches('.');
        let name = headers
            .get(field)
            .map(|s| s.to_string())
            .unwrap_or_else(|| field.to_ascii_uppercase());
        out.push_str(&name);
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out
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
        assert_eq!(out, "IMAGE ID  REPOSITORY\nabc       r\n");
        assert_eq!(render_rows("{{.ID}}", &rows, &h, false).unwrap(), "abc\n");
    }
}
