use super::*;

fn kinds(src: &str) -> Vec<TokenKind> {
    tokenize(src)
        .unwrap_or_else(|e| panic!("{}", e.describe(src)))
        .into_iter()
        .map(|t| t.kind)
        .collect()
}

fn word(w: &str) -> TokenKind {
    TokenKind::Word(w.to_string())
}

fn lex_error(src: &str) -> (usize, usize, PqlError) {
    match tokenize(src) {
        Ok(t) => panic!("expected an error for {src:?}, got {t:?}"),
        Err(e) => {
            let (line, col) = e.line_col(src);
            (line, col, e)
        }
    }
}

#[test]
fn words_keep_their_case_and_spans() {
    let toks = tokenize("person.birthYear AND x").unwrap();
    assert_eq!(toks[0].kind, word("person"));
    assert_eq!(toks[0].span, Span::new(0, 6));
    assert_eq!(toks[1].kind, TokenKind::Dot);
    assert_eq!(toks[2].kind, word("birthYear"));
    assert!(toks[3].is_keyword("and"));
    assert_eq!(toks[5].kind, TokenKind::Eof);
    assert_eq!(toks[5].span, Span::new(22, 22));
}

#[test]
fn numbers() {
    use TokenKind::*;
    assert_eq!(kinds("42"), vec![Int(42), Eof]);
    assert_eq!(kinds("3.25"), vec![Float(3.25), Eof]);
    assert_eq!(kinds(".45"), vec![Float(0.45), Eof]);
    assert_eq!(kinds("2.02E12"), vec![Float(2.02e12), Eof]);
    assert_eq!(kinds("1E3"), vec![Float(1000.0), Eof]);
    assert_eq!(kinds("2.5E-1"), vec![Float(0.25), Eof]);
    assert_eq!(kinds("1e+2"), vec![Float(100.0), Eof]);
    assert_eq!(
        kinds("9223372036854775808"),
        vec![Int(9223372036854775808), Eof]
    );
    // `-` is always its own token; the parser folds it.
    assert_eq!(kinds("a -1"), vec![word("a"), Minus, Int(1), Eof]);
    // After an operand, `.5` is a field access attempt, not a number.
    assert_eq!(kinds("a.5"), vec![word("a"), Dot, Int(5), Eof]);
    assert_eq!(
        kinds("1.count()"),
        vec![Int(1), Dot, word("count"), LParen, RParen, Eof]
    );
}

#[test]
fn bad_numbers() {
    let (l, c, e) = lex_error("x = 99999999999999999999");
    assert_eq!((l, c), (1, 5));
    assert!(e.message.contains("too large"), "{e:?}");
    let (_, c, e) = lex_error("x occurs < 3days before now");
    assert_eq!(c, 12);
    assert!(e.message.contains("invalid number `3days`"), "{e:?}");
    let (_, _, e) = lex_error("1E999");
    assert!(e.message.contains("out of range"), "{e:?}");
}

#[test]
fn strings_and_escapes() {
    use TokenKind::*;
    assert_eq!(kinds(r#""a\\b\"c""#), vec![Str("a\\b\"c".into()), Eof]);
    assert_eq!(kinds(r"'it\'s'"), vec![Str("it's".into()), Eof]);
    assert_eq!(kinds(r#"'say "hi"'"#), vec![Str("say \"hi\"".into()), Eof]);
    assert_eq!(kinds(r#""\n\r\t""#), vec![Str("\n\r\t".into()), Eof]);
    assert_eq!(kinds(r#""\u00e9\u00C9""#), vec![Str("éÉ".into()), Eof]);
    assert_eq!(kinds(r#""\ud83d\ude00""#), vec![Str("😀".into()), Eof]);
    assert_eq!(kinds(r#""@(\\w+)""#), vec![Str("@(\\w+)".into()), Eof]);
    assert_eq!(kinds("\"é\u{1F600}\""), vec![Str("é\u{1F600}".into()), Eof]);
}

#[test]
fn bad_escapes_name_their_position() {
    let (l, c, e) = lex_error("x.matches(\"\\d+\")");
    assert_eq!((l, c), (1, 12));
    assert_eq!(e.message, "invalid escape `\\d` in a string");
    assert_eq!(
        e.hint.as_deref(),
        Some("write \\\\d for a regex digit class")
    );
    let (l, c, e) = lex_error("a = 1 and\n  b = \"x\\q\"");
    assert_eq!((l, c), (2, 9));
    assert!(e.hint.unwrap().contains("\\\\q"));
    let (_, c, e) = lex_error("\"\\u12\"");
    assert_eq!(c, 2);
    assert!(e.message.contains("four hexadecimal digits"), "{e:?}");
    let (_, _, e) = lex_error("\"\\ud83d\"");
    assert!(e.message.contains("not a Unicode character"), "{e:?}");
}

#[test]
fn unterminated_string_points_at_its_opening_quote() {
    let (l, c, e) = lex_error("a = 1 and\nname = 'abc");
    assert_eq!((l, c), (2, 8));
    assert!(e.message.contains("unterminated string"), "{e:?}");
    let (_, c, _) = lex_error("\"abc\\");
    assert_eq!(c, 5);
}

#[test]
fn punctuation() {
    use TokenKind::*;
    assert_eq!(
        kinds("= != < <= > >= + - * / % ! ( ) [ ] { } , . : => ^ $1 $42"),
        vec![
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
            Arrow,
            Caret,
            Param(1),
            Param(42),
            Eof
        ]
    );
    assert_eq!(kinds("^^.a"), vec![Caret, Caret, Dot, word("a"), Eof]);
}

#[test]
fn refusals_have_messages() {
    let (_, c, e) = lex_error("a = 1 // comment");
    assert_eq!(c, 7);
    assert_eq!(e.message, "PQL has no comment syntax");
    assert_eq!(
        lex_error("/* x */ a").2.message,
        "PQL has no comment syntax"
    );
    assert_eq!(lex_error("a # x").2.message, "PQL has no comment syntax");
    let (_, c, e) = lex_error("x = @{schema.x}");
    assert_eq!(c, 5);
    assert_eq!(
        e.message,
        "context data references (@{...}) from Offer Decisioning are not supported"
    );
    assert_eq!(e.span, Span::new(4, 15));
    assert!(lex_error("a == 1").2.hint.unwrap().contains("`=`"));
    assert!(lex_error("a && b").2.hint.unwrap().contains("`and`"));
    assert!(lex_error("a || b").2.hint.unwrap().contains("`or`"));
    assert!(lex_error("a <> b").2.hint.unwrap().contains("`!=`"));
    let (_, c, e) = lex_error("a = é");
    assert_eq!(c, 5);
    assert!(e.message.contains("unexpected character"));
    assert!(lex_error("$x").2.message.contains("parameter number"));
    assert!(lex_error("$99999999999").2.message.contains("too large"));
}

#[test]
fn whitespace_of_all_kinds_is_skipped() {
    assert_eq!(
        kinds("\t a\r\n\u{a0}b "),
        vec![word("a"), word("b"), TokenKind::Eof]
    );
}
