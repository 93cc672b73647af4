//! The SQL expression engine of the `expectations` plugin, for plugins that
//! evaluate SQL conditions of their own (e.g. `cdc`'s `apply_as_deletes`):
//! [`plan_predicate`] parses and type-checks one boolean expression against
//! a schema, [`Predicate::evaluate`] runs it over batches.
//!
//! The `expectations` plugin is built on it too; its modules are public so
//! that plugin can plan and evaluate whole expectation sets.

pub mod arith;
pub mod calls;
pub mod coerce;
pub mod eval;
pub mod functions;
pub mod parse;
pub mod planner;
pub mod predicate;
mod text_match;
pub mod typed;
pub mod types;
pub mod value;

pub use predicate::{Predicate, plan_predicate};
