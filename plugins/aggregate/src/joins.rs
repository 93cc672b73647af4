//! One join's output columns for the (sorted) base rows.

use arrow_arith::boolean::is_not_null;
use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch, Scalar, UInt32Array};
use arrow_cast::{CastOptions, cast_with_options};

use arrow_select::take::take;
use arrow_select::zip::zip;
use lfhost_plugin_sdk::Error;

use crate::aggs::{Groups, Sums, compute};
use crate::keys;
use crate::lookup::{Lookup, Side};
use crate::options::{Function, How};
use crate::plan::{AggPlan, JoinKind, JoinPlan};

pub struct Joined {
    pub columns: Vec<ArrayRef>,
    /// For an inner join: the base rows that have a match.
    pub matched: Option<BooleanArray>,
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::internal(e.to_string())
}

pub fn join_columns(
    join: &JoinPlan,
    base: &RecordBatch,
    table: &RecordBatch,
) -> Result<Joined, Error> {
    let converter = keys::converter(&join.key_types)?;
    let (brows, bcomplete, bcolumns) =
        keys::encode(&converter, base, &join.base_keys, &join.key_types)?;
    let (jrows, jcomplete, jcolumns) =
        keys::encode(&converter, table, &join.join_keys, &join.key_types)?;
    let base_side = Side::new(&brows, &bcomplete, &bcolumns);
    let join_side = Side::new(&jrows, &jcomplete, &jcolumns);
    let (columns, matched) = match &join.kind {
        JoinKind::Lookup(kept) => {
            let mut index = Lookup::for_keys(&join_side);
            for r in (0..table.num_rows()).filter(|&r| jcomplete[r]) {
                if index.insert_if_absent(&join_side, r, r as u32) != r as u32 {
                    return Err(Error::data(format!(
                        "`{}` has more than one row for {} (a lookup needs at most one)",
                        join.source.input,
                        keys::render(table, &join.join_keys, r)
                    )));
                }
            }
            let found = UInt32Array::from(index.probe(&base_side));
            let columns = kept
                .iter()
                .map(|&c| take(table.column(c).as_ref(), &found, None))
                .collect::<Result<Vec<_>, _>>()
                .map_err(internal)?;
            (columns, is_not_null(&found).map_err(internal)?)
        }
        JoinKind::Aggregates(aggs) => {
            // One group per distinct base key; joined rows of other keys are left out.
            let mut ids = Lookup::for_keys(&base_side);
            for r in (0..base.num_rows()).filter(|&r| bcomplete[r]) {
                let next = ids.len() as u32;
                ids.insert_if_absent(&base_side, r, next);
            }
            let of_base = UInt32Array::from(ids.probe(&base_side));
            let of_row = ids.probe(&join_side);
            let groups = Groups::new(&of_row, ids.len());
            let matched: BooleanArray = of_base
                .iter()
                .map(|g| Some(g.is_some_and(|g| groups.has_rows(g))))
                .collect();
            let sum_columns: Vec<_> = aggs
                .iter()
                .map(|agg| match (agg.function, agg.column) {
                    (Function::Sum | Function::Avg, Some(c)) => {
                        Some((table.column(c), agg.name.as_str()))
                    }
                    _ => None,
                })
                .collect();
            let summed = Sums::together(&sum_columns, &groups)?;
            let columns = aggs
                .iter()
                .zip(summed)
                .map(|(agg, summed)| aggregate(agg, table, &groups, &of_base, summed))
                .collect::<Result<Vec<_>, _>>()?;
            (columns, matched)
        }
    };
    Ok(Joined {
        columns,
        matched: (join.how == How::Inner).then_some(matched),
    })
}

/// One aggregate per base row: computed per group, spread over the base
/// rows, cast to its type, NULLs replaced by its default.
fn aggregate(
    agg: &AggPlan,
    table: &RecordBatch,
    groups: &Groups,
    of_base: &UInt32Array,
    summed: Option<Sums>,
) -> Result<ArrayRef, Error> {
    let column = agg.column.map(|c| table.column(c));
    let per_group = compute(agg.function, column, groups, &agg.name, summed)?;
    let values = take(per_group.as_ref(), of_base, None).map_err(internal)?;
    let values = if values.data_type() == &agg.output {
        values
    } else {
        let strict = CastOptions {
            safe: false,
            ..Default::default()
        };
        cast_with_options(&values, &agg.output, &strict).map_err(|e| {
            Error::data(format!(
                "`{}`: a value does not fit {}: {e}",
                agg.name, agg.output
            ))
        })?
    };
    match &agg.default {
        Some(default) if values.null_count() > 0 => {
            let mask = is_not_null(&values).map_err(internal)?;
            zip(&mask, &values, &Scalar::new(default.clone())).map_err(internal)
        }
        _ => Ok(values),
    }
}
