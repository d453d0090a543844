//! Segment definition repository: rows of `segment_definitions` plus their `inSegment` edges in
//! `segment_definition_refs`. Writes check the reference graph inside their own transaction.

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::sea_query::{Expr, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select, Set, TransactionTrait,
};
use tracing::instrument;

use super::entity::{definition, definition_ref, membership};
use super::{Store, db_error, finish, is_unique_violation, record_tenant};
use crate::context::Tenant;
use crate::domain::definition::{
    DefinitionSort, DefinitionSortField, EvaluationFilter, EvaluationInfo, Expression,
    ExpressionFormat, SegmentDefinition,
};
use crate::domain::graph::{self, Edges};
use crate::error::{Error, ResourceKind};

fn tenant_definitions(tenant: &Tenant) -> Select<definition::Entity> {
    definition::Entity::find()
        .filter(definition::Column::Org.eq(&tenant.org))
        .filter(definition::Column::Sandbox.eq(&tenant.sandbox))
}

fn tenant_refs(tenant: &Tenant) -> Select<definition_ref::Entity> {
    definition_ref::Entity::find()
        .filter(definition_ref::Column::Org.eq(&tenant.org))
        .filter(definition_ref::Column::Sandbox.eq(&tenant.sandbox))
}

fn to_domain(m: definition::Model, refs: Vec<String>) -> Result<SegmentDefinition, Error> {
    let format = ExpressionFormat::parse(&m.expression_format, "expression.format")
        .map_err(|e| Error::internal(format!("stored definition {}: {e}", m.id)))?;
    Ok(SegmentDefinition {
        id: m.id,
        name: m.name,
        description: m.description,
        expression: Expression {
            format,
            value: m.expression_value,
        },
        schema_name: m.schema_name,
        merge_policy_id: m.merge_policy_id,
        evaluation_info: EvaluationInfo {
            batch: m.eval_batch,
            continuous: m.eval_continuous,
            synchronous: m.eval_synchronous,
        },
        ttl_in_days: m.ttl_in_days.and_then(|d| u32::try_from(d).ok()),
        version: m.version,
        creation_time_ms: m.creation_time_ms,
        update_time_ms: m.update_time_ms,
        segment_refs: refs,
    })
}

fn to_row(tenant: &Tenant, d: &SegmentDefinition) -> definition::ActiveModel {
    definition::ActiveModel {
        id: Set(d.id.clone()),
        org: Set(tenant.org.clone()),
        sandbox: Set(tenant.sandbox.clone()),
        name: Set(d.name.clone()),
        description: Set(d.description.clone()),
        expression_format: Set(d.expression.format.as_str().to_owned()),
        expression_value: Set(d.expression.value.clone()),
        schema_name: Set(d.schema_name.clone()),
        merge_policy_id: Set(d.merge_policy_id.clone()),
        eval_batch: Set(d.evaluation_info.batch),
        eval_continuous: Set(d.evaluation_info.continuous),
        eval_synchronous: Set(d.evaluation_info.synchronous),
        ttl_in_days: Set(d.ttl_in_days.map(i64::from)),
        version: Set(d.version),
        creation_time_ms: Set(d.creation_time_ms),
        update_time_ms: Set(d.update_time_ms),
    }
}

fn name_taken(name: &str) -> Error {
    Error::AlreadyExists {
        kind: ResourceKind::SegmentDefinition,
        name: name.to_owned(),
    }
}

/// Loads the `inSegment` edges of the given definitions, keyed by definition id.
async fn load_refs<C: ConnectionTrait>(
    conn: &C,
    tenant: &Tenant,
    ids: &[String],
) -> Result<BTreeMap<String, Vec<String>>, Error> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let rows = tenant_refs(tenant)
        .filter(definition_ref::Column::DefinitionId.is_in(ids.iter().cloned()))
        .order_by_asc(definition_ref::Column::ReferencedId)
        .all(conn)
        .await
        .map_err(db_error)?;
    for r in rows {
        out.entry(r.definition_id)
            .or_default()
            .push(r.referenced_id);
    }
    Ok(out)
}

async fn with_refs<C: ConnectionTrait>(
    conn: &C,
    tenant: &Tenant,
    rows: Vec<definition::Model>,
) -> Result<Vec<SegmentDefinition>, Error> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut refs = load_refs(conn, tenant, &ids).await?;
    rows.into_iter()
        .map(|m| {
            let r = refs.remove(&m.id).unwrap_or_default();
            to_domain(m, r)
        })
        .collect()
}

/// The tenant's definition ids and reference edges.
async fn load_graph<C: ConnectionTrait>(
    conn: &C,
    tenant: &Tenant,
) -> Result<(BTreeSet<String>, Edges), Error> {
    let ids: Vec<String> = tenant_definitions(tenant)
        .select_only()
        .column(definition::Column::Id)
        .into_tuple()
        .all(conn)
        .await
        .map_err(db_error)?;
    let mut edges = Edges::new();
    for r in tenant_refs(tenant).all(conn).await.map_err(db_error)? {
        edges
            .entry(r.definition_id)
            .or_default()
            .insert(r.referenced_id);
    }
    Ok((ids.into_iter().collect(), edges))
}

async fn write_refs<C: ConnectionTrait>(
    conn: &C,
    tenant: &Tenant,
    d: &SegmentDefinition,
) -> Result<(), Error> {
    definition_ref::Entity::delete_many()
        .filter(definition_ref::Column::Org.eq(&tenant.org))
        .filter(definition_ref::Column::Sandbox.eq(&tenant.sandbox))
        .filter(definition_ref::Column::DefinitionId.eq(&d.id))
        .exec(conn)
        .await
        .map_err(db_error)?;
    if d.segment_refs.is_empty() {
        return Ok(());
    }
    let rows = d.segment_refs.iter().map(|r| definition_ref::ActiveModel {
        org: Set(tenant.org.clone()),
        sandbox: Set(tenant.sandbox.clone()),
        definition_id: Set(d.id.clone()),
        referenced_id: Set(r.clone()),
    });
    definition_ref::Entity::insert_many(rows)
        .exec(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

impl Store {
    /// Inserts a new definition after checking its references against the stored graph.
    #[instrument(skip_all, err(level = "debug"), fields(org, sandbox))]
    pub async fn insert_definition(
        &self,
        tenant: &Tenant,
        d: &SegmentDefinition,
    ) -> Result<(), Error> {
        record_tenant(tenant);
        let txn = self.db.begin().await.map_err(db_error)?;
        let result = self.insert_definition_in(&txn, tenant, d).await;
        finish(txn, result).await
    }

    async fn insert_definition_in(
        &self,
        txn: &DatabaseTransaction,
        tenant: &Tenant,
        d: &SegmentDefinition,
    ) -> Result<(), Error> {
        self.lock_definition_graph(txn, tenant).await?;
        let (known, edges) = load_graph(txn, tenant).await?;
        graph::check_references(&d.id, &d.segment_refs, &known, &edges)?;
        to_row(tenant, d).insert(txn).await.map_err(|e| {
            if is_unique_violation(&e) {
                name_taken(&d.name)
            } else {
                db_error(e)
            }
        })?;
        write_refs(txn, tenant, d).await
    }

    /// Reads the stored definition `id`, lets `change` compute its replacement (which must keep
    /// the id), checks the replacement's references and writes it, all in one transaction.
    #[instrument(skip_all, err(level = "debug"), fields(org, sandbox))]
    pub async fn update_definition<F>(
        &self,
        tenant: &Tenant,
        id: &str,
        change: F,
    ) -> Result<SegmentDefinition, Error>
    where
        F: FnOnce(SegmentDefinition) -> Result<SegmentDefinition, Error> + Send,
    {
        record_tenant(tenant);
        let txn = self.db.begin().await.map_err(db_error)?;
        let result = self.update_definition_in(&txn, tenant, id, change).await;
        finish(txn, result).await
    }

    async fn update_definition_in<F>(
        &self,
        txn: &DatabaseTransaction,
        tenant: &Tenant,
        id: &str,
        change: F,
    ) -> Result<SegmentDefinition, Error>
    where
        F: FnOnce(SegmentDefinition) -> Result<SegmentDefinition, Error> + Send,
    {
        self.lock_definition_graph(txn, tenant).await?;
        let current = get_one(txn, tenant, id).await?;
        let next = change(current)?;
        if next.id != id {
            return Err(Error::internal("a definition update may not change its id"));
        }
        let (known, edges) = load_graph(txn, tenant).await?;
        graph::check_references(&next.id, &next.segment_refs, &known, &edges)?;
        let mut row = to_row(tenant, &next);
        row.id = sea_orm::ActiveValue::Unchanged(next.id.clone());
        row.org = sea_orm::ActiveValue::Unchanged(tenant.org.clone());
        row.sandbox = sea_orm::ActiveValue::Unchanged(tenant.sandbox.clone());
        row.update(txn).await.map_err(|e| {
            if is_unique_violation(&e) {
                name_taken(&next.name)
            } else {
                db_error(e)
            }
        })?;
        write_refs(txn, tenant, &next).await?;
        Ok(next)
    }

    /// The definition `id` of the tenant.
    #[instrument(skip_all, err(level = "debug"), fields(org, sandbox))]
    pub async fn get_definition(
        &self,
        tenant: &Tenant,
        id: &str,
    ) -> Result<SegmentDefinition, Error> {
        record_tenant(tenant);
        get_one(&self.reads, tenant, id).await
    }

    /// The tenant's definitions among `ids` (unknown ids are simply absent), in no set order.
    #[instrument(skip_all, err(level = "debug"), fields(org, sandbox))]
    pub async fn get_definitions(
        &self,
        tenant: &Tenant,
        ids: &[String],
    ) -> Result<Vec<SegmentDefinition>, Error> {
        record_tenant(tenant);
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = tenant_definitions(tenant)
            .filter(definition::Column::Id.is_in(ids.iter().cloned()))
            .all(&self.reads)
            .await
            .map_err(db_error)?;
        with_refs(&self.reads, tenant, rows).await
    }

    /// Every definition of the tenant, oldest first (segment jobs over "all definitions").
    #[instrument(skip_all, err(level = "debug"), fields(org, sandbox))]
    pub async fn list_definitions_all(
        &self,
        tenant: &Tenant,
    ) -> Result<Vec<SegmentDefinition>, Error> {
        record_tenant(tenant);
        let rows = tenant_definitions(tenant)
            .order_by_asc(definition::Column::CreationTimeMs)
            .order_by_asc(definition::Column::Id)
            .all(&self.reads)
            .await
            .map_err(db_error)?;
        with_refs(&self.reads, tenant, rows).await
    }

    /// One page of the tenant's definitions matching `filter`, in `sort` order (ties by id),
    /// and the number matching in total.
    #[instrument(skip_all, err(level = "debug"), fields(org, sandbox))]
    pub async fn list_definitions(
        &self,
        tenant: &Tenant,
        sort: DefinitionSort,
        filter: EvaluationFilter,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<SegmentDefinition>, u64), Error> {
        record_tenant(tenant);
        let mut q = tenant_definitions(tenant);
        for (flag, col) in [
            (filter.batch, definition::Column::EvalBatch),
            (filter.continuous, definition::Column::EvalContinuous),
            (filter.synchronous, definition::Column::EvalSynchronous),
        ] {
            if let Some(v) = flag {
                q = q.filter(col.eq(v));
            }
        }
        let total = q.clone().count(&self.reads).await.map_err(db_error)?;
        let order = if sort.descending {
            sea_orm::Order::Desc
        } else {
            sea_orm::Order::Asc
        };
        q = match sort.field {
            // Names sort case-insensitively, as a person reading the list expects.
            DefinitionSortField::Name => q
                .order_by(
                    Expr::expr(Func::lower(Expr::col(definition::Column::Name))),
                    order.clone(),
                )
                .order_by(definition::Column::Name, order.clone()),
            DefinitionSortField::CreationTime => {
                q.order_by(definition::Column::CreationTimeMs, order.clone())
            }
            DefinitionSortField::UpdateTime => {
                q.order_by(definition::Column::UpdateTimeMs, order.clone())
            }
        };
        let rows = q
            .order_by(definition::Column::Id, order)
            .offset(offset)
            .limit(limit)
            .all(&self.reads)
            .await
            .map_err(db_error)?;
        Ok((with_refs(&self.reads, tenant, rows).await?, total))
    }

    /// Of `ids`, those that name no definition of the tenant.
    #[instrument(skip_all, err(level = "debug"), fields(org, sandbox))]
    pub async fn missing_definition_ids(
        &self,
        tenant: &Tenant,
        ids: &[String],
    ) -> Result<Vec<String>, Error> {
        record_tenant(tenant);
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let found: BTreeSet<String> = tenant_definitions(tenant)
            .select_only()
            .column(definition::Column::Id)
            .filter(definition::Column::Id.is_in(ids.iter().cloned()))
            .into_tuple::<String>()
            .all(&self.reads)
            .await
            .map_err(db_error)?
            .into_iter()
            .collect();
        Ok(ids
            .iter()
            .filter(|i| !found.contains(*i))
            .cloned()
            .collect())
    }

    /// Deletes definition `id` with its edges and memberships, unless others reference it
    /// ([`Error::DefinitionInUse`] naming them).
    #[instrument(skip_all, err(level = "debug"), fields(org, sandbox))]
    pub async fn delete_definition(&self, tenant: &Tenant, id: &str) -> Result<(), Error> {
        record_tenant(tenant);
        let txn = self.db.begin().await.map_err(db_error)?;
        let result = self.delete_definition_in(&txn, tenant, id).await;
        finish(txn, result).await
    }

    async fn delete_definition_in(
        &self,
        txn: &DatabaseTransaction,
        tenant: &Tenant,
        id: &str,
    ) -> Result<(), Error> {
        self.lock_definition_graph(txn, tenant).await?;
        get_one(txn, tenant, id).await?;
        let dependents: Vec<String> = tenant_refs(tenant)
            .select_only()
            .column(definition_ref::Column::DefinitionId)
            .filter(definition_ref::Column::ReferencedId.eq(id))
            .order_by_asc(definition_ref::Column::DefinitionId)
            .into_tuple()
            .all(txn)
            .await
            .map_err(db_error)?;
        if !dependents.is_empty() {
            return Err(Error::DefinitionInUse {
                id: id.to_owned(),
                dependents,
            });
        }
        definition_ref::Entity::delete_many()
            .filter(definition_ref::Column::Org.eq(&tenant.org))
            .filter(definition_ref::Column::Sandbox.eq(&tenant.sandbox))
            .filter(definition_ref::Column::DefinitionId.eq(id))
            .exec(txn)
            .await
            .map_err(db_error)?;
        membership::Entity::delete_many()
            .filter(membership::Column::Org.eq(&tenant.org))
            .filter(membership::Column::Sandbox.eq(&tenant.sandbox))
            .filter(membership::Column::SegmentId.eq(id))
            .exec(txn)
            .await
            .map_err(db_error)?;
        definition::Entity::delete_many()
            .filter(definition::Column::Org.eq(&tenant.org))
            .filter(definition::Column::Sandbox.eq(&tenant.sandbox))
            .filter(definition::Column::Id.eq(id))
            .exec(txn)
            .await
            .map_err(db_error)?;
        Ok(())
    }
}

async fn get_one<C: ConnectionTrait>(
    conn: &C,
    tenant: &Tenant,
    id: &str,
) -> Result<SegmentDefinition, Error> {
    let row = tenant_definitions(tenant)
        .filter(definition::Column::Id.eq(id))
        .one(conn)
        .await
        .map_err(db_error)?
        .ok_or_else(|| Error::not_found(ResourceKind::SegmentDefinition, id))?;
    let refs = load_refs(conn, tenant, std::slice::from_ref(&row.id))
        .await?
        .remove(&row.id)
        .unwrap_or_default();
    to_domain(row, refs)
}
