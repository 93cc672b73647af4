//! Rules about a run's rows as a whole, checked at `finish`:
//! `unique(col, ...)` and bounds on `row_count`.
//!
//! Both see only the rows this flow reads in one run (its input's new rows),
//! not what earlier runs wrote: `unique` cannot find a key that repeats one
//! committed before.

use std::collections::HashMap;

use arrow_arith::boolean::{and, is_not_null};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_row::{RowConverter, SortField};
use arrow_schema::{ArrowError, Schema};
use sqlparser::ast::{
    BinaryOperator, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, ObjectNamePart,
    UnaryOperator, Value as SqlValue,
};

use crate::parse::parse_expr;
use crate::render;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// Input column indices of the key.
    Unique(Vec<usize>),
    /// Inclusive bounds.
    RowCount { min: Option<u64>, max: Option<u64> },
}

const FORMS: &str = "unique(col, ...), row_count BETWEEN a AND b, row_count >= a, row_count <= b";

/// Parses a rule against the input schema.
pub fn parse_rule(text: &str, schema: &Schema) -> Result<Rule, String> {
    let expr = parse_expr(text)?;
    match &expr {
        Expr::Function(f) => {
            let is_unique = matches!(f.name.0.as_slice(),
                [ObjectNamePart::Identifier(i)] if i.value.eq_ignore_ascii_case("unique"));
            if !is_unique {
                return Err(format!(
                    "unknown rule `{}`; expected one of {FORMS}",
                    f.name
                ));
            }
            let FunctionArguments::List(list) = &f.args else {
                return Err("unique(...) needs at least one column".into());
            };
            let mut columns = Vec::new();
            for arg in &list.args {
                let FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Identifier(ident))) = arg
                else {
                    return Err(format!("unique(...) takes column names, got `{arg}`"));
                };
                let index = schema.index_of(&ident.value).map_err(|_| {
                    let names: Vec<&str> =
                        schema.fields().iter().map(|f| f.name().as_str()).collect();
                    format!(
                        "unknown column `{}`; the input has {}",
                        ident.value,
                        names.join(", ")
                    )
                })?;
                if columns.contains(&index) {
                    return Err(format!("unique(...) names `{}` twice", ident.value));
                }
                columns.push(index);
            }
            if columns.is_empty() {
                return Err("unique(...) needs at least one column".into());
            }
            Ok(Rule::Unique(columns))
        }
        Expr::Between {
            expr: subject,
            negated: false,
            low,
            high,
        } => {
            row_count(subject)?;
            let (min, max) = (bound(low)?, bound(high)?);
            if min > max {
                return Err(format!(
                    "the lower bound {min} is above the upper bound {max}"
                ));
            }
            Ok(Rule::RowCount {
                min: Some(min),
                max: Some(max),
            })
        }
        Expr::BinaryOp { left, op, right } => {
            row_count(left)?;
            let n = bound(right)?;
            let (min, max) = match op {
                BinaryOperator::GtEq => (Some(n), None),
                BinaryOperator::Gt => (Some(n.saturating_add(1)), None),
                BinaryOperator::LtEq => (None, Some(n)),
                BinaryOperator::Lt if n == 0 => return Err("row_count < 0 never holds".into()),
                BinaryOperator::Lt => (None, Some(n - 1)),
                BinaryOperator::Eq => (Some(n), Some(n)),
                other => {
                    return Err(format!(
                        "unsupported comparison {other}; expected one of {FORMS}"
                    ));
                }
            };
            Ok(Rule::RowCount { min, max })
        }
        other => Err(format!(
            "unsupported rule `{other}`; expected one of {FORMS}"
        )),
    }
}

fn row_count(e: &Expr) -> Result<(), String> {
    match e {
        Expr::Identifier(i) if i.value.eq_ignore_ascii_case("row_count") => Ok(()),
        other => Err(format!(
            "expected `row_count`, got `{other}`; rules are {FORMS}"
        )),
    }
}

fn bound(e: &Expr) -> Result<u64, String> {
    let bad = || format!("`{e}` is not a non-negative integer");
    match e {
        Expr::Value(v) => match &v.value {
            SqlValue::Number(text, _) => text.parse().map_err(|_| bad()),
            _ => Err(bad()),
        },
        Expr::UnaryOp {
            op: UnaryOperator::Plus,
            expr,
        } => bound(expr),
        Expr::Nested(inner) => bound(inner),
        _ => Err(bad()),
    }
}

/// What `unique` found over a run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UniqueReport {
    /// Key values held by more than one row.
    pub duplicate_keys: u64,
    /// Rows holding such a key (all of them, first occurrences included).
    pub duplicate_rows: u64,
    /// The first key seen twice, as a JSON object.
    pub example: Option<String>,
}

/// Counts rows per key tuple over a run. Keys are kept in Arrow's row
/// format, so memory grows with the number of distinct keys.
pub struct UniqueTracker {
    columns: Vec<usize>,
    names: Vec<String>,
    converter: RowConverter,
    counts: HashMap<Box<[u8]>, u64>,
    example: Option<String>,
}

impl UniqueTracker {
    /// Tracks the key made of input columns `columns`, in order.
    pub fn new(columns: Vec<usize>, schema: &Schema) -> Result<UniqueTracker, ArrowError> {
        let fields = columns
            .iter()
            .map(|i| SortField::new(schema.field(*i).data_type().clone()))
            .collect::<Vec<_>>();
        let names = columns
            .iter()
            .map(|i| schema.field(*i).name().clone())
            .collect();
        Ok(UniqueTracker {
            converter: RowConverter::new(fields)?,
            columns,
            names,
            counts: HashMap::new(),
            example: None,
        })
    }

    /// Adds a batch's keys; a row with a NULL in its key takes no part.
    pub fn add(&mut self, batch: &RecordBatch) -> Result<(), ArrowError> {
        let mut keys: Vec<ArrayRef> = self
            .columns
            .iter()
            .map(|i| batch.column(*i).clone())
            .collect();
        let mut present = None;
        for key in &keys {
            if key.null_count() > 0 {
                let valid = is_not_null(key)?;
                present = Some(match present {
                    None => valid,
                    Some(p) => and(&p, &valid)?,
                });
            }
        }
        if let Some(present) = present {
            keys = keys
                .iter()
                .map(|k| arrow_select::filter::filter(k, &present))
                .collect::<Result<_, _>>()?;
        }
        let rows = self.converter.convert_columns(&keys)?;
        for (i, row) in rows.iter().enumerate() {
            let bytes = row.as_ref();
            let count = match self.counts.get_mut(bytes) {
                Some(c) => {
                    *c += 1;
                    *c
                }
                None => {
                    self.counts.insert(bytes.into(), 1);
                    1
                }
            };
            if count == 2 && self.example.is_none() {
                let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
                self.example = Some(render::columns_json(&names, &keys, i));
            }
        }
        Ok(())
    }

    pub fn report(&self) -> UniqueReport {
        let mut report = UniqueReport {
            example: self.example.clone(),
            ..UniqueReport::default()
        };
        for count in self.counts.values().filter(|c| **c > 1) {
            report.duplicate_keys += 1;
            report.duplicate_rows += count;
        }
        report
    }
}
