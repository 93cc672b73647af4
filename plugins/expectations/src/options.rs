//! The plugin's options: what each expectation is called, checks and does.
//! Only the JSON's shape and the names are checked here; the expressions
//! need the input schema (see `engine`).

use std::collections::HashSet;

use lfhost_plugin_sdk::Error;
use serde::Deserialize;

/// What a failing row (or table rule) does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Keep the row, count it.
    #[default]
    Warn,
    /// Keep the row out of `main` (it goes to `quarantine`), count it.
    Drop,
    /// Fail the flow.
    Fail,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Warn => "warn",
            Action::Drop => "drop",
            Action::Fail => "fail",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectationOption {
    pub name: String,
    /// A SQL boolean expression over the input's columns.
    pub expr: String,
    #[serde(default)]
    pub action: Action,
    /// The largest fraction of a run's rows that may fail (warn and drop only).
    #[serde(default)]
    pub max_failed_fraction: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableExpectationOption {
    pub name: String,
    /// `unique(col, ...)`, `row_count BETWEEN a AND b`, `row_count >= a`, ...
    pub rule: String,
    #[serde(default)]
    pub action: Action,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    #[serde(default)]
    pub expectations: Vec<ExpectationOption>,
    #[serde(default)]
    pub table_expectations: Vec<TableExpectationOption>,
}

impl Options {
    /// Parses the options JSON and checks names, actions and thresholds;
    /// errors carry the option's dotted path.
    pub fn parse(text: &str) -> Result<Options, Error> {
        let options: Options = lfhost_plugin_sdk::parse_options(text)?;
        if options.expectations.is_empty() && options.table_expectations.is_empty() {
            return Err(Error::option(
                "expectations",
                "declare at least one expectation or table expectation",
            ));
        }
        let mut names = HashSet::new();
        let rows = options
            .expectations
            .iter()
            .enumerate()
            .map(|(i, e)| (format!("expectations.{i}"), &e.name));
        let tables = options
            .table_expectations
            .iter()
            .enumerate()
            .map(|(i, t)| (format!("table_expectations.{i}"), &t.name));
        for (path, name) in rows.chain(tables) {
            if name.trim().is_empty() {
                return Err(Error::option(
                    format!("{path}.name"),
                    "a name must not be empty",
                ));
            }
            // Names become counter names and appear in JSON and messages.
            if name.chars().any(char::is_control) {
                return Err(Error::option(
                    format!("{path}.name"),
                    format!("the name {name:?} contains a control character"),
                ));
            }
            if !names.insert(name.as_str()) {
                return Err(Error::option(
                    format!("{path}.name"),
                    format!("the name `{name}` is used twice; expectation names must be unique"),
                ));
            }
        }
        for (i, e) in options.expectations.iter().enumerate() {
            let Some(fraction) = e.max_failed_fraction else {
                continue;
            };
            let path = format!("expectations.{i}.max_failed_fraction");
            if e.action == Action::Fail {
                return Err(Error::option(
                    path,
                    format!(
                        "expectation `{}`: max_failed_fraction applies to `warn` and `drop` \
                         expectations; a `fail` expectation already fails on one row",
                        e.name
                    ),
                ));
            }
            if !(0.0..=1.0).contains(&fraction) {
                return Err(Error::option(
                    path,
                    format!(
                        "expectation `{}`: must be between 0 and 1, got {fraction}",
                        e.name
                    ),
                ));
            }
        }
        for (i, t) in options.table_expectations.iter().enumerate() {
            if t.action == Action::Drop {
                return Err(Error::option(
                    format!("table_expectations.{i}.action"),
                    format!(
                        "table expectation `{}`: a table rule can `warn` or `fail`, not `drop`",
                        t.name
                    ),
                ));
            }
        }
        Ok(options)
    }
}
