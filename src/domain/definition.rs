//! Segment definitions as AEP describes them (API spec §3.1): a named PQL expression over one
//! XDM class, with its evaluation methods, merge policy and version.
//!
//! Requests arrive as [`DefinitionInput`] with the wire's loose strings; the service checks every
//! field (limits below, PQL, references) and stores a [`SegmentDefinition`].

use crate::error::Error;

/// Longest definition name, in characters.
pub const MAX_NAME_CHARS: usize = 256;
/// Longest description, in bytes (4 KiB).
pub const MAX_DESCRIPTION_BYTES: usize = 4 * 1024;
/// Longest expression value (pql/text or pql/json), in bytes (64 KiB).
pub const MAX_EXPRESSION_BYTES: usize = 64 * 1024;
/// Most ids in one batch get.
pub const MAX_BATCH_GET_IDS: usize = 100;
/// The XDM class a definition applies to when the request names none.
pub const DEFAULT_SCHEMA: &str = "_xdm.context.profile";
/// The only expression type supported.
pub const EXPRESSION_TYPE_PQL: &str = "PQL";

/// How an expression's value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExpressionFormat {
    /// `pql/text`: `homeAddress.country = "US"`.
    Text,
    /// `pql/json`: the AST as JSON text.
    Json,
}

impl ExpressionFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ExpressionFormat::Text => "pql/text",
            ExpressionFormat::Json => "pql/json",
        }
    }

    /// `pql/text` or `pql/json`; anything else is an invalid `field`.
    pub fn parse(s: &str, field: &str) -> Result<ExpressionFormat, Error> {
        match s {
            "pql/text" => Ok(ExpressionFormat::Text),
            "pql/json" => Ok(ExpressionFormat::Json),
            other => Err(Error::invalid(
                field,
                format!("unknown expression format '{other}'; expected pql/text or pql/json"),
            )),
        }
    }

    /// The other format (the default target of a conversion).
    pub fn other(self) -> ExpressionFormat {
        match self {
            ExpressionFormat::Text => ExpressionFormat::Json,
            ExpressionFormat::Json => ExpressionFormat::Text,
        }
    }
}

/// A checked expression: its type is always [`EXPRESSION_TYPE_PQL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expression {
    pub format: ExpressionFormat,
    pub value: String,
}

/// An expression as the caller sent it (`{type, format, value}`), not yet checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpressionInput {
    /// `PQL`; empty means `PQL`.
    pub r#type: String,
    /// `pql/text` or `pql/json`; empty means `pql/text`.
    pub format: String,
    pub value: String,
}

/// AEP's `evaluationInfo`: which evaluation methods a definition is enabled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EvaluationInfo {
    pub batch: bool,
    /// Streaming evaluation.
    pub continuous: bool,
    /// Edge evaluation.
    pub synchronous: bool,
}

impl Default for EvaluationInfo {
    /// A definition that says nothing is batch-evaluated (API spec §2.1).
    fn default() -> Self {
        EvaluationInfo {
            batch: true,
            continuous: false,
            synchronous: false,
        }
    }
}

/// A stored segment definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentDefinition {
    /// UUID v4, assigned at creation.
    pub id: String,
    /// Unique in its sandbox.
    pub name: String,
    pub description: Option<String>,
    pub expression: Expression,
    /// `schema.name`, e.g. `_xdm.context.profile`.
    pub schema_name: String,
    pub merge_policy_id: Option<String>,
    pub evaluation_info: EvaluationInfo,
    pub ttl_in_days: Option<u32>,
    /// 1 at creation, +1 on every update.
    pub version: i64,
    /// Epoch milliseconds.
    pub creation_time_ms: i64,
    pub update_time_ms: i64,
    /// The ids this definition's expression names in `inSegment(...)`, sorted, deduplicated.
    pub segment_refs: Vec<String>,
}

/// The body of a create or an update (update overwrites every field with these).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DefinitionInput {
    pub name: String,
    pub description: Option<String>,
    pub expression: ExpressionInput,
    /// Empty means [`DEFAULT_SCHEMA`].
    pub schema_name: String,
    pub merge_policy_id: Option<String>,
    /// `None` means batch only.
    pub evaluation_info: Option<EvaluationInfo>,
    pub ttl_in_days: Option<u32>,
}

/// What a definition list can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DefinitionSortField {
    Name,
    CreationTime,
    UpdateTime,
}

impl DefinitionSortField {
    /// The AEP attribute name: `name`, `creationTime`, `updateTime`.
    pub fn as_str(self) -> &'static str {
        match self {
            DefinitionSortField::Name => "name",
            DefinitionSortField::CreationTime => "creationTime",
            DefinitionSortField::UpdateTime => "updateTime",
        }
    }
}

/// A list order: `attr:asc|desc` on the wire. Ties break on id, so pages never overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DefinitionSort {
    pub field: DefinitionSortField,
    pub descending: bool,
}

impl Default for DefinitionSort {
    /// Oldest first: AEP's `start` is a "page offset as per created time".
    fn default() -> Self {
        DefinitionSort {
            field: DefinitionSortField::CreationTime,
            descending: false,
        }
    }
}

impl DefinitionSort {
    /// Parses `name`, `updateTime:desc`, `creationTime:asc` (field `sort`).
    pub fn parse(s: &str) -> Result<DefinitionSort, Error> {
        let (attr, descending) = crate::domain::page::split_sort(s)?;
        let field = match attr {
            "name" => DefinitionSortField::Name,
            "creationTime" => DefinitionSortField::CreationTime,
            "updateTime" => DefinitionSortField::UpdateTime,
            other => {
                return Err(Error::invalid(
                    "sort",
                    format!(
                        "cannot sort by '{other}'; use name, creationTime or updateTime \
                         followed by :asc or :desc"
                    ),
                ));
            }
        };
        Ok(DefinitionSort { field, descending })
    }

    /// `updateTime:desc`.
    pub fn to_wire(self) -> String {
        let dir = if self.descending { "desc" } else { "asc" };
        format!("{}:{dir}", self.field.as_str())
    }
}

/// Filters of a definition list: each `Some(flag)` keeps definitions whose method is so enabled
/// (`evaluationInfo.batch.enabled=true`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct EvaluationFilter {
    pub batch: Option<bool>,
    pub continuous: Option<bool>,
    pub synchronous: Option<bool>,
}

/// A list request. Paging is either by `start` (AEP offset) or by `page_token` (gRPC, from a
/// previous page's `next_page_token`); giving both is refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DefinitionListQuery {
    pub start: Option<u64>,
    pub page_token: Option<String>,
    /// Page size; `None` means 100, at most 1000 ([`crate::domain::page`]).
    pub limit: Option<u32>,
    /// `attr:asc|desc`; `None` means `creationTime:asc`.
    pub sort: Option<String>,
    pub filter: EvaluationFilter,
}

/// One page of definitions, with the order it was sorted by (AEP echoes `sortField`/`sort`).
#[derive(Debug, Clone, PartialEq)]
pub struct DefinitionList {
    pub page: crate::domain::Page<SegmentDefinition>,
    pub sort: DefinitionSort,
}

/// A checked expression with what the engine found in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedExpression {
    pub expression: Expression,
    /// The canonical pql/text form.
    pub canonical_text: String,
    /// Ids named in `inSegment(...)`, sorted, deduplicated.
    pub segment_refs: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_parses_aep_forms() {
        let s = DefinitionSort::parse("updateTime:desc").unwrap();
        assert_eq!(s.field, DefinitionSortField::UpdateTime);
        assert!(s.descending);
        assert_eq!(s.to_wire(), "updateTime:desc");
        assert_eq!(DefinitionSort::parse("name").unwrap().to_wire(), "name:asc");
        assert!(matches!(
            DefinitionSort::parse("internalId:desc"),
            Err(Error::InvalidArgument { .. })
        ));
        assert!(DefinitionSort::parse("name:up").is_err());
    }

    #[test]
    fn formats_round_trip() {
        for f in [ExpressionFormat::Text, ExpressionFormat::Json] {
            assert_eq!(ExpressionFormat::parse(f.as_str(), "f").unwrap(), f);
            assert_eq!(f.other().other(), f);
        }
        assert!(ExpressionFormat::parse("pql/xml", "expression.format").is_err());
    }
}
