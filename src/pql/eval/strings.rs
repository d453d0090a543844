//! String functions: `startsWith`, `doesNotStartWith`, `endsWith`, `doesNotEndWith`, `contains`,
//! `doesNotContain`, `equals`, `notEqualTo` (each with the optional `caseSensitive` flag, D3.9),
//! `like` (D3.8), `matches` and `regexGroup` (D3.7, D6.11).
//!
//! Every predicate is false when the receiver or the argument is not a string (D2.2), so the
//! `doesNot...` forms are not negations of the positive ones. A projected array receiver
//! (`xEvent.eventType.equals("x", false)`) is existential, like a comparison (D6.6).
//! Regular expressions and `like` patterns given as literals are compiled once, at compile time.

use std::sync::Arc;

use regex::Regex;

use super::table::{Apply, Data, FnDef, Impl, Kind, Prep};
use super::{Frame, Node, Val, eval, for_each_item};
use crate::pql::context::EvalContext;
use crate::pql::value::Value;

/// Runs `op(receiver, argument, case_sensitive)` existentially over the receiver's strings.
fn str_pred<'a>(
    a: &'a Apply,
    cx: &EvalContext<'a>,
    fr: &mut Frame<'a>,
    op: fn(&str, &str, bool) -> bool,
) -> bool {
    let case_sensitive = match a.arg(2) {
        None => true,
        Some(n) => !matches!(&*eval(n, cx, fr), Value::Bool(false)),
    };
    let arg = eval(&a.args[1], cx, fr);
    let Value::Str(needle) = &*arg else {
        return false;
    };
    !for_each_item(&a.args[0], cx, fr, &mut |item, _| match &*item {
        Value::Str(s) => !op(s, needle, case_sensitive),
        _ => true,
    })
}

/// Case-insensitive forms compare lower-cased text; ASCII text is compared without allocating.
fn fold_both<R>(
    s: &str,
    p: &str,
    ascii: impl Fn(&[u8], &[u8]) -> R,
    f: impl Fn(&str, &str) -> R,
) -> R {
    if s.is_ascii() && p.is_ascii() {
        ascii(s.as_bytes(), p.as_bytes())
    } else {
        f(&s.to_lowercase(), &p.to_lowercase())
    }
}

fn starts(s: &str, p: &str, cs: bool) -> bool {
    if cs {
        return s.starts_with(p);
    }
    fold_both(
        s,
        p,
        |s, p| s.len() >= p.len() && s[..p.len()].eq_ignore_ascii_case(p),
        |s, p| s.starts_with(p),
    )
}

fn ends(s: &str, p: &str, cs: bool) -> bool {
    if cs {
        return s.ends_with(p);
    }
    fold_both(
        s,
        p,
        |s, p| s.len() >= p.len() && s[s.len() - p.len()..].eq_ignore_ascii_case(p),
        |s, p| s.ends_with(p),
    )
}

fn contains(s: &str, p: &str, cs: bool) -> bool {
    if cs {
        return s.contains(p);
    }
    fold_both(
        s,
        p,
        |s, p| p.is_empty() || s.windows(p.len()).any(|w| w.eq_ignore_ascii_case(p)),
        |s, p| s.contains(p),
    )
}

fn equals(s: &str, p: &str, cs: bool) -> bool {
    if cs {
        return s == p;
    }
    fold_both(s, p, |s, p| s.eq_ignore_ascii_case(p), |s, p| s == p)
}

macro_rules! string_predicates {
    ($($fname:ident => |$s:ident, $p:ident, $cs:ident| $body:expr;)*) => {
        $(
            fn $fname<'a>(a: &'a Apply, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> bool {
                str_pred(a, cx, fr, |$s, $p, $cs| $body)
            }
        )*
    };
}

string_predicates! {
    starts_with => |s, p, cs| starts(s, p, cs);
    does_not_start_with => |s, p, cs| !starts(s, p, cs);
    ends_with => |s, p, cs| ends(s, p, cs);
    does_not_end_with => |s, p, cs| !ends(s, p, cs);
    contains_fn => |s, p, cs| contains(s, p, cs);
    does_not_contain => |s, p, cs| !contains(s, p, cs);
    equals_fn => |s, p, cs| equals(s, p, cs);
    not_equal_to => |s, p, cs| !equals(s, p, cs);
}

// ---- like -------------------------------------------------------------------------------------

/// A compiled `like` pattern (D3.8): `%` any run, `_` one character, `\` escapes the next
/// character; the whole string must match, case-sensitively. Common shapes get a direct test.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum LikePattern {
    Exact(Box<str>),
    Prefix(Box<str>),
    Suffix(Box<str>),
    Contains(Box<str>),
    General(Box<[LikeTok]>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum LikeTok {
    Char(char),
    One,
    Any,
}

impl LikePattern {
    pub(crate) fn new(pattern: &str) -> LikePattern {
        let mut toks = Vec::new();
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            toks.push(match c {
                '%' => LikeTok::Any,
                '_' => LikeTok::One,
                '\\' => LikeTok::Char(chars.next().unwrap_or('\\')),
                c => LikeTok::Char(c),
            });
        }
        let lit = |ts: &[LikeTok]| -> Option<Box<str>> {
            ts.iter()
                .map(|t| match t {
                    LikeTok::Char(c) => Some(*c),
                    _ => None,
                })
                .collect::<Option<String>>()
                .map(String::into_boxed_str)
        };
        let n = toks.len();
        let is_any = |i: usize| toks.get(i) == Some(&LikeTok::Any);
        if let Some(s) = lit(&toks) {
            return LikePattern::Exact(s);
        }
        if n >= 1
            && is_any(n - 1)
            && let Some(s) = lit(&toks[..n - 1])
        {
            return LikePattern::Prefix(s);
        }
        if n >= 1
            && is_any(0)
            && let Some(s) = lit(&toks[1..])
        {
            return LikePattern::Suffix(s);
        }
        if n >= 2
            && is_any(0)
            && is_any(n - 1)
            && let Some(s) = lit(&toks[1..n - 1])
        {
            return LikePattern::Contains(s);
        }
        LikePattern::General(toks.into_boxed_slice())
    }

    pub(crate) fn matches(&self, s: &str) -> bool {
        match self {
            LikePattern::Exact(p) => s == &**p,
            LikePattern::Prefix(p) => s.starts_with(&**p),
            LikePattern::Suffix(p) => s.ends_with(&**p),
            LikePattern::Contains(p) => s.contains(&**p),
            LikePattern::General(toks) => like_general(toks, s),
        }
    }
}

/// Wildcard matching with single-star backtracking: linear in practice, O(n·m) at worst.
fn like_general(p: &[LikeTok], s: &str) -> bool {
    let (mut pi, mut si) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    loop {
        let Some(c) = s[si..].chars().next() else {
            return p[pi.min(p.len())..].iter().all(|t| *t == LikeTok::Any);
        };
        match p.get(pi) {
            Some(LikeTok::Any) => {
                star = Some((pi + 1, si));
                pi += 1;
                continue;
            }
            Some(LikeTok::One) => {
                pi += 1;
                si += c.len_utf8();
                continue;
            }
            Some(LikeTok::Char(x)) if *x == c => {
                pi += 1;
                si += c.len_utf8();
                continue;
            }
            _ => {}
        }
        let Some((sp, ss)) = star else {
            return false;
        };
        let skip = s[ss..].chars().next().map_or(1, char::len_utf8);
        star = Some((sp, ss + skip));
        pi = sp;
        si = ss + skip;
    }
}

fn like<'a>(a: &'a Apply, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> bool {
    let dynamic;
    let pattern = match &a.data {
        Data::Like(p) => p,
        _ => match &*eval(&a.args[1], cx, fr) {
            Value::Str(p) => {
                dynamic = LikePattern::new(p);
                &dynamic
            }
            _ => return false,
        },
    };
    !for_each_item(&a.args[0], cx, fr, &mut |item, _| match &*item {
        Value::Str(s) => !pattern.matches(s),
        _ => true,
    })
}

fn prepare_like(a: &mut Apply) -> Result<(), Prep> {
    if let Some(Node::Const(Value::Str(p))) = a.arg(1) {
        a.data = Data::Like(LikePattern::new(p));
    }
    Ok(())
}

// ---- regular expressions ----------------------------------------------------------------------

/// Compiles a PQL regular expression (Rust `regex` syntax, D6.11). Unsupported constructs get a
/// message naming them.
pub(crate) fn compile_regex(pattern: &str) -> Result<Regex, String> {
    Regex::new(pattern).map_err(|e| {
        if let Some(construct) = unsupported_construct(pattern) {
            return format!(
                "regular expression uses {construct}, which is not supported (Rust regex syntax: no look-around, no backreferences)"
            );
        }
        let detail = e.to_string();
        let summary = detail
            .lines()
            .rev()
            .find_map(|l| l.trim().strip_prefix("error: "))
            .unwrap_or(detail.trim());
        format!("invalid regular expression: {summary}")
    })
}

fn unsupported_construct(p: &str) -> Option<&'static str> {
    let mut chars = p.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('1'..='9') | Some('k') => return Some("a backreference"),
                _ => {}
            },
            '(' if chars.peek() == Some(&'?') => {
                let rest: String = chars.clone().take(3).collect();
                if rest.starts_with("?=")
                    || rest.starts_with("?!")
                    || rest.starts_with("?<=")
                    || rest.starts_with("?<!")
                {
                    return Some("look-around");
                }
            }
            _ => {}
        }
    }
    None
}

fn prepare_regex(a: &mut Apply) -> Result<(), Prep> {
    if let Some(Node::Const(Value::Str(p))) = a.arg(1) {
        let re = compile_regex(p).map_err(|message| Prep { arg: 1, message })?;
        a.data = Data::Regex(re);
    }
    Ok(())
}

/// The compiled regex of a call, or the dynamic pattern compiled now (a bad one is null).
fn regex_of<'a>(a: &'a Apply, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> Option<RegexRef<'a>> {
    match &a.data {
        Data::Regex(re) => Some(RegexRef::Compiled(re)),
        _ => match &*eval(&a.args[1], cx, fr) {
            Value::Str(p) => Regex::new(p).ok().map(RegexRef::Dynamic),
            _ => None,
        },
    }
}

enum RegexRef<'a> {
    Compiled(&'a Regex),
    Dynamic(Regex),
}

impl RegexRef<'_> {
    fn get(&self) -> &Regex {
        match self {
            RegexRef::Compiled(r) => r,
            RegexRef::Dynamic(r) => r,
        }
    }
}

/// `s matches re`: an unanchored search (D3.7).
fn matches_fn<'a>(a: &'a Apply, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> bool {
    let Some(re) = regex_of(a, cx, fr) else {
        return false;
    };
    let re = re.get();
    !for_each_item(&a.args[0], cx, fr, &mut |item, _| match &*item {
        Value::Str(s) => !re.is_match(s),
        _ => true,
    })
}

/// `s.regexGroup(re, n)`: capture group n (default 0) of the first match; null when there is
/// no match, no such group, or the receiver is not a string.
fn regex_group<'a>(a: &'a Apply, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> Val<'a> {
    let group = match a.arg(2).map(|n| eval(n, cx, fr).into_value()) {
        None => 0,
        Some(Value::Int(n)) => match usize::try_from(n) {
            Ok(n) => n,
            Err(_) => return Val::NULL,
        },
        Some(_) => return Val::NULL,
    };
    let recv = eval(&a.args[0], cx, fr);
    let Value::Str(s) = &*recv else {
        return Val::NULL;
    };
    let Some(re) = regex_of(a, cx, fr) else {
        return Val::NULL;
    };
    match re.get().captures(s).and_then(|c| c.get(group)) {
        Some(m) => Val::Own(Value::Str(Arc::from(m.as_str()))),
        None => Val::NULL,
    }
}

const CASE: &[Kind] = &[Kind::Str, Kind::Bool];

pub(crate) const FUNCTIONS: &[FnDef] = &[
    FnDef::method("startsWith", CASE, 1, Impl::Test(starts_with)),
    FnDef::method("doesNotStartWith", CASE, 1, Impl::Test(does_not_start_with)),
    FnDef::method("endsWith", CASE, 1, Impl::Test(ends_with)),
    FnDef::method("doesNotEndWith", CASE, 1, Impl::Test(does_not_end_with)),
    FnDef::method("contains", CASE, 1, Impl::Test(contains_fn)),
    FnDef::method("doesNotContain", CASE, 1, Impl::Test(does_not_contain)),
    FnDef::method("equals", CASE, 1, Impl::Test(equals_fn)),
    FnDef::method("notEqualTo", CASE, 1, Impl::Test(not_equal_to)),
    FnDef::method("like", &[Kind::Str], 1, Impl::Test(like)).with_prepare(prepare_like),
    FnDef::method("matches", &[Kind::Str], 1, Impl::Test(matches_fn)).with_prepare(prepare_regex),
    FnDef::method(
        "regexGroup",
        &[Kind::Str, Kind::Int],
        1,
        Impl::Value(regex_group),
    )
    .with_prepare(prepare_regex),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pql::eval::testing::{check, compile_err, data, eval_json};
    use serde_json::json;

    fn p() -> crate::pql::eval::testing::Data {
        data(json!({
            "person": {"name": "John Smith", "emailAddress": "jsmith2010@gmail.com",
                       "nick": "UpJohn", "greek": "ΣΊΣΥΦΟΣ", "firstName": "Johnny"},
            "workEmail": {"address": "joe@MIT.edu"},
            "personalEmail": {"address": "ann@TestXDMMail.com"},
            "city": "Los Angeles",
            "num": 42,
            "pct": "100%_off",
            "tags": ["alpha", "beta"]
        }))
    }

    #[test]
    fn starts_and_ends_with() {
        let p = p();
        check(&p, "person.name.startsWith(\"John\")", true);
        check(&p, "person.name.startsWith(\"john\")", false);
        check(&p, "person.name.startsWith(\"john\", false)", true);
        check(&p, "person.name.startsWith(\"john\", true)", false);
        check(&p, "person.name.doesNotStartWith(\"Joe\")", true);
        check(&p, "person.missing.doesNotStartWith(\"Joe\")", false);
        check(&p, "person.missing.startsWith(\"Joe\")", false);
        check(&p, "person.emailAddress.endsWith(\".com\")", true);
        check(&p, "person.emailAddress.doesNotEndWith(\".com\")", false);
        check(
            &p,
            "personalEmail.address.endsWith(\"testxdmmail.com\", false)",
            true,
        );
        check(
            &p,
            "personalEmail.address.endsWith(\"testxdmmail.com\")",
            false,
        );
        check(&p, "num.startsWith(\"4\")", false);
        check(&p, "num.doesNotStartWith(\"4\")", false);
    }

    #[test]
    fn contains_equals_and_not_equal_to() {
        let p = p();
        check(&p, "person.emailAddress.contains(\"2010@gm\")", true);
        check(&p, "person.emailAddress.contains(\"2010@GM\")", false);
        check(&p, "person.emailAddress.contains(\"2010@GM\", false)", true);
        check(&p, "person.emailAddress.doesNotContain(\"2010@gm\")", false);
        check(&p, "person.missing.doesNotContain(\"2010@gm\")", false);
        check(&p, "person.firstName.equals(\"Johnny\")", true);
        check(&p, "person.firstName.equals(\"JOHNNY\")", false);
        check(&p, "person.firstName.equals(\"JOHNNY\", false)", true);
        check(&p, "person.firstName.notEqualTo(\"John\")", true);
        check(&p, "person.missing.notEqualTo(\"John\")", false);
        check(&p, "person.greek.equals(\"σίσυφος\", false)", true);
        check(&p, "person.greek.contains(\"ΣΥΦ\")", true);
        check(&p, "tags.contains(\"et\")", true);
        check(&p, "tags.equals(\"gamma\")", false);
    }

    #[test]
    fn like_patterns() {
        let p = p();
        check(&p, "city like \"%es%\"", true);
        check(&p, "city like \"%ES%\"", false);
        check(&p, "city like \"Los%\"", true);
        check(&p, "city like \"%Angeles\"", true);
        check(&p, "city like \"Los Angeles\"", true);
        check(&p, "city like \"Los\"", false);
        check(&p, "city like \"L_s A%s\"", true);
        check(&p, "city like \"L_s\"", false);
        check(&p, "city.like(\"%geles\")", true);
        check(&p, "workEmail.address like \"%.edu\"", true);
        check(&p, "pct like \"100\\\\%\\\\_off\"", true);
        check(&p, "pct like \"100\\\\%x_off\"", false);
        check(&p, "person.missing like \"%\"", false);
        check(&p, "num like \"%\"", false);
        check(&p, "person.greek like \"_Ί%Σ\"", true);
    }

    #[test]
    fn like_general_backtracks() {
        let pat = LikePattern::new("a%b%c_");
        assert!(matches!(pat, LikePattern::General(_)));
        assert!(pat.matches("abcx"));
        assert!(pat.matches("aXbYbZcQ"));
        assert!(!pat.matches("abc"));
        assert!(LikePattern::new("%").matches(""));
        assert!(!LikePattern::new("_").matches(""));
        assert!(LikePattern::new("%a%a%").matches("banana"));
    }

    #[test]
    fn matches_is_an_unanchored_search() {
        let p = p();
        check(&p, "person.nick matches \"John\"", true);
        check(&p, "person.nick matches \"^John\"", false);
        check(&p, "person.name.matches(\"(?i)^john\")", true);
        check(&p, "person.name.matches(\"^john\")", false);
        check(&p, "person.name matches \"Smith$\"", true);
        check(&p, "person.name matches \"J.hn\"", true);
        check(&p, "person.missing matches \".*\"", false);
        check(&p, "num matches \"4\"", false);
    }

    #[test]
    fn regex_group_extracts_captures() {
        let p = p();
        assert_eq!(
            eval_json(&p, "person.emailAddress.regexGroup(\"@(\\\\w+)\", 1)"),
            json!("gmail")
        );
        assert_eq!(
            eval_json(&p, "person.emailAddress.regexGroup(\"@(\\\\w+)\")"),
            json!("@gmail")
        );
        assert_eq!(
            eval_json(&p, "person.emailAddress.regexGroup(\"@(\\\\w+)\", 2)"),
            json!(null)
        );
        assert_eq!(
            eval_json(&p, "person.name.regexGroup(\"@(\\\\w+)\", 1)"),
            json!(null)
        );
    }

    #[test]
    fn bad_regexes_are_compile_errors_naming_the_construct() {
        let e = compile_err("person.name.matches(\"(?=John)\")");
        assert!(e.message.contains("look-around"), "{}", e.message);
        assert_eq!(e.span.start, 20);
        let e = compile_err("person.name matches \"(a)\\\\1\"");
        assert!(e.message.contains("backreference"), "{}", e.message);
        let e = compile_err("person.name.regexGroup(\"(unclosed\", 1)");
        assert!(
            e.message.contains("invalid regular expression"),
            "{}",
            e.message
        );
    }

    #[test]
    fn wrong_literal_kinds_are_compile_errors() {
        let e = compile_err("person.name.startsWith(1)");
        assert!(e.message.contains("startsWith"), "{}", e.message);
        assert_eq!(e.span.start, 23);
        let e = compile_err("person.name.startsWith(\"a\", \"no\")");
        assert!(e.message.contains("boolean"), "{}", e.message);
        let e = compile_err("person.name.startWith(\"J\")");
        assert_eq!(e.hint.as_deref(), Some("did you mean 'startsWith'?"));
    }
}
