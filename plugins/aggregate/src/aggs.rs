//! Aggregate functions over the rows of a joined input, grouped by key.

use std::collections::HashSet;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{ArrowPrimitiveType, Decimal128Type, Float64Type, Int64Type};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Decimal128Array, Float64Array, Int64Array, PrimitiveArray,
    StringArray, UInt32Array, UInt64Array,
};
use arrow_cast::{CastOptions, cast_with_options};
use arrow_row::{RowConverter, SortField};
use arrow_schema::{DECIMAL128_MAX_PRECISION, DataType};
use lfhost_plugin_sdk::Error;

use crate::options::Function;

/// The largest magnitude of a DECIMAL(38, s) value's digits.
const MAX_DECIMAL38: i128 = 10i128.pow(38) - 1;

fn is_float(t: &DataType) -> bool {
    matches!(t, DataType::Float16 | DataType::Float32 | DataType::Float64)
}

fn decimal_scale(t: &DataType) -> Option<i8> {
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

fn strict() -> CastOptions<'static> {
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

    /// The number of groups.
    fn count(&self) -> usize {
        self.sizes.len()
    }

    /// Whether group `g` has rows.
    pub fn has_rows(&self, g: u32) -> bool {
        self.sizes.get(g as usize).is_some_and(|&n| n > 0)
    }
}

/// `function` per group, in its natural type; NULL for a group without a
/// (non-null) value, except counts, which are 0.
pub fn compute(
    function: Function,
    column: Option<&ArrayRef>,
    groups: &Groups,
    name: &str,
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
            let sums = Sums::new(column, groups, name)?;
            if function == Function::Avg {
                Ok(sums.avg())
            } else {
                sums.sum(name)
            }
        }
    }
}

fn internal(e: impl std::fmt::Display) -> Error {
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

/// Adds each valid value of `a` to its group's sum and count; returns
/// whether a sum overflowed. Groups are reached in row order, so each row
/// is a cache miss: the loop does nothing else per row (no early exit,
/// no validity lookup when there are no NULLs), and a group's sum and
/// count sit side by side, one miss for both.
fn add_exact<T: ArrowPrimitiveType>(
    a: &PrimitiveArray<T>,
    widen: impl Fn(T::Native) -> i128,
    groups: &Groups,
    totals: &mut [(i128, i64)],
) -> bool {
    let mut overflowed = false;
    let mut add = |g: u32, v: T::Native| {
        let total = &mut totals[g as usize];
        let (sum, over) = total.0.overflowing_add(widen(v));
        *total = (sum, total.1 + 1);
        overflowed |= over;
    };
    let rows = a.values().iter().zip(groups.of_row);
    match a.nulls() {
        None => rows.for_each(|(&v, g)| {
            if let Some(g) = *g {
                add(g, v);
            }
        }),
        Some(nulls) => rows.zip(nulls.iter()).for_each(|((&v, g), valid)| {
            if let (Some(g), true) = (*g, valid) {
                add(g, v);
            }
        }),
    }
    overflowed
}

/// Per group: the sum of the non-null values and their number.
enum Sums {
    /// Integers and decimals (at `scale`), exactly.
    Exact {
        totals: Vec<(i128, i64)>,
        scale: Option<i8>,
    },
    Float {
        totals: Vec<(f64, i64)>,
    },
}

impl Sums {
    fn new(column: &ArrayRef, groups: &Groups, name: &str) -> Result<Sums, Error> {
        let t = column.data_type();
        let cast = |to: &DataType| {
            cast_with_options(column, to, &strict())
                .map_err(|e| Error::data(format!("`{name}`: cannot read {t} as {to}: {e}")))
        };
        if is_float(t) {
            let values = cast(&DataType::Float64)?;
            let values = values.as_primitive::<Float64Type>();
            let mut totals = vec![(0f64, 0i64); groups.count()];
            for (row, g) in groups.of_row.iter().enumerate() {
                if let Some(g) = g
                    && values.is_valid(row)
                {
                    let total = &mut totals[*g as usize];
                    *total = (total.0 + values.value(row), total.1 + 1);
                }
            }
            return Ok(Sums::Float { totals });
        }
        let scale = decimal_scale(t);
        let mut totals = vec![(0i128, 0i64); groups.count()];
        // Values are read in place: a column of millions of rows is not
        // copied into a vector of options first.
        let overflowed = match scale {
            Some(s) => {
                let a = match t {
                    DataType::Decimal128(_, _) => column.clone(),
                    _ => cast(&DataType::Decimal128(DECIMAL128_MAX_PRECISION, s))?,
                };
                let a = a.as_primitive::<Decimal128Type>();
                add_exact(a, |v| v, groups, &mut totals)
            }
            None => {
                let a = cast(&DataType::Int64)?;
                let a = a.as_primitive::<Int64Type>();
                add_exact(a, i128::from, groups, &mut totals)
            }
        };
        if overflowed {
            return Err(Error::data(format!("`{name}`: the sum overflows")));
        }
        Ok(Sums::Exact { totals, scale })
    }

    fn sum(self, name: &str) -> Result<ArrayRef, Error> {
        let overflow = || Error::data(format!("`{name}`: the sum overflows"));
        Ok(match self {
            Sums::Float { totals } => Arc::new(Float64Array::from_iter(
                totals.into_iter().map(|(s, c)| (c > 0).then_some(s)),
            )),
            Sums::Exact {
                totals,
                scale: None,
            } => {
                let values = totals
                    .into_iter()
                    .map(|(s, c)| match c {
                        0 => Ok(None),
                        _ => i64::try_from(s).map(Some).map_err(|_| overflow()),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Arc::new(Int64Array::from(values))
            }
            Sums::Exact {
                totals,
                scale: Some(scale),
            } => {
                let values = totals
                    .into_iter()
                    .map(|(s, c)| match c {
                        0 => Ok(None),
                        _ if s.abs() > MAX_DECIMAL38 => Err(overflow()),
                        _ => Ok(Some(s)),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let array = Decimal128Array::from(values)
                    .with_precision_and_scale(DECIMAL128_MAX_PRECISION, scale)
                    .map_err(internal)?;
                Arc::new(array)
            }
        })
    }

    fn avg(self) -> ArrayRef {
        let averages: Vec<Option<f64>> = match self {
            Sums::Float { totals } => totals
                .into_iter()
                .map(|(s, c)| (c > 0).then(|| s / c as f64))
                .collect(),
            Sums::Exact { totals, scale } => {
                let unit = 10f64.powi(i32::from(scale.unwrap_or(0)));
                totals
                    .into_iter()
                    .map(|(s, c)| (c > 0).then(|| s as f64 / unit / c as f64))
                    .collect()
            }
        };
        Arc::new(Float64Array::from(averages))
    }
}
