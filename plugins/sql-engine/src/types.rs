//! SQL types as Arrow types: the types expressions are evaluated in, their
//! SQL names, and which types two operands are brought to.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    ArrowTimestampType, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType,
};
use arrow_array::{Array, ArrayRef};
use arrow_cast::{CastOptions, cast_with_options};
use arrow_schema::{ArrowError, DataType, TimeUnit};

/// The time zone timestamps are evaluated in. It names the same instants as
/// the tables' "UTC"; Arrow built without `chrono-tz` (which would add the
/// whole time zone database to the component) only understands offsets when
/// it parses or casts timestamps.
pub const EVAL_TZ: &str = "+00:00";

/// The one timestamp type expressions see.
pub fn timestamp() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some(EVAL_TZ.into()))
}

/// Casts that turn a value that does not fit into NULL: an expectation then
/// fails on that row instead of failing the whole flow.
pub const SAFE: CastOptions<'static> = CastOptions {
    safe: true,
    format_options: arrow_cast::display::FormatOptions::new(),
};

/// Casts that report a value that does not fit; used on literals at plan
/// time, where a bad one is an options error.
pub const STRICT: CastOptions<'static> = CastOptions {
    safe: false,
    format_options: arrow_cast::display::FormatOptions::new(),
};

/// The name of an evaluation type as a SQL author writes it.
pub fn sql_name(dt: &DataType) -> String {
    match dt {
        DataType::Null => "NULL".into(),
        DataType::Boolean => "BOOLEAN".into(),
        DataType::Int32 => "INT".into(),
        DataType::Int64 => "BIGINT".into(),
        DataType::Float64 => "DOUBLE".into(),
        DataType::Utf8 => "STRING".into(),
        DataType::Date32 => "DATE".into(),
        DataType::Timestamp(..) => "TIMESTAMP".into(),
        DataType::Decimal128(p, s) => format!("DECIMAL({p},{s})"),
        other => other.to_string(),
    }
}

pub fn is_integer(dt: &DataType) -> bool {
    matches!(dt, DataType::Int32 | DataType::Int64)
}

pub fn is_numeric(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Int32 | DataType::Int64 | DataType::Float64 | DataType::Decimal128(..)
    )
}

pub fn is_temporal(dt: &DataType) -> bool {
    matches!(dt, DataType::Date32 | DataType::Timestamp(..))
}

/// Values of one family compare with each other after a cast; values of
/// different families never do implicitly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Null,
    Boolean,
    Numeric,
    String,
    Temporal,
}

pub fn family(dt: &DataType) -> Option<Family> {
    match dt {
        DataType::Null => Some(Family::Null),
        DataType::Boolean => Some(Family::Boolean),
        DataType::Utf8 => Some(Family::String),
        d if is_numeric(d) => Some(Family::Numeric),
        d if is_temporal(d) => Some(Family::Temporal),
        _ => None,
    }
}

/// The type a column of type `dt` is evaluated as: narrower integers and
/// floats widen, string and decimal variants become Utf8 and Decimal128,
/// every timestamp becomes [`timestamp()`]. `None`: expressions cannot use it.
pub fn eval_type(dt: &DataType) -> Option<DataType> {
    let ty = match dt {
        DataType::Null => DataType::Null,
        DataType::Boolean => DataType::Boolean,
        DataType::Int8 | DataType::Int16 | DataType::UInt8 | DataType::UInt16 | DataType::Int32 => {
            DataType::Int32
        }
        DataType::UInt32 | DataType::Int64 => DataType::Int64,
        DataType::UInt64 => DataType::Decimal128(20, 0),
        DataType::Float16 | DataType::Float32 | DataType::Float64 => DataType::Float64,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => DataType::Utf8,
        DataType::Date32 | DataType::Date64 => DataType::Date32,
        DataType::Timestamp(..) => timestamp(),
        DataType::Decimal32(p, s) | DataType::Decimal64(p, s) | DataType::Decimal128(p, s) => {
            DataType::Decimal128(*p, *s)
        }
        _ => return None,
    };
    Some(ty)
}

/// Brings a column to its [`eval_type`]; free for the common types.
pub fn normalise(array: &ArrayRef, to: &DataType) -> Result<ArrayRef, ArrowError> {
    if array.data_type() == to {
        return Ok(array.clone());
    }
    if let DataType::Timestamp(unit, _) = array.data_type() {
        // Re-tag the zone first: the instants stay, and the unit cast then
        // needs no zone database.
        let retagged = match unit {
            TimeUnit::Second => retag::<TimestampSecondType>(array),
            TimeUnit::Millisecond => retag::<TimestampMillisecondType>(array),
            TimeUnit::Microsecond => retag::<TimestampMicrosecondType>(array),
            TimeUnit::Nanosecond => retag::<TimestampNanosecondType>(array),
        };
        return cast_with_options(&retagged, to, &SAFE);
    }
    cast_with_options(array, to, &SAFE)
}

fn retag<T: ArrowTimestampType>(array: &ArrayRef) -> ArrayRef {
    Arc::new(array.as_primitive::<T>().clone().with_timezone(EVAL_TZ))
}

/// The decimal type that holds every value of an integer type exactly.
pub fn integer_decimal(dt: &DataType) -> Option<(u8, i8)> {
    match dt {
        DataType::Int32 => Some((10, 0)),
        DataType::Int64 => Some((19, 0)),
        DataType::Decimal128(p, s) => Some((*p, *s)),
        _ => None,
    }
}

/// The type both operands of a comparison (or branches of a CASE) are cast
/// to, or `None` when they cannot meet.
pub fn common(a: &DataType, b: &DataType) -> Option<DataType> {
    if a == b {
        return Some(a.clone());
    }
    match (a, b) {
        (DataType::Null, other) | (other, DataType::Null) => Some(other.clone()),
        (DataType::Float64, o) | (o, DataType::Float64) if is_numeric(o) => Some(DataType::Float64),
        (DataType::Decimal128(..), _) | (_, DataType::Decimal128(..)) => {
            let (p1, s1) = integer_decimal(a)?;
            let (p2, s2) = integer_decimal(b)?;
            Some(common_decimal(p1, s1, p2, s2))
        }
        (x, y) if is_integer(x) && is_integer(y) => Some(DataType::Int64),
        (DataType::Date32, DataType::Timestamp(..))
        | (DataType::Timestamp(..), DataType::Date32) => Some(timestamp()),
        (DataType::Timestamp(..), DataType::Timestamp(..)) => Some(timestamp()),
        _ => None,
    }
}

/// Enough integer digits for either side and the larger scale; capped at 38
/// digits, past which a value that does not fit becomes NULL.
fn common_decimal(p1: u8, s1: i8, p2: u8, s2: i8) -> DataType {
    let scale = s1.max(s2);
    let int_digits = (i16::from(p1) - i16::from(s1)).max(i16::from(p2) - i16::from(s2));
    let precision = (int_digits + i16::from(scale)).clamp(1, 38);
    DataType::Decimal128(u8::try_from(precision).unwrap_or(38), scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_meet_with_room_for_both() {
        assert_eq!(
            common(&DataType::Decimal128(12, 2), &DataType::Int64),
            Some(DataType::Decimal128(21, 2))
        );
        assert_eq!(
            common(&DataType::Decimal128(12, 2), &DataType::Decimal128(5, 4)),
            Some(DataType::Decimal128(14, 4))
        );
        assert_eq!(
            common(&DataType::Int32, &DataType::Int64),
            Some(DataType::Int64)
        );
        assert_eq!(common(&DataType::Utf8, &DataType::Int64), None);
        assert_eq!(common(&DataType::Date32, &timestamp()), Some(timestamp()));
    }
}
