//! D5.3 over the whole golden corpus: for every case that compiles, pql/text -> pql/json ->
//! tree and pql/text -> printed text -> tree must mean the same thing, and the printer's text
//! must re-parse to the same tree.
//!
//! "The same thing" is checked by evaluation, not by comparing with the golden expectation: each
//! re-read tree is compiled and evaluated on the case's fixture and must give exactly what the
//! original text gives. A disagreement here is therefore a printer or pql/json defect, never an
//! evaluator one (those show up in `golden_files`).

use segmentation::pql::{ProfileRecord, compile, json, parser, printer};

use super::format::{Case, Expect};

/// Checks one case; `None` when every round trip agrees, else the explanation.
pub fn check(records: &[ProfileRecord], case: &Case) -> Option<String> {
    if matches!(case.expect, Expect::Error { .. }) {
        return None;
    }
    let Ok(tree) = parser::parse(&case.expr) else {
        return None; // reported by golden_files
    };
    let Ok(original) = compile(&tree) else {
        return None;
    };
    let mut problems = Vec::new();

    let printed = printer::print(&tree);
    match parser::parse(&printed) {
        Ok(reparsed) if reparsed.same_tree(&tree) => {}
        Ok(_) => problems.push(format!(
            "printed text re-parses to a different tree: {printed}"
        )),
        Err(e) => problems.push(format!(
            "printed text does not parse: {printed}\n      {}",
            e.describe(&printed)
        )),
    }

    let encoded = json::to_json(&tree);
    match json::from_json(&encoded) {
        Err(e) => problems.push(format!("pql/json does not read back: {e}\n      {encoded}")),
        Ok(decoded) => {
            let via_text = printer::print(&decoded);
            match parser::parse(&via_text).map(|t| json::to_json(&t)) {
                Ok(again) if again == encoded => {}
                Ok(again) => problems.push(format!(
                    "json -> text -> json changed the tree:\n      {encoded}\n      {again}"
                )),
                Err(e) => problems.push(format!(
                    "json -> text does not parse: {via_text}\n      {}",
                    e.describe(&via_text)
                )),
            }
            match compile(&decoded) {
                Err(e) => {
                    problems.push(format!("the tree read from pql/json does not compile: {e}"))
                }
                Ok(program) => {
                    if let Some(diff) = same_results(records, case, &original, &program) {
                        problems.push(format!("text and pql/json evaluate differently: {diff}"));
                    }
                }
            }
        }
    }
    (!problems.is_empty()).then(|| format!("    {}", problems.join("\n    ")))
}

/// The first profile on which the two programs disagree (by `matches` or by value).
fn same_results(
    records: &[ProfileRecord],
    case: &Case,
    a: &segmentation::pql::Program,
    b: &segmentation::pql::Program,
) -> Option<String> {
    for r in records {
        let ctx = r.context(case.now_ms);
        let (ma, mb) = (a.matches(&ctx), b.matches(&ctx));
        let (va, vb) = (a.evaluate(&ctx).to_json(), b.evaluate(&ctx).to_json());
        if ma != mb || super::json_text(&va) != super::json_text(&vb) {
            return Some(format!(
                "profile {}: text {va} ({ma}), json {vb} ({mb})",
                r.id
            ));
        }
    }
    None
}

/// The documented pair of Part 2 §4.2, as the spec prints it (whitespace aside).
const DOCUMENTED_JSON: &str = r#"{
  "nodeType": "fnApply",
  "fnName": "=",
  "params": [
    { "nodeType": "fieldLookup", "fieldName": "country",
      "object": { "nodeType": "fieldLookup", "fieldName": "workAddress",
                  "object": { "nodeType": "parameterReference", "position": 1 } } },
    { "nodeType": "literal", "literalType": "String", "value": "US" }
  ]
}"#;

/// Whether `tree` (read from pql/json) selects exactly the profiles whose work country is "US".
fn selects_us_workers(tree: &segmentation::pql::Expr) -> Result<(), String> {
    let records = ProfileRecord::parse_many(
        r#"[{"id": "us", "profile": {"workAddress": {"country": "US"}}},
            {"id": "ca", "profile": {"workAddress": {"country": "CA"}}},
            {"id": "none", "profile": {}}]"#,
    )
    .map_err(|e| e.to_string())?;
    let program = compile(tree).map_err(|e| e.to_string())?;
    let hits: Vec<&str> = records
        .iter()
        .filter(|r| program.matches(&r.context(0)))
        .map(|r| r.id.as_str())
        .collect();
    if hits == ["us"] {
        Ok(())
    } else {
        Err(format!("matched {hits:?}, expected [\"us\"]"))
    }
}

/// D5.1: the documented pair comes out byte-for-byte (modulo whitespace), and reads back.
#[test]
fn documented_json_pair_is_exact() {
    let tree = parser::parse(r#"workAddress.country = "US""#).expect("parses");
    let expected: serde_json::Value = serde_json::from_str(DOCUMENTED_JSON).expect("valid JSON");
    assert_eq!(
        json::to_json(&tree).to_string(),
        expected.to_string(),
        "D5.1: §4.2 pair"
    );
    let read = json::from_json(&expected).expect("D5.1: the documented JSON reads");
    selects_us_workers(&read).expect("D5.1: the documented JSON means the text");
}

/// D5.2: `value` may be a JSON string holding the tree, and `literalType` may be in any case.
#[test]
fn json_reader_accepts_documented_variants() {
    let stringified = serde_json::Value::String(
        serde_json::from_str::<serde_json::Value>(DOCUMENTED_JSON)
            .expect("valid JSON")
            .to_string(),
    );
    let read = json::from_json(&stringified).expect("D5.2: a stringified tree reads");
    selects_us_workers(&read).expect("D5.2: stringified tree");
    for spelling in ["string", "STRING", "sTrInG"] {
        let text = DOCUMENTED_JSON.replace("\"String\"", &format!("\"{spelling}\""));
        let value: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        let read = json::from_json(&value)
            .unwrap_or_else(|e| panic!("D5.2: literalType {spelling:?} is refused: {e}"));
        selects_us_workers(&read).unwrap_or_else(|e| panic!("D5.2: {spelling:?}: {e}"));
    }
}
