//! The `rows` interface: a stage answers with which rows to emit, of the
//! batch being pushed (`emit-selected`) or of every batch retained
//! (`emit-taken`, in taken.rs), and the host, which still holds them, builds
//! the output. The rows cross the boundary once instead of twice, and only
//! the columns the stage reads cross at all.

use std::collections::HashMap;

use arrow_array::{ArrayRef, BooleanArray, RecordBatch, RecordBatchOptions};
use arrow_buffer::{BooleanBuffer, Buffer};
use arrow_schema::{Field, FieldRef, SchemaRef};

use super::bindings::lfhost::plugin::rows::Host;
use super::state::{FlowState, Retained};

impl Host for FlowState {
    fn project(&mut self, input: String, columns: Vec<String>) -> Result<(), String> {
        if columns.is_empty() {
            self.input_schema(&input)?;
            self.projections.remove(&input);
            return Ok(());
        }
        let indices = self.column_indices(&input, &columns)?;
        self.check_read(&input, &indices)?;
        self.projections.insert(input, indices);
        Ok(())
    }

    fn read_only(&mut self, input: String, columns: Vec<String>) -> Result<(), String> {
        if columns.is_empty() {
            return Err(format!("read-only for input `{input}` names no column"));
        }
        let indices = self.column_indices(&input, &columns)?;
        // Once only: the host may already be reading just those columns.
        if self.read_only.contains_key(&input) {
            return Err(format!("read-only for input `{input}` was already called"));
        }
        self.projections.insert(input.clone(), indices.clone());
        self.read_only.insert(input, indices);
        Ok(())
    }

    fn emit_selected(
        &mut self,
        output: String,
        selection: Vec<u8>,
        extra: Option<Vec<u8>>,
    ) -> wasmtime::Result<Result<(), String>> {
        let accepted = self.accept_selected(&output, selection, extra);
        self.trap_on_refusal(accepted)
    }

    fn retain(&mut self, input: String, columns: Vec<String>) -> Result<(), String> {
        let columns = self.column_indices(&input, &columns)?;
        self.check_read(&input, &columns)?;
        self.retained.insert(
            input,
            Retained {
                columns,
                batches: Vec::new(),
            },
        );
        Ok(())
    }

    fn emit_taken(
        &mut self,
        output: String,
        input: String,
        columns: Vec<String>,
        rows: Vec<u32>,
        extra: Option<Vec<u8>>,
    ) -> wasmtime::Result<Result<(), String>> {
        let accepted = self.accept_taken(&output, &input, &columns, &rows, extra);
        self.trap_on_refusal(accepted)
    }
}

impl FlowState {
    pub(super) fn input_schema(&self, input: &str) -> Result<SchemaRef, String> {
        match self.inputs.iter().find(|(name, _)| name == input) {
            Some((_, schema)) => Ok(schema.clone()),
            None if self.inputs.is_empty() => Err(format!(
                "asked for columns of input `{input}`, but the flow has no inputs"
            )),
            None => {
                let known: Vec<&str> = self.inputs.iter().map(|(n, _)| n.as_str()).collect();
                Err(format!(
                    "asked for columns of unknown input `{input}` (inputs: {})",
                    known.join(", ")
                ))
            }
        }
    }

    /// The indices of `input`'s columns `names`, ascending, each once.
    fn column_indices(&self, input: &str, names: &[String]) -> Result<Vec<usize>, String> {
        let schema = self.input_schema(input)?;
        let mut indices = names
            .iter()
            .map(|c| {
                schema
                    .index_of(c)
                    .map_err(|_| format!("input `{input}` has no column `{c}`"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        indices.sort_unstable();
        indices.dedup();
        Ok(indices)
    }

    /// The columns of `input` that pushes carry, when not all of them.
    pub(super) fn projection(&self, input: &str) -> Option<&[usize]> {
        self.projections.get(input).map(Vec::as_slice)
    }

    /// Refuses columns of `input` that `read-only` left out.
    fn check_read(&self, input: &str, indices: &[usize]) -> Result<(), String> {
        let Some(read) = self.read_only.get(input) else {
            return Ok(());
        };
        match indices.iter().find(|i| !read.contains(i)) {
            None => Ok(()),
            Some(&i) => {
                let schema = self.input_schema(input)?;
                let name = schema.fields().get(i).map_or("?", |f| f.name().as_str());
                Err(format!(
                    "input `{input}`'s column `{name}` is not kept: read-only named the columns the flow keeps"
                ))
            }
        }
    }

    /// What the flow holds of a batch of `input`: the `read-only` columns
    /// (the batch may already be only those), or the whole batch.
    pub(super) fn held(&self, input: &str, batch: &RecordBatch) -> Result<RecordBatch, String> {
        let Some(read) = self.read_only.get(input) else {
            return Ok(batch.clone());
        };
        if batch.num_columns() == read.len() {
            return Ok(batch.clone());
        }
        batch
            .project(read)
            .map_err(|e| format!("keeping the read-only columns of `{input}`: {e}"))
    }

    /// Per input with `read-only` columns, their names: what the host needs
    /// to read of it.
    pub(super) fn read_only_names(&self) -> HashMap<String, Vec<String>> {
        self.read_only
            .iter()
            .filter_map(|(input, indices)| {
                let schema = self.input_schema(input).ok()?;
                let names = indices
                    .iter()
                    .filter_map(|&i| schema.fields().get(i).map(|f| f.name().clone()))
                    .collect();
                Some((input.clone(), names))
            })
            .collect()
    }

    fn accept_selected(
        &mut self,
        output: &str,
        selection: Vec<u8>,
        extra: Option<Vec<u8>>,
    ) -> Result<(), String> {
        let pushed = self
            .pushed
            .clone()
            .ok_or_else(|| "emitted selected rows outside a push".to_string())?;
        let rows = pushed.num_rows();
        if selection.len() != rows.div_ceil(8) {
            return Err(format!(
                "emitted a selection of {} byte(s) for a batch of {rows} rows (expected {})",
                selection.len(),
                rows.div_ceil(8)
            ));
        }
        let schema = self.sink_schema(output)?;
        let extra = self.decode_extra(output, extra)?;
        let keep = BooleanArray::new(
            BooleanBuffer::new(Buffer::from_vec(selection), 0, rows),
            None,
        );
        let kept = arrow_select::filter::filter_record_batch(&pushed, &keep)
            .map_err(|e| format!("selecting rows for `{output}` failed: {e}"))?;
        let fields = pushed.schema_ref().fields().iter().cloned().collect();
        let rows = kept.num_rows();
        self.emit_rows(output, schema, fields, kept.columns().to_vec(), rows, extra)
    }

    /// Extra columns, bounded before they are decoded.
    pub(super) fn decode_extra(
        &self,
        output: &str,
        extra: Option<Vec<u8>>,
    ) -> Result<Option<RecordBatch>, String> {
        let Some(bytes) = extra else {
            return Ok(None);
        };
        self.check_batch_size(bytes.len())?;
        lfhost_ipc::decode_batch_owned(bytes, None)
            .map(Some)
            .map_err(|e| format!("emitted invalid extra columns on `{output}`: {e}"))
    }

    /// Emits `rows` rows made of host-held `columns` then `extra`'s, if they
    /// fit `output`.
    pub(super) fn emit_rows(
        &mut self,
        output: &str,
        schema: SchemaRef,
        mut fields: Vec<FieldRef>,
        mut columns: Vec<ArrayRef>,
        rows: usize,
        extra: Option<RecordBatch>,
    ) -> Result<(), String> {
        if let Some(extra) = &extra {
            if extra.num_rows() != rows {
                return Err(format!(
                    "emitted {} row(s) of extra columns for {rows} row(s) on `{output}`",
                    extra.num_rows(),
                ));
            }
            fields.extend(extra.schema_ref().fields().iter().cloned());
            columns.extend(extra.columns().iter().cloned());
        }
        check_fields(output, &schema, &fields)?;
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        let batch = RecordBatch::try_new_with_options(schema, columns, &options)
            .map_err(|e| format!("emitted rows that do not fit `{output}`: {e}"))?;
        let bytes = batch.get_array_memory_size();
        self.check_batch_size(bytes)?;
        self.accept_batch(output, batch, bytes)
    }
}

/// `indices` (columns of an input's schema) as positions in what a flow
/// holds of its batches: all columns, or only `read` (its `read-only` ones).
pub(super) fn held_positions(read: Option<&Vec<usize>>, indices: &[usize]) -> Vec<usize> {
    match read {
        Some(read) => indices
            .iter()
            .filter_map(|i| read.iter().position(|r| r == i))
            .collect(),
        None => indices.to_vec(),
    }
}

/// The selected rows' columns must be the output's, by name and type, in
/// order (nullability is checked on the values when the batch is built).
fn check_fields(output: &str, schema: &SchemaRef, fields: &[FieldRef]) -> Result<(), String> {
    let same = fields.len() == schema.fields().len()
        && fields
            .iter()
            .zip(schema.fields().iter())
            .all(|(got, want)| got.name() == want.name() && got.data_type() == want.data_type());
    if same {
        return Ok(());
    }
    let listed = |fields: &mut dyn Iterator<Item = &Field>| {
        fields
            .map(|f| format!("{} {}", f.name(), f.data_type()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Err(format!(
        "emitted rows with columns ({}) where `{output}` has ({})",
        listed(&mut fields.iter().map(AsRef::as_ref)),
        listed(&mut schema.fields().iter().map(AsRef::as_ref))
    ))
}

#[cfg(test)]
pub(super) mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use arrow_array::cast::AsArray;
    use arrow_array::types::Int64Type;
    use arrow_array::{Int64Array, StringArray};
    use arrow_schema::{DataType, Schema};
    use tokio::sync::mpsc;

    use super::*;
    use crate::sandbox::{Limits, OutputSink};

    fn input_schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
        ]))
    }

    fn with_reason(fields: &SchemaRef) -> SchemaRef {
        let mut fields: Vec<Field> = fields.fields().iter().map(|f| f.as_ref().clone()).collect();
        fields.push(Field::new("reason", DataType::Utf8, true));
        Arc::new(Schema::new(fields))
    }

    /// A flow state with input `in` (ten rows being pushed), output `main`
    /// in the input's schema and `bad` with an extra `reason` column.
    pub(in crate::sandbox) fn state(
        runtime: &tokio::runtime::Runtime,
    ) -> (FlowState, [mpsc::Receiver<RecordBatch>; 2]) {
        let (sender, receiver) = mpsc::channel(8);
        let (bad_sender, bad_receiver) = mpsc::channel(8);
        let schema = input_schema();
        let outputs = HashMap::from([
            (
                "main".to_string(),
                OutputSink {
                    schema: schema.clone(),
                    sender,
                },
            ),
            (
                "bad".to_string(),
                OutputSink {
                    schema: with_reason(&schema),
                    sender: bad_sender,
                },
            ),
        ]);
        let mut state = FlowState::new(
            &Limits::default(),
            runtime.handle().clone(),
            "test".into(),
            "t",
            outputs,
        );
        state.inputs = vec![("in".to_string(), schema.clone())];
        let names: Vec<String> = (0..10).map(|i| format!("n{i}")).collect();
        state.pushed = Some(
            RecordBatch::try_new(
                schema,
                vec![
                    Arc::new(Int64Array::from_iter_values(0..10)),
                    Arc::new(StringArray::from(names)),
                ],
            )
            .unwrap(),
        );
        (state, [receiver, bad_receiver])
    }

    /// The first column's values, an `Int64` column without NULLs.
    pub(in crate::sandbox) fn ids(batch: &RecordBatch) -> Vec<i64> {
        batch
            .column(0)
            .as_primitive::<Int64Type>()
            .values()
            .to_vec()
    }

    pub(in crate::sandbox) fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    #[test]
    fn projections_name_known_columns_and_keep_schema_order() {
        let runtime = runtime();
        let (mut state, _) = state(&runtime);
        state
            .project("in".into(), vec!["name".into(), "id".into(), "name".into()])
            .unwrap();
        assert_eq!(state.projection("in"), Some(&[0, 1][..]));
        let err = state.project("in".into(), vec!["nope".into()]).unwrap_err();
        assert!(err.contains("no column `nope`"), "{err}");
        let err = state
            .project("other".into(), vec!["id".into()])
            .unwrap_err();
        assert!(err.contains("unknown input `other` (inputs: in)"), "{err}");
        state.project("in".into(), vec![]).unwrap();
        assert_eq!(state.projection("in"), None);
    }

    #[test]
    fn read_only_keeps_only_its_columns() {
        let runtime = runtime();
        let (mut state, _) = state(&runtime);
        let err = state.read_only("in".into(), vec![]).unwrap_err();
        assert!(err.contains("names no column"), "{err}");
        state.read_only("in".into(), vec!["name".into()]).unwrap();
        assert_eq!(state.projection("in"), Some(&[1][..]));
        let reads = HashMap::from([("in".to_string(), vec!["name".to_string()])]);
        assert_eq!(state.read_only_names(), reads);
        let err = state
            .read_only("in".into(), vec!["name".into()])
            .unwrap_err();
        assert!(err.contains("already called"), "{err}");
        for err in [
            state.project("in".into(), vec!["id".into()]).unwrap_err(),
            state.retain("in".into(), vec!["id".into()]).unwrap_err(),
        ] {
            assert!(err.contains("column `id` is not kept"), "{err}");
        }
        state.retain("in".into(), vec!["name".into()]).unwrap();
        // A whole batch and one read with only the kept column are held alike.
        let whole = state.pushed.clone().unwrap();
        let held = state.held("in", &whole).unwrap();
        assert_eq!(held.schema().field(0).name(), "name");
        assert_eq!(held.num_columns(), 1);
        assert_eq!(state.held("in", &held).unwrap(), held);
        assert_eq!(held_positions(state.read_only.get("in"), &[1]), [0]);
        // `emit-selected` has only the kept column to emit.
        state.pushed = Some(held);
        let err = state
            .accept_selected("main", vec![0xff, 0b11], None)
            .unwrap_err();
        assert!(
            err.contains("emitted rows with columns (name Utf8)"),
            "{err}"
        );
    }

    #[test]
    fn selected_rows_carry_every_column() {
        let runtime = runtime();
        let (mut state, [mut receiver, _]) = state(&runtime);
        // Rows 0, 3 and 9.
        state
            .accept_selected("main", vec![0b0000_1001, 0b10], None)
            .unwrap();
        let batch = receiver.try_recv().unwrap();
        assert_eq!(ids(&batch), [0, 3, 9]);
        assert_eq!(batch.column(1).as_string::<i32>().value(2), "n9");
        assert_eq!(state.rows_out, 3);
    }

    #[test]
    fn extra_columns_follow_the_selected_rows() {
        let runtime = runtime();
        let (mut state, [_, mut bad]) = state(&runtime);
        let reasons = |n: usize| {
            let schema = Arc::new(Schema::new(vec![Field::new(
                "reason",
                DataType::Utf8,
                true,
            )]));
            let values: Vec<String> = (0..n).map(|i| format!("r{i}")).collect();
            let batch =
                RecordBatch::try_new(schema, vec![Arc::new(StringArray::from(values))]).unwrap();
            lfhost_ipc::encode_batch(&batch).unwrap()
        };
        state
            .accept_selected("bad", vec![0b11, 0], Some(reasons(2)))
            .unwrap();
        let batch = bad.try_recv().unwrap();
        assert_eq!(batch.num_columns(), 3);
        assert_eq!(batch.column(2).as_string::<i32>().value(1), "r1");
        let err = state
            .accept_selected("bad", vec![0b11, 0], Some(reasons(3)))
            .unwrap_err();
        assert!(
            err.contains("3 row(s) of extra columns for 2 row(s)"),
            "{err}"
        );
        let err = state
            .accept_selected("bad", vec![0b11, 0], None)
            .unwrap_err();
        assert!(
            err.contains("where `bad` has (id Int64, name Utf8, reason Utf8)"),
            "{err}"
        );
        let err = state
            .accept_selected("bad", vec![0b11, 0], Some(b"junk".to_vec()))
            .unwrap_err();
        assert!(err.contains("invalid extra columns"), "{err}");
    }

    #[test]
    fn malformed_or_misplaced_selections_are_refused() {
        let runtime = runtime();
        let (mut state, _) = state(&runtime);
        let err = state.accept_selected("main", vec![0xff], None).unwrap_err();
        assert!(
            err.contains("1 byte(s) for a batch of 10 rows (expected 2)"),
            "{err}"
        );
        let err = state.accept_selected("nope", vec![0, 0], None).unwrap_err();
        assert!(err.contains("unknown output `nope`"), "{err}");
        state.pushed = None;
        let err = state.accept_selected("main", vec![0, 0], None).unwrap_err();
        assert!(err.contains("outside a push"), "{err}");
    }
}
