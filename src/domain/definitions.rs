//! The segment definition service: create, read, list, overwrite, delete, batch get, and the
//! expression tools (validate, convert).
//!
//! Every write checks the whole definition first (field limits, PQL), then hands it to the store,
//! which checks the `inSegment` references against the tenant's graph in the same transaction as
//! the write.

use tracing::instrument;

use crate::context::RequestContext;
use crate::domain::Clock;
use crate::domain::batch::{self, BatchItem};
use crate::domain::definition::{
    DEFAULT_SCHEMA, DefinitionInput, DefinitionList, DefinitionListQuery, DefinitionSort,
    Expression, ExpressionInput, MAX_BATCH_GET_IDS, MAX_DESCRIPTION_BYTES, MAX_NAME_CHARS,
    SegmentDefinition, ValidatedExpression,
};
use crate::domain::page::{self, Page};
use crate::domain::{expression, graph};
use crate::error::{Error, ResourceKind};
use crate::store::Store;

/// One answer of a batch get: the definition, or why it could not be returned.
pub type BatchGetResult = BatchItem<SegmentDefinition>;

/// Segment definitions of one store.
#[derive(Debug, Clone)]
pub struct DefinitionService {
    store: Store,
    clock: Clock,
}

/// A definition input that passed every check but the reference graph.
struct Checked {
    input: DefinitionInput,
    expression: ValidatedExpression,
}

impl DefinitionService {
    pub fn new(store: Store) -> DefinitionService {
        DefinitionService::with_clock(store, Clock::System)
    }

    pub fn with_clock(store: Store, clock: Clock) -> DefinitionService {
        DefinitionService { store, clock }
    }

    /// Creates a definition (version 1) with a new UUID.
    #[instrument(skip_all, err(level = "info"), fields(org = %ctx.tenant.org, sandbox = %ctx.tenant.sandbox))]
    pub async fn create(
        &self,
        ctx: &RequestContext,
        input: DefinitionInput,
    ) -> Result<SegmentDefinition, Error> {
        let checked = check(input)?;
        let now = self.clock.now_ms();
        let definition = build(uuid::Uuid::new_v4().to_string(), checked, 1, now, now);
        self.store
            .insert_definition(&ctx.tenant, &definition)
            .await?;
        Ok(definition)
    }

    #[instrument(skip_all, err(level = "info"), fields(org = %ctx.tenant.org, sandbox = %ctx.tenant.sandbox))]
    pub async fn get(&self, ctx: &RequestContext, id: &str) -> Result<SegmentDefinition, Error> {
        self.store.get_definition(&ctx.tenant, id).await
    }

    /// A page of definitions: offset paging (`start`) or token paging (`page_token`).
    #[instrument(skip_all, err(level = "info"), fields(org = %ctx.tenant.org, sandbox = %ctx.tenant.sandbox))]
    pub async fn list(
        &self,
        ctx: &RequestContext,
        query: DefinitionListQuery,
    ) -> Result<DefinitionList, Error> {
        let sort = match query.sort.as_deref().map(str::trim) {
            Some(s) if !s.is_empty() => DefinitionSort::parse(s)?,
            Some(_) | None => DefinitionSort::default(),
        };
        let limit = page::effective_limit(query.limit)?;
        let f = query.filter;
        let flag = |b: Option<bool>| match b {
            None => '-',
            Some(true) => 't',
            Some(false) => 'f',
        };
        let scope = format!(
            "definitions/{}/{}{}{}",
            sort.to_wire(),
            flag(f.batch),
            flag(f.continuous),
            flag(f.synchronous)
        );
        let start = page::offset_start(query.start, query.page_token.as_deref(), &scope)?;
        let (items, total) = self
            .store
            .list_definitions(&ctx.tenant, sort, f, start, u64::from(limit))
            .await?;
        Ok(DefinitionList {
            page: Page::at_offset(items, total, limit, start, &scope),
            sort,
        })
    }

    /// Overwrites every field of definition `id` with `input`; the version goes up by one and
    /// the creation time is kept.
    #[instrument(skip_all, err(level = "info"), fields(org = %ctx.tenant.org, sandbox = %ctx.tenant.sandbox))]
    pub async fn update(
        &self,
        ctx: &RequestContext,
        id: &str,
        input: DefinitionInput,
    ) -> Result<SegmentDefinition, Error> {
        let checked = check(input)?;
        let now = self.clock.now_ms();
        self.store
            .update_definition(&ctx.tenant, id, move |current| {
                Ok(build(
                    current.id,
                    checked,
                    current.version + 1,
                    current.creation_time_ms,
                    now.max(current.update_time_ms),
                ))
            })
            .await
    }

    /// Deletes a definition (and its memberships) unless other definitions reference it.
    #[instrument(skip_all, err(level = "info"), fields(org = %ctx.tenant.org, sandbox = %ctx.tenant.sandbox))]
    pub async fn delete(&self, ctx: &RequestContext, id: &str) -> Result<(), Error> {
        self.store.delete_definition(&ctx.tenant, id).await
    }

    /// One result per requested id, in request order.
    #[instrument(skip_all, err(level = "info"), fields(org = %ctx.tenant.org, sandbox = %ctx.tenant.sandbox))]
    pub async fn batch_get(
        &self,
        ctx: &RequestContext,
        ids: &[String],
    ) -> Result<Vec<BatchGetResult>, Error> {
        let unique = batch::distinct_ids(ids, MAX_BATCH_GET_IDS)?;
        let found = self.store.get_definitions(&ctx.tenant, &unique).await?;
        Ok(batch::answer_each(
            ids,
            found,
            |d| d.id.as_str(),
            ResourceKind::SegmentDefinition,
        ))
    }

    /// Checks an expression as a definition would be checked, including that every `inSegment`
    /// id names a definition of the tenant.
    #[instrument(skip_all, err(level = "info"), fields(org = %ctx.tenant.org, sandbox = %ctx.tenant.sandbox))]
    pub async fn validate_expression(
        &self,
        ctx: &RequestContext,
        input: &ExpressionInput,
    ) -> Result<ValidatedExpression, Error> {
        let validated = expression::validate(input)?;
        let missing = self
            .store
            .missing_definition_ids(&ctx.tenant, &validated.segment_refs)
            .await?;
        if !missing.is_empty() {
            let names: Vec<&str> = missing.iter().map(String::as_str).collect();
            return Err(graph::unknown_refs_error(&names));
        }
        Ok(validated)
    }

    /// Converts between pql/text and pql/json; `target` defaults to the other format. Nothing is
    /// stored and references are not resolved.
    #[instrument(skip_all, err(level = "info"), fields(org = %ctx.tenant.org, sandbox = %ctx.tenant.sandbox))]
    pub async fn convert_expression(
        &self,
        ctx: &RequestContext,
        input: &ExpressionInput,
        target: Option<&str>,
    ) -> Result<Expression, Error> {
        expression::convert(input, target)
    }
}

/// Every check of a definition body that needs no database.
fn check(input: DefinitionInput) -> Result<Checked, Error> {
    let name = input.name.as_str();
    if name.trim().is_empty() {
        return Err(Error::invalid("name", "required"));
    }
    let chars = name.chars().count();
    if chars > MAX_NAME_CHARS {
        return Err(Error::invalid(
            "name",
            format!("{chars} characters; at most {MAX_NAME_CHARS} are allowed"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid(
            "name",
            "must not contain control characters",
        ));
    }
    if let Some(d) = &input.description
        && d.len() > MAX_DESCRIPTION_BYTES
    {
        return Err(Error::invalid(
            "description",
            format!(
                "{} bytes; at most {MAX_DESCRIPTION_BYTES} are allowed",
                d.len()
            ),
        ));
    }
    if input
        .merge_policy_id
        .as_deref()
        .is_some_and(|m| m.trim().is_empty())
    {
        return Err(Error::invalid(
            "mergePolicyId",
            "must not be empty when given",
        ));
    }
    let expression = expression::validate(&input.expression)?;
    Ok(Checked { input, expression })
}

fn build(
    id: String,
    checked: Checked,
    version: i64,
    creation_time_ms: i64,
    update_time_ms: i64,
) -> SegmentDefinition {
    let Checked { input, expression } = checked;
    let schema_name = if input.schema_name.trim().is_empty() {
        DEFAULT_SCHEMA.to_owned()
    } else {
        input.schema_name
    };
    SegmentDefinition {
        id,
        name: input.name,
        description: input.description,
        expression: expression.expression,
        schema_name,
        merge_policy_id: input.merge_policy_id,
        evaluation_info: input.evaluation_info.unwrap_or_default(),
        ttl_in_days: input.ttl_in_days,
        version,
        creation_time_ms,
        update_time_ms,
        segment_refs: expression.segment_refs,
    }
}
