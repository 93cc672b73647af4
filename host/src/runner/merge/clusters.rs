//! How a keyed merge table is laid out so that a run rewrites only what its
//! changes touch.
//!
//! The change log kept beside the table (its state) is cut into clusters:
//! each a range of keys, stored as one state file holding every change of
//! those keys, sorted by key, and at most one table file holding the table
//! rows of the same keys. Clusters cover disjoint key ranges, so a cluster
//! is known by the first key of its state file: it holds the keys from
//! there up to the next cluster's first key (the first cluster also takes
//! every key below its own). A run reads and rewrites only the clusters its
//! new changes fall in.

use std::ops::Range;

use arrow_array::RecordBatch;
use arrow_row::{OwnedRow, Row, RowConverter, Rows, SortField};
use arrow_schema::Schema;

/// Encodes a batch's key columns as byte-comparable rows, so that keys of
/// any column types sort and compare the same way everywhere in a run.
pub struct KeyEncoder {
    converter: RowConverter,
    fields: Vec<(String, arrow_schema::DataType)>,
}

impl KeyEncoder {
    /// Keys typed as `schema` (the merge's input) has them.
    pub fn new(schema: &Schema, keys: &[String]) -> Result<KeyEncoder, String> {
        if keys.is_empty() {
            return Err("the merge has no keys".to_string());
        }
        let mut fields = Vec::with_capacity(keys.len());
        for key in keys {
            let field = schema
                .field_with_name(key)
                .map_err(|_| format!("the input has no key column `{key}`"))?;
            fields.push((key.clone(), field.data_type().clone()));
        }
        let sort_fields = fields
            .iter()
            .map(|(_, t)| SortField::new(t.clone()))
            .collect();
        let converter = RowConverter::new(sort_fields).map_err(|e| e.to_string())?;
        Ok(KeyEncoder { converter, fields })
    }

    pub fn key_names(&self) -> Vec<String> {
        self.fields.iter().map(|(n, _)| n.clone()).collect()
    }

    /// The keys of every row of `batch`, which must have the key columns
    /// (cast to the input's types when they differ).
    pub fn encode(&self, batch: &RecordBatch) -> Result<Rows, String> {
        let mut columns = Vec::with_capacity(self.fields.len());
        for (name, data_type) in &self.fields {
            let column = batch
                .column_by_name(name)
                .ok_or_else(|| format!("the data has no key column `{name}`"))?;
            let column = if column.data_type() == data_type {
                column.clone()
            } else {
                arrow_cast::cast(column, data_type).map_err(|e| format!("key `{name}`: {e}"))?
            };
            columns.push(column);
        }
        self.converter
            .convert_columns(&columns)
            .map_err(|e| e.to_string())
    }
}

/// The cluster (index into `firsts`, sorted) that holds `key`.
pub fn cluster_of(firsts: &[OwnedRow], key: Row<'_>) -> usize {
    firsts
        .partition_point(|first| first.row() <= key)
        .saturating_sub(1)
}

/// Cuts changes sorted by key into the clusters to write: each input
/// cluster (`cluster[i]` of the i-th change, non-decreasing) stays one
/// unless it holds more than twice `target_rows`, in which case it is cut
/// into pieces of about `target_rows`. A key's changes are never cut apart.
pub fn pieces(keys: &[Row<'_>], cluster: &[usize], target_rows: usize) -> Vec<Range<usize>> {
    let target_rows = target_rows.max(1);
    let mut pieces = Vec::new();
    let mut start = 0;
    while start < keys.len() {
        let end = start + cluster[start..].partition_point(|&c| c == cluster[start]);
        let rows = end - start;
        if rows <= 2 * target_rows {
            pieces.push(start..end);
        } else {
            let size = rows.div_ceil(rows.div_ceil(target_rows));
            let mut from = start;
            while from < end {
                let mut to = (from + size).min(end);
                while to < end && keys[to] == keys[to - 1] {
                    to += 1;
                }
                pieces.push(from..to);
                from = to;
            }
        }
        start = end;
    }
    pieces
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Int64Array, StringArray};
    use arrow_schema::{DataType, Field};

    use super::*;

    fn encoder() -> (KeyEncoder, Arc<Schema>) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("v", DataType::Utf8, true),
        ]));
        (
            KeyEncoder::new(&schema, &["id".to_string()]).expect("key"),
            schema,
        )
    }

    fn rows(ids: &[i64]) -> Rows {
        let (encoder, schema) = encoder();
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(ids.to_vec())),
                Arc::new(StringArray::from(vec!["x"; ids.len()])),
            ],
        )
        .expect("batch");
        encoder.encode(&batch).expect("encode")
    }

    #[test]
    fn keys_fall_in_the_cluster_whose_range_holds_them() {
        let firsts: Vec<OwnedRow> = rows(&[10, 20, 30]).iter().map(|r| r.owned()).collect();
        let probe = rows(&[-5, 10, 15, 20, 29, 30, 1000]);
        let found: Vec<usize> = probe.iter().map(|k| cluster_of(&firsts, k)).collect();
        assert_eq!(found, vec![0, 0, 0, 1, 1, 2, 2]);
        assert_eq!(cluster_of(&[], probe.row(0)), 0);
    }

    #[test]
    fn small_clusters_stay_whole_and_large_ones_are_cut_between_keys() {
        let ids = [1, 1, 2, 3, 4, 4, 4, 4, 5, 6, 7, 8, 9];
        let encoded = rows(&ids);
        let keys: Vec<Row> = encoded.iter().collect();
        let cluster = [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1];
        let cut = pieces(&keys, &cluster, 2);
        assert_eq!(cut, vec![0..4, 4..8, 8..10, 10..12, 12..13]);
        for piece in &cut[1..] {
            assert_ne!(keys[piece.start], keys[piece.start - 1]);
        }
        assert_eq!(pieces(&keys, &cluster, 100), vec![0..4, 4..13]);
        assert!(pieces(&[], &[], 10).is_empty());
    }

    #[test]
    fn keys_of_another_type_are_cast_to_the_inputs() {
        let (encoder, _) = encoder();
        let batch = RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new("id", DataType::Int32, true)])),
            vec![Arc::new(arrow_array::Int32Array::from(vec![7]))],
        )
        .expect("batch");
        let cast = encoder.encode(&batch).expect("encode");
        assert_eq!(cast.row(0), rows(&[7]).row(0));
        let missing = RecordBatch::new_empty(Arc::new(Schema::empty()));
        assert!(encoder.encode(&missing).is_err());
    }
}
