//! The plugin's options and the output schema they imply.

use std::collections::HashSet;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use lfhost_plugin_sdk::Error;
use serde::Deserialize;

/// Rows per emitted batch when the options do not say.
pub const DEFAULT_BATCH_ROWS: usize = 32_768;
/// Bounded so that one batch stays a reasonable allocation inside the sandbox.
pub const MAX_BATCH_ROWS: usize = 1 << 20;

/// Holds the rescued values of a row as a JSON object; null when clean.
pub const RESCUED_DATA: &str = "_rescued_data";
pub const SOURCE_FILE: &str = "_source_file";
pub const INGESTED_AT: &str = "_ingested_at";
/// The key under which a record that could not be split into fields is kept.
pub const RAW_KEY: &str = "_raw";

/// Names a declared column may not take: they would collide with the
/// metadata columns or with the `_raw` key of `_rescued_data`.
const RESERVED: [&str; 4] = [RESCUED_DATA, SOURCE_FILE, INGESTED_AT, RAW_KEY];

/// The type names `columns.N.type` accepts, for error messages.
const TYPE_NAMES: &str = "int32, int64, float64, boolean, string, date, timestamp, decimal(P,S)";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Jsonl,
    Parquet,
}

/// A declared column's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Int32,
    Int64,
    Float64,
    Boolean,
    String,
    /// Arrow Date32.
    Date,
    /// Arrow Timestamp(Microsecond, "UTC").
    Timestamp,
    /// Arrow Decimal128(precision, scale).
    Decimal {
        precision: u8,
        scale: i8,
    },
}

impl ColumnType {
    /// Parses a type name as written in the options.
    pub fn parse(name: &str) -> Result<Self, String> {
        let ty = match name {
            "int32" => ColumnType::Int32,
            "int64" => ColumnType::Int64,
            "float64" => ColumnType::Float64,
            "boolean" => ColumnType::Boolean,
            "string" => ColumnType::String,
            "date" => ColumnType::Date,
            "timestamp" => ColumnType::Timestamp,
            other => return parse_decimal_type(other),
        };
        Ok(ty)
    }

    pub fn data_type(self) -> DataType {
        match self {
            ColumnType::Int32 => DataType::Int32,
            ColumnType::Int64 => DataType::Int64,
            ColumnType::Float64 => DataType::Float64,
            ColumnType::Boolean => DataType::Boolean,
            ColumnType::String => DataType::Utf8,
            ColumnType::Date => DataType::Date32,
            ColumnType::Timestamp => timestamp_type(),
            ColumnType::Decimal { precision, scale } => DataType::Decimal128(precision, scale),
        }
    }
}

/// The type of timestamps in every output: microseconds, UTC.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

fn parse_decimal_type(name: &str) -> Result<ColumnType, String> {
    let unknown = || format!("unknown type `{name}`; expected one of {TYPE_NAMES}");
    let inner = name
        .strip_prefix("decimal(")
        .and_then(|rest| rest.strip_suffix(')'))
        .ok_or_else(unknown)?;
    let (p, s) = inner.split_once(',').ok_or_else(unknown)?;
    let precision: u8 = p.trim().parse().map_err(|_| unknown())?;
    let scale: u8 = s.trim().parse().map_err(|_| unknown())?;
    if !(1..=38).contains(&precision) {
        return Err(format!("`{name}`: the precision must be between 1 and 38"));
    }
    if scale > precision {
        return Err(format!("`{name}`: the scale must not exceed the precision"));
    }
    // scale <= precision <= 38, so it fits an i8.
    let scale = i8::try_from(scale).map_err(|_| unknown())?;
    Ok(ColumnType::Decimal { precision, scale })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOptions {
    format: Format,
    columns: Vec<RawColumn>,
    #[serde(default = "default_batch_rows")]
    batch_rows: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawColumn {
    name: String,
    #[serde(rename = "type")]
    ty: String,
}

fn default_batch_rows() -> usize {
    DEFAULT_BATCH_ROWS
}

/// One declared column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub ty: ColumnType,
}

/// Checked options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub format: Format,
    pub columns: Vec<Column>,
    pub batch_rows: usize,
}

impl Options {
    /// Parses and checks the options JSON; errors carry the dotted option path.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let raw: RawOptions = lfhost_plugin_sdk::parse_options(text)?;
        if raw.columns.is_empty() {
            return Err(Error::option("columns", "declare at least one column"));
        }
        if raw.batch_rows == 0 || raw.batch_rows > MAX_BATCH_ROWS {
            return Err(Error::option(
                "batch_rows",
                format!(
                    "must be between 1 and {MAX_BATCH_ROWS}, got {}",
                    raw.batch_rows
                ),
            ));
        }
        let mut seen = HashSet::new();
        let mut columns = Vec::with_capacity(raw.columns.len());
        for (i, col) in raw.columns.into_iter().enumerate() {
            let name_path = format!("columns.{i}.name");
            if col.name.is_empty() {
                return Err(Error::option(name_path, "a column name must not be empty"));
            }
            if RESERVED.contains(&col.name.as_str()) {
                return Err(Error::option(
                    name_path,
                    format!("`{}` is reserved for the metadata columns", col.name),
                ));
            }
            if !seen.insert(col.name.clone()) {
                return Err(Error::option(
                    name_path,
                    format!("column `{}` is declared twice", col.name),
                ));
            }
            let ty = ColumnType::parse(&col.ty)
                .map_err(|m| Error::option(format!("columns.{i}.type"), m))?;
            columns.push(Column { name: col.name, ty });
        }
        Ok(Options {
            format: raw.format,
            columns,
            batch_rows: raw.batch_rows,
        })
    }

    /// The declared columns in order, then `_rescued_data`, `_source_file`
    /// and `_ingested_at`; every field nullable.
    pub fn output_schema(&self) -> SchemaRef {
        let mut fields: Vec<Field> = self
            .columns
            .iter()
            .map(|c| Field::new(c.name.as_str(), c.ty.data_type(), true))
            .collect();
        fields.push(Field::new(RESCUED_DATA, DataType::Utf8, true));
        fields.push(Field::new(SOURCE_FILE, DataType::Utf8, true));
        fields.push(Field::new(INGESTED_AT, timestamp_type(), true));
        Arc::new(Schema::new(fields))
    }
}
