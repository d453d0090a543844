//! Audience segmentation service: profiles and experience events come in, segment definitions
//! written in PQL (Profile Query Language) describe audiences, and segment jobs evaluate them.
//!
//! The PQL engine ([`pql`]) is the core every other part uses.
#![forbid(unsafe_code)]

pub mod app;
pub mod auth;
pub mod config;
pub mod context;
pub mod datagen;
pub mod demo;
pub mod domain;
pub mod engine;
pub mod error;
pub mod grpc;
pub mod health;
pub mod pql;
pub mod rest;
pub mod store;
pub mod telemetry;
