//! Domain and auth errors -> `tonic::Status` with rich details.
//!
//! Everything comes from the error catalogue (`crate::error::Code`): the gRPC code, the stable
//! reason put in `google.rpc.ErrorInfo` (domain `segmentation`), and the field violations put in
//! `google.rpc.BadRequest`. A PQL error is one violation on `expression` whose description starts
//! with `line:column:`; the same position is also in the ErrorInfo metadata (`line`, `column`)
//! for programs. Every match below is exhaustive, so a new error variant must decide here too.

use std::collections::HashMap;

use tonic::Status;
use tonic_types::{ErrorDetails, StatusExt};

use crate::auth::{AuthError, AuthErrorKind};
use crate::error::Error;
use crate::grpc::pb;

/// The `google.rpc.ErrorInfo.domain` of every error this service returns.
pub const ERROR_DOMAIN: &str = "segmentation";

impl From<Error> for Status {
    fn from(err: Error) -> Status {
        error_status(&err)
    }
}

/// The status a domain error travels as.
pub fn error_status(err: &Error) -> Status {
    let code = err.code();
    let mut details = ErrorDetails::new();
    details.set_error_info(code.reason(), ERROR_DOMAIN, error_metadata(err));
    for v in err.field_violations() {
        details.add_bad_request_violation(v.field, v.description);
    }
    if let Some(delay) = err.retry_after() {
        details.set_retry_info(Some(delay));
    }
    Status::with_error_details(code.grpc(), public_message(err), details)
}

/// The status an authentication or tenancy failure travels as.
pub fn auth_status(err: &AuthError) -> Status {
    let code = match err.kind() {
        AuthErrorKind::Unauthenticated => tonic::Code::Unauthenticated,
        AuthErrorKind::PermissionDenied => tonic::Code::PermissionDenied,
        AuthErrorKind::InvalidArgument => tonic::Code::InvalidArgument,
    };
    let mut metadata = HashMap::new();
    metadata.insert("gateway_code".to_owned(), err.gateway_code().to_owned());
    let mut details = ErrorDetails::new();
    details.set_error_info(err.reason(), ERROR_DOMAIN, metadata);
    if let AuthError::InvalidHeader { header, reason } = err {
        details.add_bad_request_violation(*header, reason.clone());
    }
    if matches!(err, AuthError::MissingOrg) {
        details.add_bad_request_violation(crate::auth::headers::ORG, "required");
    }
    Status::with_error_details(code, err.to_string(), details)
}

/// A failed item of a batch call (batch get, ingestion records), as the response carries it.
pub fn error_detail(err: &Error) -> pb::ErrorDetail {
    let code = err.code();
    pb::ErrorDetail {
        code: code.grpc() as i32,
        reason: code.reason().to_owned(),
        message: public_message(err),
        field_violations: err
            .field_violations()
            .into_iter()
            .map(|v| pb::FieldViolation {
                field: v.field,
                description: v.description,
            })
            .collect(),
    }
}

/// Internal errors are logged in full and reported without their text, which may name storage
/// internals; every other message is written for the caller.
fn public_message(err: &Error) -> String {
    match err {
        Error::Internal { message } => {
            tracing::error!(error = %message, "internal error");
            "internal error; the server log has the details under this request id".to_owned()
        }
        // A server fault the caller cannot fix: logged at ERROR like an internal error (the
        // domain and store spans log every error at INFO and below), but its message is safe.
        Error::Unavailable { message } => {
            tracing::error!(error = %message, "service unavailable");
            err.to_string()
        }
        Error::InvalidArgument { .. }
        | Error::InvalidPql { .. }
        | Error::NotFound { .. }
        | Error::AlreadyExists { .. }
        | Error::DefinitionInUse { .. }
        | Error::FailedPrecondition { .. }
        | Error::PermissionDenied { .. }
        | Error::Unauthenticated { .. }
        | Error::ResourceExhausted { .. } => err.to_string(),
    }
}

fn error_metadata(err: &Error) -> HashMap<String, String> {
    let mut m = HashMap::new();
    m.insert("aep_code".to_owned(), err.code().aep_code().to_owned());
    match err {
        Error::InvalidPql {
            field,
            line,
            column,
            ..
        } => {
            m.insert("field".to_owned(), field.clone());
            m.insert("line".to_owned(), line.to_string());
            m.insert("column".to_owned(), column.to_string());
        }
        Error::NotFound { kind, id } => {
            m.insert("resource_kind".to_owned(), kind.as_str().to_owned());
            m.insert("resource_id".to_owned(), id.clone());
        }
        Error::AlreadyExists { kind, name } => {
            m.insert("resource_kind".to_owned(), kind.as_str().to_owned());
            m.insert("resource_name".to_owned(), name.clone());
        }
        Error::DefinitionInUse { id, dependents } => {
            m.insert("resource_id".to_owned(), id.clone());
            m.insert("dependents".to_owned(), dependents.join(","));
        }
        Error::InvalidArgument { .. }
        | Error::FailedPrecondition { .. }
        | Error::PermissionDenied { .. }
        | Error::Unauthenticated { .. }
        | Error::ResourceExhausted { .. }
        | Error::Unavailable { .. }
        | Error::Internal { .. } => {}
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ResourceKind;

    #[test]
    fn pql_error_carries_bad_request_on_expression_and_position() {
        let err = Error::InvalidPql {
            field: "expression".into(),
            message: "expected `)`".into(),
            line: 2,
            column: 7,
        };
        let status = error_status(&err);
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        let details = status.get_error_details();
        let bad = details.bad_request().expect("bad request detail");
        assert_eq!(bad.field_violations.len(), 1);
        assert_eq!(bad.field_violations[0].field, "expression");
        assert!(bad.field_violations[0].description.starts_with("2:7:"));
        let info = details.error_info().expect("error info");
        assert_eq!(info.reason, "invalid_pql");
        assert_eq!(info.domain, ERROR_DOMAIN);
        assert_eq!(info.metadata.get("line").map(String::as_str), Some("2"));
        assert_eq!(info.metadata.get("column").map(String::as_str), Some("7"));
    }

    #[test]
    fn not_found_and_internal() {
        let status = error_status(&Error::not_found(ResourceKind::Profile, "p1"));
        assert_eq!(status.code(), tonic::Code::NotFound);
        assert_eq!(
            status
                .get_error_details()
                .error_info()
                .map(|i| i.reason.as_str()),
            Some("not_found")
        );
        let status = error_status(&Error::internal("disk on fire at /var/lib/x"));
        assert_eq!(status.code(), tonic::Code::Internal);
        assert!(!status.message().contains("/var/lib"));
    }

    #[test]
    fn auth_errors_map_to_their_codes() {
        let cases = [
            (AuthError::MissingToken, tonic::Code::Unauthenticated),
            (AuthError::ExpiredToken, tonic::Code::Unauthenticated),
            (AuthError::ApiKeyMismatch, tonic::Code::PermissionDenied),
            (
                AuthError::SandboxNotAllowed("dev".into()),
                tonic::Code::PermissionDenied,
            ),
            (AuthError::MissingOrg, tonic::Code::InvalidArgument),
        ];
        for (err, code) in cases {
            let status = auth_status(&err);
            assert_eq!(status.code(), code, "{err:?}");
            let details = status.get_error_details();
            assert_eq!(
                details.error_info().map(|i| i.reason.as_str()),
                Some(err.reason())
            );
        }
    }

    #[test]
    fn batch_item_error_detail() {
        let d = error_detail(&Error::invalid("timestamp", "not RFC 3339"));
        assert_eq!(d.code, tonic::Code::InvalidArgument as i32);
        assert_eq!(d.reason, "invalid_argument");
        assert_eq!(d.field_violations[0].field, "timestamp");
    }
}
