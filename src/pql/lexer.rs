//! The PQL lexer: pql/text to a flat list of [`Token`]s, each with its byte [`Span`].
//!
//! Words are not classified here. PQL keywords are contextual (a field may be called `all`,
//! `count` or `last`; after a `.` every word is a field or method name), so the lexer emits every
//! identifier-like word as [`TokenKind::Word`] and the parser decides, case-insensitively, when a
//! word acts as a keyword (D1.1).
//!
//! The lexer is where the purely lexical rules of D1 live: the string escapes (D1.2), the number
//! forms (D1.3, D6.10), and the refusals that deserve a precise message: comments (D1.4),
//! `@{...}` context data (D1.11) and the operators of other languages (`==`, `&&`, `||`).
//! Integers are kept unsigned so that the parser can fold `-9223372036854775808` into `i64::MIN`.

use crate::pql::ast::Span;
use crate::pql::error::PqlError;

/// What a token is. Keywords are [`TokenKind::Word`]s; see the module doc.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenKind {
    /// An identifier or keyword: `[A-Za-z_][A-Za-z0-9_]*`, as written.
    Word(String),
    /// An unsigned integer literal; the sign is the parser's business.
    Int(u64),
    /// A number with a fraction or an exponent: `3.14`, `.45`, `2.02E12`, `1E3`.
    Float(f64),
    /// A string literal with its escapes resolved.
    Str(String),
    /// `$1`: a positional parameter.
    Param(u32),
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Bang,
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Comma,
    Dot,
    Colon,
    /// `=>`
    Arrow,
    /// `^`
    Caret,
    /// The end of the input; always the last token.
    Eof,
}

impl TokenKind {
    /// The punctuation's text, for messages (`expected \`)\``).
    pub fn punct_text(&self) -> Option<&'static str> {
        let text = match self {
            TokenKind::Eq => "=",
            TokenKind::Ne => "!=",
            TokenKind::Lt => "<",
            TokenKind::Le => "<=",
            TokenKind::Gt => ">",
            TokenKind::Ge => ">=",
            TokenKind::Plus => "+",
            TokenKind::Minus => "-",
            TokenKind::Star => "*",
            TokenKind::Slash => "/",
            TokenKind::Percent => "%",
            TokenKind::Bang => "!",
            TokenKind::LParen => "(",
            TokenKind::RParen => ")",
            TokenKind::LBracket => "[",
            TokenKind::RBracket => "]",
            TokenKind::LBrace => "{",
            TokenKind::RBrace => "}",
            TokenKind::Comma => ",",
            TokenKind::Dot => ".",
            TokenKind::Colon => ":",
            TokenKind::Arrow => "=>",
            TokenKind::Caret => "^",
            _ => return None,
        };
        Some(text)
    }

    /// Whether a token of this kind can end an operand (so a following `.5` is `.` then `5`).
    fn ends_operand(&self) -> bool {
        matches!(
            self,
            TokenKind::Word(_)
                | TokenKind::Int(_)
                | TokenKind::Float(_)
                | TokenKind::Str(_)
                | TokenKind::Param(_)
                | TokenKind::RParen
                | TokenKind::RBracket
                | TokenKind::RBrace
        )
    }
}

/// A token and the source range it was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub kind: TokenKind,
    pub span: Span,
}

impl Token {
    /// Whether this token is the word `kw`, ignoring ASCII case (keywords are case-insensitive).
    pub fn is_keyword(&self, kw: &str) -> bool {
        matches!(&self.kind, TokenKind::Word(w) if w.eq_ignore_ascii_case(kw))
    }
}

/// Splits `src` into tokens, ending with one [`TokenKind::Eof`].
pub fn tokenize(src: &str) -> Result<Vec<Token>, PqlError> {
    let mut lexer = Lexer {
        src,
        pos: 0,
        tokens: Vec::new(),
    };
    lexer.run()?;
    Ok(lexer.tokens)
}

struct Lexer<'s> {
    src: &'s str,
    pos: usize,
    tokens: Vec<Token>,
}

impl Lexer<'_> {
    fn run(&mut self) -> Result<(), PqlError> {
        loop {
            self.skip_whitespace();
            let Some(c) = self.peek(0) else {
                let end = self.src.len();
                self.tokens.push(Token {
                    kind: TokenKind::Eof,
                    span: Span::new(end, end),
                });
                return Ok(());
            };
            let start = self.pos;
            let kind = match c {
                'a'..='z' | 'A'..='Z' | '_' => self.word(),
                '0'..='9' => self.number()?,
                '.' if self.peek(1).is_some_and(|d| d.is_ascii_digit())
                    && !self.prev_ends_operand() =>
                {
                    self.number()?
                }
                '"' | '\'' => self.string(c)?,
                '$' => self.param()?,
                _ => self.punct(c)?,
            };
            self.tokens.push(Token {
                kind,
                span: Span::new(start, self.pos),
            });
        }
    }

    fn peek(&self, ahead: usize) -> Option<char> {
        self.src.get(self.pos..)?.chars().nth(ahead)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek(0)?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn skip_whitespace(&mut self) {
        while self.peek(0).is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    fn prev_ends_operand(&self) -> bool {
        self.tokens.last().is_some_and(|t| t.kind.ends_operand())
    }

    fn error_here(&self, len: usize, message: impl Into<String>) -> PqlError {
        PqlError::new(message, Span::new(self.pos, self.pos + len))
    }

    fn word(&mut self) -> TokenKind {
        let start = self.pos;
        while self
            .peek(0)
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            self.bump();
        }
        TokenKind::Word(self.src[start..self.pos].to_string())
    }

    fn eat_digits(&mut self) {
        while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
        }
    }

    /// `123`, `3.14`, `.45`, `2.02E12`, `1E3`, `2.5E-1` (D1.3, D6.10).
    fn number(&mut self) -> Result<TokenKind, PqlError> {
        let start = self.pos;
        self.eat_digits();
        let mut is_float = false;
        if self.peek(0) == Some('.') && self.peek(1).is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
            self.eat_digits();
            is_float = true;
        }
        if matches!(self.peek(0), Some('e' | 'E')) {
            let signed = matches!(self.peek(1), Some('+' | '-'));
            let digit_at = if signed { 2 } else { 1 };
            if self.peek(digit_at).is_some_and(|c| c.is_ascii_digit()) {
                for _ in 0..digit_at {
                    self.bump();
                }
                self.eat_digits();
                is_float = true;
            }
        }
        if self
            .peek(0)
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
        {
            while self
                .peek(0)
                .is_some_and(|c| c.is_alphanumeric() || c == '_')
            {
                self.bump();
            }
            let text = &self.src[start..self.pos];
            return Err(
                PqlError::new(format!("invalid number `{text}`"), Span::new(start, self.pos))
                    .with_hint("separate a number from the word after it with a space; names cannot start with a digit"),
            );
        }
        let text = &self.src[start..self.pos];
        let span = Span::new(start, self.pos);
        if is_float {
            match text.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(TokenKind::Float(v)),
                _ => Err(PqlError::new(
                    format!("number `{text}` is out of range"),
                    span,
                )),
            }
        } else {
            text.parse::<u64>().map(TokenKind::Int).map_err(|_| {
                PqlError::new(format!("integer `{text}` is too large"), span).with_hint(
                    "integers must lie between -9223372036854775808 and 9223372036854775807; \
                     write a decimal such as 1E19 for larger numbers",
                )
            })
        }
    }

    /// `"..."` or `'...'` with the escapes of D1.2.
    fn string(&mut self, quote: char) -> Result<TokenKind, PqlError> {
        let open = self.pos;
        self.bump();
        let mut text = String::new();
        loop {
            let Some(c) = self.bump() else {
                return Err(PqlError::new(
                    format!("unterminated string: no closing {quote} for the string opened here"),
                    Span::new(open, open + 1),
                )
                .with_hint(format!("end the string with {quote}")));
            };
            if c == quote {
                return Ok(TokenKind::Str(text));
            }
            if c == '\\' {
                text.push(self.escape()?);
            } else {
                text.push(c);
            }
        }
    }

    /// The character of an escape; the `\` has been consumed.
    fn escape(&mut self) -> Result<char, PqlError> {
        let backslash = self.pos - 1;
        let c = self.bump();
        let resolved = match c {
            Some('\\') => '\\',
            Some('"') => '"',
            Some('\'') => '\'',
            Some('n') => '\n',
            Some('r') => '\r',
            Some('t') => '\t',
            Some('u') => return self.unicode_escape(backslash),
            Some(other) => return Err(bad_escape(other, backslash, self.pos)),
            None => {
                return Err(PqlError::new(
                    "unterminated string: it ends with a lone `\\`",
                    Span::new(backslash, backslash + 1),
                ));
            }
        };
        Ok(resolved)
    }

    /// `\uXXXX`, including a surrogate pair written as two escapes.
    fn unicode_escape(&mut self, backslash: usize) -> Result<char, PqlError> {
        let high = self.hex4(backslash)?;
        if !(0xD800..0xE000).contains(&high) {
            return char::from_u32(high).ok_or_else(|| bad_unicode(backslash, self.pos));
        }
        let is_pair = high < 0xDC00 && self.peek(0) == Some('\\') && self.peek(1) == Some('u');
        if !is_pair {
            return Err(bad_unicode(backslash, self.pos));
        }
        self.bump();
        self.bump();
        let low = self.hex4(backslash)?;
        if !(0xDC00..0xE000).contains(&low) {
            return Err(bad_unicode(backslash, self.pos));
        }
        let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
        char::from_u32(code).ok_or_else(|| bad_unicode(backslash, self.pos))
    }

    fn hex4(&mut self, backslash: usize) -> Result<u32, PqlError> {
        let mut value = 0;
        for _ in 0..4 {
            match self.peek(0).and_then(|c| c.to_digit(16)) {
                Some(d) => {
                    self.bump();
                    value = value * 16 + d;
                }
                None => {
                    return Err(PqlError::new(
                        "invalid `\\u` escape: expected four hexadecimal digits",
                        Span::new(backslash, self.pos),
                    )
                    .with_hint("write a character as \\u00e9, or a pair \\ud83d\\ude00"));
                }
            }
        }
        Ok(value)
    }

    /// `$1`
    fn param(&mut self) -> Result<TokenKind, PqlError> {
        let start = self.pos;
        self.bump();
        let digits = self.pos;
        self.eat_digits();
        if digits == self.pos {
            return Err(PqlError::new(
                "expected a parameter number after `$`",
                Span::new(start, self.pos),
            )
            .with_hint("the profile is `$1`"));
        }
        self.src[digits..self.pos]
            .parse::<u32>()
            .map(TokenKind::Param)
            .map_err(|_| PqlError::new("parameter number is too large", Span::new(start, self.pos)))
    }

    fn punct(&mut self, c: char) -> Result<TokenKind, PqlError> {
        let next = self.peek(1);
        let (kind, len) = match (c, next) {
            ('=', Some('>')) => (TokenKind::Arrow, 2),
            ('=', Some('=')) => return Err(self.foreign("==", "equality is written `=`")),
            ('=', _) => (TokenKind::Eq, 1),
            ('!', Some('=')) => (TokenKind::Ne, 2),
            ('!', _) => (TokenKind::Bang, 1),
            ('<', Some('=')) => (TokenKind::Le, 2),
            ('<', Some('>')) => return Err(self.foreign("<>", "inequality is written `!=`")),
            ('<', _) => (TokenKind::Lt, 1),
            ('>', Some('=')) => (TokenKind::Ge, 2),
            ('>', _) => (TokenKind::Gt, 1),
            ('&', Some('&')) => return Err(self.foreign("&&", "write `and`")),
            ('|', Some('|')) => return Err(self.foreign("||", "write `or`")),
            ('/', Some('/' | '*')) | ('#', _) => return Err(self.comment()),
            ('@', Some('{')) => return Err(self.context_data()),
            ('+', _) => (TokenKind::Plus, 1),
            ('-', _) => (TokenKind::Minus, 1),
            ('*', _) => (TokenKind::Star, 1),
            ('/', _) => (TokenKind::Slash, 1),
            ('%', _) => (TokenKind::Percent, 1),
            ('(', _) => (TokenKind::LParen, 1),
            (')', _) => (TokenKind::RParen, 1),
            ('[', _) => (TokenKind::LBracket, 1),
            (']', _) => (TokenKind::RBracket, 1),
            ('{', _) => (TokenKind::LBrace, 1),
            ('}', _) => (TokenKind::RBrace, 1),
            (',', _) => (TokenKind::Comma, 1),
            ('.', _) => (TokenKind::Dot, 1),
            (':', _) => (TokenKind::Colon, 1),
            ('^', _) => (TokenKind::Caret, 1),
            _ => return Err(self.unexpected_char(c)),
        };
        for _ in 0..len {
            self.bump();
        }
        Ok(kind)
    }

    fn foreign(&self, op: &str, hint: &str) -> PqlError {
        self.error_here(op.len(), format!("`{op}` is not a PQL operator"))
            .with_hint(hint)
    }

    fn comment(&self) -> PqlError {
        self.error_here(
            self.peek(0).map_or(1, |c| if c == '#' { 1 } else { 2 }),
            "PQL has no comment syntax",
        )
        .with_hint("remove the comment; `//`, `/* */` and `#` are not part of PQL")
    }

    fn context_data(&self) -> PqlError {
        let rest = self.src.get(self.pos..).unwrap_or("");
        let len = rest.find('}').map_or(2, |i| i + 1);
        self.error_here(
            len,
            "context data references (@{...}) from Offer Decisioning are not supported",
        )
        .with_hint("segment definitions can only read the profile, its events and its memberships")
    }

    fn unexpected_char(&self, c: char) -> PqlError {
        let err = self.error_here(c.len_utf8(), format!("unexpected character `{c}`"));
        if c.is_alphabetic() {
            err.with_hint("names may only use the letters A-Z and a-z, digits and `_`")
        } else if matches!(c, '“' | '”' | '‘' | '’') {
            err.with_hint("use plain quotes \" or ' around strings")
        } else {
            err
        }
    }
}

fn bad_escape(c: char, backslash: usize, end: usize) -> PqlError {
    let err = PqlError::new(
        format!("invalid escape `\\{c}` in a string"),
        Span::new(backslash, end),
    );
    let class = match c {
        'd' | 'D' => Some("digit"),
        'w' | 'W' => Some("word"),
        's' | 'S' => Some("whitespace"),
        'b' | 'B' => Some("word-boundary"),
        _ => None,
    };
    match class {
        Some(name) => err.with_hint(format!("write \\\\{c} for a regex {name} class")),
        None => err.with_hint(format!(
            "the escapes are \\\\ \\\" \\' \\n \\r \\t \\uXXXX; write \\\\{c} for a backslash followed by `{c}`"
        )),
    }
}

fn bad_unicode(backslash: usize, end: usize) -> PqlError {
    PqlError::new(
        "invalid `\\u` escape: not a Unicode character",
        Span::new(backslash, end),
    )
    .with_hint("a surrogate must be written as a pair, high then low: \\ud83d\\ude00")
}

#[cfg(test)]
mod tests;
