//! The `columns` interface: Arrow batches as plain typed lists, for plugins
//! whose language has no Arrow library inside Wasm. The host does the IPC
//! and the casts; what crosses is only lists of optional scalars.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float64Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow_cast::{CastOptions, cast_with_options};
use arrow_schema::{DataType, Field as ArrowField, Schema, TimeUnit};

use super::bindings::lfhost::plugin::columns::{Column, ColumnType, Field, Host, Values};
use super::state::FlowState;

impl Host for FlowState {
    fn schema_fields(&mut self, schema: Vec<u8>) -> Result<Vec<Field>, String> {
        let schema = lfhost_ipc::decode_schema(&schema).map_err(|e| e.to_string())?;
        schema
            .fields()
            .iter()
            .map(|f| {
                Ok(Field {
                    name: f.name().clone(),
                    type_: carried_type(f.name(), f.data_type())?,
                    nullable: f.is_nullable(),
                })
            })
            .collect()
    }

    fn make_schema(&mut self, fields: Vec<Field>) -> Result<Vec<u8>, String> {
        let mut seen = std::collections::HashSet::new();
        let mut arrow_fields = Vec::with_capacity(fields.len());
        for f in fields {
            if f.name.is_empty() || !seen.insert(f.name.clone()) {
                return Err(format!("column name `{}` is empty or repeated", f.name));
            }
            arrow_fields.push(ArrowField::new(f.name, arrow_type(f.type_), f.nullable));
        }
        lfhost_ipc::encode_schema(&Arc::new(Schema::new(arrow_fields))).map_err(|e| e.to_string())
    }

    fn decode(&mut self, batch: Vec<u8>) -> Result<Vec<Column>, String> {
        if batch.len() > self.limits.max_batch_bytes {
            return Err(format!(
                "a batch of {} MiB is over the limit of {} MiB",
                batch.len() >> 20,
                self.limits.max_batch_bytes >> 20
            ));
        }
        let batch = lfhost_ipc::decode_batch(&batch, None).map_err(|e| e.to_string())?;
        let schema = batch.schema();
        schema
            .fields()
            .iter()
            .zip(batch.columns())
            .map(|(field, array)| {
                Ok(Column {
                    name: field.name().clone(),
                    values: values_of(field.name(), array)?,
                })
            })
            .collect()
    }

    fn emit(
        &mut self,
        output: String,
        columns: Vec<Column>,
    ) -> wasmtime::Result<Result<(), String>> {
        let accepted = self
            .sink_schema(&output)
            .and_then(|schema| assemble(&schema, columns))
            .and_then(|batch| {
                let bytes = batch.get_array_memory_size();
                self.check_batch_size(bytes)?;
                self.accept_batch(&output, batch, bytes)
            });
        self.trap_on_refusal(accepted)
    }
}

fn carried_type(name: &str, data_type: &DataType) -> Result<ColumnType, String> {
    Ok(match data_type {
        DataType::Boolean => ColumnType::Boolean,
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => ColumnType::Int64,
        DataType::Float16 | DataType::Float32 | DataType::Float64 => ColumnType::Float64,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => ColumnType::Utf8,
        DataType::Timestamp(_, _) => ColumnType::TimestampMicros,
        DataType::Date32 | DataType::Date64 => ColumnType::Date32,
        other => {
            return Err(format!(
                "column `{name}` is {other}, which the columns interface does not carry \
                 (booleans, integers, floats, strings, timestamps and dates only)"
            ));
        }
    })
}

fn arrow_type(column_type: ColumnType) -> DataType {
    match column_type {
        ColumnType::Boolean => DataType::Boolean,
        ColumnType::Int64 => DataType::Int64,
        ColumnType::Float64 => DataType::Float64,
        ColumnType::Utf8 => DataType::Utf8,
        ColumnType::TimestampMicros => {
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        }
        ColumnType::Date32 => DataType::Date32,
    }
}

/// Casting refuses what would lose data (an out-of-range integer, say)
/// instead of turning it into a null.
const STRICT: CastOptions<'static> = CastOptions {
    safe: false,
    format_options: arrow_cast::display::FormatOptions::new(),
};

fn values_of(name: &str, array: &ArrayRef) -> Result<Values, String> {
    let target = arrow_type(carried_type(name, array.data_type())?);
    let array =
        cast_with_options(array, &target, &STRICT).map_err(|e| format!("column `{name}`: {e}"))?;
    Ok(match target {
        DataType::Boolean => Values::Boolean(array.as_boolean().iter().collect()),
        DataType::Int64 => Values::Int64(array.as_primitive::<Int64Type>().iter().collect()),
        DataType::Float64 => Values::Float64(array.as_primitive::<Float64Type>().iter().collect()),
        DataType::Date32 => Values::Date32(array.as_primitive::<Date32Type>().iter().collect()),
        DataType::Timestamp(_, _) => Values::TimestampMicros(
            array
                .as_primitive::<TimestampMicrosecondType>()
                .iter()
                .collect(),
        ),
        _ => Values::Utf8(
            array
                .as_string::<i32>()
                .iter()
                .map(|v| v.map(str::to_string))
                .collect(),
        ),
    })
}

fn array_of(values: Values) -> ArrayRef {
    match values {
        Values::Boolean(v) => Arc::new(BooleanArray::from(v)),
        Values::Int64(v) => Arc::new(Int64Array::from(v)),
        Values::Float64(v) => Arc::new(Float64Array::from(v)),
        Values::Utf8(v) => Arc::new(StringArray::from(v)),
        Values::TimestampMicros(v) => {
            Arc::new(TimestampMicrosecondArray::from(v).with_timezone("UTC"))
        }
        Values::Date32(v) => Arc::new(Date32Array::from(v)),
    }
}

/// The batch of `schema` that `columns` make: matched by name, cast to the
/// planned types.
fn assemble(schema: &arrow_schema::SchemaRef, columns: Vec<Column>) -> Result<RecordBatch, String> {
    let mut by_name: std::collections::HashMap<String, Values> = std::collections::HashMap::new();
    for column in columns {
        if by_name.insert(column.name.clone(), column.values).is_some() {
            return Err(format!("emitted column `{}` twice", column.name));
        }
    }
    let mut arrays = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        let values = by_name.remove(field.name()).ok_or_else(|| {
            format!(
                "emitted no column `{}`, which the planned output has",
                field.name()
            )
        })?;
        let array = array_of(values);
        let array = if array.data_type() == field.data_type() {
            array
        } else {
            cast_with_options(&array, field.data_type(), &STRICT)
                .map_err(|e| format!("column `{}`: {e}", field.name()))?
        };
        arrays.push(array);
    }
    if let Some(extra) = by_name.keys().min() {
        return Err(format!(
            "emitted column `{extra}`, which the planned output does not have"
        ));
    }
    RecordBatch::try_new(schema.clone(), arrays)
        .map_err(|e| format!("emitted an invalid batch: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> arrow_schema::SchemaRef {
        Arc::new(Schema::new(vec![
            ArrowField::new("id", DataType::Int32, false),
            ArrowField::new("name", DataType::Utf8, true),
            ArrowField::new(
                "at",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
        ]))
    }

    #[test]
    fn round_trip_casts_back_to_the_planned_types() {
        let batch = RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(arrow_array::Int32Array::from(vec![1, 2])),
                Arc::new(StringArray::from(vec![Some("a"), None])),
                Arc::new(TimestampMicrosecondArray::from(vec![Some(5), None]).with_timezone("UTC")),
            ],
        )
        .unwrap();
        let columns: Vec<Column> = schema()
            .fields()
            .iter()
            .zip(batch.columns())
            .map(|(f, a)| Column {
                name: f.name().clone(),
                values: values_of(f.name(), a).unwrap(),
            })
            .collect();
        assert!(matches!(&columns[0].values, Values::Int64(v) if v == &[Some(1), Some(2)]));
        let mut reversed = columns;
        reversed.reverse();
        assert_eq!(assemble(&schema(), reversed).unwrap(), batch);
    }

    #[test]
    fn missing_extra_and_lossy_columns_are_refused() {
        let err = assemble(&schema(), vec![]).unwrap_err();
        assert!(err.contains("emitted no column `id`"), "{err}");
        let columns = |id: Vec<Option<i64>>| {
            vec![
                Column {
                    name: "id".into(),
                    values: Values::Int64(id),
                },
                Column {
                    name: "name".into(),
                    values: Values::Utf8(vec![None]),
                },
                Column {
                    name: "at".into(),
                    values: Values::TimestampMicros(vec![None]),
                },
                Column {
                    name: "zz".into(),
                    values: Values::Boolean(vec![None]),
                },
            ]
        };
        let err = assemble(&schema(), columns(vec![Some(1)])).unwrap_err();
        assert!(err.contains("emitted column `zz`"), "{err}");
        let mut too_big = columns(vec![Some(i64::MAX)]);
        too_big.pop();
        let err = assemble(&schema(), too_big).unwrap_err();
        assert!(err.contains("column `id`"), "{err}");
        let mut null_id = columns(vec![None]);
        null_id.pop();
        assert!(assemble(&schema(), null_id).is_err());
    }

    #[test]
    fn uncarried_types_are_named() {
        let err = carried_type("price", &DataType::Decimal128(10, 2)).unwrap_err();
        assert!(err.contains("column `price` is Decimal128(10, 2)"), "{err}");
    }
}
