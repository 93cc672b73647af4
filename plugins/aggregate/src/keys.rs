//! Multi-column keys as comparable, hashable rows (arrow-row).

use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_cast::cast;
use arrow_row::{RowConverter, Rows, SortField};
use arrow_schema::DataType;
use lfhost_plugin_sdk::Error;

fn internal(e: impl std::fmt::Display) -> Error {
    Error::internal(e.to_string())
}

/// Encodes columns `indices` of `batch` (cast to `types`) with `converter`,
/// and tells which rows have no NULL in them.
pub fn encode(
    converter: &RowConverter,
    batch: &RecordBatch,
    indices: &[usize],
    types: &[DataType],
) -> Result<(Rows, Vec<bool>), Error> {
    let columns = indices
        .iter()
        .zip(types)
        .map(|(&i, t)| {
            let c = batch.column(i);
            if c.data_type() == t {
                Ok(c.clone())
            } else {
                // A value that does not fit the common type (a huge UInt64)
                // becomes NULL: it cannot equal any value of the other side.
                cast(c, t).map_err(internal)
            }
        })
        .collect::<Result<Vec<ArrayRef>, Error>>()?;
    let rows = converter.convert_columns(&columns).map_err(internal)?;
    let complete = (0..batch.num_rows())
        .map(|r| columns.iter().all(|c| c.is_valid(r)))
        .collect();
    Ok((rows, complete))
}

pub fn converter(types: &[DataType]) -> Result<RowConverter, Error> {
    RowConverter::new(types.iter().cloned().map(SortField::new).collect()).map_err(internal)
}

/// `name=value, ...` of one row, for error messages.
pub fn render(batch: &RecordBatch, indices: &[usize], row: usize) -> String {
    indices
        .iter()
        .map(|&i| {
            let value = arrow_cast::display::array_value_to_string(batch.column(i), row)
                .unwrap_or_else(|_| "?".to_string());
            format!("{}={value}", batch.schema().field(i).name())
        })
        .collect::<Vec<_>>()
        .join(", ")
}
