//! Template functions: Go's builtins (`and` and `or` short-circuit in
//! exec) and Podman's (containers/common `pkg/report` DefaultFuncs: join,
//! json, lower, pad, split, title, truncate, upper).

use std::borrow::Cow;
use std::rc::Rc;

use serde_json::Value as Json;

use super::printf::{sprint, sprintf, sprintln};
use super::value::{struct_field, to_string, Shape, Value};

pub enum FuncError {
    /// A failure of the function itself: `error calling NAME: MSG`.
    Call(String),
    /// A bad argument (its index), reported as is.
    Arg(usize, String),
}

type R<'a> = Result<Value<'a>, FuncError>;
pub type Func = for<'a> fn(&[Value<'a>], &str) -> R<'a>;

pub enum Arity {
    Exactly(usize),
    AtLeast(usize),
}

/// (name, arity, function); `and`/`or` are evaluated by exec.
pub const FUNCS: &[(&str, Arity, Func)] = &[
    ("and", Arity::AtLeast(1), f_unused),
    ("or", Arity::AtLeast(1), f_unused),
    ("call", Arity::AtLeast(1), f_call),
    ("not", Arity::Exactly(1), f_not),
    ("len", Arity::Exactly(1), f_len),
    ("index", Arity::AtLeast(1), f_index),
    ("slice", Arity::AtLeast(1), f_slice),
    ("eq", Arity::AtLeast(1), f_eq),
    ("ne", Arity::Exactly(2), f_ne),
    ("lt", Arity::Exactly(2), f_lt),
    ("le", Arity::Exactly(2), f_le),
    ("gt", Arity::Exactly(2), f_gt),
    ("ge", Arity::Exactly(2), f_ge),
    ("print", Arity::AtLeast(0), f_print),
    ("printf", Arity::AtLeast(1), f_printf),
    ("println", Arity::AtLeast(0), f_println),
    ("html", Arity::AtLeast(0), f_html),
    ("js", Arity::AtLeast(0), f_js),
    ("urlquery", Arity::AtLeast(0), f_urlquery),
    // Podman's.
    ("join", Arity::Exactly(2), f_join),
    ("json", Arity::Exactly(1), f_json),
    ("lower", Arity::Exactly(1), f_lower),
    ("pad", Arity::Exactly(3), f_pad),
    ("split", Arity::Exactly(2), f_split),
    ("title", Arity::Exactly(1), f_title),
    ("truncate", Arity::Exactly(2), f_truncate),
    ("upper", Arity::Exactly(1), f_upper),
];

pub fn lookup(name: &str) -> Option<&'static (&'static str, Arity, Func)> {
    FUNCS.iter().find(|(n, _, _)| *n == name)
}

fn f_unused<'a>(_: &[Value<'a>], _: &str) -> R<'a> {
    Ok(Value::Missing)
}

fn f_call<'a>(a: &[Value<'a>], root: &str) -> R<'a> {
    Err(FuncError::Call(format!(
        "non-function of type {}",
        a[0].type_name(root)
    )))
}

fn arg_err(i: usize, expected: &str, v: &Value, root: &str) -> FuncError {
    match v {
        Value::Missing => FuncError::Arg(i, format!("invalid value; expected {expected}")),
        _ => FuncError::Arg(
            i,
            format!(
                "wrong type for value; expected {expected}; got {}",
                v.type_name(root)
            ),
        ),
    }
}

fn want_str<'v, 'a>(a: &'v [Value<'a>], i: usize, root: &str) -> Result<&'v str, FuncError> {
    match &a[i] {
        Value::Str(s) => Ok(s),
        v => Err(arg_err(i, "string", v, root)),
    }
}

fn want_int(a: &[Value], i: usize, root: &str) -> Result<i64, FuncError> {
    match &a[i] {
        Value::Int(n) => Ok(*n),
        Value::Uint(u) if *u <= i64::MAX as u64 => Ok(*u as i64),
        v => Err(arg_err(i, "int", v, root)),
    }
}

fn want_strings(a: &[Value], i: usize, root: &str) -> Result<Vec<String>, FuncError> {
    let v = &a[i];
    let bad = || arg_err(i, "[]string", v, root);
    let elems = v.elements().ok_or_else(bad)?;
    elems
        .iter()
        .map(|e| match e {
            Value::Str(s) => Ok(s.to_string()),
            _ => Err(bad()),
        })
        .collect()
}

fn f_not<'a>(a: &[Value<'a>], _: &str) -> R<'a> {
    Ok(Value::Bool(!a[0].truth()))
}

fn f_len<'a>(a: &[Value<'a>], root: &str) -> R<'a> {
    let n = match &a[0] {
        Value::Str(s) => s.len(),
        Value::Json(Json::Array(x), _) => x.len(),
        Value::Json(Json::Object(o), _) => o.len(),
        Value::Rows(r, _) => r.len(),
        Value::List(l) => l.len(),
        Value::Nil => return Err(FuncError::Call("len of nil pointer".into())),
        Value::Missing => return Err(FuncError::Call("len of untyped nil".into())),
        other => {
            return Err(FuncError::Call(format!(
                "len of type {}",
                other.type_name(root)
            )))
        }
    };
    Ok(Value::Int(n as i64))
}

fn index_int(v: &Value, root: &str) -> Result<i64, FuncError> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Uint(u) => Ok(*u as i64),
        Value::Missing | Value::Nil => {
            Err(FuncError::Call("cannot index slice/array with nil".into()))
        }
        other => Err(FuncError::Call(format!(
            "cannot index slice/array with type {}",
            other.type_name(root)
        ))),
    }
}

fn f_index<'a>(a: &[Value<'a>], root: &str) -> R<'a> {
    let mut item = a[0].clone();
    for ix in &a[1..] {
        item = match &item {
            Value::Missing => return Err(FuncError::Call("index of untyped nil".into())),
            Value::Nil => return Err(FuncError::Call("index of nil pointer".into())),
            Value::Str(s) => {
                let i = index_int(ix, root)?;
                match s.as_bytes().get(usize::try_from(i).unwrap_or(usize::MAX)) {
                    Some(b) => Value::Int(*b as i64),
                    None => return Err(FuncError::Call(format!("index out of range: {i}"))),
                }
            }
            Value::Json(Json::Object(o), shape) => {
                let Value::Str(k) = ix else {
                    return Err(FuncError::Call(format!(
                        "value has type {}; should be string",
                        ix.type_name(root)
                    )));
                };
                let found = match shape {
                    Shape::Map => o.get_key_value(k.as_ref()).map(|(k, v)| (k.as_str(), v)),
                    Shape::Struct(_) => struct_field(o, k),
                };
                match found {
                    Some((key, v)) => Value::from_json(v, Some(key), *shape),
                    // The zero value of the map's element type.
                    None if o.values().all(|v| v.is_string()) => Value::Str(Cow::Borrowed("")),
                    None => Value::Missing,
                }
            }
            other => {
                let Some(elems) = other.elements() else {
                    return Err(FuncError::Call(format!(
                        "can't index item of type {}",
                        other.type_name(root)
                    )));
                };
                let i = index_int(ix, root)?;
                match usize::try_from(i).ok().and_then(|i| elems.get(i)) {
                    Some(v) => v.clone(),
                    None => return Err(FuncError::Call(format!("index out of range: {i}"))),
                }
            }
        };
    }
    Ok(item)
}

fn f_slice<'a>(a: &[Value<'a>], root: &str) -> R<'a> {
    let item = &a[0];
    if a.len() > 4 {
        return Err(FuncError::Call(format!(
            "too many slice indexes: {}",
            a.len() - 1
        )));
    }
    let len = match item {
        Value::Str(s) => s.len(),
        Value::Missing => return Err(FuncError::Call("slice of untyped nil".into())),
        other => match other.elements() {
            Some(e) => e.len(),
            None => {
                return Err(FuncError::Call(format!(
                    "can't slice item of type {}",
                    other.type_name(root)
                )))
            }
        },
    };
    if matches!(item, Value::Str(_)) && a.len() == 4 {
        return Err(FuncError::Call("cannot 3-index slice a string".into()));
    }
    let mut idx = [0usize, len, len];
    for (i, ix) in a[1..].iter().enumerate() {
        let n = index_int(ix, root)?;
        if n < 0 || n as usize > len {
            return Err(FuncError::Call(format!("index out of range: {n}")));
        }
        idx[i] = n as usize;
    }
    if a.len() < 3 {
        idx[1] = len;
    }
    if idx[0] > idx[1] {
        return Err(FuncError::Call(format!(
            "invalid slice index: {} > {}",
            idx[0], idx[1]
        )));
    }
    if a.len() == 4 && idx[1] > idx[2] {
        return Err(FuncError::Call(format!(
            "invalid slice index: {} > {}",
            idx[1], idx[2]
        )));
    }
    match item {
        Value::Str(s) => match s.get(idx[0]..idx[1]) {
            Some(sub) => Ok(Value::str(sub)),
            None => Ok(Value::str(String::from_utf8_lossy(
                &s.as_bytes()[idx[0]..idx[1]],
            ))),
        },
        other => {
            let e = other.elements().unwrap_or_default();
            Ok(Value::List(Rc::new(e[idx[0]..idx[1]].to_vec())))
        }
    }
}

#[derive(PartialEq, PartialOrd)]
enum Basic<'v> {
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(&'v str),
}

fn basic<'v>(v: &'v Value) -> Option<Basic<'v>> {
    Some(match v {
        Value::Bool(b) => Basic::Bool(*b),
        Value::Int(i) => Basic::Int(*i as i128),
        Value::Uint(u) => Basic::Int(*u as i128),
        Value::Float(f) => Basic::Float(*f),
        Value::Str(s) => Basic::Str(s),
        _ => return None,
    })
}

const BAD_COMPARISON: &str = "incompatible types for comparison";
const BAD_TYPE: &str = "invalid type for comparison";

fn eq_one(a: &Value, b: &Value) -> Result<bool, FuncError> {
    match (basic(a), basic(b)) {
        (Some(x), Some(y)) => {
            if std::mem::discriminant(&x) != std::mem::discriminant(&y) {
                return Err(FuncError::Call(BAD_COMPARISON.into()));
            }
            Ok(x == y)
        }
        _ => {
            let nil = |v: &Value| matches!(v, Value::Nil | Value::Missing);
            if nil(a) || nil(b) {
                if basic(a).is_some() || basic(b).is_some() {
                    // A valid basic value against nil: incompatible unless
                    // the other is Go's invalid value.
                    if matches!(a, Value::Missing) || matches!(b, Value::Missing) {
                        return Ok(false);
                    }
                    return Err(FuncError::Call(BAD_COMPARISON.into()));
                }
                return Ok(nil(a) && nil(b));
            }
            Err(FuncError::Call(format!(
                "non-comparable type {}: {}",
                to_string(a),
                a.type_name("struct")
            )))
        }
    }
}

fn f_eq<'a>(a: &[Value<'a>], _: &str) -> R<'a> {
    if a.len() < 2 {
        return Err(FuncError::Call("missing argument for comparison".into()));
    }
    for b in &a[1..] {
        if eq_one(&a[0], b)? {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

fn f_ne<'a>(a: &[Value<'a>], _: &str) -> R<'a> {
    Ok(Value::Bool(!eq_one(&a[0], &a[1])?))
}

fn lt(a: &Value, b: &Value) -> Result<bool, FuncError> {
    match (basic(a), basic(b)) {
        (Some(Basic::Bool(_)), _) | (_, Some(Basic::Bool(_))) => {
            Err(FuncError::Call(BAD_TYPE.into()))
        }
        (Some(x), Some(y)) => {
            if std::mem::discriminant(&x) != std::mem::discriminant(&y) {
                return Err(FuncError::Call(BAD_COMPARISON.into()));
            }
            Ok(x < y)
        }
        _ => Err(FuncError::Call(BAD_TYPE.into())),
    }
}

fn f_lt<'a>(a: &[Value<'a>], _: &str) -> R<'a> {
    Ok(Value::Bool(lt(&a[0], &a[1])?))
}

fn f_le<'a>(a: &[Value<'a>], _: &str) -> R<'a> {
    Ok(Value::Bool(lt(&a[0], &a[1])? || eq_one(&a[0], &a[1])?))
}

fn f_gt<'a>(a: &[Value<'a>], _: &str) -> R<'a> {
    Ok(Value::Bool(!(lt(&a[0], &a[1])? || eq_one(&a[0], &a[1])?)))
}

fn f_ge<'a>(a: &[Value<'a>], _: &str) -> R<'a> {
    Ok(Value::Bool(!lt(&a[0], &a[1])?))
}

fn f_print<'a>(a: &[Value<'a>], _: &str) -> R<'a> {
    Ok(Value::str(sprint(a)))
}

fn f_println<'a>(a: &[Value<'a>], _: &str) -> R<'a> {
    Ok(Value::str(sprintln(a)))
}

fn f_printf<'a>(a: &[Value<'a>], root: &str) -> R<'a> {
    let format = want_str(a, 0, root)?;
    Ok(Value::str(sprintf(format, &a[1..])))
}

/// Go's evalArgs: one string argument as is, else fmt.Sprint.
fn eval_args(a: &[Value]) -> String {
    match a {
        [Value::Str(s)] => s.to_string(),
        _ => sprint(a),
    }
}

fn f_html<'a>(a: &[Value<'a>], _: &str) -> R<'a> {
    let s = eval_args(a);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\0' => out.push('\u{FFFD}'),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    Ok(Value::str(out))
}

fn f_js<'a>(a: &[Value<'a>], _: &str) -> R<'a> {
    let s = eval_args(a);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            '\n' => out.push_str("\\u000A"),
            '\r' => out.push_str("\\u000D"),
            '\t' => out.push_str("\\u0009"),
            c if (c as u32) < 0x20 || c.is_control() => {
                out.push_str(&format!("\\u{:04X}", c as u32))
            }
            c => out.push(c),
        }
    }
    Ok(Value::str(out))
}

fn f_urlquery<'a>(a: &[Value<'a>], _: &str) -> R<'a> {
    let s = eval_args(a);
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    Ok(Value::str(out))
}

fn f_join<'a>(a: &[Value<'a>], root: &str) -> R<'a> {
    let items = want_strings(a, 0, root)?;
    let sep = want_str(a, 1, root)?;
    Ok(Value::str(items.join(sep)))
}

/// Back to JSON, for `json` (Go's encoding of the same data).
fn to_json(v: &Value) -> Json {
    match v {
        Value::Missing | Value::Nil => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Uint(u) => Json::from(*u),
        Value::Float(f) => Json::from(*f),
        Value::Str(s) => Json::String(s.to_string()),
        Value::Json(j, _) => (*j).clone(),
        Value::Rows(r, _) => Json::Array(r.to_vec()),
        Value::List(l) => Json::Array(l.iter().map(to_json).collect()),
    }
}

fn f_json<'a>(a: &[Value<'a>], _: &str) -> R<'a> {
    let mut out = String::new();
    match &a[0] {
        Value::Json(j, _) => write_go_json(&mut out, j),
        other => write_go_json(&mut out, &to_json(other)),
    }
    .map_err(|e| FuncError::Call(e.to_string()))?;
    Ok(Value::str(out))
}

/// JSON as Go's encoder writes it: a Go struct's fields in declaration
/// order (see [`super::value::go_field_order`]), map keys sorted.
fn write_go_json(out: &mut String, j: &Json) -> Result<(), serde_json::Error> {
    match j {
        Json::Object(m) => {
            let order = super::value::go_field_order(m);
            let mut keys: Vec<&String> = m.keys().collect();
            if let Some(order) = order {
                keys.sort_by_key(|k| order.iter().position(|f| f == k));
            }
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k)?);
                out.push(':');
                write_go_json(out, &m[k])?;
            }
            out.push('}');
        }
        Json::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_json(out, v)?;
            }
            out.push(']');
        }
        other => out.push_str(&serde_json::to_string(other)?),
    }
    Ok(())
}

fn f_lower<'a>(a: &[Value<'a>], root: &str) -> R<'a> {
    Ok(Value::str(want_str(a, 0, root)?.to_lowercase()))
}

fn f_upper<'a>(a: &[Value<'a>], root: &str) -> R<'a> {
    Ok(Value::str(want_str(a, 0, root)?.to_uppercase()))
}

fn f_pad<'a>(a: &[Value<'a>], root: &str) -> R<'a> {
    let s = want_str(a, 0, root)?;
    let pre = want_int(a, 1, root)?;
    let post = want_int(a, 2, root)?;
    if s.is_empty() {
        return Ok(Value::str(""));
    }
    if pre < 0 || post < 0 {
        return Err(FuncError::Call("strings: negative Repeat count".into()));
    }
    // Go would try to allocate any count; a padding past a million
    // columns can only be a mistake, so it is refused instead.
    if pre > 1_000_000 || post > 1_000_000 {
        return Err(FuncError::Call(format!(
            "pad: {} columns is too many: use at most 1000000",
            pre.max(post)
        )));
    }
    Ok(Value::str(format!(
        "{}{s}{}",
        " ".repeat(pre as usize),
        " ".repeat(post as usize)
    )))
}

fn f_split<'a>(a: &[Value<'a>], root: &str) -> R<'a> {
    let s = want_str(a, 0, root)?;
    let sep = want_str(a, 1, root)?;
    let parts: Vec<Value> = if sep.is_empty() {
        s.chars().map(|c| Value::str(c.to_string())).collect()
    } else {
        s.split(sep).map(Value::str).collect()
    };
    Ok(Value::List(Rc::new(parts)))
}

/// strings.Title: upper-case the first letter of each word.
fn f_title<'a>(a: &[Value<'a>], root: &str) -> R<'a> {
    let s = want_str(a, 0, root)?;
    let is_sep = |c: char| {
        if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else if c.is_alphanumeric() {
            false
        } else {
            c.is_whitespace()
        }
    };
    let mut prev = ' ';
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if is_sep(prev) {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev = c;
    }
    Ok(Value::str(out))
}

fn f_truncate<'a>(a: &[Value<'a>], root: &str) -> R<'a> {
    let s = want_str(a, 0, root)?;
    let n = want_int(a, 1, root)?;
    if n < 0 {
        return Err(FuncError::Call(format!(
            "runtime error: slice bounds out of range [:{n}]"
        )));
    }
    let n = n as usize;
    if s.len() < n {
        return Ok(Value::str(s));
    }
    let mut end = n;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    Ok(Value::str(&s[..end]))
}
