//! The SQL expression engine of the `expectations` plugin, for plugins that
//! evaluate SQL conditions of their own (e.g. `cdc`'s `apply_as_deletes`):
//! [`plan_predicate`] parses and type-checks one boolean expression against
//! a schema, [`Predicate::evaluate`] runs it over batches.
//!
//! The sources are the expectations plugin's own (one copy, compiled here
//! as well): its engine modules do not depend on the rest of that crate.
//! Moving them here for good, with `expectations` depending on this crate,
//! is the tidier layout; until then the `#[path]`s below keep one source.

// Parts of the engine only the expectations stage itself calls.
#![allow(dead_code)]

#[path = "../../expectations/src/arith.rs"]
mod arith;
#[path = "../../expectations/src/calls.rs"]
mod calls;
#[path = "../../expectations/src/coerce.rs"]
mod coerce;
#[path = "../../expectations/src/eval.rs"]
mod eval;
#[path = "../../expectations/src/functions.rs"]
mod functions;
#[path = "../../expectations/src/parse.rs"]
mod parse;
#[path = "../../expectations/src/planner.rs"]
mod planner;
#[path = "../../expectations/src/predicate.rs"]
mod predicate;
#[path = "../../expectations/src/typed.rs"]
mod typed;
#[path = "../../expectations/src/types.rs"]
mod types;
#[path = "../../expectations/src/value.rs"]
mod value;

pub use predicate::{Predicate, plan_predicate};
