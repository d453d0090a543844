//! Definition expressions through the PQL engine: checking (parse and compile), the `inSegment`
//! ids an expression names, and conversion between pql/text and pql/json.
//!
//! The engine works on byte spans; here its errors become [`Error::InvalidPql`] on the field
//! `expression` with the 1-based line and column in the expression's own text, which is what the
//! edges put in the `google.rpc.BadRequest` field violation.

use crate::domain::definition::{
    EXPRESSION_TYPE_PQL, Expression, ExpressionFormat, ExpressionInput, MAX_EXPRESSION_BYTES,
    ValidatedExpression,
};
use crate::error::Error;
use crate::pql::{self, PqlError};

/// The field PQL errors are reported on.
pub const EXPRESSION_FIELD: &str = "expression";

/// Checks `{type, format, value}` and the PQL itself.
pub fn validate(input: &ExpressionInput) -> Result<ValidatedExpression, Error> {
    let expression = check_input(input)?;
    let (expr, program) = compile(&expression)?;
    Ok(ValidatedExpression {
        canonical_text: pql::printer::print(&expr),
        segment_refs: program.segment_refs().to_vec(),
        expression,
    })
}

/// Converts a valid expression to `target` (`None`: the other format). Converting to the same
/// format normalises it (canonical text, compact JSON).
pub fn convert(input: &ExpressionInput, target: Option<&str>) -> Result<Expression, Error> {
    let expression = check_input(input)?;
    let target = match target {
        Some(t) if !t.is_empty() => ExpressionFormat::parse(t, "target_format")?,
        Some(_) | None => expression.format.other(),
    };
    let (expr, _) = compile(&expression)?;
    let value = match target {
        ExpressionFormat::Text => pql::printer::print(&expr),
        ExpressionFormat::Json => pql::json::to_json_string(&expr),
    };
    Ok(Expression {
        format: target,
        value,
    })
}

/// The wire fields checked: type `PQL` (or empty), a known format (empty: pql/text), a value
/// that is present and within [`MAX_EXPRESSION_BYTES`].
fn check_input(input: &ExpressionInput) -> Result<Expression, Error> {
    if !input.r#type.is_empty() && input.r#type != EXPRESSION_TYPE_PQL {
        return Err(Error::invalid(
            "expression.type",
            format!(
                "unsupported expression type '{}'; only PQL is supported",
                input.r#type
            ),
        ));
    }
    let format = if input.format.is_empty() {
        ExpressionFormat::Text
    } else {
        ExpressionFormat::parse(&input.format, "expression.format")?
    };
    if input.value.trim().is_empty() {
        return Err(Error::invalid("expression.value", "must not be empty"));
    }
    if input.value.len() > MAX_EXPRESSION_BYTES {
        return Err(Error::invalid(
            "expression.value",
            format!(
                "{} bytes; at most {MAX_EXPRESSION_BYTES} are allowed",
                input.value.len()
            ),
        ));
    }
    Ok(Expression {
        format,
        value: input.value.clone(),
    })
}

fn compile(e: &Expression) -> Result<(pql::Expr, pql::Program), Error> {
    let src = e.value.as_str();
    let expr = match e.format {
        ExpressionFormat::Text => pql::parser::parse(src),
        ExpressionFormat::Json => pql::json::from_json_str(src),
    }
    .map_err(|err| pql_error(&err, src))?;
    let program = pql::compile(&expr).map_err(|err| pql_error(&err, src))?;
    Ok((expr, program))
}

fn pql_error(err: &PqlError, src: &str) -> Error {
    let (line, column) = err.line_col(src);
    Error::InvalidPql {
        field: EXPRESSION_FIELD.to_owned(),
        message: err.to_string(),
        line,
        column,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &str) -> ExpressionInput {
        ExpressionInput {
            r#type: "PQL".into(),
            format: "pql/text".into(),
            value: value.into(),
        }
    }

    #[test]
    fn validates_and_lists_references() {
        let v = validate(&text(
            r#"inSegment("b") and homeAddress.country = "US" or inSegment("a") or inSegment("b")"#,
        ))
        .unwrap();
        assert_eq!(v.segment_refs, vec!["a", "b"]);
        assert!(
            v.canonical_text.contains("inSegment(\"a\")"),
            "{}",
            v.canonical_text
        );
    }

    #[test]
    fn reports_the_line_and_column_of_bad_pql() {
        let err =
            validate(&text("person.age > 3 and\n  person.name.startWith(\"A\")")).unwrap_err();
        match err {
            Error::InvalidPql {
                field,
                line,
                column,
                ..
            } => {
                assert_eq!(field, "expression");
                assert_eq!(line, 2, "{column}");
                assert!(column > 1);
            }
            other => panic!("{other:?}"),
        }
        let err = validate(&text("person.age >")).unwrap_err();
        assert!(matches!(err, Error::InvalidPql { line: 1, .. }), "{err:?}");
    }

    #[test]
    fn refuses_bad_wire_fields() {
        let mut arl = text("a = 1");
        arl.r#type = "ARL".into();
        let field = |e: Error| e.field_violations()[0].field.clone();
        assert_eq!(field(validate(&arl).unwrap_err()), "expression.type");
        let mut xml = text("a = 1");
        xml.format = "pql/xml".into();
        assert_eq!(field(validate(&xml).unwrap_err()), "expression.format");
        assert_eq!(
            field(validate(&text("  ")).unwrap_err()),
            "expression.value"
        );
        let huge = format!("a = \"{}\"", "x".repeat(MAX_EXPRESSION_BYTES));
        assert_eq!(
            field(validate(&text(&huge)).unwrap_err()),
            "expression.value"
        );
    }

    #[test]
    fn converts_both_ways() {
        let src = r#"workAddress.country = "US""#;
        let json = convert(&text(src), None).unwrap();
        assert_eq!(json.format, ExpressionFormat::Json);
        let tree: serde_json::Value = serde_json::from_str(&json.value).unwrap();
        assert_eq!(tree["fnName"], "=");
        let back = convert(
            &ExpressionInput {
                r#type: String::new(),
                format: "pql/json".into(),
                value: json.value.clone(),
            },
            Some("pql/text"),
        )
        .unwrap();
        assert_eq!(back.format, ExpressionFormat::Text);
        assert_eq!(back.value, src);
        assert!(convert(&text(src), Some("pql/yaml")).is_err());
        assert!(matches!(
            convert(&text("a ="), None),
            Err(Error::InvalidPql { .. })
        ));
    }
}
