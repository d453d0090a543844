//! Segment definitions in AEP's JSON (API spec §3.1) and back.
//!
//! Output follows the spec's field list: `id`, `name`, `description`, `expression{type, format,
//! value}`, `schema{name}`, `mergePolicyId`, `evaluationInfo{batch,continuous,synchronous}`,
//! `ttlInDays`, `profileInstanceId` (always `ups`), `imsOrgId`, `sandbox{…}`, `creationTime` and
//! `updateTime` (epoch ms), `updateEpoch` (epoch s) and `version`. Optional fields that are unset
//! are left out rather than sent as `null`, because the OpenAPI schemas type them as plain strings
//! and integers.
//!
//! Input is read leniently where AEP clients differ (PATCH bodies carry read-only fields back;
//! `evaluationInfo` may name only some methods) and strictly where a mistake would be silent (a
//! wrong type is a 400 naming the field).

use serde_json::{Map, Value, json};

use super::body::Fields;
use crate::auth::DEFAULT_SANDBOX;
use crate::context::Tenant;
use crate::domain::definition::EXPRESSION_TYPE_PQL;
use crate::domain::{
    DefinitionInput, DefinitionList, EvaluationInfo, Expression, ExpressionInput, SegmentDefinition,
};
use crate::error::Error;

/// AEP's only profile instance.
pub const PROFILE_INSTANCE_ID: &str = "ups";

/// The tenant's sandbox as AEP embeds it. This service keeps no sandbox registry: the name is
/// the id, `prod` is the default production sandbox and every other sandbox reads as development.
pub fn sandbox_json(tenant: &Tenant) -> Value {
    let default = tenant.sandbox == DEFAULT_SANDBOX;
    json!({
        "sandboxId": tenant.sandbox,
        "sandboxName": tenant.sandbox,
        "type": if default { "production" } else { "development" },
        "default": default,
    })
}

pub fn expression_json(expression: &Expression) -> Value {
    json!({
        "type": EXPRESSION_TYPE_PQL,
        "format": expression.format.as_str(),
        "value": expression.value,
    })
}

fn evaluation_info_json(info: &EvaluationInfo) -> Value {
    json!({
        "batch": {"enabled": info.batch},
        "continuous": {"enabled": info.continuous},
        "synchronous": {"enabled": info.synchronous},
    })
}

/// One definition as the AEP API returns it.
pub fn definition_json(def: &SegmentDefinition, tenant: &Tenant) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), def.id.clone().into());
    out.insert("name".into(), def.name.clone().into());
    if let Some(d) = &def.description {
        out.insert("description".into(), d.clone().into());
    }
    out.insert("expression".into(), expression_json(&def.expression));
    out.insert("schema".into(), json!({"name": def.schema_name}));
    if let Some(m) = &def.merge_policy_id {
        out.insert("mergePolicyId".into(), m.clone().into());
    }
    out.insert(
        "evaluationInfo".into(),
        evaluation_info_json(&def.evaluation_info),
    );
    if let Some(ttl) = def.ttl_in_days {
        out.insert("ttlInDays".into(), ttl.into());
    }
    out.insert("profileInstanceId".into(), PROFILE_INSTANCE_ID.into());
    out.insert("imsOrgId".into(), tenant.org.clone().into());
    out.insert("sandbox".into(), sandbox_json(tenant));
    out.insert("creationTime".into(), def.creation_time_ms.into());
    out.insert("updateTime".into(), def.update_time_ms.into());
    out.insert(
        "updateEpoch".into(),
        def.update_time_ms.div_euclid(1000).into(),
    );
    out.insert("version".into(), def.version.into());
    Value::Object(out)
}

/// The list envelope of `GET /segment/definitions` (API spec §2.11, envelope A):
/// `{"segments": [...], "page": {...}, "link": {"next": "..."}}`; `link` is `{}` on the last page.
pub fn list_json(list: &DefinitionList, tenant: &Tenant, next_href: Option<String>) -> Value {
    let page = &list.page;
    let limit = u64::from(page.limit.max(1));
    let mut page_json = Map::new();
    page_json.insert("totalCount".into(), page.total_count.into());
    page_json.insert("totalPages".into(), page.total_count.div_ceil(limit).into());
    page_json.insert("sortField".into(), list.sort.field.as_str().into());
    page_json.insert(
        "sort".into(),
        (if list.sort.descending { "desc" } else { "asc" }).into(),
    );
    page_json.insert("pageSize".into(), page.items.len().into());
    page_json.insert("limit".into(), page.limit.into());
    page_json.insert("start".into(), page.start.unwrap_or(0).into());
    if let Some(next) = page.next_start {
        page_json.insert("next".into(), next.into());
    }
    let mut link = Map::new();
    if let Some(href) = next_href {
        link.insert("next".into(), href.into());
    }
    json!({
        "segments": page.items.iter().map(|d| definition_json(d, tenant)).collect::<Vec<_>>(),
        "page": page_json,
        "link": link,
    })
}

/// `expression{type, format, value}`; `value` is required, the others default (PQL, pql/text).
pub fn expression_input(fields: &Fields<'_>) -> Result<ExpressionInput, Error> {
    Ok(ExpressionInput {
        r#type: fields.opt_str("type")?.unwrap_or_default().to_owned(),
        format: fields.opt_str("format")?.unwrap_or_default().to_owned(),
        value: fields.req_str("value")?.to_owned(),
    })
}

/// The `expression` object of a body, which is required.
pub fn body_expression(root: &Fields<'_>) -> Result<ExpressionInput, Error> {
    let fields = root
        .opt_object("expression")?
        .ok_or_else(|| root.missing("expression"))?;
    expression_input(&fields)
}

/// A create or overwrite body (`CreateSegmentDefinition` / `SegmentDefinition`). Read-only
/// fields (`id`, `imsOrgId`, `sandbox`, times, `version`) and `payloadSchema` are accepted and
/// ignored; the caller checks `id` against the path.
pub fn definition_input(body: &Value) -> Result<DefinitionInput, Error> {
    let root = Fields::root(body)?;
    root.opt_str("payloadSchema")?;
    root.opt_str("profileInstanceId")?;
    let schema_name = match root.opt_object("schema")? {
        Some(schema) => schema.req_str("name")?.to_owned(),
        None => String::new(),
    };
    Ok(DefinitionInput {
        name: root.req_str("name")?.to_owned(),
        description: root.opt_str("description")?.map(str::to_owned),
        expression: body_expression(&root)?,
        schema_name,
        merge_policy_id: root.opt_str("mergePolicyId")?.map(str::to_owned),
        evaluation_info: evaluation_info_input(&root)?,
        ttl_in_days: root.opt_u32("ttlInDays")?,
    })
}

/// `evaluationInfo`: a method that is not named is disabled; an object naming none (or no
/// object) means the default, batch.
fn evaluation_info_input(root: &Fields<'_>) -> Result<Option<EvaluationInfo>, Error> {
    let Some(info) = root.opt_object("evaluationInfo")? else {
        return Ok(None);
    };
    let method = |key: &str| -> Result<Option<bool>, Error> {
        match info.opt_object(key)? {
            Some(m) => Ok(Some(m.opt_bool("enabled")?.unwrap_or(false))),
            None => Ok(None),
        }
    };
    let (batch, continuous, synchronous) = (
        method("batch")?,
        method("continuous")?,
        method("synchronous")?,
    );
    if batch.is_none() && continuous.is_none() && synchronous.is_none() {
        return Ok(None);
    }
    Ok(Some(EvaluationInfo {
        batch: batch.unwrap_or(false),
        continuous: continuous.unwrap_or(false),
        synchronous: synchronous.unwrap_or(false),
    }))
}

/// The ids of a bulk-get body `{"ids": [{"id": "…"}, …]}`, in order.
pub fn bulk_get_ids(body: &Value) -> Result<Vec<String>, Error> {
    let root = Fields::root(body)?;
    let items = root.opt_array("ids")?.ok_or_else(|| root.missing("ids"))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item.get("id") {
            Some(Value::String(id)) => Ok(id.clone()),
            _ => Err(Error::invalid(
                format!("ids[{i}].id"),
                "expected an object {\"id\": \"<definition id>\"}",
            )),
        })
        .collect()
}

/// The answer of `POST /segment/conversion`: the request object as sent, with `expression`
/// replaced by the converted one and the tenant added (API spec §2.2).
pub fn conversion_json(body: &Value, converted: &Expression, tenant: &Tenant) -> Value {
    let mut out = body.as_object().cloned().unwrap_or_default();
    out.insert("expression".into(), expression_json(converted));
    out.insert("imsOrgId".into(), tenant.org.clone().into());
    out.insert("sandbox".into(), sandbox_json(tenant));
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluation_info_reads_partial_objects() {
        let body = json!({"name": "n", "expression": {"value": "a = 1"},
                          "evaluationInfo": {"continuous": {"enabled": true}}});
        let input = definition_input(&body).unwrap();
        assert_eq!(
            input.evaluation_info,
            Some(EvaluationInfo {
                batch: false,
                continuous: true,
                synchronous: false
            })
        );
        let body = json!({"name": "n", "expression": {"value": "a = 1"}, "evaluationInfo": {}});
        assert_eq!(definition_input(&body).unwrap().evaluation_info, None);
    }

    #[test]
    fn wrong_types_name_the_field() {
        let cases = [
            (json!({"expression": {"value": "x"}}), "name: is required"),
            (json!({"name": "n"}), "expression: is required"),
            (
                json!({"name": "n", "expression": {}}),
                "expression.value: is required",
            ),
            (
                json!({"name": "n", "expression": {"value": "x"}, "schema": {}}),
                "schema.name: is required",
            ),
            (
                json!({"name": "n", "expression": {"value": "x"}, "ttlInDays": "30"}),
                "ttlInDays: expected a non-negative integer",
            ),
            (
                json!({"name": "n", "expression": {"value": "x"},
                       "evaluationInfo": {"batch": {"enabled": "yes"}}}),
                "evaluationInfo.batch.enabled: expected true or false",
            ),
        ];
        for (body, want) in cases {
            let err = definition_input(&body).unwrap_err().to_string();
            assert!(err.starts_with(want), "{err} vs {want}");
        }
    }

    #[test]
    fn bulk_get_ids_are_read_in_order() {
        let body = json!({"ids": [{"id": "b"}, {"id": "a"}]});
        assert_eq!(bulk_get_ids(&body).unwrap(), vec!["b", "a"]);
        let err = bulk_get_ids(&json!({"ids": ["a"]})).unwrap_err();
        assert!(err.to_string().starts_with("ids[0].id"), "{err}");
        assert!(bulk_get_ids(&json!({})).is_err());
    }
}
