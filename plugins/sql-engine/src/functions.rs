//! String functions over whole columns. Arrow has kernels for byte length,
//! substrings with constant bounds, LIKE and regular expressions; the rest
//! (character length of non-ASCII text, Unicode case mapping, trimming,
//! substrings with per-row bounds) walk the values once, which is marked
//! where it happens.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, ArrayRef, BooleanArray, Int32Array, StringArray, new_null_array};
use arrow_buffer::Buffer;
use arrow_schema::{ArrowError, DataType};

use crate::typed::CaseMap;

fn strings(array: &dyn Array) -> Result<&StringArray, ArrowError> {
    array.as_string_opt::<i32>().ok_or_else(|| {
        ArrowError::ComputeError(format!("expected strings, got {}", array.data_type()))
    })
}

/// Characters per value (Int32).
pub fn char_length(array: &dyn Array) -> Result<ArrayRef, ArrowError> {
    let s = strings(array)?;
    if s.is_ascii() {
        // One byte per character: Arrow's byte length kernel is exact.
        return arrow_string::length::length(s);
    }
    // Row by row: no Arrow kernel counts characters.
    let lengths: Int32Array = s
        .iter()
        .map(|v| v.map(|v| i32::try_from(v.chars().count()).unwrap_or(i32::MAX)))
        .collect();
    Ok(Arc::new(lengths))
}

/// `lower` / `upper` with Unicode case rules.
pub fn case_map(array: &dyn Array, map: CaseMap) -> Result<ArrayRef, ArrowError> {
    let s = strings(array)?;
    if s.is_ascii() {
        // ASCII case mapping keeps every byte's place: map the value buffer
        // in one pass and reuse the offsets and nulls.
        let bytes: Vec<u8> = match map {
            CaseMap::Lower => s.values().iter().map(u8::to_ascii_lowercase).collect(),
            CaseMap::Upper => s.values().iter().map(u8::to_ascii_uppercase).collect(),
        };
        let mapped = StringArray::try_new(
            s.offsets().clone(),
            Buffer::from_vec(bytes),
            s.nulls().cloned(),
        )?;
        return Ok(Arc::new(mapped));
    }
    // Row by row: Unicode case mapping can change a value's length.
    let mapped: StringArray = s
        .iter()
        .map(|v| {
            v.map(|v| match map {
                CaseMap::Lower => v.to_lowercase(),
                CaseMap::Upper => v.to_uppercase(),
            })
        })
        .collect();
    Ok(Arc::new(mapped))
}

/// Strips `chars` from either end. Row by row: Arrow has no trim kernel.
pub fn trim(
    array: &dyn Array,
    chars: &[char],
    leading: bool,
    trailing: bool,
) -> Result<ArrayRef, ArrowError> {
    let s = strings(array)?;
    let strip = |c: char| chars.contains(&c);
    let trimmed: StringArray = s
        .iter()
        .map(|v| {
            v.map(|mut v| {
                if leading {
                    v = v.trim_start_matches(strip);
                }
                if trailing {
                    v = v.trim_end_matches(strip);
                }
                v
            })
        })
        .collect();
    Ok(Arc::new(trimmed))
}

/// The characters of SQL's `SUBSTRING(s FROM start FOR len)`: positions
/// `start .. start + len` (1-based, end excluded) that exist. Returns the
/// 0-based first character and how many to take; `None` for a negative
/// length, which has no substring.
pub fn substring_window(start: i64, len: Option<i64>) -> Option<(u64, Option<u64>)> {
    let first = start.max(1);
    let take = match len {
        None => None,
        Some(l) if l < 0 => return None,
        Some(l) => {
            let end = start.saturating_add(l);
            Some(u64::try_from(end.saturating_sub(first)).unwrap_or(0))
        }
    };
    Some((u64::try_from(first - 1).unwrap_or(0), take))
}

/// Substrings with the same bounds for every row: Arrow's kernel.
pub fn substring_const(
    array: &dyn Array,
    start: i64,
    len: Option<i64>,
) -> Result<ArrayRef, ArrowError> {
    let s = strings(array)?;
    let Some((skip, take)) = substring_window(start, len) else {
        return Ok(new_null_array(&DataType::Utf8, s.len()));
    };
    let skip = i64::try_from(skip).unwrap_or(i64::MAX);
    Ok(Arc::new(arrow_string::substring::substring_by_char(
        s, skip, take,
    )?))
}

/// Substrings whose bounds come from columns: row by row, as no Arrow
/// kernel takes per-row bounds. `starts`/`lens` are Int64 columns of the
/// same length as `array`.
pub fn substring_rows(
    array: &dyn Array,
    starts: &dyn Array,
    lens: Option<&dyn Array>,
) -> Result<ArrayRef, ArrowError> {
    let s = strings(array)?;
    let starts = starts
        .as_primitive_opt::<Int64Type>()
        .ok_or_else(|| ArrowError::ComputeError("substring start must be BIGINT".into()))?;
    let lens =
        match lens {
            Some(l) => Some(l.as_primitive_opt::<Int64Type>().ok_or_else(|| {
                ArrowError::ComputeError("substring length must be BIGINT".into())
            })?),
            None => None,
        };
    let out: StringArray = (0..s.len())
        .map(|i| {
            if s.is_null(i) || starts.is_null(i) {
                return None;
            }
            let len = match lens {
                Some(l) if l.is_null(i) => return None,
                Some(l) => Some(l.value(i)),
                None => None,
            };
            let (skip, take) = substring_window(starts.value(i), len)?;
            let chars = s
                .value(i)
                .chars()
                .skip(usize::try_from(skip).unwrap_or(usize::MAX));
            Some(match take {
                Some(t) => chars
                    .take(usize::try_from(t).unwrap_or(usize::MAX))
                    .collect::<String>(),
                None => chars.collect::<String>(),
            })
        })
        .collect();
    Ok(Arc::new(out))
}

/// `regexp_like` with one pattern for every row (Arrow's kernel compiles it
/// once per batch). An empty pattern matches everything, as in PostgreSQL.
pub fn regexp_const(
    array: &dyn Array,
    pattern: &str,
    flags: Option<&str>,
) -> Result<BooleanArray, ArrowError> {
    arrow_string::regexp::regexp_is_match_scalar(strings(array)?, pattern, flags)
}

/// `regexp_like` with a pattern per row; both columns have the same length.
pub fn regexp_rows(
    array: &dyn Array,
    patterns: &dyn Array,
    flags: Option<&str>,
) -> Result<BooleanArray, ArrowError> {
    let values = strings(array)?;
    let patterns = strings(patterns)?;
    match flags {
        None => arrow_string::regexp::regexp_is_match(values, patterns, None::<&StringArray>),
        Some(f) => {
            let flags = StringArray::from(vec![f; values.len()]);
            arrow_string::regexp::regexp_is_match(values, patterns, Some(&flags))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substring_windows_follow_sql() {
        assert_eq!(substring_window(1, Some(2)), Some((0, Some(2))));
        assert_eq!(substring_window(0, Some(2)), Some((0, Some(1))));
        assert_eq!(substring_window(-3, Some(2)), Some((0, Some(0))));
        assert_eq!(substring_window(3, None), Some((2, None)));
        assert_eq!(substring_window(2, Some(-1)), None);
    }
}
