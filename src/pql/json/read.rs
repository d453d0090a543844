//! pql/json -> syntax tree: the node types other than `fnApply` (which is in [`apply`]), with
//! the scoping that decides what a `fieldLookup` or `varRef` becomes (see `json.rs`).
//!
//! Every function takes the JSON path of the node it reads (for error messages) and the tree
//! depth the resulting expression will sit at, checked against [`MAX_DEPTH`] on entry.

use serde_json::{Map, Value};

use super::{MAX_DEPTH, err};
use crate::pql::ast::{BinderKind, Expr, ExprKind, Literal, Span, VarDecl};
use crate::pql::error::{PqlError, nearest};

mod apply;

type Result<T> = std::result::Result<T, PqlError>;

const NODE_TYPES: [&str; 9] = [
    "fnApply",
    "fnCreate",
    "literal",
    "fieldLookup",
    "parameterReference",
    "quantification",
    "select",
    "varDecl",
    "varRef",
];

#[derive(Default)]
pub(super) struct Reader {
    /// Variables in scope, innermost last.
    vars: Vec<String>,
    /// Whether bare field names are read from the item of an implicit context.
    item: bool,
}

pub(super) fn node(kind: ExprKind) -> Expr {
    Expr::new(kind, Span::default())
}

/// `path` + `.key` (or `key` at the root).
pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

pub(super) fn index(path: &str, key: &str, i: usize) -> String {
    format!("{}[{i}]", join(path, key))
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub(super) fn as_object<'v>(v: &'v Value, path: &str) -> Result<&'v Map<String, Value>> {
    v.as_object().ok_or_else(|| {
        err(
            path,
            &format!("expected a node object, found {}", kind_of(v)),
        )
    })
}

pub(super) fn str_field<'v>(m: &'v Map<String, Value>, key: &str, path: &str) -> Result<&'v str> {
    match m.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(err(
            &join(path, key),
            &format!("expected a string, found {}", kind_of(other)),
        )),
        None => Err(err(&join(path, key), "missing")),
    }
}

pub(super) fn array_field<'v>(
    m: &'v Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'v [Value]> {
    match m.get(key) {
        Some(Value::Array(a)) => Ok(a),
        Some(other) => Err(err(
            &join(path, key),
            &format!("expected an array, found {}", kind_of(other)),
        )),
        None => Err(err(&join(path, key), "missing")),
    }
}

/// A variable name: an identifier, so that it prints as pql/text.
fn var_name<'v>(m: &'v Map<String, Value>, path: &str) -> Result<&'v str> {
    let name = str_field(m, "varName", path)?;
    identifier(name, &join(path, "varName"))?;
    Ok(name)
}

/// Checks that `name` is a pql/text identifier (variable names, chain step labels).
pub(super) fn identifier(name: &str, path: &str) -> Result<String> {
    let mut chars = name.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric());
    if ok {
        Ok(name.to_string())
    } else {
        Err(err(
            path,
            &format!(
                "'{name}' is not an identifier (letters, digits and _, not starting with a digit)"
            ),
        ))
    }
}

/// Whether `v` denotes the profile root: `parameterReference` 1, or the legacy
/// `literal XDMObject "profile"`.
fn is_profile_root(v: &Value) -> bool {
    let Some(m) = v.as_object() else {
        return false;
    };
    match m.get("nodeType").and_then(Value::as_str) {
        Some("parameterReference") => m.get("position").and_then(Value::as_u64) == Some(1),
        Some("literal") => {
            let ty = m.get("literalType").and_then(Value::as_str);
            let value = m.get("value").and_then(Value::as_str);
            ty.is_some_and(|t| t.eq_ignore_ascii_case("XDMObject"))
                && value.is_some_and(|v| v.eq_ignore_ascii_case("profile"))
        }
        _ => false,
    }
}

impl Reader {
    pub(super) fn root(&mut self, v: &Value) -> Result<Expr> {
        self.expr(v, "", 1)
    }

    pub(super) fn expr(&mut self, v: &Value, path: &str, depth: usize) -> Result<Expr> {
        if depth > MAX_DEPTH {
            return Err(err(
                path,
                &format!("expression nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        let m = as_object(v, path)?;
        let node_type = str_field(m, "nodeType", path)?;
        match node_type {
            "literal" => self.literal(m, path, depth),
            "fieldLookup" => self.field_lookup(m, path, depth),
            "parameterReference" => {
                let position = m.get("position").and_then(Value::as_u64);
                match position.and_then(|p| u32::try_from(p).ok()) {
                    Some(p) => Ok(node(ExprKind::Param(p))),
                    None => Err(err(
                        &join(path, "position"),
                        "expected a non-negative integer",
                    )),
                }
            }
            "varRef" => self.var_ref(m, path),
            "select" => self.binder(BinderKind::Select, m, path, depth),
            "quantification" => {
                let kind = quantifier(m, path)?;
                self.binder(kind, m, path, depth)
            }
            "fnCreate" => self.lambda(m, path, depth),
            "fnApply" => self.fn_apply(m, path, depth),
            "varDecl" => Err(err(
                path,
                "a varDecl is only valid in the variables of a select or quantification",
            )),
            other => {
                let e = err(
                    &join(path, "nodeType"),
                    &format!("unknown nodeType '{other}'"),
                );
                Err(match nearest(other, NODE_TYPES) {
                    Some(n) => e.with_hint(format!("did you mean '{n}'?")),
                    None => e,
                })
            }
        }
    }

    fn var_ref(&self, m: &Map<String, Value>, path: &str) -> Result<Expr> {
        let name = var_name(m, path)?;
        if self.is_var(name) {
            Ok(node(ExprKind::Name(name.to_string())))
        } else {
            Err(err(
                &join(path, "varName"),
                &format!("'{name}' is not a variable in scope here"),
            ))
        }
    }

    pub(super) fn is_var(&self, name: &str) -> bool {
        self.vars.iter().any(|v| v == name)
    }

    pub(super) fn in_item<T>(&mut self, f: impl FnOnce(&mut Reader) -> Result<T>) -> Result<T> {
        let saved = std::mem::replace(&mut self.item, true);
        let r = f(self);
        self.item = saved;
        r
    }

    fn literal(&mut self, m: &Map<String, Value>, path: &str, depth: usize) -> Result<Expr> {
        let ty = str_field(m, "literalType", path)?;
        let vpath = join(path, "value");
        let value = m.get("value").ok_or_else(|| err(&vpath, "missing"))?;
        let lit = match ty.to_ascii_lowercase().as_str() {
            "string" => match value {
                Value::String(s) => Literal::Str(s.clone()),
                other => return Err(expected(&vpath, "a string", other)),
            },
            "integer" => Literal::Int(integer(value, &vpath)?),
            "number" => Literal::Float(number(value, &vpath)?),
            "boolean" => Literal::Bool(boolean(value, &vpath)?),
            "list" => match value {
                Value::Array(items) => return self.raw_list(items, &vpath, depth),
                other => return Err(expected(&vpath, "an array", other)),
            },
            "xdmobject"
                if value
                    .as_str()
                    .is_some_and(|v| v.eq_ignore_ascii_case("profile")) =>
            {
                return Ok(node(ExprKind::Param(1)));
            }
            "xdmobject" => {
                return Err(err(
                    &vpath,
                    "only the XDMObject \"profile\" (the profile root) is supported",
                ));
            }
            _ => {
                return Err(err(
                    &join(path, "literalType"),
                    &format!(
                        "unsupported literalType '{ty}' (expected String, Integer, Number, \
                         Boolean, List or XDMObject)"
                    ),
                ));
            }
        };
        Ok(node(ExprKind::Literal(lit)))
    }

    /// A `List` literal's items: plain JSON scalars (the schema's form), nested arrays, or nodes.
    fn raw_list(&mut self, items: &[Value], path: &str, depth: usize) -> Result<Expr> {
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let ipath = format!("{path}[{i}]");
            if depth + 1 > MAX_DEPTH {
                return Err(err(
                    &ipath,
                    &format!("expression nested deeper than {MAX_DEPTH} levels"),
                ));
            }
            let lit = match item {
                Value::Object(_) => {
                    out.push(self.expr(item, &ipath, depth + 1)?);
                    continue;
                }
                Value::Array(inner) => {
                    out.push(self.raw_list(inner, &ipath, depth + 1)?);
                    continue;
                }
                Value::String(s) => Literal::Str(s.clone()),
                Value::Bool(b) => Literal::Bool(*b),
                Value::Number(n) => match n.as_i64() {
                    Some(i) => Literal::Int(i),
                    None if n.is_u64() => return Err(err(&ipath, "integer out of range")),
                    None => Literal::Float(n.as_f64().unwrap_or(f64::NAN)),
                },
                Value::Null => return Err(err(&ipath, "null is not a PQL value")),
            };
            out.push(node(ExprKind::Literal(lit)));
        }
        Ok(node(ExprKind::List(out)))
    }

    fn field_lookup(&mut self, m: &Map<String, Value>, path: &str, depth: usize) -> Result<Expr> {
        let name = str_field(m, "fieldName", path)?;
        if name.is_empty() {
            return Err(err(&join(path, "fieldName"), "empty field name"));
        }
        let field = |target: ExprKind| {
            node(ExprKind::Field {
                target: Box::new(node(target)),
                name: name.to_string(),
            })
        };
        let Some(object) = m.get("object") else {
            // No object: the implicit root, i.e. the innermost implicit context.
            return Ok(if name == "xEvent" && !self.item {
                node(ExprKind::XEvent)
            } else if self.is_var(name) || name == "xEvent" {
                field(if self.item {
                    ExprKind::This
                } else {
                    ExprKind::Param(1)
                })
            } else {
                node(ExprKind::Name(name.to_string()))
            });
        };
        if is_profile_root(object) {
            return Ok(if name == "xEvent" {
                node(ExprKind::XEvent)
            } else if !self.item && !self.is_var(name) {
                node(ExprKind::Name(name.to_string()))
            } else {
                field(ExprKind::Param(1))
            });
        }
        let opath = join(path, "object");
        if let Some(levels) = self.up_levels(object, &opath)? {
            return Ok(node(ExprKind::Up {
                levels,
                name: name.to_string(),
            }));
        }
        let target = self.expr(object, &opath, depth + 1)?;
        Ok(node(ExprKind::Field {
            target: Box::new(target),
            name: name.to_string(),
        }))
    }

    /// `fnApply "^" [Integer n]` as a fieldLookup's object: the context `n` filter levels up.
    fn up_levels(&mut self, v: &Value, path: &str) -> Result<Option<u32>> {
        let Some(m) = v.as_object() else {
            return Ok(None);
        };
        let is_up = m.get("nodeType").and_then(Value::as_str) == Some("fnApply")
            && m.get("fnName").and_then(Value::as_str) == Some(super::names::UP);
        if !is_up {
            return Ok(None);
        }
        let params = array_field(m, "params", path)?;
        let ppath = index(path, "params", 0);
        let [level] = params else {
            return Err(err(
                &join(path, "params"),
                "'^' takes one Integer param (the number of levels)",
            ));
        };
        let n = apply::integer_literal(level, &ppath)?;
        match u32::try_from(n) {
            Ok(n) if n >= 1 => Ok(Some(n)),
            _ => Err(err(&ppath, "the number of levels must be at least 1")),
        }
    }

    /// Reads `variables` (varDecls) in order, pushing each variable once its domain is read.
    /// The variables stay in scope when this returns (the caller truncates).
    fn decls(&mut self, m: &Map<String, Value>, path: &str, depth: usize) -> Result<Vec<VarDecl>> {
        let vars = array_field(m, "variables", path)?;
        if vars.is_empty() {
            return Err(err(
                &join(path, "variables"),
                "expected at least one varDecl",
            ));
        }
        let mut decls = Vec::with_capacity(vars.len());
        for (i, v) in vars.iter().enumerate() {
            let dpath = index(path, "variables", i);
            let d = as_object(v, &dpath)?;
            if let Some(t) = d.get("nodeType").and_then(Value::as_str)
                && t != "varDecl"
            {
                return Err(err(
                    &join(&dpath, "nodeType"),
                    &format!("expected a varDecl, found '{t}'"),
                ));
            }
            let name = var_name(d, &dpath)?.to_string();
            if decls.iter().any(|e: &VarDecl| e.name == name) {
                return Err(err(
                    &join(&dpath, "varName"),
                    &format!("variable '{name}' is declared twice in this binder"),
                ));
            }
            // `range` is the legacy spelling of `from`.
            let (key, domain) = match (d.get("from"), d.get("range")) {
                (Some(f), _) => ("from", f),
                (None, Some(r)) => ("range", r),
                (None, None) => return Err(err(&join(&dpath, "from"), "missing")),
            };
            let domain = self.expr(domain, &join(&dpath, key), depth + 1)?;
            self.vars.push(name.clone());
            let cond = match d.get("where") {
                Some(c) => Some(self.expr(c, &join(&dpath, "where"), depth + 1)?),
                None => None,
            };
            decls.push(VarDecl {
                name,
                domain,
                cond,
                span: Span::default(),
            });
        }
        Ok(decls)
    }

    fn binder(
        &mut self,
        kind: BinderKind,
        m: &Map<String, Value>,
        path: &str,
        depth: usize,
    ) -> Result<Expr> {
        let mark = self.vars.len();
        let decls = self.decls(m, path, depth)?;
        self.vars.truncate(mark);
        Ok(node(ExprKind::Binder { kind, decls }))
    }

    fn lambda(&mut self, m: &Map<String, Value>, path: &str, depth: usize) -> Result<Expr> {
        let params = array_field(m, "params", path)?;
        let mut names = Vec::with_capacity(params.len());
        for (i, p) in params.iter().enumerate() {
            let ppath = index(path, "params", i);
            let name = var_name(as_object(p, &ppath)?, &ppath)?.to_string();
            if names.contains(&name) {
                return Err(err(
                    &join(&ppath, "varName"),
                    &format!("lambda parameter '{name}' is declared twice"),
                ));
            }
            names.push(name);
        }
        let body = m
            .get("body")
            .ok_or_else(|| err(&join(path, "body"), "missing"))?;
        let mark = self.vars.len();
        self.vars.extend(names.iter().cloned());
        let body = self.expr(body, &join(path, "body"), depth + 1);
        self.vars.truncate(mark);
        Ok(node(ExprKind::Lambda {
            params: names,
            body: Box::new(body?),
        }))
    }
}

/// `some`/`all`/`none`/`one` (also `exists`/`forall`), in any case.
fn quantifier(m: &Map<String, Value>, path: &str) -> Result<BinderKind> {
    let q = str_field(m, "quantifier", path)?;
    Ok(match q.to_ascii_lowercase().as_str() {
        "some" | "exists" => BinderKind::Exists,
        "all" | "forall" => BinderKind::Forall,
        "none" => BinderKind::None,
        "one" => BinderKind::One,
        _ => {
            return Err(err(
                &join(path, "quantifier"),
                &format!("unknown quantifier '{q}' (expected some, all, none or one)"),
            ));
        }
    })
}

fn expected(path: &str, what: &str, found: &Value) -> PqlError {
    err(path, &format!("expected {what}, found {}", kind_of(found)))
}

/// An `Integer` literal's value: a JSON integer, an integral JSON number, or (legacy) a string
/// holding one (`"6"`).
pub(super) fn integer(v: &Value, path: &str) -> Result<i64> {
    let parsed = match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    parsed.ok_or_else(|| expected(path, "an integer (i64)", v))
}

/// A `Number` literal's value: a JSON number, or a string holding one (also `NaN`, `Infinity`).
fn number(v: &Value, path: &str) -> Result<f64> {
    let parsed = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    parsed.ok_or_else(|| expected(path, "a number", v))
}

fn boolean(v: &Value, path: &str) -> Result<bool> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s == "true" => Ok(true),
        Value::String(s) if s == "false" => Ok(false),
        other => Err(expected(path, "a boolean", other)),
    }
}
