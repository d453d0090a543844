//! Wire <-> domain conversions for the gRPC edge.
//!
//! Inbound: `TryFrom<proto>` into the domain's request types. Only wire-level facts are checked
//! here (a required message is present, an enum number is known, a page size is not negative);
//! every rule about the values themselves lives in the domain, so both edges enforce the same
//! ones. proto3 has no "absent" for scalars, so the empty string and 0 mean "not given" (`None`).
//! Field paths in errors are the domain's, relative to the resource (`name`, `expression.format`).
//!
//! Outbound: `From<domain>` into proto messages; the tenant fields are filled from the request
//! context by [`with_tenant`]-style helpers because domain values do not repeat their tenant.

use crate::context::Tenant;
use crate::domain::{
    DefinitionInput, DefinitionListQuery, EvaluationFilter, EvaluationInfo, Expression,
    ExpressionFormat, ExpressionInput, Identity, MemberListQuery, Membership, Page, Profile,
    ProfileListQuery, ProfileLookup, RecordResult, RecordStatus, SegmentDefinition, SegmentMember,
};
use crate::error::Error;
use crate::grpc::pb;
use crate::grpc::status::error_detail;
use crate::pql::MembershipStatus;

// ---- shared -------------------------------------------------------------------------------

/// proto3 `""` -> `None`.
fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// A `page_size`: 0 means the default, negative is an error.
pub fn page_limit(page_size: i32) -> Result<Option<u32>, Error> {
    match u32::try_from(page_size) {
        Ok(0) => Ok(None),
        Ok(n) => Ok(Some(n)),
        Err(_) => Err(Error::invalid("page_size", "must not be negative")),
    }
}

fn total(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

// ---- expressions ----------------------------------------------------------------------------

/// The wire enum as the domain's format string (`""` = the domain default, pql/text).
fn format_name(format: i32, field: &str) -> Result<&'static str, Error> {
    match pb::ExpressionFormat::try_from(format) {
        Ok(pb::ExpressionFormat::Unspecified) => Ok(""),
        Ok(pb::ExpressionFormat::PqlText) => Ok(ExpressionFormat::Text.as_str()),
        Ok(pb::ExpressionFormat::PqlJson) => Ok(ExpressionFormat::Json.as_str()),
        Err(_) => Err(Error::invalid(
            field,
            format!("unknown expression format {format}"),
        )),
    }
}

impl TryFrom<pb::Expression> for ExpressionInput {
    type Error = Error;
    fn try_from(e: pb::Expression) -> Result<ExpressionInput, Error> {
        Ok(ExpressionInput {
            r#type: String::new(),
            format: format_name(e.format, "expression.format")?.to_owned(),
            value: e.value,
        })
    }
}

/// A required expression (`None` -> an error on `field`).
pub fn expression_input(e: Option<pb::Expression>, field: &str) -> Result<ExpressionInput, Error> {
    e.ok_or_else(|| Error::invalid(field, "required"))?
        .try_into()
}

/// `ConvertExpression.target_format`: unspecified means "the other format".
pub fn target_format(format: i32) -> Result<Option<&'static str>, Error> {
    let name = format_name(format, "target_format")?;
    Ok((!name.is_empty()).then_some(name))
}

impl From<ExpressionFormat> for pb::ExpressionFormat {
    fn from(f: ExpressionFormat) -> pb::ExpressionFormat {
        match f {
            ExpressionFormat::Text => pb::ExpressionFormat::PqlText,
            ExpressionFormat::Json => pb::ExpressionFormat::PqlJson,
        }
    }
}

impl From<Expression> for pb::Expression {
    fn from(e: Expression) -> pb::Expression {
        pb::Expression {
            format: pb::ExpressionFormat::from(e.format) as i32,
            value: e.value,
        }
    }
}

// ---- definitions ----------------------------------------------------------------------------

impl From<pb::EvaluationInfo> for EvaluationInfo {
    fn from(e: pb::EvaluationInfo) -> EvaluationInfo {
        EvaluationInfo {
            batch: e.batch_enabled,
            continuous: e.continuous_enabled,
            synchronous: e.synchronous_enabled,
        }
    }
}

impl From<EvaluationInfo> for pb::EvaluationInfo {
    fn from(e: EvaluationInfo) -> pb::EvaluationInfo {
        pb::EvaluationInfo {
            batch_enabled: e.batch,
            continuous_enabled: e.continuous,
            synchronous_enabled: e.synchronous,
        }
    }
}

/// The writable fields of a definition; output-only fields are ignored.
impl TryFrom<pb::SegmentDefinition> for DefinitionInput {
    type Error = Error;
    fn try_from(d: pb::SegmentDefinition) -> Result<DefinitionInput, Error> {
        Ok(DefinitionInput {
            name: d.name,
            description: non_empty(d.description),
            expression: expression_input(d.expression, "expression")?,
            schema_name: d.schema_name,
            merge_policy_id: non_empty(d.merge_policy_id),
            evaluation_info: d.evaluation_info.map(EvaluationInfo::from),
            ttl_in_days: (d.ttl_in_days != 0).then_some(d.ttl_in_days),
        })
    }
}

/// The definition message of a create or update request (required).
pub fn required_definition(
    d: Option<pb::SegmentDefinition>,
) -> Result<pb::SegmentDefinition, Error> {
    d.ok_or_else(|| Error::invalid("segment_definition", "required"))
}

impl From<SegmentDefinition> for pb::SegmentDefinition {
    fn from(d: SegmentDefinition) -> pb::SegmentDefinition {
        pb::SegmentDefinition {
            id: d.id,
            name: d.name,
            description: d.description.unwrap_or_default(),
            expression: Some(d.expression.into()),
            schema_name: d.schema_name,
            merge_policy_id: d.merge_policy_id.unwrap_or_default(),
            evaluation_info: Some(d.evaluation_info.into()),
            ttl_in_days: d.ttl_in_days.unwrap_or(0),
            version: d.version,
            segment_refs: d.segment_refs,
            org_id: String::new(),
            sandbox_name: String::new(),
            create_time_ms: d.creation_time_ms,
            update_time_ms: d.update_time_ms,
        }
    }
}

/// A definition as sent to a caller of `tenant`.
pub fn definition_out(d: SegmentDefinition, tenant: &Tenant) -> pb::SegmentDefinition {
    pb::SegmentDefinition {
        org_id: tenant.org.clone(),
        sandbox_name: tenant.sandbox.clone(),
        ..d.into()
    }
}

impl TryFrom<pb::ListSegmentDefinitionsRequest> for DefinitionListQuery {
    type Error = Error;
    fn try_from(r: pb::ListSegmentDefinitionsRequest) -> Result<DefinitionListQuery, Error> {
        Ok(DefinitionListQuery {
            start: None,
            page_token: non_empty(r.page_token),
            limit: page_limit(r.page_size)?,
            sort: non_empty(r.order_by),
            filter: EvaluationFilter {
                batch: r.batch_enabled,
                continuous: r.continuous_enabled,
                synchronous: r.synchronous_enabled,
            },
        })
    }
}

// ---- profiles -------------------------------------------------------------------------------

impl From<pb::Identity> for Identity {
    fn from(i: pb::Identity) -> Identity {
        Identity::new(i.namespace, i.id)
    }
}

impl From<Identity> for pb::Identity {
    fn from(i: Identity) -> pb::Identity {
        pb::Identity {
            namespace: i.namespace,
            id: i.id,
        }
    }
}

impl TryFrom<Option<pb::get_profile_request::Lookup>> for ProfileLookup {
    type Error = Error;
    fn try_from(l: Option<pb::get_profile_request::Lookup>) -> Result<ProfileLookup, Error> {
        use pb::get_profile_request::Lookup;
        match l {
            Some(Lookup::ProfileId(id)) => Ok(ProfileLookup::Id(id)),
            Some(Lookup::Identity(i)) => Ok(ProfileLookup::Identity(i.into())),
            None => Err(missing_lookup()),
        }
    }
}

impl TryFrom<Option<pb::delete_profile_request::Lookup>> for ProfileLookup {
    type Error = Error;
    fn try_from(l: Option<pb::delete_profile_request::Lookup>) -> Result<ProfileLookup, Error> {
        use pb::delete_profile_request::Lookup;
        match l {
            Some(Lookup::ProfileId(id)) => Ok(ProfileLookup::Id(id)),
            Some(Lookup::Identity(i)) => Ok(ProfileLookup::Identity(i.into())),
            None => Err(missing_lookup()),
        }
    }
}

fn missing_lookup() -> Error {
    Error::invalid("lookup", "set profile_id or identity")
}

impl From<MembershipStatus> for pb::MembershipStatus {
    fn from(s: MembershipStatus) -> pb::MembershipStatus {
        match s {
            MembershipStatus::Realized => pb::MembershipStatus::Realized,
            MembershipStatus::Existing => pb::MembershipStatus::Existing,
            MembershipStatus::Exited => pb::MembershipStatus::Exited,
        }
    }
}

/// A wire status filter entry; unspecified or unknown numbers are refused.
fn membership_status(value: i32, field: &str) -> Result<MembershipStatus, Error> {
    match pb::MembershipStatus::try_from(value) {
        Ok(pb::MembershipStatus::Realized) => Ok(MembershipStatus::Realized),
        Ok(pb::MembershipStatus::Existing) => Ok(MembershipStatus::Existing),
        Ok(pb::MembershipStatus::Exited) => Ok(MembershipStatus::Exited),
        Ok(pb::MembershipStatus::Unspecified) | Err(_) => Err(Error::invalid(
            field,
            format!("expected REALIZED, EXISTING or EXITED, got {value}"),
        )),
    }
}

impl From<Membership> for pb::Membership {
    fn from(m: Membership) -> pb::Membership {
        pb::Membership {
            segment_id: m.segment_id,
            status: pb::MembershipStatus::from(m.status) as i32,
            last_qualification_time_ms: m.last_qualification_time_ms,
            version: m.version,
        }
    }
}

/// A profile as sent to a caller of `tenant`.
pub fn profile_out(p: Profile, tenant: &Tenant) -> pb::Profile {
    pb::Profile {
        id: p.id,
        document_json: serde_json::Value::Object(p.document).to_string(),
        identities: p.identities.into_iter().map(Into::into).collect(),
        event_count: total(p.event_count),
        memberships: p.memberships.into_iter().map(Into::into).collect(),
        org_id: tenant.org.clone(),
        sandbox_name: tenant.sandbox.clone(),
        create_time_ms: p.creation_time_ms,
        update_time_ms: p.update_time_ms,
    }
}

impl TryFrom<pb::ListProfilesRequest> for ProfileListQuery {
    type Error = Error;
    fn try_from(r: pb::ListProfilesRequest) -> Result<ProfileListQuery, Error> {
        Ok(ProfileListQuery {
            page_token: non_empty(r.page_token),
            limit: page_limit(r.page_size)?,
        })
    }
}

/// A page of profiles as the response carries it.
pub fn profile_page_out(page: Page<Profile>, tenant: &Tenant) -> pb::ListProfilesResponse {
    pb::ListProfilesResponse {
        profiles: page
            .items
            .into_iter()
            .map(|p| profile_out(p, tenant))
            .collect(),
        next_page_token: page.next_page_token.unwrap_or_default(),
        total_size: total(page.total_count),
    }
}

impl TryFrom<pb::ListSegmentMembersRequest> for MemberListQuery {
    type Error = Error;
    fn try_from(r: pb::ListSegmentMembersRequest) -> Result<MemberListQuery, Error> {
        if r.segment_id.is_empty() {
            return Err(Error::invalid("segment_id", "required"));
        }
        let statuses = r
            .statuses
            .iter()
            .enumerate()
            .map(|(i, s)| membership_status(*s, &format!("statuses[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(MemberListQuery {
            segment_id: r.segment_id,
            statuses,
            page_token: non_empty(r.page_token),
            limit: page_limit(r.page_size)?,
        })
    }
}

/// A page of segment members as the response carries it.
pub fn member_page_out(page: Page<SegmentMember>) -> pb::ListSegmentMembersResponse {
    pb::ListSegmentMembersResponse {
        members: page
            .items
            .into_iter()
            .map(|m| pb::SegmentMember {
                profile_id: m.profile_id,
                membership: Some(m.membership.into()),
            })
            .collect(),
        next_page_token: page.next_page_token.unwrap_or_default(),
        total_size: total(page.total_count),
    }
}

// ---- ingestion results ----------------------------------------------------------------------

/// One record's outcome; `batch_index` is the stream message it came in (0 for unary calls).
pub fn record_result_out(r: RecordResult, batch_index: i64) -> pb::RecordResult {
    let index = i32::try_from(r.index).unwrap_or(i32::MAX);
    match r.outcome {
        Ok(outcome) => pb::RecordResult {
            index,
            batch_index,
            status: record_status(outcome.status) as i32,
            profile_id: outcome.profile_id,
            error: None,
        },
        Err(err) => pb::RecordResult {
            index,
            batch_index,
            status: pb::RecordStatus::Rejected as i32,
            profile_id: String::new(),
            error: Some(error_detail(&err)),
        },
    }
}

fn record_status(s: RecordStatus) -> pb::RecordStatus {
    match s {
        RecordStatus::Created => pb::RecordStatus::Created,
        RecordStatus::Updated => pb::RecordStatus::Updated,
        RecordStatus::Duplicate => pb::RecordStatus::Duplicate,
    }
}

/// Adds one record's outcome to the counts.
pub fn count_record(counts: &mut pb::RecordCounts, r: &pb::RecordResult) {
    match pb::RecordStatus::try_from(r.status) {
        Ok(pb::RecordStatus::Created) => counts.created += 1,
        Ok(pb::RecordStatus::Updated) => counts.updated += 1,
        Ok(pb::RecordStatus::Duplicate) => counts.duplicate += 1,
        Ok(pb::RecordStatus::Rejected | pb::RecordStatus::Unspecified) | Err(_) => {
            counts.rejected += 1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definition_input_maps_proto3_defaults_to_none() {
        let d = pb::SegmentDefinition {
            name: "n".into(),
            expression: Some(pb::Expression {
                format: pb::ExpressionFormat::PqlJson as i32,
                value: "{}".into(),
            }),
            ..Default::default()
        };
        let input = DefinitionInput::try_from(d).expect("converts");
        assert_eq!(input.description, None);
        assert_eq!(input.merge_policy_id, None);
        assert_eq!(input.ttl_in_days, None);
        assert_eq!(input.evaluation_info, None);
        assert_eq!(input.expression.format, "pql/json");
    }

    #[test]
    fn missing_expression_and_unknown_format_are_invalid() {
        let err = DefinitionInput::try_from(pb::SegmentDefinition::default()).unwrap_err();
        assert_eq!(err.field_violations()[0].field, "expression");
        let bad = pb::Expression {
            format: 9,
            value: "x".into(),
        };
        let err = ExpressionInput::try_from(bad).unwrap_err();
        assert_eq!(err.field_violations()[0].field, "expression.format");
    }

    #[test]
    fn target_format_unspecified_means_other() {
        assert_eq!(target_format(0).unwrap(), None);
        assert_eq!(target_format(2).unwrap(), Some("pql/json"));
        assert!(target_format(7).is_err());
    }

    #[test]
    fn page_size_rules() {
        assert_eq!(page_limit(0).unwrap(), None);
        assert_eq!(page_limit(5).unwrap(), Some(5));
        assert!(page_limit(-1).is_err());
    }

    #[test]
    fn member_query_refuses_unspecified_status() {
        let r = pb::ListSegmentMembersRequest {
            segment_id: "s".into(),
            statuses: vec![pb::MembershipStatus::Exited as i32, 0],
            ..Default::default()
        };
        let err = MemberListQuery::try_from(r).unwrap_err();
        assert_eq!(err.field_violations()[0].field, "statuses[1]");
    }

    #[test]
    fn rejected_record_carries_its_error() {
        let r = RecordResult {
            index: 3,
            outcome: Err(Error::invalid("_id", "required")),
        };
        let out = record_result_out(r, 2);
        assert_eq!(out.status, pb::RecordStatus::Rejected as i32);
        assert_eq!(out.batch_index, 2);
        assert_eq!(out.index, 3);
        let mut counts = pb::RecordCounts::default();
        count_record(&mut counts, &out);
        assert_eq!(counts.rejected, 1);
    }
}
