//! `rows.emit-taken`: output rows taken, by position, from the batches of
//! an input that the host retained for the flow (`rows.retain`).

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, FieldRef};

use super::state::FlowState;

impl FlowState {
    pub(super) fn accept_taken(
        &mut self,
        output: &str,
        input: &str,
        names: &[String],
        rows: &[u32],
        extra: Option<Vec<u8>>,
    ) -> Result<(), String> {
        let schema = self.sink_schema(output)?;
        let input_schema = self.input_schema(input)?;
        let retained = self
            .retained
            .get(input)
            .ok_or_else(|| format!("took rows of `{input}` without retaining it first"))?;
        // Positions among the retained columns.
        let columns = names
            .iter()
            .map(|name| {
                input_schema
                    .index_of(name)
                    .ok()
                    .and_then(|i| retained.columns.binary_search(&i).ok())
                    .ok_or_else(|| {
                        format!("took column `{name}` of `{input}`, which it did not retain")
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let fields: Vec<FieldRef> = columns
            .iter()
            .filter_map(|&c| retained.columns.get(c))
            .map(|&i| input_schema.fields()[i].clone())
            .collect();
        let extra = self.decode_extra(output, extra)?;
        let batches = retained.batches.as_slice();
        let positions = positions(batches, rows, input)?;
        let extra_bytes = extra.as_ref().map_or(0, RecordBatch::get_array_memory_size);
        // Before building: a few positions may repeat the largest rows.
        let bytes = columns
            .iter()
            .map(|&c| taken_bytes(batches, c, &positions))
            .fold(extra_bytes, usize::saturating_add);
        self.check_batch_size(bytes)?;
        let taken = columns
            .iter()
            .map(|&c| {
                let arrays: Vec<&dyn Array> =
                    batches.iter().map(|b| b.column(c).as_ref()).collect();
                arrow_select::interleave::interleave(&arrays, &positions)
                    .map_err(|e| format!("taking rows of `{input}` failed: {e}"))
            })
            .collect::<Result<Vec<ArrayRef>, _>>()?;
        self.emit_rows(output, schema, fields, taken, rows.len(), extra)
    }
}

/// Each row position as (batch, row within it).
fn positions(
    batches: &[RecordBatch],
    rows: &[u32],
    input: &str,
) -> Result<Vec<(usize, usize)>, String> {
    let mut starts = Vec::with_capacity(batches.len());
    let mut total = 0usize;
    for batch in batches {
        starts.push(total);
        total += batch.num_rows();
    }
    rows.iter()
        .map(|&row| {
            let row = row as usize;
            if row >= total {
                return Err(format!(
                    "took row {row} of `{input}`, which has {total} retained row(s)"
                ));
            }
            // Retained batches are never empty, so this is the row's batch.
            let batch = starts.partition_point(|&start| start <= row) - 1;
            Ok((batch, row - starts[batch]))
        })
        .collect()
}

/// About the bytes column `c` takes for `positions`: exact for fixed-width
/// and (large) string or binary columns, each batch's bytes per row for
/// the others.
fn taken_bytes(batches: &[RecordBatch], c: usize, positions: &[(usize, usize)]) -> usize {
    let n = positions.len();
    let Some(first) = batches.first() else {
        return 0;
    };
    let data_type = first.column(c).data_type();
    if let Some(width) = data_type.primitive_width() {
        return n.saturating_mul(width) + n.div_ceil(8);
    }
    let lengths = |value_length: &dyn Fn(&dyn Array, usize) -> usize| {
        positions
            .iter()
            .map(|&(b, r)| value_length(batches[b].column(c).as_ref(), r))
            .fold(0usize, usize::saturating_add)
    };
    match data_type {
        DataType::Utf8 => lengths(&|a, r| a.as_string::<i32>().value_length(r) as usize + 4),
        DataType::LargeUtf8 => lengths(&|a, r| a.as_string::<i64>().value_length(r) as usize + 8),
        DataType::Binary => lengths(&|a, r| a.as_binary::<i32>().value_length(r) as usize + 4),
        DataType::LargeBinary => lengths(&|a, r| a.as_binary::<i64>().value_length(r) as usize + 8),
        DataType::Boolean => n.div_ceil(4),
        _ => {
            let per_row: Vec<usize> = batches
                .iter()
                .map(|b| {
                    let a = b.column(c);
                    a.get_array_memory_size().div_ceil(a.len().max(1))
                })
                .collect();
            positions
                .iter()
                .map(|&(b, _)| per_row[b])
                .fold(0usize, usize::saturating_add)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::rows::tests::{ids, runtime, state};
    use super::super::state::Retained;
    use super::*;

    /// The test state with `name` of input `in` retained over two pushes
    /// (the state's ten rows, then its rows 2..5 again).
    fn retaining(state: &mut FlowState) {
        let pushed = state.pushed.take().unwrap();
        state.retained.insert(
            "in".into(),
            Retained {
                columns: vec![0],
                batches: vec![
                    pushed.project(&[0]).unwrap(),
                    pushed.slice(2, 3).project(&[0]).unwrap(),
                ],
            },
        );
    }

    #[test]
    fn rows_are_taken_by_position_across_pushes() {
        let runtime = runtime();
        let (mut state, [mut main, _]) = state(&runtime);
        retaining(&mut state);
        let name = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        // `main` has both columns; only `id` was retained.
        let err = state
            .accept_taken("main", "in", &name(&["id", "name"]), &[0], None)
            .unwrap_err();
        assert!(
            err.contains("took column `name` of `in`, which it did not retain"),
            "{err}"
        );
        let err = state
            .accept_taken("main", "in", &name(&["id"]), &[13], None)
            .unwrap_err();
        assert!(
            err.contains("took row 13 of `in`, which has 13 retained row(s)"),
            "{err}"
        );
        let err = state
            .accept_taken("main", "other", &name(&["id"]), &[0], None)
            .unwrap_err();
        assert!(err.contains("unknown input `other`"), "{err}");
        // An output of the retained column alone.
        let schema = state.inputs[0].1.project(&[0]).unwrap();
        let (sender, mut only_ids) = tokio::sync::mpsc::channel(8);
        state.outputs.insert(
            "ids".into(),
            crate::sandbox::OutputSink {
                schema: std::sync::Arc::new(schema),
                sender,
            },
        );
        state
            .accept_taken("ids", "in", &name(&["id"]), &[12, 0, 10, 9], None)
            .unwrap();
        let batch = only_ids.try_recv().unwrap();
        assert_eq!(ids(&batch), [4, 0, 2, 9]);
        assert!(main.try_recv().is_err());
    }

    #[test]
    fn a_taken_batch_over_the_limit_is_refused_before_it_is_built() {
        let runtime = runtime();
        let (mut state, _) = state(&runtime);
        retaining(&mut state);
        state.limits.max_batch_bytes = 1 << 10;
        let rows = vec![0u32; 200];
        let err = state
            .accept_taken("main", "in", &["id".to_string()], &rows, None)
            .unwrap_err();
        assert!(err.contains("over the limit"), "{err}");
        let err = state
            .accept_taken("main", "nope", &[], &[], None)
            .unwrap_err();
        assert!(err.contains("unknown input `nope`"), "{err}");
    }
}
