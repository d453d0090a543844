//! `segmentation pql ...` as a user runs it: the real binary, real files, exit codes.

use std::process::{Command, Output};

fn pql(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_segmentation"))
        .arg("pql")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the segmentation binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn check_prints_canonical_text() {
    let o = pql(&[
        "check",
        r#"homeAddress.countryCode = 'CA'   AND person.birthYear=1985"#,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o).trim(),
        r#"homeAddress.countryCode = "CA" and person.birthYear = 1985"#
    );
}

#[test]
fn check_reports_line_column_and_caret_and_exits_1() {
    let o = pql(&["check", "person.name.firstName.startWith(\"A\")"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("1:23"), "{err}");
    assert!(err.contains("startsWith"), "{err}");
    let caret_line = err.lines().find(|l| l.contains('^')).expect("a caret line");
    assert_eq!(caret_line.find('^'), Some("  | ".len() + 22), "{err}");
}

#[test]
fn check_reads_the_expression_from_a_file() {
    let dir = std::env::temp_dir().join(format!("pql-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("expr.pql");
    std::fs::write(&path, "person.birthYear >= 1990\n").unwrap();
    let o = pql(&["check", &format!("@{}", path.display())]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "person.birthYear >= 1990");
}

#[test]
fn convert_text_to_json_gives_the_documented_pair() {
    let o = pql(&["convert", "--to", "json", r#"workAddress.country = "US""#]);
    assert!(o.status.success(), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let expected = serde_json::json!({
        "nodeType": "fnApply",
        "fnName": "=",
        "params": [
            {"nodeType": "fieldLookup", "fieldName": "country",
             "object": {"nodeType": "fieldLookup", "fieldName": "workAddress",
                        "object": {"nodeType": "parameterReference", "position": 1}}},
            {"nodeType": "literal", "literalType": "String", "value": "US"}
        ]
    });
    assert_eq!(json, expected);
}

#[test]
fn convert_json_back_to_text() {
    let text = r#"person.name.firstName.startsWith("an", false) and xEvent[eventType = "commerce.purchases"].count() > 0"#;
    let o = pql(&["convert", "--to", "json", text]);
    assert!(o.status.success(), "{}", stderr(&o));
    let back = pql(&["convert", "--to", "text", &stdout(&o)]);
    assert!(back.status.success(), "{}", stderr(&back));
    assert_eq!(stdout(&back).trim(), text);
}

#[test]
fn convert_rejects_bad_json_with_exit_1() {
    let o = pql(&[
        "convert",
        "--to",
        "text",
        r#"{"nodeType": "fnApply", "fnName": "="}"#,
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!stderr(&o).is_empty());
}

#[test]
fn eval_prints_matching_ids_in_file_order() {
    let o = pql(&[
        "eval",
        "--profiles",
        "examples/profiles.json",
        "--at",
        "2024-06-15T12:00:00Z",
        r#"homeAddress.countryCode = "CA" or person.birthYear = 1985"#,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "ana\nchloe\ndev\n");
}

#[test]
fn eval_uses_the_given_instant_events_and_memberships() {
    let run = |expr: &str| {
        let o = pql(&[
            "eval",
            "--profiles",
            "examples/profiles.json",
            "--at",
            "2024-06-15T12:00:00Z",
            expr,
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
    };
    assert_eq!(
        run(
            r#"chain(xEvent, timestamp, [A: WHAT(eventType = "commerce.productListAdds") WHEN(<= 24 hours before now)])"#
        ),
        "ben\n"
    );
    assert_eq!(
        run(
            r#"chain(xEvent, timestamp, [A: WHAT(eventType = "commerce.productListAdds"), B: WHAT(eventType = "commerce.purchases")])"#
        ),
        "ana\n"
    );
    assert_eq!(run(r#"inSegment("loyal-customers")"#), "ana\n");
    assert_eq!(run("xEvent.count() = 0"), "chloe\n");
}

#[test]
fn eval_explain_shows_every_profile_with_its_value() {
    let o = pql(&[
        "eval",
        "--explain",
        "--profiles",
        "examples/profiles.json",
        "--at",
        "2024-06-15T12:00:00Z",
        "person.birthYear",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "ana\ttrue\t1985\nben\ttrue\t1992\nchloe\tfalse\tnull\ndev\ttrue\t1985\n"
    );
}

#[test]
fn eval_refuses_a_bad_instant_and_a_bad_file() {
    let o = pql(&[
        "eval",
        "--profiles",
        "examples/profiles.json",
        "--at",
        "yesterday",
        "true",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("RFC 3339"), "{}", stderr(&o));
    let o = pql(&[
        "eval",
        "--profiles",
        "no/such/file.json",
        "--at",
        "2024-06-15T12:00:00Z",
        "true",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("cannot read"), "{}", stderr(&o));
}

#[test]
fn expressions_may_start_with_a_minus_sign() {
    let o = pql(&["check", "-7 % 3 = -1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "-7 % 3 = -1");
}
