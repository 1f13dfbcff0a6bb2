//! The lexer of Go's text/template: text, `{{ }}` actions with trim
//! markers, comments, and the tokens inside actions.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Error,
    Bool,
    Char,
    CharConstant,
    Declare,
    Assign,
    Eof,
    Field,
    Identifier,
    LeftDelim,
    LeftParen,
    Number,
    Pipe,
    RawString,
    RightDelim,
    RightParen,
    Space,
    String,
    Text,
    Variable,
    // Keywords.
    Block,
    Break,
    Continue,
    Dot,
    Define,
    Else,
    End,
    If,
    Nil,
    Range,
    Template,
    With,
}

#[derive(Debug, Clone)]
pub struct Item {
    pub kind: Kind,
    pub pos: usize,
    pub val: String,
    pub line: usize,
}

const LEFT: &str = "{{";
const RIGHT: &str = "}}";
const LEFT_COMMENT: &str = "/*";
const RIGHT_COMMENT: &str = "*/";

fn keyword(s: &str) -> Option<Kind> {
    Some(match s {
        "block" => Kind::Block,
        "break" => Kind::Break,
        "continue" => Kind::Continue,
        "define" => Kind::Define,
        "else" => Kind::Else,
        "end" => Kind::End,
        "if" => Kind::If,
        "range" => Kind::Range,
        "nil" => Kind::Nil,
        "template" => Kind::Template,
        "with" => Kind::With,
        _ => return None,
    })
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Lex `input` into items; the last one is `Eof` or `Error`.
pub fn lex(input: &str) -> Vec<Item> {
    let mut l = Lexer {
        input,
        pos: 0,
        start: 0,
        line: 1,
        start_line: 1,
        items: Vec::new(),
        paren_depth: 0,
        inside: false,
    };
    l.run();
    l.items
}

struct Lexer<'a> {
    input: &'a str,
    pos: usize,
    start: usize,
    line: usize,
    start_line: usize,
    items: Vec<Item>,
    paren_depth: usize,
    inside: bool,
}

impl Lexer<'_> {
    fn rest(&self) -> &str {
        &self.input[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn backup(&mut self, c: char) {
        self.pos -= c.len_utf8();
        if c == '\n' {
            self.line -= 1;
        }
    }

    fn emit(&mut self, kind: Kind) {
        let val = self.input[self.start..self.pos].to_string();
        self.items.push(Item {
            kind,
            pos: self.start,
            val,
            line: self.start_line,
        });
        self.ignore();
    }

    fn ignore(&mut self) {
        self.start = self.pos;
        self.start_line = self.line;
    }

    fn error(&mut self, msg: String) -> bool {
        self.items.push(Item {
            kind: Kind::Error,
            pos: self.start,
            val: msg,
            line: self.start_line,
        });
        false
    }

    fn run(&mut self) {
        loop {
            let ok = if self.inside {
                self.lex_inside()
            } else {
                self.lex_text()
            };
            if !ok {
                return;
            }
        }
    }

    /// Text up to the next `{{`; returns false at the end.
    fn lex_text(&mut self) -> bool {
        if let Some(x) = self.rest().find(LEFT) {
            if x > 0 {
                self.advance(x);
                let mut trim = 0;
                if self.has_left_trim_marker(self.pos + LEFT.len()) {
                    trim = self.input[self.start..self.pos].len()
                        - self.input[self.start..self.pos]
                            .trim_end_matches(|c: char| c.is_ascii() && is_space(c as u8))
                            .len();
                }
                let end = self.pos - trim;
                if end > self.start {
                    let val = self.input[self.start..end].to_string();
                    self.items.push(Item {
                        kind: Kind::Text,
                        pos: self.start,
                        val,
                        line: self.start_line,
                    });
                }
                self.ignore();
            }
            self.lex_left_delim()
        } else {
            self.pos = self.input.len();
            if self.pos > self.start {
                self.emit(Kind::Text);
            }
            self.items.push(Item {
                kind: Kind::Eof,
                pos: self.pos,
                val: String::new(),
                line: self.line,
            });
            false
        }
    }

    fn advance(&mut self, n: usize) {
        self.line += self.input[self.pos..self.pos + n].matches('\n').count();
        self.pos += n;
    }

    fn has_left_trim_marker(&self, at: usize) -> bool {
        let b = self.input.as_bytes();
        at + 1 < b.len() && b[at] == b'-' && is_space(b[at + 1])
    }

    fn at_right_delim(&self) -> (bool, bool) {
        let r = self.rest();
        let b = r.as_bytes();
        if b.len() >= 2 + RIGHT.len() && is_space(b[0]) && b[1] == b'-' && r[2..].starts_with(RIGHT)
        {
            return (true, true);
        }
        (r.starts_with(RIGHT), false)
    }

    fn lex_left_delim(&mut self) -> bool {
        self.advance(LEFT.len());
        let trim = self.has_left_trim_marker(self.pos);
        let after_marker = if trim { 2 } else { 0 };
        if self.input[self.pos + after_marker..].starts_with(LEFT_COMMENT) {
            self.advance(after_marker);
            self.ignore();
            return self.lex_comment();
        }
        self.emit(Kind::LeftDelim);
        self.advance(after_marker);
        self.ignore();
        self.paren_depth = 0;
        self.inside = true;
        true
    }

    fn lex_comment(&mut self) -> bool {
        self.advance(LEFT_COMMENT.len());
        let Some(x) = self.rest().find(RIGHT_COMMENT) else {
            return self.error("unclosed comment".into());
        };
        self.advance(x + RIGHT_COMMENT.len());
        let (delim, trim) = self.at_right_delim();
        if !delim {
            return self.error("comment ends before closing delimiter".into());
        }
        if trim {
            self.advance(2);
        }
        self.advance(RIGHT.len());
        if trim {
            self.skip_leading_space();
        }
        self.ignore();
        self.inside = false;
        true
    }

    fn skip_leading_space(&mut self) {
        let n = self.rest().len()
            - self
                .rest()
                .trim_start_matches(|c: char| c.is_ascii() && is_space(c as u8))
                .len();
        self.advance(n);
    }

    fn lex_right_delim(&mut self, trim: bool) -> bool {
        if trim {
            self.advance(2);
            self.ignore();
        }
        self.advance(RIGHT.len());
        self.emit(Kind::RightDelim);
        if trim {
            self.skip_leading_space();
            self.ignore();
        }
        self.inside = false;
        true
    }

    fn lex_inside(&mut self) -> bool {
        let (delim, trim) = self.at_right_delim();
        if delim {
            if self.paren_depth == 0 {
                return self.lex_right_delim(trim);
            }
            return self.error("unclosed left paren".into());
        }
        let Some(c) = self.next() else {
            return self.error("unclosed action".into());
        };
        match c {
            ' ' | '\t' | '\r' | '\n' => {
                // Spaces up to a trim marker's space stay out of the token.
                while let Some(c) = self.peek() {
                    if !(c.is_ascii() && is_space(c as u8)) || self.at_right_delim().1 {
                        break;
                    }
                    self.next();
                }
                self.emit(Kind::Space);
            }
            '=' => self.emit(Kind::Assign),
            ':' => {
                if self.next() != Some('=') {
                    return self.error("expected :=".into());
                }
                self.emit(Kind::Declare);
            }
            '|' => self.emit(Kind::Pipe),
            '"' => return self.lex_quote(),
            '`' => return self.lex_raw_quote(),
            '$' => return self.lex_variable(),
            '\'' => return self.lex_char(),
            '.' => {
                if let Some(n) = self.peek() {
                    if !n.is_ascii_digit() {
                        return self.lex_field();
                    }
                }
                self.backup('.');
                return self.lex_number();
            }
            '+' | '-' | '0'..='9' => {
                self.backup(c);
                return self.lex_number();
            }
            '(' => {
                self.emit(Kind::LeftParen);
                self.paren_depth += 1;
            }
            ')' => {
                if self.paren_depth == 0 {
                    return self.error(format!("unexpected right paren {c:?}"));
                }
                self.paren_depth -= 1;
                self.emit(Kind::RightParen);
            }
            c if is_alnum(c) => {
                self.backup(c);
                return self.lex_identifier();
            }
            c if c.is_ascii() && c != '\x7f' && !c.is_ascii_control() => {
                self.emit(Kind::Char);
            }
            c => {
                return self.error(format!(
                    "unrecognized character in action: {}",
                    go_quote_rune(c)
                ));
            }
        }
        true
    }

    fn scan_word(&mut self) {
        while let Some(c) = self.peek() {
            if !is_alnum(c) {
                break;
            }
            self.next();
        }
    }

    fn at_terminator(&self) -> bool {
        match self.peek() {
            None => true,
            Some(c) => {
                matches!(
                    c,
                    ' ' | '\t' | '\r' | '\n' | '.' | ',' | '|' | ':' | ')' | '(' | '='
                ) || self.rest().starts_with(RIGHT)
            }
        }
    }

    fn lex_identifier(&mut self) -> bool {
        self.scan_word();
        if !self.at_terminator() {
            let c = self.peek().unwrap_or(' ');
            return self.error(format!("bad character {}", go_quote_rune(c)));
        }
        let word = &self.input[self.start..self.pos];
        let kind = match keyword(word) {
            Some(k) => k,
            None if word == "true" || word == "false" => Kind::Bool,
            None => Kind::Identifier,
        };
        self.emit(kind);
        true
    }

    fn lex_field(&mut self) -> bool {
        if self.at_terminator() {
            self.emit(Kind::Dot);
            return true;
        }
        self.scan_word();
        if !self.at_terminator() {
            let c = self.peek().unwrap_or(' ');
            return self.error(format!("bad character {}", go_quote_rune(c)));
        }
        self.emit(Kind::Field);
        true
    }

    fn lex_variable(&mut self) -> bool {
        if self.at_terminator() {
            self.emit(Kind::Variable);
            return true;
        }
        self.scan_word();
        if !self.at_terminator() {
            let c = self.peek().unwrap_or(' ');
            return self.error(format!("bad character {}", go_quote_rune(c)));
        }
        self.emit(Kind::Variable);
        true
    }

    fn lex_char(&mut self) -> bool {
        loop {
            match self.next() {
                Some('\\') => {
                    if let Some(c) = self.next() {
                        if c != '\n' {
                            continue;
                        }
                    }
                    return self.error("unterminated character constant".into());
                }
                None | Some('\n') => return self.error("unterminated character constant".into()),
                Some('\'') => break,
                _ => {}
            }
        }
        self.emit(Kind::CharConstant);
        true
    }

    fn lex_number(&mut self) -> bool {
        if !self.scan_number() {
            let s = self.input[self.start..self.pos].to_string();
            return self.error(format!("bad number syntax: {s:?}"));
        }
        self.emit(Kind::Number);
        true
    }

    fn accept(&mut self, valid: &str) -> bool {
        if let Some(c) = self.peek() {
            if valid.contains(c) {
                self.next();
                return true;
            }
        }
        false
    }

    fn accept_run(&mut self, valid: &str) {
        while self.accept(valid) {}
    }

    fn scan_number(&mut self) -> bool {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if let Some(c) = self.peek() {
            if is_alnum(c) {
                self.next();
                return false;
            }
        }
        true
    }

    fn lex_quote(&mut self) -> bool {
        loop {
            match self.next() {
                Some('\\') => match self.next() {
                    Some('\n') | None => return self.error("unterminated quoted string".into()),
                    _ => {}
                },
                None | Some('\n') => return self.error("unterminated quoted string".into()),
                Some('"') => break,
                _ => {}
            }
        }
        self.emit(Kind::String);
        true
    }

    fn lex_raw_quote(&mut self) -> bool {
        loop {
            match self.next() {
                None => return self.error("unterminated raw quoted string".into()),
                Some('`') => break,
                _ => {}
            }
        }
        self.emit(Kind::RawString);
        true
    }
}

/// A rune quoted as Go's %#U prints it: U+0023 '#'.
pub fn go_quote_rune(c: char) -> String {
    format!("U+{:04X} '{}'", c as u32, c)
}
