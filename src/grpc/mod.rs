//! The gRPC edge: thin tonic services over the domain core.
//!
//! Each handler reads the [`RequestContext`] the request layer ([`layer`]) attached, converts the
//! message into the domain's request type ([`convert`]), makes one domain call, and converts the
//! answer back. Errors become `tonic::Status` with rich details in one place ([`status`]).

pub mod convert;
pub mod definitions;
pub mod job_convert;
pub mod jobs;
pub mod layer;
pub mod pb;
pub mod profiles;
pub mod status;

use tonic::{Request, Status};

use crate::context::RequestContext;

/// The caller's context, attached by [`layer::RequestContextLayer`].
pub fn request_context<T>(request: &Request<T>) -> Result<RequestContext, Status> {
    request
        .extensions()
        .get::<RequestContext>()
        .cloned()
        .ok_or_else(|| {
            Status::internal("request context missing: the request layer is not installed")
        })
}
