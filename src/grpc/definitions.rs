//! `segmentation.v1.SegmentDefinitionService` over `domain::DefinitionService`.
//!
//! ValidateExpression answers "is this expression good?" as data: a PQL mistake (or a reference
//! to a segment that does not exist) is a successful call with `valid = false` and the position,
//! because that is the question asked. A request that is malformed in itself (a value over the
//! size limit, an unknown format number) is still INVALID_ARGUMENT, like in every other RPC.

use tonic::{Request, Response, Status};

use crate::domain::{DefinitionInput, DefinitionService};
use crate::error::Error;
use crate::grpc::convert::{definition_out, expression_input, required_definition, target_format};
use crate::grpc::pb::{self, segment_definition_service_server};
use crate::grpc::request_context;
use crate::grpc::status::error_detail;

/// The gRPC face of [`DefinitionService`].
#[derive(Debug, Clone)]
pub struct SegmentDefinitionApi {
    definitions: DefinitionService,
}

impl SegmentDefinitionApi {
    pub fn new(definitions: DefinitionService) -> SegmentDefinitionApi {
        SegmentDefinitionApi { definitions }
    }
}

/// A validation failure that describes the expression (answered as `valid = false`), or `None`
/// when the error is about the request and must fail the call.
fn expression_finding(err: &Error) -> Option<pb::ExpressionError> {
    match err {
        Error::InvalidPql {
            message,
            line,
            column,
            ..
        } => Some(pb::ExpressionError {
            message: message.clone(),
            line: i32::try_from(*line).unwrap_or(i32::MAX),
            column: i32::try_from(*column).unwrap_or(i32::MAX),
        }),
        Error::InvalidArgument { violations, .. }
            if !violations.is_empty() && violations.iter().all(|v| v.field == "expression") =>
        {
            Some(pb::ExpressionError {
                message: err.to_string(),
                line: 0,
                column: 0,
            })
        }
        Error::InvalidArgument { .. }
        | Error::NotFound { .. }
        | Error::AlreadyExists { .. }
        | Error::DefinitionInUse { .. }
        | Error::FailedPrecondition { .. }
        | Error::PermissionDenied { .. }
        | Error::Unauthenticated { .. }
        | Error::ResourceExhausted { .. }
        | Error::Unavailable { .. }
        | Error::Internal { .. } => None,
    }
}

#[tonic::async_trait]
impl segment_definition_service_server::SegmentDefinitionService for SegmentDefinitionApi {
    async fn create_segment_definition(
        &self,
        request: Request<pb::CreateSegmentDefinitionRequest>,
    ) -> Result<Response<pb::CreateSegmentDefinitionResponse>, Status> {
        let ctx = request_context(&request)?;
        let input = DefinitionInput::try_from(required_definition(
            request.into_inner().segment_definition,
        )?)?;
        let saved = self.definitions.create(&ctx, input).await?;
        Ok(Response::new(pb::CreateSegmentDefinitionResponse {
            segment_definition: Some(definition_out(saved, &ctx.tenant)),
        }))
    }

    async fn get_segment_definition(
        &self,
        request: Request<pb::GetSegmentDefinitionRequest>,
    ) -> Result<Response<pb::GetSegmentDefinitionResponse>, Status> {
        let ctx = request_context(&request)?;
        let id = request.into_inner().id;
        let found = self.definitions.get(&ctx, &id).await?;
        Ok(Response::new(pb::GetSegmentDefinitionResponse {
            segment_definition: Some(definition_out(found, &ctx.tenant)),
        }))
    }

    async fn list_segment_definitions(
        &self,
        request: Request<pb::ListSegmentDefinitionsRequest>,
    ) -> Result<Response<pb::ListSegmentDefinitionsResponse>, Status> {
        let ctx = request_context(&request)?;
        let query = request.into_inner().try_into()?;
        let list = self.definitions.list(&ctx, query).await?;
        Ok(Response::new(pb::ListSegmentDefinitionsResponse {
            segment_definitions: list
                .page
                .items
                .into_iter()
                .map(|d| definition_out(d, &ctx.tenant))
                .collect(),
            next_page_token: list.page.next_page_token.unwrap_or_default(),
            total_size: i64::try_from(list.page.total_count).unwrap_or(i64::MAX),
            order_by: list.sort.to_wire(),
        }))
    }

    async fn update_segment_definition(
        &self,
        request: Request<pb::UpdateSegmentDefinitionRequest>,
    ) -> Result<Response<pb::UpdateSegmentDefinitionResponse>, Status> {
        let ctx = request_context(&request)?;
        let definition = required_definition(request.into_inner().segment_definition)?;
        if definition.id.is_empty() {
            return Err(Error::invalid("segment_definition.id", "required").into());
        }
        let id = definition.id.clone();
        let input = DefinitionInput::try_from(definition)?;
        let saved = self.definitions.update(&ctx, &id, input).await?;
        Ok(Response::new(pb::UpdateSegmentDefinitionResponse {
            segment_definition: Some(definition_out(saved, &ctx.tenant)),
        }))
    }

    async fn delete_segment_definition(
        &self,
        request: Request<pb::DeleteSegmentDefinitionRequest>,
    ) -> Result<Response<pb::DeleteSegmentDefinitionResponse>, Status> {
        let ctx = request_context(&request)?;
        let id = request.into_inner().id;
        self.definitions.delete(&ctx, &id).await?;
        Ok(Response::new(pb::DeleteSegmentDefinitionResponse { id }))
    }

    async fn batch_get_segment_definitions(
        &self,
        request: Request<pb::BatchGetSegmentDefinitionsRequest>,
    ) -> Result<Response<pb::BatchGetSegmentDefinitionsResponse>, Status> {
        use pb::segment_definition_result::Result as Outcome;
        let ctx = request_context(&request)?;
        let ids = request.into_inner().ids;
        let results = self.definitions.batch_get(&ctx, &ids).await?;
        let results = results
            .into_iter()
            .map(|r| pb::SegmentDefinitionResult {
                id: r.id,
                result: Some(match r.result {
                    Ok(d) => Outcome::SegmentDefinition(definition_out(d, &ctx.tenant)),
                    Err(e) => Outcome::Error(error_detail(&e)),
                }),
            })
            .collect();
        Ok(Response::new(pb::BatchGetSegmentDefinitionsResponse {
            results,
        }))
    }

    async fn validate_expression(
        &self,
        request: Request<pb::ValidateExpressionRequest>,
    ) -> Result<Response<pb::ValidateExpressionResponse>, Status> {
        let ctx = request_context(&request)?;
        let input = expression_input(request.into_inner().expression, "expression")?;
        let response = match self.definitions.validate_expression(&ctx, &input).await {
            Ok(valid) => pb::ValidateExpressionResponse {
                valid: true,
                error: None,
                canonical_text: valid.canonical_text,
                segment_refs: valid.segment_refs,
            },
            Err(err) => match expression_finding(&err) {
                Some(finding) => pb::ValidateExpressionResponse {
                    valid: false,
                    error: Some(finding),
                    canonical_text: String::new(),
                    segment_refs: Vec::new(),
                },
                None => return Err(err.into()),
            },
        };
        Ok(Response::new(response))
    }

    async fn convert_expression(
        &self,
        request: Request<pb::ConvertExpressionRequest>,
    ) -> Result<Response<pb::ConvertExpressionResponse>, Status> {
        let ctx = request_context(&request)?;
        let request = request.into_inner();
        let target = target_format(request.target_format)?;
        let input = expression_input(request.expression, "expression")?;
        let converted = self
            .definitions
            .convert_expression(&ctx, &input, target)
            .await?;
        Ok(Response::new(pb::ConvertExpressionResponse {
            expression: Some(converted.into()),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{FieldViolation, ResourceKind};

    #[test]
    fn pql_mistakes_are_findings_request_problems_are_not() {
        let pql = Error::InvalidPql {
            field: "expression".into(),
            message: "unexpected end".into(),
            line: 1,
            column: 9,
        };
        let finding = expression_finding(&pql).expect("finding");
        assert_eq!((finding.line, finding.column), (1, 9));

        let unknown_ref = Error::invalid("expression", "inSegment(\"x\"): no such definition");
        assert_eq!(expression_finding(&unknown_ref).map(|f| f.line), Some(0));

        let too_long = Error::invalid("expression.value", "longer than 65536 bytes");
        assert!(expression_finding(&too_long).is_none());
        let mixed = Error::InvalidArgument {
            message: "m".into(),
            violations: vec![
                FieldViolation::new("expression", "a"),
                FieldViolation::new("expression.format", "b"),
            ],
        };
        assert!(expression_finding(&mixed).is_none());
        assert!(
            expression_finding(&Error::not_found(ResourceKind::SegmentDefinition, "x")).is_none()
        );
    }
}
