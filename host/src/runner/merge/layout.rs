//! Reorders the rows inside each batch of changes so that gathering them
//! in key order reads memory close together.
//!
//! Changes arrive in input order and are fed to the plugin in key order.
//! Read straight from the input's batches, each value of each column of a
//! gather is a cache miss somewhere in hundreds of MB (in `perf` of a
//! ten-million-change merge, the gather spent most of its cycles on one
//! load). Key order is fed in stretches of [`STRETCH_ROWS`] changes; once
//! each batch holds its rows grouped by the stretch they are fed in, a
//! stretch reads one short run of rows from each batch, a few MB in all,
//! and every cache line it loads is used whole. The regrouping reads each
//! batch once, in order.

use std::ops::Range;

use arrow_array::{RecordBatch, UInt32Array};
use arrow_row::Rows;
use arrow_select::take::take_record_batch;

use super::clusters::KeyEncoder;
use crate::runner::FlowFailure;
use crate::storage::reader::BATCH_ROWS;

/// Changes fed to the plugin at once, and the unit rows are grouped by.
const STRETCH_ROWS: usize = BATCH_ROWS;

/// The stretch that the change at `position` (in key order) is fed in.
fn stretch_of(position: usize) -> u32 {
    u32::try_from(position / STRETCH_ROWS).unwrap_or(u32::MAX)
}

/// Cuts `piece` (positions in key order) where stretches end, so that
/// each cut lies within one stretch.
pub fn cuts(piece: Range<usize>) -> impl Iterator<Item = Range<usize>> {
    let end = piece.end;
    let next_stretch = |from: usize| (from / STRETCH_ROWS + 1) * STRETCH_ROWS;
    let first = (piece.start < end).then_some(piece.start);
    std::iter::successors(first, move |&from| {
        Some(next_stretch(from)).filter(|&n| n < end)
    })
    .map(move |from| from..next_stretch(from).min(end))
}

/// Regroups the rows of each batch (and its keys) by stretch, keeping
/// their order within a stretch, and updates `order`, the (batch, row) of
/// each change in key order, to match. Each change keeps its batch, and
/// each key its changes' order.
pub fn grouped_by_stretch(
    batches: Vec<RecordBatch>,
    keys: Vec<Rows>,
    order: &mut [(u32, u32)],
    encoder: &KeyEncoder,
) -> Result<(Vec<RecordBatch>, Vec<Rows>), FlowFailure> {
    let mut starts = Vec::with_capacity(batches.len());
    let mut total = 0usize;
    for batch in &batches {
        starts.push(total);
        total += batch.num_rows();
    }
    let misplaced = || FlowFailure::new("regrouping changes: a change outside its batches");
    // Per input row, first its stretch, then (once its batch is
    // regrouped) its new row within the batch.
    let mut placed = vec![0u32; total];
    for (position, &(b, r)) in order.iter().enumerate() {
        let at = starts
            .get(b as usize)
            .map(|start| start + r as usize)
            .ok_or_else(misplaced)?;
        *placed.get_mut(at).ok_or_else(misplaced)? = stretch_of(position);
    }
    // Batches are regrouped independently, a share of them per core.
    let mut work = Vec::with_capacity(batches.len());
    let mut rest = placed.as_mut_slice();
    for (batch, rows) in batches.into_iter().zip(keys) {
        let (slots, tail) = rest.split_at_mut(batch.num_rows());
        work.push((batch, rows, slots));
        rest = tail;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let share = work.len().div_ceil(cores).max(1);
    // Consecutive batches per share, so the shares' results concatenate in order.
    let mut shares: Vec<Vec<_>> = (0..cores).map(|_| Vec::with_capacity(share)).collect();
    for (i, item) in work.into_iter().enumerate() {
        shares[i / share].push(item);
    }
    let done: Vec<Result<Vec<(RecordBatch, Rows)>, FlowFailure>> = std::thread::scope(|scope| {
        let running: Vec<_> = shares
            .into_iter()
            .map(|share| {
                scope.spawn(move || {
                    share
                        .into_iter()
                        .map(|(batch, rows, slots)| regroup(batch, rows, slots, encoder))
                        .collect()
                })
            })
            .collect();
        running
            .into_iter()
            .map(|t| t.join().unwrap_or_else(|_| Err(thread_failed())))
            .collect()
    });
    let mut grouped = Vec::with_capacity(starts.len());
    let mut grouped_keys = Vec::with_capacity(starts.len());
    for share in done {
        for (batch, rows) in share? {
            grouped.push(batch);
            grouped_keys.push(rows);
        }
    }
    let renumber = |part: &mut [(u32, u32)]| -> Result<(), FlowFailure> {
        for (b, r) in part {
            let start = starts.get(*b as usize).ok_or_else(misplaced)?;
            *r = *placed.get(start + *r as usize).ok_or_else(misplaced)?;
        }
        Ok(())
    };
    let (low, high) = order.split_at_mut(order.len() / 2);
    let (low, high) = std::thread::scope(|scope| {
        let low = scope.spawn(|| renumber(low));
        let high = renumber(high);
        (low.join(), high)
    });
    low.unwrap_or_else(|_| Err(thread_failed()))?;
    high?;
    Ok((grouped, grouped_keys))
}

fn thread_failed() -> FlowFailure {
    FlowFailure::new("regrouping changes: a thread failed")
}

/// Regroups one batch and its keys; `slots` holds each row's stretch on
/// entry and its new row on return.
fn regroup(
    batch: RecordBatch,
    rows: Rows,
    slots: &mut [u32],
    encoder: &KeyEncoder,
) -> Result<(RecordBatch, Rows), FlowFailure> {
    if rows.num_rows() != batch.num_rows() || slots.len() != batch.num_rows() {
        return Err(FlowFailure::new(
            "regrouping changes: a batch and its keys differ in length",
        ));
    }
    let Some(new_order) = stable_order_by_stretch(slots) else {
        // Already grouped (a sorted batch, e.g. a cluster's old changes).
        for (row, slot) in slots.iter_mut().enumerate() {
            *slot = row as u32;
        }
        return Ok((batch, rows));
    };
    for (new_row, &row) in new_order.iter().enumerate() {
        slots[row as usize] = new_row as u32;
    }
    let rows = encoder.permuted(&rows, &new_order);
    let indices = UInt32Array::from(new_order);
    let batch = take_record_batch(&batch, &indices)
        .map_err(|e| FlowFailure::new(format!("regrouping changes: {e}")))?;
    Ok((batch, rows))
}

/// The rows ordered by stretch (a counting sort, so stable), or `None`
/// when they already are.
fn stable_order_by_stretch(stretches: &[u32]) -> Option<Vec<u32>> {
    if stretches.is_sorted() {
        return None;
    }
    let low = *stretches.iter().min()?;
    let high = *stretches.iter().max()?;
    let mut next = vec![0u32; (high - low) as usize + 2];
    for &s in stretches {
        next[(s - low) as usize + 1] += 1;
    }
    for i in 1..next.len() {
        next[i] += next[i - 1];
    }
    let mut sorted = vec![0u32; stretches.len()];
    for (row, &s) in stretches.iter().enumerate() {
        let slot = &mut next[(s - low) as usize];
        sorted[*slot as usize] = row as u32;
        *slot += 1;
    }
    Some(sorted)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::cast::AsArray;
    use arrow_array::types::Int64Type;
    use arrow_array::{ArrayRef, Int64Array};
    use arrow_schema::{DataType, Field, Schema};

    use super::*;
    use crate::runner::merge::order::sorted_by_key;

    #[test]
    fn cuts_end_where_stretches_do() {
        let s = STRETCH_ROWS;
        let all: Vec<_> = cuts(s - 2..3 * s + 1).collect();
        assert_eq!(
            all,
            vec![s - 2..s, s..2 * s, 2 * s..3 * s, 3 * s..3 * s + 1]
        );
        assert_eq!(cuts(5..9).collect::<Vec<_>>(), vec![5..9]);
        assert_eq!(cuts(4..4).count(), 0);
    }

    #[test]
    fn counting_sort_is_stable_and_skips_sorted_rows() {
        assert_eq!(
            stable_order_by_stretch(&[3, 1, 3, 1, 2]),
            Some(vec![1, 3, 4, 0, 2])
        );
        assert_eq!(stable_order_by_stretch(&[1, 1, 2]), None);
    }

    #[test]
    fn regrouped_changes_gather_the_same_rows_in_the_same_key_order() {
        // Two batches whose keys interleave over three stretches, with
        // repeated keys whose changes must keep their order.
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Int64, false),
            Field::new("seq", DataType::Int64, false),
        ]));
        let n = 2 * STRETCH_ROWS;
        let batch = |offset: i64| {
            let k: Vec<i64> = (0..n as i64)
                .map(|i| (i * 7919 + offset) % 100_003)
                .collect();
            let seq: Vec<i64> = (0..n as i64).map(|i| i + offset * 1_000_000).collect();
            let columns: Vec<ArrayRef> = vec![
                Arc::new(Int64Array::from(k)),
                Arc::new(Int64Array::from(seq)),
            ];
            RecordBatch::try_new(schema.clone(), columns).unwrap()
        };
        let batches = vec![batch(0), batch(1)];
        let encoder = KeyEncoder::new(&schema, &["k".to_string()]).unwrap();
        let keys: Vec<Rows> = batches.iter().map(|b| encoder.encode(b).unwrap()).collect();
        let mut order = sorted_by_key(&keys).unwrap();
        let before: Vec<(i64, i64)> = order
            .iter()
            .map(|&(b, r)| value_pair(&batches[b as usize], r as usize))
            .collect();
        let (grouped, grouped_keys) =
            grouped_by_stretch(batches, keys, &mut order, &encoder).unwrap();
        let after: Vec<(i64, i64)> = order
            .iter()
            .map(|&(b, r)| value_pair(&grouped[b as usize], r as usize))
            .collect();
        assert_eq!(before, after);
        for &(b, r) in &order {
            let expected = encoder
                .encode(&grouped[b as usize].slice(r as usize, 1))
                .unwrap();
            assert_eq!(grouped_keys[b as usize].row(r as usize), expected.row(0));
        }
        // Within a batch, each stretch's rows are now one run.
        for (b, batch) in grouped.iter().enumerate() {
            let stretches: Vec<u32> = {
                let mut s = vec![0; batch.num_rows()];
                for (position, &(ob, r)) in order.iter().enumerate() {
                    if ob as usize == b {
                        s[r as usize] = stretch_of(position);
                    }
                }
                s
            };
            assert!(stretches.is_sorted());
        }
    }

    fn value_pair(batch: &RecordBatch, row: usize) -> (i64, i64) {
        let column = |c: usize| batch.column(c).as_primitive::<Int64Type>().value(row);
        (column(0), column(1))
    }
}
