//! Go's fmt: `Sprint`, `Sprintln` and `Sprintf` with its verbs, flags,
//! widths and precisions, and its `%!verb(type=value)` complaints.

use serde_json::Value as Json;

use super::value::{decimal_digits, format_g, to_string, write_value, Shape, Value};

/// fmt.Sprint: spaces between operands when neither is a string.
pub fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        let is_str = matches!(a, Value::Str(_));
        if i > 0 && !is_str && !matches!(args[i - 1], Value::Str(_)) {
            out.push(' ');
        }
        write_value(&mut out, &nil_for_missing(a));
    }
    out
}

/// fmt.Sprintln: spaces between all operands, and a newline.
pub fn sprintln(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_value(&mut out, &nil_for_missing(a));
    }
    out.push('\n');
    out
}

/// A missing value passed to a function taking `any` is nil.
fn nil_for_missing<'a>(v: &Value<'a>) -> Value<'a> {
    match v {
        Value::Missing => Value::Nil,
        other => other.clone(),
    }
}

#[derive(Default, Clone, Copy)]
struct Flags {
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// fmt.Sprintf.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let args: Vec<Value> = args.iter().map(nil_for_missing).collect();
    let mut out = String::new();
    let mut argi = 0;
    let mut reordered = false;
    let mut chars = format.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut f = Flags::default();
        // Flags.
        while let Some(&(_, c)) = chars.peek() {
            match c {
                '-' => f.minus = true,
                '+' => f.plus = true,
                '#' => f.sharp = true,
                ' ' => f.space = true,
                '0' => f.zero = true,
                _ => break,
            }
            chars.next();
        }
        let mut arg_index = |chars: &mut std::iter::Peekable<std::str::CharIndices>,
                             argi: &mut usize| {
            if chars.peek().map(|p| p.1) == Some('[') {
                chars.next();
                let mut n = String::new();
                while let Some(&(_, c)) = chars.peek() {
                    chars.next();
                    if c == ']' {
                        break;
                    }
                    n.push(c);
                }
                if let Ok(i) = n.parse::<usize>() {
                    if i >= 1 {
                        *argi = i - 1;
                        reordered = true;
                    }
                }
            }
        };
        arg_index(&mut chars, &mut argi);
        // Width.
        if chars.peek().map(|p| p.1) == Some('*') {
            chars.next();
            match args.get(argi) {
                Some(Value::Int(w)) if !too_large(*w) => {
                    if *w < 0 {
                        f.minus = true;
                    }
                    f.width = Some(w.unsigned_abs() as usize);
                }
                _ => out.push_str("%!(BADWIDTH)"),
            }
            argi += 1;
        } else {
            f.width = read_num(&mut chars);
        }
        // Precision.
        if chars.peek().map(|p| p.1) == Some('.') {
            chars.next();
            arg_index(&mut chars, &mut argi);
            if chars.peek().map(|p| p.1) == Some('*') {
                chars.next();
                match args.get(argi) {
                    Some(Value::Int(p)) if *p >= 0 && !too_large(*p) => f.prec = Some(*p as usize),
                    _ => out.push_str("%!(BADPREC)"),
                }
                argi += 1;
            } else {
                f.prec = Some(read_num(&mut chars).unwrap_or(0));
            }
        }
        arg_index(&mut chars, &mut argi);
        let Some((_, verb)) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(argi) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        argi += 1;
        out.push_str(&format_arg(arg, verb, f));
    }
    if !reordered && argi < args.len() {
        out.push_str("%!(EXTRA ");
        for (i, a) in args[argi..].iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            if let Value::Nil = a {
                out.push_str("<nil>");
            } else {
                out.push_str(&format!("{}={}", go_type(a), to_string(a)));
            }
        }
        out.push(')');
    }
    out
}

/// Go's fmt refuses widths and precisions past a million (`tooLarge`):
/// they could only be a mistake, and would allocate without bound.
fn too_large(n: i64) -> bool {
    !(-1_000_000..=1_000_000).contains(&n)
}

/// Go's `parsenum`: the digits at the cursor; a number that grows too
/// large swallows the rest of the format (Go returns `end`), so the verb
/// is then missing.
fn read_num(chars: &mut std::iter::Peekable<std::str::CharIndices>) -> Option<usize> {
    let mut n: Option<usize> = None;
    while let Some(&(_, c)) = chars.peek() {
        let Some(d) = c.to_digit(10) else { break };
        let so_far = n.unwrap_or(0);
        if too_large(so_far as i64) {
            chars.by_ref().for_each(drop);
            return None;
        }
        n = Some(so_far * 10 + d as usize);
        chars.next();
    }
    n
}

fn go_type(v: &Value) -> String {
    v.type_name("struct {}")
}

fn bad_verb(v: &Value, verb: char) -> String {
    match v {
        Value::Nil | Value::Missing => format!("%!{verb}(<nil>)"),
        _ => format!("%!{verb}({}={})", go_type(v), to_string(v)),
    }
}

fn pad(s: String, f: Flags, zero_ok: bool) -> String {
    let Some(w) = f.width else { return s };
    let n = s.chars().count();
    if n >= w {
        return s;
    }
    let fill = w - n;
    if f.minus {
        return s + &" ".repeat(fill);
    }
    if f.zero && zero_ok {
        // Zeros go after the sign.
        let (sign, rest) = match s.chars().next() {
            Some(c @ ('-' | '+' | ' ')) => (c.to_string(), s[1..].to_string()),
            _ => (String::new(), s.clone()),
        };
        return sign + &"0".repeat(fill) + &rest;
    }
    " ".repeat(fill) + &s
}

fn format_arg(v: &Value, verb: char, f: Flags) -> String {
    match v {
        Value::Json(Json::Array(_), _) | Value::Rows(..) | Value::List(_) => {
            if verb == 'T' {
                return go_type(v);
            }
            let elems = v.elements().unwrap_or_default();
            let inner: Vec<String> = elems
                .iter()
                .map(|e| {
                    format_arg(
                        e,
                        verb,
                        Flags {
                            width: f.width,
                            ..f
                        },
                    )
                })
                .collect();
            format!("[{}]", inner.join(" "))
        }
        Value::Json(Json::Object(o), shape) => {
            if verb == 'T' {
                return go_type(v);
            }
            let fl = Flags { width: None, ..f };
            let mut parts = Vec::new();
            for (k, x) in o {
                let xv = Value::from_json(x, Some(k), *shape);
                let xs = format_arg(&xv, verb, fl);
                parts.push(match shape {
                    Shape::Map => format!("{k}:{xs}"),
                    Shape::Struct(_) if f.plus => format!("{}:{xs}", super::value::go_name(k)),
                    Shape::Struct(_) => xs,
                });
            }
            match shape {
                Shape::Map => format!("map[{}]", parts.join(" ")),
                Shape::Struct(_) => format!("{{{}}}", parts.join(" ")),
            }
        }
        _ => pad(format_scalar(v, verb, f), f, !matches!(v, Value::Str(_))),
    }
}

fn format_scalar(v: &Value, verb: char, f: Flags) -> String {
    if verb == 'T' {
        return match v {
            Value::Nil | Value::Missing => "<nil>".into(),
            _ => go_type(v),
        };
    }
    match v {
        Value::Str(s) => match verb {
            'v' | 's' => match f.prec {
                Some(p) => s.chars().take(p).collect(),
                None => s.to_string(),
            },
            'q' => {
                if f.sharp && !s.contains('`') {
                    format!("`{s}`")
                } else {
                    quote(s, f.plus)
                }
            }
            'x' | 'X' => hex_bytes(s.as_bytes(), verb == 'X', f),
            _ => bad_verb(v, verb),
        },
        Value::Bool(b) => match verb {
            'v' | 't' => b.to_string(),
            _ => bad_verb(v, verb),
        },
        Value::Int(i) => format_int(*i < 0, i.unsigned_abs(), v, verb, f),
        Value::Uint(u) => format_int(false, *u, v, verb, f),
        Value::Float(x) => format_float(*x, v, verb, f),
        Value::Nil | Value::Missing => match verb {
            'v' => "<nil>".into(),
            _ => bad_verb(v, verb),
        },
        other => match verb {
            'v' | 's' => to_string(other),
            _ => bad_verb(other, verb),
        },
    }
}

fn sign(neg: bool, f: Flags) -> &'static str {
    if neg {
        "-"
    } else if f.plus {
        "+"
    } else if f.space {
        " "
    } else {
        ""
    }
}

fn format_int(neg: bool, mag: u64, v: &Value, verb: char, f: Flags) -> String {
    let digits = match verb {
        'v' | 'd' => mag.to_string(),
        'x' => format!("{mag:x}"),
        'X' => format!("{mag:X}"),
        'o' | 'O' => format!("{mag:o}"),
        'b' => format!("{mag:b}"),
        'c' => {
            return char::from_u32(mag as u32)
                .map(String::from)
                .unwrap_or_else(|| "\u{FFFD}".into())
        }
        'q' => {
            let c = char::from_u32(mag as u32).unwrap_or('\u{FFFD}');
            return if c == '\'' {
                "'\\''".into()
            } else {
                format!(
                    "'{}'",
                    quote(&c.to_string(), f.plus)
                        .trim_matches('"')
                        .replace("\\\"", "\"")
                )
            };
        }
        'U' => {
            let s = format!("U+{mag:04X}");
            return match char::from_u32(mag as u32) {
                Some(c) if f.sharp => format!("{s} '{c}'"),
                _ => s,
            };
        }
        'e' | 'E' | 'f' | 'F' | 'g' | 'G' => {
            return format_float(if neg { -(mag as f64) } else { mag as f64 }, v, verb, f);
        }
        _ => return bad_verb(v, verb),
    };
    let digits = match f.prec {
        Some(p) if digits.len() < p => "0".repeat(p - digits.len()) + &digits,
        Some(0) if mag == 0 => String::new(),
        _ => digits,
    };
    let prefix = if f.sharp {
        match verb {
            'x' => "0x",
            'X' => "0X",
            'o' if !digits.starts_with('0') => "0",
            'b' => "0b",
            _ => "",
        }
    } else if verb == 'O' {
        "0o"
    } else {
        ""
    };
    format!("{}{prefix}{digits}", sign(neg, f))
}

fn format_float(x: f64, v: &Value, verb: char, f: Flags) -> String {
    let body = match verb {
        'v' | 'g' => format_g(x.abs(), f.prec, false),
        'G' => format_g(x.abs(), f.prec, true),
        'f' | 'F' => {
            if x.is_infinite() {
                "Inf".into()
            } else {
                format!("{:.*}", f.prec.unwrap_or(6), x.abs())
            }
        }
        'e' | 'E' => {
            let p = f.prec.unwrap_or(6);
            let (_, digits, exp) = decimal_digits(x.abs(), Some(p + 1));
            let mut s = digits[..1].to_string();
            if p > 0 {
                s.push('.');
                s.push_str(&digits[1..]);
            }
            let e = if verb == 'e' { 'e' } else { 'E' };
            let exp = if x == 0.0 { 0 } else { exp };
            format!("{s}{e}{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
        }
        _ => return bad_verb(v, verb),
    };
    let body = body.trim_start_matches('+').to_string();
    let neg = x.is_sign_negative() && !x.is_nan();
    if x.is_nan() {
        return format!("{}NaN", if f.plus { "+" } else { "" });
    }
    format!("{}{body}", sign(neg, f))
}

fn hex_bytes(b: &[u8], upper: bool, f: Flags) -> String {
    let mut out = String::new();
    for (i, byte) in b.iter().enumerate() {
        if f.space && i > 0 {
            out.push(' ');
        }
        if f.sharp && (f.space || i == 0) {
            out.push_str(if upper { "0X" } else { "0x" });
        }
        if upper {
            out.push_str(&format!("{byte:02X}"));
        } else {
            out.push_str(&format!("{byte:02x}"));
        }
    }
    out
}

/// strconv.Quote (ASCII-only with `ascii`, as %+q).
pub fn quote(s: &str, ascii: bool) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\x7f' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() || (ascii && !c.is_ascii()) => {
                if (c as u32) < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
