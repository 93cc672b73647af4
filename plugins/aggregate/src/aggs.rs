//! Aggregate functions over the rows of a joined input, grouped by key.

use std::collections::HashSet;
use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray, UInt32Array, UInt64Array,
};
use arrow_cast::{CastOptions, cast_with_options};
use arrow_row::{RowConverter, SortField};
use arrow_schema::{DECIMAL128_MAX_PRECISION, DataType};
use lfhost_plugin_sdk::Error;

use crate::options::Function;
pub use crate::sums::Sums;

pub fn is_float(t: &DataType) -> bool {
    matches!(t, DataType::Float16 | DataType::Float32 | DataType::Float64)
}

pub fn decimal_scale(t: &DataType) -> Option<i8> {
    match t {
        DataType::Decimal32(_, s) | DataType::Decimal64(_, s) | DataType::Decimal128(_, s) => {
            Some(*s)
        }
        _ => None,
    }
}

/// The result type of `function` over a column of type `input` (`None`: rows).
pub fn natural_type(function: Function, input: Option<&DataType>) -> Result<DataType, String> {
    let Some(t) = input else {
        return Ok(DataType::Int64);
    };
    let numeric = t.is_integer() || is_float(t) || decimal_scale(t).is_some();
    let encodable = RowConverter::supports_fields(&[SortField::new(t.clone())]);
    match function {
        Function::Count => Ok(DataType::Int64),
        Function::CountDistinct if encodable => Ok(DataType::Int64),
        Function::Min | Function::Max if encodable && !t.is_nested() => Ok(t.clone()),
        Function::Sum if t.is_integer() => Ok(DataType::Int64),
        Function::Sum if is_float(t) => Ok(DataType::Float64),
        Function::Sum if decimal_scale(t).is_some() => Ok(DataType::Decimal128(
            DECIMAL128_MAX_PRECISION,
            decimal_scale(t).unwrap_or(0),
        )),
        Function::Avg if numeric => Ok(DataType::Float64),
        _ => Err(format!(
            "`{}` does not apply to a column of type {t}",
            function.name()
        )),
    }
}

pub fn strict() -> CastOptions<'static> {
    CastOptions {
        safe: false,
        ..Default::default()
    }
}

/// The `default` option as one value of `output`; `None` for JSON null.
pub fn default_value(
    value: &serde_json::Value,
    output: &DataType,
) -> Result<Option<ArrayRef>, String> {
    use serde_json::Value;
    let single: ArrayRef = match value {
        Value::Null => return Ok(None),
        Value::Bool(b) => Arc::new(BooleanArray::from(vec![*b])),
        Value::String(s) => Arc::new(StringArray::from(vec![s.as_str()])),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Arc::new(Int64Array::from(vec![i])),
            (_, Some(u), _) => Arc::new(UInt64Array::from(vec![u])),
            (_, _, Some(f)) => Arc::new(Float64Array::from(vec![f])),
            _ => return Err(format!("{n} is not a number this stage reads")),
        },
        _ => return Err("must be a number, a string, a boolean or null".into()),
    };
    let cast = cast_with_options(&single, output, &strict())
        .map_err(|e| format!("{value} is not a value of type {output}: {e}"))?;
    if cast.null_count() > 0 {
        return Err(format!("{value} is not a value of type {output}"));
    }
    Ok(Some(cast))
}

/// Joined rows grouped: the group of each row (`None`: no base row has
/// its key) and each group's number of rows.
pub struct Groups<'a> {
    of_row: &'a [Option<u32>],
    sizes: Vec<u32>,
}

impl<'a> Groups<'a> {
    pub fn new(of_row: &'a [Option<u32>], count: usize) -> Groups<'a> {
        let mut sizes = vec![0u32; count];
        for g in of_row.iter().flatten() {
            sizes[*g as usize] += 1;
        }
        Groups { of_row, sizes }
    }

    /// Each joined row's group.
    pub fn of_row(&self) -> &'a [Option<u32>] {
        self.of_row
    }

    /// The number of groups.
    pub fn count(&self) -> usize {
        self.sizes.len()
    }

    /// Whether group `g` has rows.
    pub fn has_rows(&self, g: u32) -> bool {
        self.sizes.get(g as usize).is_some_and(|&n| n > 0)
    }
}

/// `function` per group, in its natural type; NULL for a group without a
/// (non-null) value, except counts, which are 0.
///
/// `summed` holds the column's sums when they were computed together with
/// other columns' ([`Sums::together`]).
pub fn compute(
    function: Function,
    column: Option<&ArrayRef>,
    groups: &Groups,
    name: &str,
    summed: Option<Sums>,
) -> Result<ArrayRef, Error> {
    let Some(column) = column else {
        let counts = groups.sizes.iter().map(|&n| i64::from(n));
        return Ok(Arc::new(Int64Array::from_iter_values(counts)));
    };
    match function {
        Function::Count => {
            let mut counts = vec![0i64; groups.count()];
            for (row, g) in groups.of_row.iter().enumerate() {
                if let Some(g) = g
                    && column.is_valid(row)
                {
                    counts[*g as usize] += 1;
                }
            }
            Ok(Arc::new(Int64Array::from(counts)))
        }
        Function::CountDistinct => count_distinct(column, groups),
        Function::Min | Function::Max => extreme(column, groups, function == Function::Max),
        Function::Sum | Function::Avg => {
            let sums = match summed {
                Some(sums) => sums,
                None => Sums::new(column, groups, name)?,
            };
            if function == Function::Avg {
                Ok(sums.avg())
            } else {
                sums.sum(name)
            }
        }
    }
}

pub fn internal(e: impl std::fmt::Display) -> Error {
    Error::internal(e.to_string())
}

fn count_distinct(column: &ArrayRef, groups: &Groups) -> Result<ArrayRef, Error> {
    let converter =
        RowConverter::new(vec![SortField::new(column.data_type().clone())]).map_err(internal)?;
    let rows = converter
        .convert_columns(std::slice::from_ref(column))
        .map_err(internal)?;
    let mut seen = HashSet::new();
    let mut counts = vec![0i64; groups.count()];
    for (row, g) in groups.of_row.iter().enumerate() {
        if let Some(g) = g
            && column.is_valid(row)
            && seen.insert((*g, rows.row(row)))
        {
            counts[*g as usize] += 1;
        }
    }
    Ok(Arc::new(Int64Array::from(counts)))
}

fn extreme(column: &ArrayRef, groups: &Groups, max: bool) -> Result<ArrayRef, Error> {
    let converter =
        RowConverter::new(vec![SortField::new(column.data_type().clone())]).map_err(internal)?;
    let rows = converter
        .convert_columns(std::slice::from_ref(column))
        .map_err(internal)?;
    let mut best: Vec<Option<u32>> = vec![None; groups.count()];
    for (row, g) in groups.of_row.iter().enumerate() {
        let Some(g) = g else { continue };
        if column.is_null(row) {
            continue;
        }
        let slot = &mut best[*g as usize];
        let better = match slot {
            None => true,
            Some(b) => {
                let (new, old) = (rows.row(row), rows.row(*b as usize));
                if max { new > old } else { new < old }
            }
        };
        if better {
            *slot = Some(row as u32);
        }
    }
    arrow_select::take::take(column.as_ref(), &UInt32Array::from(best), None).map_err(internal)
}
