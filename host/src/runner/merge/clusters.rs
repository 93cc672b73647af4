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

    /// `rows` (made by this encoder) in the order `new_order` lists them.
    pub fn permuted(&self, rows: &Rows, new_order: &[u32]) -> Rows {
        let bytes = new_order
            .iter()
            .map(|&row| rows.row_len(row as usize))
            .sum();
        let mut out = self.converter.empty_rows(new_order.len(), bytes);
        for &row in new_order {
            out.push(rows.row(row as usize));
        }
        out
    }
}

/// The cluster (index into `firsts`, sorted) that holds `key`.
pub fn cluster_of(firsts: &[OwnedRow], key: Row<'_>) -> usize {
    firsts
        .partition_point(|first| first.row() <= key)
        .saturating_sub(1)
}

/// Where each cluster's changes start among changes sorted by key
/// (`key(i)` is the i-th of `len`): the first position whose key is at
/// least the cluster's first key (position 0 for the first cluster).
pub fn cluster_starts<'a>(
    firsts: &[OwnedRow],
    len: usize,
    key: impl Fn(usize) -> Row<'a>,
) -> Vec<usize> {
    let mut starts = Vec::with_capacity(firsts.len().max(1));
    starts.push(0);
    for first in firsts.iter().skip(1) {
        let (mut low, mut high) = (*starts.last().unwrap_or(&0), len);
        while low < high {
            let mid = low + (high - low) / 2;
            if key(mid) < first.row() {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        starts.push(low);
    }
    starts
}

/// Cuts `len` changes sorted by key into the clusters to write: the changes
/// of each cluster (from its start in `starts` to the next one's) stay one
/// piece unless they are more than twice `target_rows`, in which case they
/// are cut into pieces of about `target_rows`. A key's changes are never
/// cut apart: `same_key(i)` says whether change `i` has change `i - 1`'s key.
pub fn pieces(
    starts: &[usize],
    len: usize,
    same_key: impl Fn(usize) -> bool,
    target_rows: usize,
) -> Vec<Range<usize>> {
    let target_rows = target_rows.max(1);
    let ends = starts.iter().skip(1).copied().chain([len]);
    let mut pieces = Vec::new();
    for (start, end) in starts.iter().copied().zip(ends) {
        let rows = end.saturating_sub(start);
        if rows == 0 {
            continue;
        }
        if rows <= 2 * target_rows {
            pieces.push(start..end);
            continue;
        }
        let size = rows.div_ceil(rows.div_ceil(target_rows));
        let mut from = start;
        while from < end {
            let mut to = (from + size).min(end);
            while to < end && same_key(to) {
                to += 1;
            }
            pieces.push(from..to);
            from = to;
        }
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
        let key = |i: usize| encoded.row(i);
        let firsts: Vec<OwnedRow> = rows(&[0, 4]).iter().map(|r| r.owned()).collect();
        let starts = cluster_starts(&firsts, ids.len(), key);
        assert_eq!(starts, vec![0, 4]);
        let same = |i: usize| key(i) == key(i - 1);
        let cut = pieces(&starts, ids.len(), same, 2);
        assert_eq!(cut, vec![0..4, 4..8, 8..10, 10..12, 12..13]);
        for piece in &cut[1..] {
            assert_ne!(key(piece.start), key(piece.start - 1));
        }
        assert_eq!(pieces(&starts, ids.len(), same, 100), vec![0..4, 4..13]);
        assert!(pieces(&[0], 0, |_| false, 10).is_empty());
        // A cluster no change falls in makes no piece.
        let beyond: Vec<OwnedRow> = rows(&[0, 4, 100]).iter().map(|r| r.owned()).collect();
        let starts = cluster_starts(&beyond, ids.len(), key);
        assert_eq!(starts, vec![0, 4, 13]);
        assert_eq!(pieces(&starts, ids.len(), same, 100), vec![0..4, 4..13]);
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
