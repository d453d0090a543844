//! The generated contract: `segmentation.v1` messages, servers and clients, and the encoded file
//! descriptor set served by reflection.

#![allow(clippy::all, missing_docs)]

tonic::include_proto!("segmentation.v1");

/// The encoded `FileDescriptorSet` of `proto/segmentation/v1/*.proto` (for tonic-reflection).
pub const FILE_DESCRIPTOR_SET: &[u8] =
    tonic::include_file_descriptor_set!("segmentation_descriptor");
