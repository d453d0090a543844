//! Who is asking, for which tenant: every domain operation takes a [`RequestContext`].
//!
//! AEP carries the tenant in headers (`x-gw-ims-org-id`, `x-sandbox-name`); the gRPC interceptor
//! and the REST extractor both turn them into this one type (see `auth`), so the domain layer never
//! sees wire types. Every stored row is keyed by the [`Tenant`]; a resource of another tenant is
//! simply not found.

use std::fmt;

/// The partition every row belongs to: an IMS organisation and one of its sandboxes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tenant {
    /// `x-gw-ims-org-id`, e.g. `ACME0123456789@AdobeOrg`.
    pub org: String,
    /// `x-sandbox-name`, lower-case; `prod` when the header is absent.
    pub sandbox: String,
}

impl Tenant {
    pub fn new(org: impl Into<String>, sandbox: impl Into<String>) -> Tenant {
        Tenant {
            org: org.into(),
            sandbox: sandbox.into(),
        }
    }
}

impl fmt::Display for Tenant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.org, self.sandbox)
    }
}

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// No auth configured (dev mode, loopback only).
    Anonymous,
    /// A verified token's client id (`x-api-key` / JWT client claim) and subject.
    Client { client_id: String, subject: String },
}

/// One request's identity and tenant, built at the edge and passed to every domain call.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub tenant: Tenant,
    pub principal: Principal,
    /// `x-request-id`, generated when absent; echoed in responses and logs.
    pub request_id: String,
}

impl RequestContext {
    pub fn new(tenant: Tenant, principal: Principal, request_id: impl Into<String>) -> Self {
        RequestContext {
            tenant,
            principal,
            request_id: request_id.into(),
        }
    }
}
