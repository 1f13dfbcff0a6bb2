//! The parser of Go templates, with Go's error messages
//! (`template: NAME:LINE: MSG`).

use std::collections::HashMap;

use super::ast::{parse_number, unquote_string, Arg, Branch, Command, Node, Pipe, Trees};
use super::lex::{lex, Item, Kind};

enum Parsed {
    Node(Node),
    End,
    Else,
}

struct Parser<'f> {
    name: String,
    items: Vec<Item>,
    i: usize,
    vars: Vec<String>,
    range_depth: usize,
    /// Nested control structures and parenthesized pipelines so far.
    nesting: usize,
    action_line: usize,
    has_func: &'f dyn Fn(&str) -> bool,
    defs: HashMap<String, Vec<Node>>,
}

type PResult<T> = Result<T, String>;

/// How deep control structures and parentheses may nest.
const MAX_NESTING: usize = 100;

/// Parse `text` as the template `name`; `has_func` says which function
/// names exist.
pub fn parse(name: &str, text: &str, has_func: &dyn Fn(&str) -> bool) -> Result<Trees, String> {
    let mut p = Parser {
        name: name.to_string(),
        items: lex(text),
        i: 0,
        vars: vec!["$".into()],
        range_depth: 0,
        nesting: 0,
        action_line: 0,
        has_func,
        defs: HashMap::new(),
    };
    let root = p.parse_root()?;
    Ok(Trees {
        name: name.to_string(),
        root,
        defs: p.defs,
    })
}

fn item_desc(it: &Item) -> String {
    match it.kind {
        Kind::Eof => "EOF".into(),
        Kind::Error => it.val.clone(),
        Kind::Block
        | Kind::Break
        | Kind::Continue
        | Kind::Define
        | Kind::Else
        | Kind::End
        | Kind::If
        | Kind::Range
        | Kind::Nil
        | Kind::Template
        | Kind::With => format!("<{}>", it.val),
        _ if it.val.chars().count() > 10 => {
            let short: String = it.val.chars().take(10).collect();
            format!("{short:?}...")
        }
        _ => format!("{:?}", it.val),
    }
}

impl Parser<'_> {
    fn peek(&self) -> &Item {
        &self.items[self.i.min(self.items.len() - 1)]
    }

    fn next(&mut self) -> Item {
        let it = self.peek().clone();
        if self.i < self.items.len() {
            self.i += 1;
        }
        it
    }

    fn backup(&mut self) {
        self.i -= 1;
    }

    fn next_non_space(&mut self) -> Item {
        loop {
            let it = self.next();
            if it.kind != Kind::Space {
                return it;
            }
        }
    }

    fn peek_non_space(&mut self) -> Item {
        let it = self.next_non_space();
        self.backup();
        it
    }

    fn line(&self) -> usize {
        self.items[self.i.saturating_sub(1).min(self.items.len() - 1)].line
    }

    fn errorf<T>(&self, msg: String) -> PResult<T> {
        Err(format!("template: {}:{}: {}", self.name, self.line(), msg))
    }

    fn unexpected<T>(&self, it: &Item, context: &str) -> PResult<T> {
        if it.kind == Kind::Error {
            let mut extra = String::new();
            if self.action_line != 0 && self.action_line != it.line {
                extra = format!(" in action started at {}:{}", self.name, self.action_line);
                if it.val.ends_with(" action") {
                    extra = extra[" in action".len()..].to_string();
                }
            }
            return self.errorf(format!("{}{}", it.val, extra));
        }
        self.errorf(format!("unexpected {} in {}", item_desc(it), context))
    }

    fn expect(&mut self, kind: Kind, context: &str) -> PResult<Item> {
        let it = self.next_non_space();
        if it.kind != kind {
            return self.unexpected(&it, context);
        }
        Ok(it)
    }

    fn parse_root(&mut self) -> PResult<Vec<Node>> {
        let mut root = Vec::new();
        while self.peek().kind != Kind::Eof {
            if self.peek().kind == Kind::LeftDelim {
                let save = self.i;
                self.next();
                if self.next_non_space().kind == Kind::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.i = save;
            }
            match self.text_or_action()? {
                Parsed::Node(n) => root.push(n),
                Parsed::End => return self.errorf("unexpected {{end}}".into()),
                Parsed::Else => return self.errorf("unexpected {{else}}".into()),
            }
        }
        Ok(root)
    }

    fn template_name(&mut self, it: &Item, context: &str) -> PResult<String> {
        match it.kind {
            Kind::String | Kind::RawString => match unquote_string(&it.val) {
                Some(s) => Ok(s),
                None => self.errorf(format!("invalid syntax: {}", it.val)),
            },
            _ => self.unexpected(it, context),
        }
    }

    fn parse_definition(&mut self) -> PResult<()> {
        let context = "define clause";
        let it = self.next_non_space();
        let name = self.template_name(&it, context)?;
        self.expect(Kind::RightDelim, context)?;
        let saved = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let (list, end) = self.item_list()?;
        self.vars = saved;
        if !matches!(end, Parsed::End) {
            return self.errorf(format!("unexpected {{{{else}}}} in {context}"));
        }
        self.defs.insert(name, list);
        Ok(())
    }

    fn item_list(&mut self) -> PResult<(Vec<Node>, Parsed)> {
        let mut list = Vec::new();
        while self.peek_non_space().kind != Kind::Eof {
            match self.text_or_action()? {
                Parsed::Node(n) => list.push(n),
                other => return Ok((list, other)),
            }
        }
        self.errorf("unexpected EOF".into())
    }

    fn text_or_action(&mut self) -> PResult<Parsed> {
        let it = self.next_non_space();
        match it.kind {
            Kind::Text => Ok(Parsed::Node(Node::Text(it.val))),
            Kind::LeftDelim => {
                self.action_line = it.line;
                let r = self.action();
                self.action_line = 0;
                r
            }
            _ => self.unexpected(&it, "input"),
        }
    }

    fn action(&mut self) -> PResult<Parsed> {
        let it = self.next_non_space();
        match it.kind {
            Kind::Block => return self.block_control(),
            Kind::Break | Kind::Continue => {
                let word = if it.kind == Kind::Break {
                    "break"
                } else {
                    "continue"
                };
                let t = self.next_non_space();
                if t.kind != Kind::RightDelim {
                    return self.unexpected(&t, &format!("{{{{{word}}}}}"));
                }
                if self.range_depth == 0 {
                    return self.errorf(format!("{{{{{word}}}}} outside {{{{range}}}}"));
                }
                return Ok(Parsed::Node(if it.kind == Kind::Break {
                    Node::Break
                } else {
                    Node::Continue
                }));
            }
            Kind::Else => {
                let p = self.peek_non_space();
                if p.kind == Kind::If || p.kind == Kind::With {
                    self.next_non_space();
                    self.backup();
                    return Ok(Parsed::Else);
                }
                self.expect(Kind::RightDelim, "else")?;
                return Ok(Parsed::Else);
            }
            Kind::End => {
                self.expect(Kind::RightDelim, "end")?;
                return Ok(Parsed::End);
            }
            Kind::If => return self.control("if").map(|b| Parsed::Node(Node::If(b))),
            Kind::Range => return self.control("range").map(|b| Parsed::Node(Node::Range(b))),
            Kind::With => return self.control("with").map(|b| Parsed::Node(Node::With(b))),
            Kind::Template => {
                let context = "template clause";
                let t = self.next_non_space();
                let name = self.template_name(&t, context)?;
                let pipe = if self.next_non_space().kind != Kind::RightDelim {
                    self.backup();
                    Some(self.pipeline(context, Kind::RightDelim)?)
                } else {
                    None
                };
                return Ok(Parsed::Node(Node::Template {
                    pos: t.pos,
                    name,
                    pipe,
                }));
            }
            _ => {}
        }
        self.backup();
        Ok(Parsed::Node(Node::Action(
            self.pipeline("command", Kind::RightDelim)?,
        )))
    }

    fn block_control(&mut self) -> PResult<Parsed> {
        let context = "block clause";
        let t = self.next_non_space();
        let pos = t.pos;
        let name = self.template_name(&t, context)?;
        let pipe = self.pipeline(context, Kind::RightDelim)?;
        let saved = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let saved_depth = std::mem::replace(&mut self.range_depth, 0);
        let (list, end) = self.item_list()?;
        self.vars = saved;
        self.range_depth = saved_depth;
        if !matches!(end, Parsed::End) {
            return self.errorf(format!("unexpected {{{{else}}}} in {context}"));
        }
        self.defs.insert(name.clone(), list);
        Ok(Parsed::Node(Node::Template {
            pos,
            name,
            pipe: Some(pipe),
        }))
    }

    fn control(&mut self, context: &str) -> PResult<Branch> {
        self.nest()?;
        let nvars = self.vars.len();
        let r = self.control_inner(context);
        self.vars.truncate(nvars);
        self.nesting -= 1;
        r
    }

    /// One level deeper: Go's parser refuses expressions nested past its
    /// limit ("max expression depth exceeded"); ours is lower, as the
    /// parser and executor recurse on a fixed stack.
    fn nest(&mut self) -> PResult<()> {
        if self.nesting >= MAX_NESTING {
            return self.errorf("max expression depth exceeded".into());
        }
        self.nesting += 1;
        Ok(())
    }

    fn control_inner(&mut self, context: &str) -> PResult<Branch> {
        let pipe = self.pipeline(context, Kind::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let (list, next) = self.item_list()?;
        if context == "range" {
            self.range_depth -= 1;
        }
        let mut else_list = None;
        if let Parsed::Else = next {
            let pk = self.peek().kind;
            if (context == "if" && pk == Kind::If) || (context == "with" && pk == Kind::With) {
                self.next();
                let b = self.control(context)?;
                let node = if context == "if" {
                    Node::If(b)
                } else {
                    Node::With(b)
                };
                else_list = Some(vec![node]);
            } else {
                let (l, n) = self.item_list()?;
                if !matches!(n, Parsed::End) {
                    return self.errorf("expected end; found {{else}}".into());
                }
                else_list = Some(l);
            }
        }
        Ok(Branch {
            pipe,
            list,
            else_list,
        })
    }

    fn pipeline(&mut self, context: &str, end: Kind) -> PResult<Pipe> {
        let first = self.peek_non_space();
        let mut pipe = Pipe {
            pos: first.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        loop {
            let v = self.peek_non_space();
            if v.kind != Kind::Variable {
                break;
            }
            let save = self.i;
            self.next_non_space();
            let next = self.peek_non_space();
            match next.kind {
                Kind::Assign | Kind::Declare => {
                    pipe.is_assign = next.kind == Kind::Assign;
                    self.next_non_space();
                    if pipe.is_assign && !self.vars.contains(&v.val) {
                        return self.errorf(format!("undefined variable {:?}", v.val));
                    }
                    pipe.decl.push(v.val.clone());
                    self.vars.push(v.val);
                    break;
                }
                Kind::Char if next.val == "," => {
                    self.next_non_space();
                    pipe.decl.push(v.val.clone());
                    self.vars.push(v.val);
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space().kind {
                            Kind::Variable | Kind::RightDelim | Kind::RightParen => continue,
                            _ => return self.errorf("range can only initialize variables".into()),
                        }
                    }
                    return self.errorf(format!("too many declarations in {context}"));
                }
                _ => {
                    self.i = save;
                    break;
                }
            }
        }
        loop {
            let t = self.next_non_space();
            if t.kind == end {
                if pipe.cmds.is_empty() {
                    return self.errorf(format!("missing value for {context}"));
                }
                for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
                    if matches!(
                        c.args[0],
                        Arg::Bool(..)
                            | Arg::Dot(_)
                            | Arg::Nil(_)
                            | Arg::Number { .. }
                            | Arg::Str { .. }
                    ) {
                        return self.errorf(format!(
                            "non executable command in pipeline stage {}",
                            i + 1
                        ));
                    }
                }
                return Ok(pipe);
            }
            match t.kind {
                Kind::Bool
                | Kind::CharConstant
                | Kind::Dot
                | Kind::Field
                | Kind::Identifier
                | Kind::Number
                | Kind::Nil
                | Kind::RawString
                | Kind::String
                | Kind::Variable
                | Kind::LeftParen => {
                    self.backup();
                    let c = self.command()?;
                    pipe.cmds.push(c);
                }
                _ => return self.unexpected(&t, context),
            }
        }
    }

    fn command(&mut self) -> PResult<Command> {
        let mut cmd = Command {
            pos: self.peek_non_space().pos,
            args: Vec::new(),
        };
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                cmd.args.push(op);
            }
            let t = self.next();
            match t.kind {
                Kind::Space => continue,
                Kind::RightDelim | Kind::RightParen => self.backup(),
                Kind::Pipe => {}
                _ => return self.unexpected(&t, "operand"),
            }
            break;
        }
        if cmd.args.is_empty() {
            return self.errorf("empty command".into());
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().kind != Kind::Field {
            return Ok(Some(node));
        }
        let mut fields = Vec::new();
        while self.peek().kind == Kind::Field {
            fields.push(self.next().val[1..].to_string());
        }
        Ok(Some(match node {
            Arg::Field { pos, mut ident } => {
                ident.extend(fields);
                Arg::Field { pos, ident }
            }
            Arg::Variable { pos, mut ident } => {
                ident.extend(fields);
                Arg::Variable { pos, ident }
            }
            Arg::Bool(..) | Arg::Str { .. } | Arg::Number { .. } | Arg::Nil(_) | Arg::Dot(_) => {
                return self.errorf(format!("unexpected . after term {:?}", node.to_string()));
            }
            other => Arg::Chain {
                pos: other.pos(),
                node: Box::new(other),
                field: fields,
            },
        }))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let t = self.next_non_space();
        Ok(Some(match t.kind {
            Kind::Identifier => {
                if !(self.has_func)(&t.val) {
                    return self.errorf(format!("function {:?} not defined", t.val));
                }
                Arg::Ident {
                    pos: t.pos,
                    name: t.val,
                }
            }
            Kind::Dot => Arg::Dot(t.pos),
            Kind::Nil => Arg::Nil(t.pos),
            Kind::Variable => {
                if !self.vars.contains(&t.val) {
                    return self.errorf(format!("undefined variable {:?}", t.val));
                }
                Arg::Variable {
                    pos: t.pos,
                    ident: vec![t.val],
                }
            }
            Kind::Field => Arg::Field {
                pos: t.pos,
                ident: vec![t.val[1..].to_string()],
            },
            Kind::Bool => Arg::Bool(t.pos, t.val == "true"),
            Kind::CharConstant | Kind::Number => {
                let Some(num) = parse_number(&t.val, t.kind == Kind::CharConstant) else {
                    return self.errorf(format!("illegal number syntax: {:?}", t.val));
                };
                Arg::Number {
                    pos: t.pos,
                    text: t.val,
                    num,
                }
            }
            Kind::LeftParen => {
                self.nest()?;
                let p = self.pipeline("parenthesized pipeline", Kind::RightParen);
                self.nesting -= 1;
                Arg::Pipe(Box::new(p?))
            }
            Kind::String | Kind::RawString => {
                let Some(text) = unquote_string(&t.val) else {
                    return self.errorf(format!("invalid syntax: {}", t.val));
                };
                Arg::Str {
                    pos: t.pos,
                    quoted: t.val,
                    text,
                }
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}
