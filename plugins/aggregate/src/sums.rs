//! Sums and averages per group, exact for integers and decimals.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{ArrowPrimitiveType, Decimal128Type, Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef, Decimal128Array, Float64Array, Int64Array, PrimitiveArray};
use arrow_cast::cast_with_options;
use arrow_schema::{DECIMAL128_MAX_PRECISION, DataType};
use lfhost_plugin_sdk::Error;

use crate::aggs::{Groups, decimal_scale, internal, is_float, strict};

/// The largest magnitude of a DECIMAL(38, s) value's digits.
const MAX_DECIMAL38: i128 = 10i128.pow(38) - 1;

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
    let rows = a.values().iter().zip(groups.of_row());
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

/// `column` (of aggregate `name`) cast to `to`, refusing lossy values.
fn read_as(column: &ArrayRef, to: &DataType, name: &str) -> Result<ArrayRef, Error> {
    cast_with_options(column, to, &strict()).map_err(|e| {
        let t = column.data_type();
        Error::data(format!("`{name}`: cannot read {t} as {to}: {e}"))
    })
}

fn overflows(name: &str) -> Error {
    Error::data(format!("`{name}`: the sum overflows"))
}

/// A column's values as exact integers (a decimal's at its scale), read in
/// place.
enum Exact {
    Decimal(Decimal128Array),
    Integer(Int64Array),
}

impl Exact {
    /// `column` (of `name`) as exact values, and its scale if a decimal.
    fn read(column: &ArrayRef, name: &str) -> Result<(Exact, Option<i8>), Error> {
        let t = column.data_type();
        let cast = |to: &DataType| read_as(column, to, name);
        Ok(match decimal_scale(t) {
            Some(s) => {
                let a = match t {
                    DataType::Decimal128(_, _) => column.clone(),
                    _ => cast(&DataType::Decimal128(DECIMAL128_MAX_PRECISION, s))?,
                };
                (
                    Exact::Decimal(a.as_primitive::<Decimal128Type>().clone()),
                    Some(s),
                )
            }
            None => {
                let a = cast(&DataType::Int64)?;
                (Exact::Integer(a.as_primitive::<Int64Type>().clone()), None)
            }
        })
    }

    fn value(&self, row: usize) -> Option<i128> {
        match self {
            Exact::Decimal(a) => a.is_valid(row).then(|| a.value(row)),
            Exact::Integer(a) => a.is_valid(row).then(|| i128::from(a.value(row))),
        }
    }
}

/// One group's sums and counts for `K` columns: one cache line for up to
/// three.
#[repr(C, align(64))]
#[derive(Clone, Copy)]
struct Line<const K: usize> {
    sums: [i128; K],
    counts: [u32; K],
}

/// [`Sums::together`]'s pass over `K` columns (`wanted`: index, column,
/// name).
fn in_one_pass<const K: usize>(
    wanted: &[(usize, &ArrayRef, &str)],
    groups: &Groups,
) -> Result<Vec<Sums>, Error> {
    let mut columns = Vec::with_capacity(K);
    let mut scales = Vec::with_capacity(K);
    for (_, column, name) in wanted {
        let (exact, scale) = Exact::read(column, name)?;
        columns.push(exact);
        scales.push(scale);
    }
    let mut lines = vec![
        Line {
            sums: [0; K],
            counts: [0; K],
        };
        groups.count()
    ];
    let mut overflowed = [false; K];
    for (row, g) in groups.of_row().iter().enumerate() {
        let Some(g) = *g else { continue };
        let line = &mut lines[g as usize];
        for (k, column) in columns.iter().enumerate().take(K) {
            if let Some(v) = column.value(row) {
                let (sum, over) = line.sums[k].overflowing_add(v);
                line.sums[k] = sum;
                line.counts[k] += 1;
                overflowed[k] |= over;
            }
        }
    }
    wanted
        .iter()
        .zip(scales)
        .enumerate()
        .map(|(k, ((_, _, name), scale))| {
            if overflowed[k] {
                return Err(overflows(name));
            }
            let totals = lines
                .iter()
                .map(|line| (line.sums[k], i64::from(line.counts[k])))
                .collect();
            Ok(Sums::Exact { totals, scale })
        })
        .collect()
}

/// Per group: the sum of the non-null values and their number.
pub enum Sums {
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
    pub fn new(column: &ArrayRef, groups: &Groups, name: &str) -> Result<Sums, Error> {
        let t = column.data_type();
        let cast = |to: &DataType| read_as(column, to, name);
        if is_float(t) {
            let values = cast(&DataType::Float64)?;
            let values = values.as_primitive::<Float64Type>();
            let mut totals = vec![(0f64, 0i64); groups.count()];
            for (row, g) in groups.of_row().iter().enumerate() {
                if let Some(g) = g
                    && values.is_valid(row)
                {
                    let total = &mut totals[*g as usize];
                    *total = (total.0 + values.value(row), total.1 + 1);
                }
            }
            return Ok(Sums::Float { totals });
        }
        let (exact, scale) = Exact::read(column, name)?;
        let mut totals = vec![(0i128, 0i64); groups.count()];
        // Values are read in place: a column of millions of rows is not
        // copied into a vector of options first.
        let overflowed = match &exact {
            Exact::Decimal(a) => add_exact(a, |v| v, groups, &mut totals),
            Exact::Integer(a) => add_exact(a, i128::from, groups, &mut totals),
        };
        if overflowed {
            return Err(overflows(name));
        }
        Ok(Sums::Exact { totals, scale })
    }

    /// The sums of the integer and decimal columns among `columns` (each a
    /// `sum` or `avg` aggregate's column and name), in `columns`' order.
    /// Two or three such columns are summed in one pass: rows reach their
    /// groups in random order, so each row's group is a cache miss, and
    /// with the groups' totals for every column in one cache line a row
    /// misses once instead of once per column. Any other column, or any
    /// other number of them, gets `None` (to be summed on its own).
    pub fn together(
        columns: &[Option<(&ArrayRef, &str)>],
        groups: &Groups,
    ) -> Result<Vec<Option<Sums>>, Error> {
        let exact = |t: &DataType| t.is_integer() || decimal_scale(t).is_some();
        let wanted: Vec<(usize, &ArrayRef, &str)> = columns
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                c.filter(|(a, _)| exact(a.data_type()))
                    .map(|(a, n)| (i, a, n))
            })
            .collect();
        let mut out: Vec<Option<Sums>> = columns.iter().map(|_| None).collect();
        let summed = match wanted.len() {
            2 => in_one_pass::<2>(&wanted, groups)?,
            3 => in_one_pass::<3>(&wanted, groups)?,
            _ => return Ok(out),
        };
        for ((i, _, _), sums) in wanted.iter().zip(summed) {
            out[*i] = Some(sums);
        }
        Ok(out)
    }

    pub fn sum(self, name: &str) -> Result<ArrayRef, Error> {
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
                        _ => i64::try_from(s).map(Some).map_err(|_| overflows(name)),
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
                        _ if s.abs() > MAX_DECIMAL38 => Err(overflows(name)),
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

    pub fn avg(self) -> ArrayRef {
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

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Int32Array;

    fn totals(sums: Option<Sums>) -> Vec<(i128, i64)> {
        match sums {
            Some(Sums::Exact { totals, .. }) => totals,
            _ => panic!("expected exact sums"),
        }
    }

    #[test]
    fn together_sums_as_each_column_alone() {
        let rows = 5000usize;
        let of_row: Vec<Option<u32>> = (0..rows as u32)
            .map(|r| (r % 11 != 4).then(|| r.wrapping_mul(2_654_435_761) % 300))
            .collect();
        let groups = Groups::new(&of_row, 300);
        let integers: ArrayRef = Arc::new(Int32Array::from_iter(
            (0..rows as i32).map(|r| (r % 7 != 0).then_some(r * 13 - 20_000)),
        ));
        let decimals: ArrayRef = Arc::new(
            Decimal128Array::from_iter(
                (0..rows as i128).map(|r| (r % 5 != 2).then_some(r * r - 7)),
            )
            .with_precision_and_scale(20, 2)
            .unwrap(),
        );
        let longs: ArrayRef = Arc::new(Int64Array::from_iter_values(
            (0..rows as i64).map(|r| r << 40),
        ));
        let floats: ArrayRef = Arc::new(Float64Array::from(vec![1.5; rows]));
        let alone = |c: &ArrayRef, n: &str| totals(Some(Sums::new(c, &groups, n).unwrap()));
        // Three exact columns among others; a float is left to sum alone.
        let columns = [
            Some((&integers, "i")),
            None,
            Some((&floats, "f")),
            Some((&decimals, "d")),
            Some((&longs, "l")),
        ];
        let summed = Sums::together(&columns, &groups).unwrap();
        let mut summed = summed.into_iter();
        assert_eq!(totals(summed.next().unwrap()), alone(&integers, "i"));
        assert!(summed.next().unwrap().is_none());
        assert!(summed.next().unwrap().is_none());
        match summed.next().unwrap() {
            Some(Sums::Exact { totals, scale }) => {
                assert_eq!(scale, Some(2));
                assert_eq!(totals, alone(&decimals, "d"));
            }
            _ => panic!("expected exact decimal sums"),
        }
        assert_eq!(totals(summed.next().unwrap()), alone(&longs, "l"));
        // Two columns share a pass too.
        let two =
            Sums::together(&[Some((&decimals, "d")), Some((&integers, "i"))], &groups).unwrap();
        let mut two = two.into_iter();
        assert_eq!(totals(two.next().unwrap()), alone(&decimals, "d"));
        assert_eq!(totals(two.next().unwrap()), alone(&integers, "i"));
        // One or four exact columns are left to sum alone.
        assert!(Sums::together(&[Some((&longs, "l"))], &groups).unwrap()[0].is_none());
        let four = [Some((&longs, "l")); 4];
        assert!(
            Sums::together(&four, &groups)
                .unwrap()
                .iter()
                .all(Option::is_none)
        );
    }

    #[test]
    fn together_names_the_column_whose_sum_overflows() {
        let of_row = vec![Some(0u32); 3];
        let groups = Groups::new(&of_row, 1);
        let small: ArrayRef = Arc::new(Int64Array::from(vec![1, 2, 3]));
        let huge: ArrayRef = Arc::new(
            Decimal128Array::from(vec![i128::MAX; 3])
                .with_precision_and_scale(38, 0)
                .unwrap(),
        );
        let result = Sums::together(&[Some((&small, "small")), Some((&huge, "huge"))], &groups);
        match result {
            Err(e) => assert!(e.to_string().contains("`huge`: the sum overflows"), "{e}"),
            Ok(_) => panic!("the sum of three i128::MAX must overflow"),
        }
    }
}
