//! The options a table gives the stage (JSON from its TOML `options`).

use std::collections::BTreeMap;

use arrow_schema::DataType;
use serde::Deserialize;

/// A base table enriched by joins, in order.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    pub base: Base,
    #[serde(default)]
    pub joins: Vec<Join>,
}

/// The table whose rows the output has, one output row per base row.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Base {
    pub input: String,
    /// Identifies a base row: unique (when not null), and the output's order.
    pub key: Vec<String>,
    /// The base columns the output starts with.
    pub columns: Vec<String>,
    /// A SQL condition: only the base rows where it is TRUE.
    #[serde(default)]
    pub filter: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum How {
    /// Base rows without a match are kept (nulls or defaults).
    #[default]
    Left,
    /// Base rows without a match are dropped.
    Inner,
}

/// Another input, looked up (`columns`) or aggregated (`aggregates`) per base row.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Join {
    pub input: String,
    #[serde(default)]
    pub how: How,
    /// Base column → joined column; NULL keys never match.
    pub on: BTreeMap<String, String>,
    /// A SQL condition on the joined input: only its rows where it is TRUE.
    #[serde(default)]
    pub filter: Option<String>,
    /// A lookup: these columns of the (at most one) matching row.
    #[serde(default)]
    pub columns: Option<Vec<String>>,
    /// Grouped aggregates of the matching rows.
    #[serde(default)]
    pub aggregates: Option<Vec<Aggregate>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Function {
    Count,
    CountDistinct,
    Sum,
    Min,
    Max,
    Avg,
}

impl Function {
    pub fn name(self) -> &'static str {
        match self {
            Function::Count => "count",
            Function::CountDistinct => "count_distinct",
            Function::Sum => "sum",
            Function::Min => "min",
            Function::Max => "max",
            Function::Avg => "avg",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Aggregate {
    /// The output column.
    pub name: String,
    pub function: Function,
    /// The joined column; `count` without one counts rows.
    #[serde(default)]
    pub column: Option<String>,
    /// The result's type: `int64`, `float64` or `decimal(P,S)`.
    #[serde(default, rename = "type")]
    pub ty: Option<String>,
    /// The value where the aggregate is NULL (no matching row, or only NULLs).
    #[serde(default)]
    pub default: Option<serde_json::Value>,
}

/// Reads a result type: `int64`, `float64` or `decimal(P,S)` (case-insensitive).
pub fn parse_type(text: &str) -> Result<DataType, String> {
    let t = text.trim().to_ascii_lowercase();
    match t.as_str() {
        "int64" | "bigint" | "long" => return Ok(DataType::Int64),
        "float64" | "double" => return Ok(DataType::Float64),
        _ => {}
    }
    let bad = || format!("`{text}` is not a type: int64, float64 or decimal(P,S)");
    let inner = t
        .strip_prefix("decimal")
        .map(str::trim)
        .and_then(|r| r.strip_prefix('('))
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(bad)?;
    let (p, s) = inner.split_once(',').ok_or_else(bad)?;
    let p: u8 = p.trim().parse().map_err(|_| bad())?;
    let s: i8 = s.trim().parse().map_err(|_| bad())?;
    if !(1..=38).contains(&p) || s < 0 || s as u8 > p {
        return Err(format!(
            "`{text}`: a decimal has a precision of 1 to 38 and a scale of 0 to the precision"
        ));
    }
    Ok(DataType::Decimal128(p, s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types() {
        assert_eq!(parse_type("int64"), Ok(DataType::Int64));
        assert_eq!(parse_type(" Float64"), Ok(DataType::Float64));
        assert_eq!(parse_type("decimal(18,2)"), Ok(DataType::Decimal128(18, 2)));
        assert_eq!(
            parse_type("DECIMAL( 38 , 0 )"),
            Ok(DataType::Decimal128(38, 0))
        );
        assert!(parse_type("decimal(39,2)").is_err());
        assert!(parse_type("decimal(5,6)").is_err());
        assert!(parse_type("decimal(5)").is_err());
        assert!(parse_type("string").is_err());
    }
}
