//! Checks JSON bodies against Adobe's OpenAPI file of the Segmentation API
//! (`tests/data/aep-segmentation-openapi.yaml`, an unmodified copy).
//!
//! OpenAPI 3.0 schemas are a dialect of JSON Schema draft 4: the YAML is converted to JSON (its
//! integer status keys become strings), `nullable: true` becomes a `null` alternative of `type`,
//! and a schema is checked as a document that carries the file's `components.schemas`, so its
//! `#/components/schemas/...` references resolve where they point.
//!
//! Where the file is wrong (see `docs/rest.md`), the tests say so next to the check they make
//! instead: the definitions list is checked against envelope A of API spec §2.11, and each item
//! against `SegmentDefinition`.

use std::sync::LazyLock;

use serde_json::{Map, Value, json};

const OPENAPI_YAML: &str = include_str!("../../../tests/data/aep-segmentation-openapi.yaml");

/// Fields the gateway adds to a definition beyond the OpenAPI `SegmentDefinition` properties,
/// all listed in API spec §3.1 (or, for `version`, on the definitions segment jobs embed).
pub const DEFINITION_EXTRA_FIELDS: &[&str] = &["sandbox", "ttlInDays", "version"];

/// Fields the gateway adds to a segment job beyond the OpenAPI `SegmentJob` properties
/// (`docs/rest.md`): the evaluation instant, progress, and how many times it was claimed.
pub const JOB_EXTRA_FIELDS: &[&str] = &["evaluationTime", "progress", "attempts"];

static SPEC: LazyLock<Value> = LazyLock::new(|| {
    let yaml: serde_norway::Value = serde_norway::from_str(OPENAPI_YAML).expect("OpenAPI YAML");
    openapi_to_json_schema(yaml_to_json(yaml))
});

fn yaml_to_json(v: serde_norway::Value) -> Value {
    use serde_norway::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                json!(i)
            } else if let Some(u) = n.as_u64() {
                json!(u)
            } else {
                json!(n.as_f64())
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(yaml_to_json).collect()),
        Y::Mapping(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (yaml_key(k), yaml_to_json(v)))
                .collect(),
        ),
        Y::Tagged(t) => yaml_to_json(t.value),
    }
}

fn yaml_key(k: serde_norway::Value) -> String {
    match yaml_to_json(k) {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

/// `nullable: true` (OpenAPI) -> `type: [T, "null"]` (JSON Schema), everywhere.
fn openapi_to_json_schema(v: Value) -> Value {
    match v {
        Value::Array(items) => {
            Value::Array(items.into_iter().map(openapi_to_json_schema).collect())
        }
        Value::Object(map) => {
            let nullable = map.get("nullable") == Some(&Value::Bool(true));
            let mut out: Map<String, Value> = map
                .into_iter()
                .filter(|(k, _)| k != "nullable")
                .map(|(k, v)| (k, openapi_to_json_schema(v)))
                .collect();
            if nullable && let Some(Value::String(t)) = out.get("type").cloned() {
                out.insert("type".into(), json!([t, "null"]));
            }
            Value::Object(out)
        }
        other => other,
    }
}

/// `schema` as a document carrying the file's components, so references resolve.
fn with_components(schema: &Value) -> Value {
    let mut doc = match schema {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    doc.insert(
        "components".into(),
        json!({"schemas": SPEC["components"]["schemas"].clone()}),
    );
    Value::Object(doc)
}

/// The schema of a named component (`SegmentDefinition`).
pub fn component(name: &str) -> Value {
    assert!(
        SPEC["components"]["schemas"].get(name).is_some(),
        "no component schema {name}"
    );
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// The schema of a response (`/segment/definitions`, `post`, `200`).
pub fn response_schema(path: &str, method: &str, status: u16) -> Value {
    SPEC["paths"][path][method]["responses"][status.to_string()]["content"]["application/json"]
        ["schema"]
        .clone()
}

/// The schema of a request body.
pub fn request_schema(path: &str, method: &str) -> Value {
    let content = &SPEC["paths"][path][method]["requestBody"]["content"];
    content
        .get("application/json")
        .or_else(|| content.get("*/*"))
        .map(|c| c["schema"].clone())
        .unwrap_or(Value::Null)
}

/// The named examples of a request body.
pub fn request_examples(path: &str, method: &str) -> Vec<(String, Value)> {
    let examples =
        &SPEC["paths"][path][method]["requestBody"]["content"]["application/json"]["examples"];
    examples
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(name, e)| (name.clone(), e["value"].clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// Asserts `instance` is valid against `schema` (a schema of the file or a literal one).
#[track_caller]
pub fn assert_valid(schema: &Value, instance: &Value, what: &str) {
    assert!(!schema.is_null(), "no schema for {what}");
    let doc = with_components(schema);
    let validator =
        jsonschema::draft4::new(&doc).unwrap_or_else(|e| panic!("schema of {what}: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not match the OpenAPI schema:\n{}\n{instance:#}",
        errors.join("\n")
    );
}

/// A definition: valid against `SegmentDefinition`, and every field it has is a property of
/// that schema or a documented extra (so a misspelt field cannot hide behind the schema's
/// openness).
#[track_caller]
pub fn assert_definition(instance: &Value) {
    assert_valid(
        &component("SegmentDefinition"),
        instance,
        "SegmentDefinition",
    );
    let known = &SPEC["components"]["schemas"]["SegmentDefinition"]["properties"];
    for key in instance.as_object().expect("an object").keys() {
        assert!(
            known.get(key).is_some() || DEFINITION_EXTRA_FIELDS.contains(&key.as_str()),
            "field {key} is neither in the OpenAPI SegmentDefinition nor a documented extra"
        );
    }
}

/// A segment job: valid against `SegmentJob`, every field a property of it or a documented
/// extra. A job created with `*` lists its segments as AEP's prose says, `[{"segmentId": "*"}]`,
/// which the file's `SegmentInfo` (requiring `segment`) does not allow; that one field is checked
/// on its own and the rest against the schema.
#[track_caller]
pub fn assert_job(instance: &Value) {
    let mut checked = instance.clone();
    if instance["segments"] == json!([{"segmentId": "*"}]) {
        checked["segments"] = json!([]);
    }
    assert_valid(&component("SegmentJob"), &checked, "SegmentJob");
    let known = &SPEC["components"]["schemas"]["SegmentJob"]["properties"];
    for key in instance.as_object().expect("an object").keys() {
        assert!(
            known.get(key).is_some() || JOB_EXTRA_FIELDS.contains(&key.as_str()),
            "field {key} is neither in the OpenAPI SegmentJob nor a documented extra"
        );
    }
}

/// Envelope A of API spec §2.11 (the OpenAPI file types this response as one definition, which
/// it is not), each item a `SegmentDefinition`.
#[track_caller]
pub fn assert_definition_list(body: &Value) {
    let envelope = json!({
        "type": "object",
        "required": ["segments", "page", "link"],
        "additionalProperties": false,
        "properties": {
            "segments": {"type": "array"},
            "page": {
                "type": "object",
                "required": ["totalCount", "totalPages", "sortField", "sort", "pageSize", "limit"],
                "properties": {
                    "totalCount": {"type": "integer", "minimum": 0},
                    "totalPages": {"type": "integer", "minimum": 0},
                    "sortField": {"enum": ["name", "creationTime", "updateTime"]},
                    "sort": {"enum": ["asc", "desc"]},
                    "pageSize": {"type": "integer", "minimum": 0},
                    "limit": {"type": "integer", "minimum": 1},
                    "start": {"type": "integer", "minimum": 0},
                    "next": {"type": "integer", "minimum": 0}
                }
            },
            "link": {
                "type": "object",
                "additionalProperties": false,
                "properties": {"next": {"type": "string", "minLength": 1}}
            }
        }
    });
    assert_valid(&envelope, body, "definition list envelope");
    for item in body["segments"].as_array().into_iter().flatten() {
        assert_definition(item);
    }
}

/// The AEP service error body, shape (b) of API spec §1.3; `errors` has one key, the status.
pub fn error_schema() -> Value {
    json!({
        "type": "object",
        "required": ["requestId", "errors", "type", "title", "status"],
        "properties": {
            "requestId": {"type": "string", "minLength": 1},
            "errors": {
                "type": "object",
                "minProperties": 1,
                "maxProperties": 1,
                "additionalProperties": false,
                "patternProperties": {
                    "^[1-5][0-9][0-9]$": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {
                                "code": {"type": ["string", "integer"]},
                                "message": {"type": "string"}
                            }
                        }
                    }
                }
            },
            "type": {
                "type": "string",
                "pattern": "^https://ns\\.adobe\\.com/aep/errors/(UPAPI|UPLIB)-[0-9]+-[0-9]{3}$"
            },
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 100, "maximum": 599}
        }
    })
}

#[track_caller]
pub fn assert_error_shape(body: &Value) {
    assert_valid(&error_schema(), body, "AEP error body");
    let status = body["status"].to_string();
    assert!(
        body["errors"].get(&status).is_some(),
        "errors is keyed by the status: {body}"
    );
}

/// Every example in the file that looks like a service error body (has `requestId`, `errors`
/// and `type` at its top level).
fn error_examples(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Object(m) => {
            if m.contains_key("requestId") && m.contains_key("errors") && m.contains_key("type") {
                out.push(v.clone());
            }
            m.values().for_each(|c| error_examples(c, out));
        }
        Value::Array(items) => items.iter().for_each(|c| error_examples(c, out)),
        _ => {}
    }
}

#[test]
fn the_error_schema_accepts_adobes_own_error_examples() {
    let mut examples = Vec::new();
    error_examples(&SPEC["paths"], &mut examples);
    assert!(examples.len() >= 5, "found {} examples", examples.len());
    for e in &examples {
        assert_valid(&error_schema(), e, "an OpenAPI error example");
    }
}

#[test]
fn the_schemas_reject_what_they_should() {
    // The validator is live: a definition without its required fields fails.
    let bad = json!({"name": 3});
    let doc = with_components(&component("SegmentDefinition"));
    let validator = jsonschema::draft4::new(&doc).expect("schema");
    assert!(!validator.is_valid(&bad));
    assert!(
        !jsonschema::draft4::new(&with_components(&error_schema()))
            .expect("schema")
            .is_valid(
                &json!({"requestId": "r", "errors": {}, "type": "x", "title": "t", "status": 400})
            )
    );
    // nullable is translated.
    let schema = openapi_to_json_schema(json!({"type": "string", "nullable": true}));
    assert_eq!(schema, json!({"type": ["string", "null"]}));
    // The paths the gateway serves are in the file.
    for (path, method, status) in [
        ("/segment/definitions", "post", 200),
        ("/segment/definitions/{SEGMENT_ID}", "get", 200),
        ("/segment/definitions/{SEGMENT_ID}", "patch", 200),
        ("/segment/definitions/{SEGMENT_ID}", "delete", 200),
        ("/segment/definitions/bulk-get", "post", 207),
        ("/segment/conversion", "post", 200),
        ("/segment/jobs", "get", 200),
        ("/segment/jobs", "post", 200),
        ("/segment/jobs/{SEGMENT_JOB_ID}", "get", 200),
        ("/segment/jobs/bulk-get", "post", 207),
    ] {
        assert!(
            !response_schema(path, method, status).is_null(),
            "{method} {path} {status}"
        );
    }
}
