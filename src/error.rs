//! The one error type of the service and its catalogue.
//!
//! Every failure a caller can see is an [`Error`]. Each error has a [`Code`], and the catalogue on
//! [`Code`] is the single table that says how it travels: its gRPC code, its HTTP status, a stable
//! snake_case reason (gRPC `google.rpc.ErrorInfo.reason`) and the AEP error code that ends the
//! REST `type` URI (`https://ns.adobe.com/aep/errors/UPAPI-113000-404`). The gRPC and REST edges
//! render errors from this table only, so adding a variant forces both to decide (every match is
//! exhaustive; there is no `_ =>` arm).
//!
//! The AEP quirks are kept on purpose (API spec §1.3–1.4): a definition whose name is taken is
//! 422 on REST (409 for other kinds), a definition that others depend on cannot be deleted with
//! 400 `UPAPI-113631-403`, and bad PQL is 400 with the line and column of the mistake.

use std::fmt;
use std::time::Duration;

/// A resource kind, named in not-found and already-exists messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    SegmentDefinition,
    SegmentJob,
    Profile,
    ExperienceEvent,
}

impl ResourceKind {
    /// The words used in messages: `segment definition`.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::SegmentDefinition => "segment definition",
            ResourceKind::SegmentJob => "segment job",
            ResourceKind::Profile => "profile",
            ResourceKind::ExperienceEvent => "experience event",
        }
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One bad field of a request (`google.rpc.BadRequest.FieldViolation`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// Dotted path of the field, e.g. `expression.format` or `records[3].timestamp`.
    pub field: String,
    pub description: String,
}

impl FieldViolation {
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> FieldViolation {
        FieldViolation {
            field: field.into(),
            description: description.into(),
        }
    }
}

/// Everything that can go wrong, as callers see it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The request is malformed; `violations` name the fields.
    #[error("{message}")]
    InvalidArgument {
        message: String,
        violations: Vec<FieldViolation>,
    },
    /// A PQL expression does not parse or compile. `line` and `column` are 1-based positions in
    /// the expression's own text (for pql/json: in the JSON text).
    #[error("invalid PQL in {field} at {line}:{column}: {message}")]
    InvalidPql {
        field: String,
        message: String,
        line: usize,
        column: usize,
    },
    /// No such resource in the caller's tenant (another tenant's resource is also not found).
    #[error("{kind} '{id}' not found")]
    NotFound { kind: ResourceKind, id: String },
    /// A resource with this name already exists in the caller's sandbox.
    #[error("a {kind} named '{name}' already exists")]
    AlreadyExists { kind: ResourceKind, name: String },
    /// A segment definition is referenced by others (`inSegment`) and cannot be deleted.
    #[error(
        "segment definition '{id}' is referenced by {}; delete or change those first",
        dependents.join(", ")
    )]
    DefinitionInUse { id: String, dependents: Vec<String> },
    /// The operation is valid but the resource's state forbids it.
    #[error("{message}")]
    FailedPrecondition { message: String },
    /// The caller is authenticated but may not do this.
    #[error("{message}")]
    PermissionDenied { message: String },
    /// Missing or invalid credentials.
    #[error("{message}")]
    Unauthenticated { message: String },
    /// A quota or rate limit; retry after the given delay when known.
    #[error("{message}")]
    ResourceExhausted {
        message: String,
        retry_after: Option<Duration>,
    },
    /// The service or its database cannot serve now; retrying later may work.
    #[error("{message}")]
    Unavailable { message: String },
    /// A bug or an unexpected failure; the message is for logs, not a promise.
    #[error("{message}")]
    Internal { message: String },
}

impl Error {
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Error {
        let violation = FieldViolation::new(field, description);
        Error::InvalidArgument {
            message: format!("{}: {}", violation.field, violation.description),
            violations: vec![violation],
        }
    }

    pub fn not_found(kind: ResourceKind, id: impl Into<String>) -> Error {
        Error::NotFound {
            kind,
            id: id.into(),
        }
    }

    pub fn internal(message: impl Into<String>) -> Error {
        Error::Internal {
            message: message.into(),
        }
    }

    pub fn unavailable(message: impl Into<String>) -> Error {
        Error::Unavailable {
            message: message.into(),
        }
    }

    pub fn failed_precondition(message: impl Into<String>) -> Error {
        Error::FailedPrecondition {
            message: message.into(),
        }
    }

    /// The catalogue entry of this error.
    pub fn code(&self) -> Code {
        match self {
            Error::InvalidArgument { .. } => Code::InvalidArgument,
            Error::InvalidPql { .. } => Code::InvalidPql,
            Error::NotFound { .. } => Code::NotFound,
            Error::AlreadyExists {
                kind: ResourceKind::SegmentDefinition,
                ..
            } => Code::DefinitionAlreadyExists,
            Error::AlreadyExists {
                kind:
                    ResourceKind::SegmentJob | ResourceKind::Profile | ResourceKind::ExperienceEvent,
                ..
            } => Code::AlreadyExists,
            Error::DefinitionInUse { .. } => Code::DefinitionInUse,
            Error::FailedPrecondition { .. } => Code::FailedPrecondition,
            Error::PermissionDenied { .. } => Code::PermissionDenied,
            Error::Unauthenticated { .. } => Code::Unauthenticated,
            Error::ResourceExhausted { .. } => Code::ResourceExhausted,
            Error::Unavailable { .. } => Code::Unavailable,
            Error::Internal { .. } => Code::Internal,
        }
    }

    /// The field violations to attach as `google.rpc.BadRequest` (empty when none apply). A PQL
    /// error becomes one violation on its field whose description starts with `line:col:`.
    pub fn field_violations(&self) -> Vec<FieldViolation> {
        match self {
            Error::InvalidArgument { violations, .. } => violations.clone(),
            Error::InvalidPql {
                field,
                message,
                line,
                column,
            } => vec![FieldViolation::new(
                field.clone(),
                format!("{line}:{column}: {message}"),
            )],
            Error::NotFound { .. }
            | Error::AlreadyExists { .. }
            | Error::DefinitionInUse { .. }
            | Error::FailedPrecondition { .. }
            | Error::PermissionDenied { .. }
            | Error::Unauthenticated { .. }
            | Error::ResourceExhausted { .. }
            | Error::Unavailable { .. }
            | Error::Internal { .. } => Vec::new(),
        }
    }

    /// How long the caller should wait before retrying, when the error says.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::ResourceExhausted { retry_after, .. } => *retry_after,
            Error::InvalidArgument { .. }
            | Error::InvalidPql { .. }
            | Error::NotFound { .. }
            | Error::AlreadyExists { .. }
            | Error::DefinitionInUse { .. }
            | Error::FailedPrecondition { .. }
            | Error::PermissionDenied { .. }
            | Error::Unauthenticated { .. }
            | Error::Unavailable { .. }
            | Error::Internal { .. } => None,
        }
    }
}

/// The catalogue: one entry per kind of error a caller can tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    InvalidArgument,
    InvalidPql,
    NotFound,
    DefinitionAlreadyExists,
    AlreadyExists,
    DefinitionInUse,
    FailedPrecondition,
    PermissionDenied,
    Unauthenticated,
    ResourceExhausted,
    Unavailable,
    Internal,
    /// A request body over `max_body_bytes`. Only the edges produce it, before any domain call:
    /// REST answers 413, and gRPC's own limit answers `OUT_OF_RANGE` (tonic's code for an
    /// oversized message), which this entry's gRPC code matches.
    PayloadTooLarge,
    /// A known REST path asked with a method it does not serve (405). gRPC has no such case;
    /// its nearest code, `UNIMPLEMENTED`, is what a call to an unknown method gets.
    MethodNotAllowed,
}

/// The prefix of every REST error `type` URI.
pub const ERROR_TYPE_BASE: &str = "https://ns.adobe.com/aep/errors/";

impl Code {
    /// Every entry, for tests and documentation.
    pub const ALL: [Code; 14] = [
        Code::InvalidArgument,
        Code::InvalidPql,
        Code::NotFound,
        Code::DefinitionAlreadyExists,
        Code::AlreadyExists,
        Code::DefinitionInUse,
        Code::FailedPrecondition,
        Code::PermissionDenied,
        Code::Unauthenticated,
        Code::ResourceExhausted,
        Code::Unavailable,
        Code::Internal,
        Code::PayloadTooLarge,
        Code::MethodNotAllowed,
    ];

    /// The gRPC status code.
    pub fn grpc(self) -> tonic::Code {
        match self {
            Code::InvalidArgument | Code::InvalidPql => tonic::Code::InvalidArgument,
            Code::NotFound => tonic::Code::NotFound,
            Code::DefinitionAlreadyExists | Code::AlreadyExists => tonic::Code::AlreadyExists,
            Code::DefinitionInUse | Code::FailedPrecondition => tonic::Code::FailedPrecondition,
            Code::PermissionDenied => tonic::Code::PermissionDenied,
            Code::Unauthenticated => tonic::Code::Unauthenticated,
            Code::ResourceExhausted => tonic::Code::ResourceExhausted,
            Code::Unavailable => tonic::Code::Unavailable,
            Code::Internal => tonic::Code::Internal,
            Code::PayloadTooLarge => tonic::Code::OutOfRange,
            Code::MethodNotAllowed => tonic::Code::Unimplemented,
        }
    }

    /// The HTTP status of the REST response.
    pub fn http_status(self) -> u16 {
        match self {
            Code::InvalidArgument | Code::InvalidPql => 400,
            Code::NotFound => 404,
            Code::DefinitionAlreadyExists => 422,
            Code::AlreadyExists => 409,
            // AEP answers 400 when dependents block a delete (API spec §1.3).
            Code::DefinitionInUse | Code::FailedPrecondition => 400,
            Code::PermissionDenied => 403,
            Code::Unauthenticated => 401,
            Code::ResourceExhausted => 429,
            Code::Unavailable => 503,
            Code::Internal => 500,
            Code::PayloadTooLarge => 413,
            Code::MethodNotAllowed => 405,
        }
    }

    /// The stable machine-readable reason (`google.rpc.ErrorInfo.reason`); never changes once
    /// published.
    pub fn reason(self) -> &'static str {
        match self {
            Code::InvalidArgument => "invalid_argument",
            Code::InvalidPql => "invalid_pql",
            Code::NotFound => "not_found",
            Code::DefinitionAlreadyExists => "definition_already_exists",
            Code::AlreadyExists => "already_exists",
            Code::DefinitionInUse => "definition_in_use",
            Code::FailedPrecondition => "failed_precondition",
            Code::PermissionDenied => "permission_denied",
            Code::Unauthenticated => "unauthenticated",
            Code::ResourceExhausted => "resource_exhausted",
            Code::Unavailable => "unavailable",
            Code::Internal => "internal",
            Code::PayloadTooLarge => "payload_too_large",
            Code::MethodNotAllowed => "method_not_allowed",
        }
    }

    /// The AEP error code (`UPAPI-<n>-<status>`), the `code` of the REST error entry. Codes AEP
    /// documents keep their AEP number; the others are ours in the same `1130xx` range.
    pub fn aep_code(self) -> &'static str {
        match self {
            Code::InvalidArgument => "UPAPI-113001-400",
            Code::InvalidPql => "UPAPI-113002-400",
            Code::NotFound => "UPAPI-113000-404",
            Code::DefinitionAlreadyExists => "UPAPI-113003-422",
            Code::AlreadyExists => "UPAPI-113004-409",
            Code::DefinitionInUse => "UPAPI-113631-403",
            Code::FailedPrecondition => "UPAPI-113005-400",
            Code::PermissionDenied => "UPAPI-113752-403",
            Code::Unauthenticated => "UPAPI-113006-401",
            Code::ResourceExhausted => "UPAPI-113007-429",
            Code::Unavailable => "UPLIB-101554-503",
            Code::Internal => "UPAPI-113008-500",
            Code::PayloadTooLarge => "UPAPI-113009-413",
            Code::MethodNotAllowed => "UPAPI-113010-405",
        }
    }

    /// The REST `type` URI: [`ERROR_TYPE_BASE`] followed by the AEP code.
    pub fn type_uri(self) -> String {
        format!("{ERROR_TYPE_BASE}{}", self.aep_code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn reasons_and_aep_codes_are_unique() {
        let reasons: HashSet<_> = Code::ALL.iter().map(|c| c.reason()).collect();
        let codes: HashSet<_> = Code::ALL.iter().map(|c| c.aep_code()).collect();
        assert_eq!(reasons.len(), Code::ALL.len());
        assert_eq!(codes.len(), Code::ALL.len());
    }

    #[test]
    fn reasons_are_snake_case() {
        for c in Code::ALL {
            let r = c.reason();
            assert!(
                r.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'),
                "{r}"
            );
        }
    }

    #[test]
    fn aep_quirks_are_kept() {
        let taken = Error::AlreadyExists {
            kind: ResourceKind::SegmentDefinition,
            name: "x".into(),
        };
        assert_eq!(taken.code().http_status(), 422);
        assert_eq!(taken.code().grpc(), tonic::Code::AlreadyExists);
        let other = Error::AlreadyExists {
            kind: ResourceKind::SegmentJob,
            name: "x".into(),
        };
        assert_eq!(other.code().http_status(), 409);
        let in_use = Error::DefinitionInUse {
            id: "a".into(),
            dependents: vec!["b".into(), "c".into()],
        };
        assert_eq!(in_use.code().http_status(), 400);
        assert_eq!(in_use.code().grpc(), tonic::Code::FailedPrecondition);
        assert!(in_use.to_string().contains("b, c"), "{in_use}");
        assert_eq!(
            Error::not_found(ResourceKind::Profile, "p")
                .code()
                .type_uri(),
            "https://ns.adobe.com/aep/errors/UPAPI-113000-404"
        );
    }

    #[test]
    fn pql_errors_become_a_field_violation_with_position() {
        let e = Error::InvalidPql {
            field: "expression".into(),
            message: "expected a value".into(),
            line: 2,
            column: 7,
        };
        assert_eq!(
            e.field_violations(),
            vec![FieldViolation::new("expression", "2:7: expected a value")]
        );
        assert_eq!(e.code().grpc(), tonic::Code::InvalidArgument);
    }

    #[test]
    fn http_status_agrees_with_the_aep_code_where_aep_does() {
        for c in Code::ALL {
            let suffix = c.aep_code().rsplit('-').next().unwrap_or_default();
            if c != Code::DefinitionInUse {
                assert_eq!(suffix, c.http_status().to_string(), "{c:?}");
            }
        }
    }
}
