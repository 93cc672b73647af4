//! lfhost: declarative data pipelines whose every stage is a sandboxed
//! WebAssembly component, writing Delta Lake tables.
//!
//! - [`config`]: the pipeline file, variables and locations.
//! - [`dag`]: the tables as a dependency graph.
//! - [`sandbox`]: wasmtime, the WIT contract, limits.
//! - [`storage`]: landing files, Delta tables, the ingest manifest.
//! - [`runner`]: planning and running flows.
//! - [`event_log`]: the `_event_log` table; [`history`] reads it back.
//! - [`orchestration`]: the pipeline as steps for Argo, Kubernetes or JSON;
//!   [`maintenance`] is their last step.

pub mod authoring;
pub mod config;
pub mod dag;
pub mod event_log;
pub mod failpoint;
pub mod history;
pub mod maintenance;
pub mod memory;
pub mod orchestration;
pub mod report;
pub mod runner;
pub mod sandbox;
pub mod storage;
pub mod tenants;
