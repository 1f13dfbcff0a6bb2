//! Executing a parsed template over a value, as Go's text/template does,
//! with its error messages (`template: NAME:LINE:COL: executing "NAME" at
//! <NODE>: MSG`).

use std::borrow::Cow;

use serde_json::Value as Json;

use super::ast::{Arg, Branch, Command, Node, Num, Pipe, Trees};
use super::funcs::{self, Arity, FuncError};
use super::value::{method_field, struct_field, write_value, Shape, Value};

/// How deep `{{template}}` may recurse (Go allows 100000; our stack is
/// smaller).
const MAX_DEPTH: usize = 200;

enum Flow {
    Normal,
    Break,
    Continue,
}

#[derive(Clone, Copy)]
enum At<'a> {
    None,
    Arg(&'a Arg),
    Cmd(&'a Command),
    Pipe(&'a Pipe),
    Template(usize, &'a str),
}

pub struct State<'a, 'o> {
    trees: &'a Trees,
    text: &'a str,
    root_type: &'a str,
    tmpl_name: &'a str,
    out: &'o mut String,
    vars: Vec<(&'a str, Value<'a>)>,
    depth: usize,
    at: At<'a>,
}

type R<T> = Result<T, String>;

/// Execute `trees` (parsed from `text`) with `dot` as data, appending to `out`.
pub fn execute<'a>(
    trees: &'a Trees,
    text: &'a str,
    root_type: &'a str,
    dot: Value<'a>,
    out: &mut String,
) -> R<()> {
    let mut s = State {
        trees,
        text,
        root_type,
        tmpl_name: &trees.name,
        out,
        vars: vec![("$", dot.clone())],
        depth: 0,
        at: At::None,
    };
    s.walk_list(&dot, &trees.root)?;
    Ok(())
}

impl<'a> State<'a, '_> {
    fn errorf<T>(&self, msg: impl std::fmt::Display) -> R<T> {
        let name = self.tmpl_name;
        let (pos, context) = match self.at {
            At::None => return Err(format!("template: {name}: {msg}")),
            At::Arg(a) => (a.pos(), a.to_string()),
            At::Cmd(c) => (c.pos, c.to_string()),
            At::Pipe(p) => (p.pos, p.to_string()),
            At::Template(pos, n) => (pos, format!("{{{{template {n:?}}}}}")),
        };
        let before = &self.text[..pos.min(self.text.len())];
        let line = 1 + before.matches('\n').count();
        let col = match before.rfind('\n') {
            Some(nl) => pos - nl - 1,
            None => pos,
        };
        let context = if context.len() > 20 {
            let mut end = 20;
            while !context.is_char_boundary(end) {
                end -= 1;
            }
            format!("{}...", &context[..end])
        } else {
            context
        };
        Err(format!(
            "template: {}:{line}:{col}: executing {name:?} at <{context}>: {msg}",
            self.trees.name
        ))
    }

    fn walk_list(&mut self, dot: &Value<'a>, list: &'a [Node]) -> R<Flow> {
        for n in list {
            match self.walk(dot, n)? {
                Flow::Normal => {}
                other => return Ok(other),
            }
        }
        Ok(Flow::Normal)
    }

    fn walk(&mut self, dot: &Value<'a>, node: &'a Node) -> R<Flow> {
        match node {
            Node::Text(t) => self.out.push_str(t),
            Node::Action(pipe) => {
                let v = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    write_value(self.out, &v);
                }
            }
            Node::If(b) => return self.walk_if_or_with(dot, b, false),
            Node::With(b) => return self.walk_if_or_with(dot, b, true),
            Node::Range(b) => return self.walk_range(dot, b),
            Node::Template { pos, name, pipe } => {
                self.at = At::Template(*pos, name);
                let list = if *name == self.trees.name {
                    &self.trees.root
                } else {
                    match self.trees.defs.get(name) {
                        Some(l) => l,
                        None => return self.errorf(format!("template {name:?} not defined")),
                    }
                };
                if self.depth >= MAX_DEPTH {
                    return self.errorf(format!("exceeded maximum template depth ({MAX_DEPTH})"));
                }
                let new_dot = match pipe {
                    Some(p) => self.eval_pipeline(dot, p)?,
                    None => Value::Missing,
                };
                let saved_vars = std::mem::replace(&mut self.vars, vec![("$", new_dot.clone())]);
                let saved_name = std::mem::replace(&mut self.tmpl_name, name);
                self.depth += 1;
                let r = self.walk_list(&new_dot, list);
                self.depth -= 1;
                self.tmpl_name = saved_name;
                self.vars = saved_vars;
                r?;
            }
            Node::Break => return Ok(Flow::Break),
            Node::Continue => return Ok(Flow::Continue),
        }
        Ok(Flow::Normal)
    }

    fn walk_if_or_with(&mut self, dot: &Value<'a>, b: &'a Branch, with: bool) -> R<Flow> {
        let mark = self.vars.len();
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let r = if val.truth() {
            if with {
                self.walk_list(&val, &b.list)
            } else {
                self.walk_list(dot, &b.list)
            }
        } else if let Some(e) = &b.else_list {
            self.walk_list(dot, e)
        } else {
            Ok(Flow::Normal)
        };
        self.vars.truncate(mark);
        r
    }

    fn set_var(&mut self, name: &str, v: Value<'a>) -> R<()> {
        match self.vars.iter_mut().rev().find(|(n, _)| *n == name) {
            Some(slot) => {
                slot.1 = v;
                Ok(())
            }
            None => self.errorf(format!("undefined variable: {name}")),
        }
    }

    fn set_top_var(&mut self, n: usize, v: Value<'a>) {
        let len = self.vars.len();
        self.vars[len - n].1 = v;
    }

    fn walk_range(&mut self, dot: &Value<'a>, b: &'a Branch) -> R<Flow> {
        let outer = self.vars.len();
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let mark = self.vars.len();
        let pairs: Vec<(Value<'a>, Value<'a>)> = match &val {
            // Go ranges over a map in key order.
            Value::Json(Json::Object(o), Shape::Map) => sorted(o)
                .into_iter()
                .map(|(k, v)| {
                    (
                        Value::Str(Cow::Borrowed(k)),
                        Value::from_json(v, Some(k), Shape::Map),
                    )
                })
                .collect(),
            Value::Int(n) => {
                if b.pipe.decl.len() > 1 {
                    return self.errorf(format!(
                        "can't use {n} to iterate over more than one variable"
                    ));
                }
                (0..*n).map(|i| (Value::Int(i), Value::Int(i))).collect()
            }
            Value::Missing | Value::Nil => Vec::new(),
            other => match other.elements() {
                Some(e) => e
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| (Value::Int(i as i64), v))
                    .collect(),
                None => {
                    let mut s = String::new();
                    write_value(&mut s, other);
                    return self.errorf(format!("range can't iterate over {s}"));
                }
            },
        };
        let decl = &b.pipe.decl;
        let mut flow = Flow::Normal;
        for (index, elem) in pairs.iter() {
            if !decl.is_empty() {
                if b.pipe.is_assign {
                    let v = if decl.len() > 1 { index } else { elem };
                    self.set_var(&decl[0], v.clone())?;
                } else {
                    self.set_top_var(1, elem.clone());
                }
            }
            if decl.len() > 1 {
                if b.pipe.is_assign {
                    self.set_var(&decl[1], elem.clone())?;
                } else {
                    self.set_top_var(2, index.clone());
                }
            }
            let r = self.walk_list(elem, &b.list);
            self.vars.truncate(mark);
            if let Flow::Break = r? {
                break;
            }
        }
        if pairs.is_empty() {
            if let Some(e) = &b.else_list {
                flow = self.walk_list(dot, e)?;
            }
        }
        self.vars.truncate(outer);
        Ok(flow)
    }

    fn eval_pipeline(&mut self, dot: &Value<'a>, pipe: &'a Pipe) -> R<Value<'a>> {
        self.at = At::Pipe(pipe);
        let mut value: Option<Value<'a>> = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_command(dot, cmd, value)?);
        }
        let value = value.unwrap_or(Value::Missing);
        for v in &pipe.decl {
            if pipe.is_assign {
                self.set_var(v, value.clone())?;
            } else {
                self.vars.push((v, value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, args: &[Arg], final_: &Option<Value<'a>>) -> R<()> {
        if args.len() > 1 || final_.is_some() {
            return self.errorf(format!("can't give argument to non-function {}", args[0]));
        }
        Ok(())
    }

    fn eval_command(
        &mut self,
        dot: &Value<'a>,
        cmd: &'a Command,
        final_: Option<Value<'a>>,
    ) -> R<Value<'a>> {
        let first = &cmd.args[0];
        match first {
            Arg::Field { ident, .. } => {
                self.at = At::Arg(first);
                self.eval_field_chain(dot, dot.clone(), ident, &cmd.args, final_)
            }
            Arg::Chain { node, field, .. } => {
                self.eval_chain(dot, first, node, field, &cmd.args, final_)
            }
            Arg::Ident { name, .. } => {
                self.at = At::Arg(first);
                self.eval_call(dot, name, At::Cmd(cmd), &cmd.args, final_)
            }
            Arg::Pipe(p) => {
                self.not_a_function(&cmd.args, &final_)?;
                self.eval_pipeline(dot, p)
            }
            Arg::Variable { ident, .. } => self.eval_variable(dot, first, ident, &cmd.args, final_),
            _ => {
                self.at = At::Arg(first);
                self.not_a_function(&cmd.args, &final_)?;
                match first {
                    Arg::Nil(_) => self.errorf("nil is not a command"),
                    other => self.eval_arg(dot, other),
                }
            }
        }
    }

    fn eval_chain(
        &mut self,
        dot: &Value<'a>,
        chain: &'a Arg,
        node: &'a Arg,
        field: &'a [String],
        args: &'a [Arg],
        final_: Option<Value<'a>>,
    ) -> R<Value<'a>> {
        self.at = At::Arg(chain);
        if let Arg::Nil(_) = node {
            return self.errorf(format!("indirection through explicit nil in {chain}"));
        }
        let receiver = self.eval_arg(dot, node)?;
        self.at = At::Arg(chain);
        self.eval_field_chain(dot, receiver, field, args, final_)
    }

    fn eval_variable(
        &mut self,
        dot: &Value<'a>,
        var: &'a Arg,
        ident: &'a [String],
        args: &'a [Arg],
        final_: Option<Value<'a>>,
    ) -> R<Value<'a>> {
        self.at = At::Arg(var);
        let name = ident[0].as_str();
        let Some(value) = self
            .vars
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
        else {
            return self.errorf(format!("undefined variable: {name}"));
        };
        if ident.len() == 1 {
            self.not_a_function(args, &final_)?;
            return Ok(value);
        }
        self.eval_field_chain(dot, value, &ident[1..], args, final_)
    }

    fn eval_field_chain(
        &mut self,
        _dot: &Value<'a>,
        mut receiver: Value<'a>,
        ident: &'a [String],
        args: &'a [Arg],
        final_: Option<Value<'a>>,
    ) -> R<Value<'a>> {
        let n = ident.len();
        for name in &ident[..n - 1] {
            receiver = self.eval_field(name, false, receiver)?;
        }
        let has_args = args.len() > 1 || final_.is_some();
        self.eval_field(&ident[n - 1], has_args, receiver)
    }

    fn eval_field(&self, name: &'a str, has_args: bool, receiver: Value<'a>) -> R<Value<'a>> {
        match &receiver {
            Value::Missing => Ok(Value::Missing),
            Value::Json(Json::Object(o), shape @ Shape::Struct(_)) => match struct_field(o, name)
                .or_else(|| method_field(*shape, name).and_then(|f| struct_field(o, f)))
            {
                Some((k, v)) => {
                    if has_args {
                        return self.errorf(format!(
                            "{name} has arguments but cannot be invoked as function"
                        ));
                    }
                    Ok(Value::from_json(v, Some(k), *shape))
                }
                // A nil pointer the JSON left out (omitempty).
                None if super::value::omitted_nil(*shape, name) => Ok(Value::Nil),
                None => match super::value::omitted_zero(*shape, name) {
                    Some(zero) => Ok(zero),
                    None => self.errorf(format!(
                        "can't evaluate field {name} in type {}",
                        receiver.type_name(self.root_type)
                    )),
                },
            },
            Value::Json(Json::Object(o), Shape::Map) => {
                if has_args {
                    return self.errorf(format!("{name} is not a method but has arguments"));
                }
                Ok(match o.get_key_value(name) {
                    Some((k, v)) => Value::from_json(v, Some(k), Shape::Map),
                    None => Value::Missing,
                })
            }
            Value::Nil => self.errorf(format!("nil pointer evaluating interface {{}}.{name}")),
            other => self.errorf(format!(
                "can't evaluate field {name} in type {}",
                other.type_name(self.root_type)
            )),
        }
    }

    fn eval_call(
        &mut self,
        dot: &Value<'a>,
        name: &'a str,
        node: At<'a>,
        args: &'a [Arg],
        final_: Option<Value<'a>>,
    ) -> R<Value<'a>> {
        let Some((_, arity, f)) = funcs::lookup(name) else {
            return self.errorf(format!("{name:?} is not a defined function"));
        };
        let given = &args[1..];
        let n = given.len() + usize::from(final_.is_some());
        match arity {
            Arity::Exactly(want) if n != *want => {
                return self.errorf(format!(
                    "wrong number of args for {name}: want {want} got {n}"
                ));
            }
            Arity::AtLeast(want) if n < *want => {
                return self.errorf(format!(
                    "wrong number of args for {name}: want at least {want} got {}",
                    given.len()
                ));
            }
            _ => {}
        }
        if name == "and" || name == "or" {
            let want = name == "or";
            let mut v = Value::Missing;
            for a in given {
                v = self.eval_arg(dot, a)?;
                if v.truth() == want {
                    return Ok(v);
                }
            }
            if let Some(f) = final_ {
                v = f;
            }
            return Ok(v);
        }
        let mut vals = Vec::with_capacity(n);
        for a in given {
            vals.push(self.eval_arg(dot, a)?);
        }
        if let Some(f) = final_ {
            vals.push(f);
        }
        match f(&vals, self.root_type) {
            Ok(v) => Ok(v),
            Err(FuncError::Call(msg)) => {
                self.at = node;
                self.errorf(format!("error calling {name}: {msg}"))
            }
            Err(FuncError::Arg(i, msg)) => {
                self.at = match given.get(i) {
                    Some(a) => At::Arg(a),
                    None => node,
                };
                self.errorf(msg)
            }
        }
    }

    fn eval_arg(&mut self, dot: &Value<'a>, arg: &'a Arg) -> R<Value<'a>> {
        self.at = At::Arg(arg);
        Ok(match arg {
            Arg::Dot(_) => dot.clone(),
            Arg::Nil(_) => Value::Nil,
            Arg::Field { ident, .. } => {
                self.eval_field_chain(dot, dot.clone(), ident, std::slice::from_ref(arg), None)?
            }
            Arg::Variable { ident, .. } => self.eval_variable(dot, arg, ident, &[], None)?,
            Arg::Pipe(p) => self.eval_pipeline(dot, p)?,
            Arg::Ident { name, .. } => {
                self.eval_call(dot, name, At::Arg(arg), std::slice::from_ref(arg), None)?
            }
            Arg::Chain { node, field, .. } => self.eval_chain(dot, arg, node, field, &[], None)?,
            Arg::Bool(_, b) => Value::Bool(*b),
            Arg::Number { num, .. } => match num {
                Num::Int(i) => Value::Int(*i),
                Num::Uint(u) => Value::Uint(*u),
                Num::Float(f) => Value::Float(*f),
            },
            Arg::Str { text, .. } => Value::Str(Cow::Borrowed(text)),
        })
    }
}

/// A JSON object's entries in key order, as Go visits and prints a map.
pub(super) fn sorted(o: &serde_json::Map<String, Json>) -> Vec<(&String, &Json)> {
    let mut v: Vec<(&String, &Json)> = o.iter().collect();
    v.sort_by(|a, b| a.0.cmp(b.0));
    v
}
