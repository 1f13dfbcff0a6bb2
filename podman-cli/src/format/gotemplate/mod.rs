//! Go's text/template, evaluated over our JSON documents as Podman's Go
//! code evaluates it over its structs.
//!
//! A template is parsed once ([`Template::new`]) and executed many times
//! ([`Template::execute`]). The data is JSON with Podman's field names
//! (see [`value`] for how `.Field` finds a JSON key). Functions are Go's
//! builtins plus Podman's (`json`, `lower`, `upper`, `title`, `join`,
//! `split`, `pad`, `truncate`). Errors read as Go prints them, e.g.
//! `template: ps:1:13: executing "ps" at <.Foo>: can't evaluate field Foo
//! in type containers.psReporter`.

mod ast;
mod exec;
mod funcs;
mod lex;
mod parse;
mod printf;
mod value;

use serde_json::Value as Json;

use value::{Shape, Value};

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    trees: ast::Trees,
    /// The text that was parsed: error positions point into it.
    text: String,
    /// The Go type of the data's rows, for error messages.
    root_type: String,
}

/// What a template runs over.
#[derive(Clone, Copy)]
pub enum Data<'a> {
    /// One document (a Go struct).
    One(&'a Json),
    /// A list of rows (a Go slice of structs): `.` of `{{range .}}`.
    Rows(&'a [Json]),
    /// A list of Go maps (Podman's header row is a `map[string]string`).
    MapRows(&'a [Json]),
}

impl Template {
    /// Parse `text` as the Go template `name`, exactly as given.
    pub fn new(name: &str, text: &str) -> anyhow::Result<Template> {
        let trees = parse::parse(name, text, &|f| funcs::lookup(f).is_some())
            .map_err(|e| anyhow::anyhow!(e))?;
        Ok(Template {
            trees,
            text: text.to_string(),
            root_type: "struct {}".into(),
        })
    }

    /// Name the Go type of the rows (`containers.psReporter`) for errors.
    pub fn with_root_type(mut self, t: &str) -> Template {
        self.root_type = t.to_string();
        self
    }

    /// Names of the fields the template reads from `.` at its top level
    /// (`{{.ID}} {{.State.Status}}` -> `ID`, `State`), in order.
    pub fn top_fields(&self) -> Vec<String> {
        fn pipe(p: &ast::Pipe, out: &mut Vec<String>) {
            for c in &p.cmds {
                for a in &c.args {
                    match a {
                        ast::Arg::Pipe(inner) => pipe(inner, out),
                        ast::Arg::Field { ident, .. } if !out.contains(&ident[0]) => {
                            out.push(ident[0].clone())
                        }
                        _ => {}
                    }
                }
            }
        }
        fn list(l: &[ast::Node], out: &mut Vec<String>) {
            for n in l {
                match n {
                    ast::Node::Action(p) | ast::Node::Template { pipe: Some(p), .. } => {
                        pipe(p, out)
                    }
                    ast::Node::If(b) | ast::Node::Range(b) | ast::Node::With(b) => {
                        pipe(&b.pipe, out);
                        list(&b.list, out);
                        if let Some(e) = &b.else_list {
                            list(e, out);
                        }
                    }
                    _ => {}
                }
            }
        }
        let mut out = Vec::new();
        list(&self.trees.root, &mut out);
        out
    }

    /// Execute over `data`, appending to `out`.
    pub fn execute_into(&self, data: Data, out: &mut String) -> anyhow::Result<()> {
        let dot = match data {
            Data::One(j) => match j {
                Json::Object(_) => Value::Json(j, Shape::Struct(None)),
                other => Value::from_json(other, None, Shape::Struct(None)),
            },
            Data::Rows(r) => Value::Rows(r, Shape::Struct(None)),
            Data::MapRows(r) => Value::Rows(r, Shape::Map),
        };
        exec::execute(&self.trees, &self.text, &self.root_type, dot, out)
            .map_err(|e| anyhow::anyhow!(e))
    }

    /// Execute over `data` into a new string.
    pub fn execute(&self, data: Data) -> anyhow::Result<String> {
        let mut out = String::new();
        self.execute_into(data, &mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
