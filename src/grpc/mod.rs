//! The gRPC edge: thin tonic services over the domain core.

pub mod pb;
