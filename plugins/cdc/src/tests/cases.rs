//! The contract's rules, one case each.

use std::sync::Arc;

use lfhost_plugin_sdk::Error;

use super::{Change, expect, input_schema, options, run, run_batches};
use crate::{MAX_BATCH_ROWS, Merge, Plan};

const F1: &str = "landing/addresses/f1.jsonl";
const F2: &str = "landing/addresses/f2.jsonl";

fn ins(key: i64, seq: i64, street: &str) -> Change {
    Change::new(key, seq, F1, "INSERT", street)
}

fn upd(key: i64, seq: i64, street: &str) -> Change {
    Change::new(key, seq, F1, "UPDATE", street)
}

fn del(key: i64, seq: i64) -> Change {
    Change::new(key, seq, F1, "DELETE", "")
}

fn in_file(mut c: Change, file: &str) -> Change {
    c.file = Some(file.to_string());
    c
}

fn scd1() -> String {
    options(1, "")
}

fn scd2() -> String {
    options(2, "")
}

// ------------------------------------------------------------- SCD type 1

#[test]
fn scd1_keeps_the_last_change_per_key() {
    let rows = run(
        &scd1(),
        &[ins(1, 10, "a"), ins(2, 10, "x"), upd(1, 20, "b")],
    );
    assert_eq!(
        rows,
        vec![expect(1, "b", &[Some(20)]), expect(2, "x", &[Some(10)])]
    );
}

#[test]
fn scd1_late_update_does_not_overwrite_a_newer_value() {
    let rows = run(
        &scd1(),
        &[ins(1, 20, "new"), in_file(upd(1, 10, "old"), F2)],
    );
    assert_eq!(rows, vec![expect(1, "new", &[Some(20)])]);
}

#[test]
fn scd1_late_upsert_after_a_delete_does_not_resurrect() {
    let changes = [ins(1, 10, "a"), del(1, 30), in_file(upd(1, 20, "b"), F2)];
    assert_eq!(run(&scd1(), &changes), Vec::<super::Row>::new());
    // A change sequenced after the delete does bring the key back.
    let mut more = changes.to_vec();
    more.push(upd(1, 40, "c"));
    assert_eq!(run(&scd1(), &more), vec![expect(1, "c", &[Some(40)])]);
}

#[test]
fn scd1_delete_of_an_unknown_key_is_remembered() {
    let (rows, counters) = run_batches(&scd1(), &[del(5, 10)], &[1]);
    assert!(rows.is_empty());
    assert_eq!(
        (counters.keys, counters.deletes, counters.rows_out),
        (1, 1, 0)
    );
    // The tombstone keeps out a change sequenced before it.
    assert!(run(&scd1(), &[del(5, 10), ins(5, 5, "early")]).is_empty());
}

#[test]
fn equal_sequences_in_two_files_the_later_path_wins() {
    // Pushed b before a: the order is by path, not by push.
    let changes = [
        in_file(ins(1, 10, "from-b"), "x/b.jsonl"),
        in_file(ins(1, 10, "from-a"), "x/a.jsonl"),
    ];
    assert_eq!(
        run(&scd1(), &changes),
        vec![expect(1, "from-b", &[Some(10)])]
    );
    // Byte-wise: "B" (0x42) sorts before "a" (0x61).
    let changes = [
        in_file(ins(1, 10, "from-a"), "x/a.jsonl"),
        in_file(ins(1, 10, "from-B"), "x/B.jsonl"),
    ];
    assert_eq!(
        run(&scd1(), &changes),
        vec![expect(1, "from-a", &[Some(10)])]
    );
    // A delete in the later file wins, an upsert in the later file too.
    let changes = [in_file(del(1, 10), F2), in_file(ins(1, 10, "a"), F1)];
    assert!(run(&scd1(), &changes).is_empty());
    let changes = [in_file(ins(1, 10, "a"), F2), in_file(del(1, 10), F1)];
    assert_eq!(run(&scd1(), &changes), vec![expect(1, "a", &[Some(10)])]);
}

#[test]
fn equal_sequences_in_one_file_the_later_row_wins() {
    let changes = [ins(1, 10, "first"), upd(1, 10, "second")];
    assert_eq!(
        run(&scd1(), &changes),
        vec![expect(1, "second", &[Some(10)])]
    );
    let changes = [ins(1, 10, "first"), del(1, 10)];
    assert!(run(&scd1(), &changes).is_empty());
    // Across batches too.
    let (rows, _) = run_batches(
        &scd1(),
        &[ins(1, 10, "first"), del(1, 10), upd(1, 10, "third")],
        &[1],
    );
    assert_eq!(rows, vec![expect(1, "third", &[Some(10)])]);
}

#[test]
fn without_a_source_file_column_position_breaks_ties() {
    let options = options(1, r#", "source_file_column": null"#);
    let changes = [
        in_file(ins(1, 10, "b-first"), "x/b.jsonl"),
        in_file(ins(1, 10, "a-later"), "x/a.jsonl"),
    ];
    assert_eq!(
        run(&options, &changes),
        vec![expect(1, "a-later", &[Some(10)])]
    );
}

#[test]
fn ignore_null_updates_keeps_earlier_values() {
    let options = options(1, r#", "ignore_null_updates": true"#);
    let mut partial = upd(1, 20, "b");
    partial.values[1] = None; // city
    partial.values[4] = Some("DE".into());
    let mut expected = expect(1, "b", &[Some(20)]);
    expected[5] = Some("DE".into());
    assert_eq!(
        run(&options, &[ins(1, 10, "a"), partial.clone()]),
        vec![expected]
    );
    // Not across a delete: the key starts afresh.
    let rows = run(&options, &[ins(1, 10, "a"), del(1, 15), partial.clone()]);
    assert_eq!(rows[0][2], None);
    // Off by default: the NULL is the value.
    assert_eq!(run(&scd1(), &[ins(1, 10, "a"), partial])[0][2], None);
}

#[test]
fn composite_keys() {
    let options = options(1, "").replace(r#"["customer_id"]"#, r#"["customer_id", "street"]"#);
    let rows = run(
        &options,
        &[
            ins(1, 10, "a"),
            ins(1, 11, "b"),
            upd(1, 12, "a"),
            del(1, 13),
        ],
    );
    // The delete names (1, "") - a key never seen.
    assert_eq!(
        rows,
        vec![expect(1, "a", &[Some(12)]), expect(1, "b", &[Some(11)])]
    );
}

// ------------------------------------------------------------- SCD type 2

#[test]
fn scd2_history_of_changes() {
    let rows = run(
        &scd2(),
        &[ins(1, 10, "a"), upd(1, 20, "b"), ins(2, 15, "x")],
    );
    assert_eq!(
        rows,
        vec![
            expect(1, "a", &[Some(10), Some(20)]),
            expect(1, "b", &[Some(20), None]),
            expect(2, "x", &[Some(15), None]),
        ]
    );
}

#[test]
fn scd2_a_late_change_splits_a_version() {
    let rows = run(
        &scd2(),
        &[
            ins(1, 10, "a"),
            upd(1, 30, "c"),
            in_file(upd(1, 20, "b"), F2),
        ],
    );
    assert_eq!(
        rows,
        vec![
            expect(1, "a", &[Some(10), Some(20)]),
            expect(1, "b", &[Some(20), Some(30)]),
            expect(1, "c", &[Some(30), None]),
        ]
    );
}

#[test]
fn scd2_a_late_change_moves_start_at_earlier() {
    let rows = run(&scd2(), &[upd(1, 20, "a"), in_file(ins(1, 10, "a"), F2)]);
    assert_eq!(rows, vec![expect(1, "a", &[Some(10), None])]);
}

#[test]
fn scd2_unchanged_tracked_values_open_no_version() {
    let rows = run(
        &scd2(),
        &[ins(1, 10, "a"), upd(1, 20, "a"), upd(1, 30, "a")],
    );
    assert_eq!(rows, vec![expect(1, "a", &[Some(10), None])]);
    // NULL equals NULL.
    let mut n1 = ins(1, 10, "a");
    n1.values[0] = None;
    let mut n2 = upd(1, 20, "a");
    n2.values[0] = None;
    assert_eq!(run(&scd2(), &[n1, n2]).len(), 1);
}

#[test]
fn scd2_untracked_columns_change_in_place() {
    let options = options(2, "").replace(
        r#"["street", "city", "state", "postal_code", "country"]"#,
        r#"["street"]"#,
    );
    let mut moved = upd(1, 20, "a");
    moved.values[1] = Some("Lyon".into());
    let rows = run(&options, &[ins(1, 10, "a"), moved, upd(1, 30, "b")]);
    let mut first = expect(1, "a", &[Some(10), Some(30)]);
    first[2] = Some("Lyon".into());
    assert_eq!(rows, vec![first, expect(1, "b", &[Some(30), None])]);
}

#[test]
fn scd2_a_delete_closes_the_version() {
    let rows = run(&scd2(), &[ins(1, 10, "a"), del(1, 20)]);
    assert_eq!(rows, vec![expect(1, "a", &[Some(10), Some(20)])]);
    // A late delete too, and the next change opens a version.
    let rows = run(
        &scd2(),
        &[ins(1, 10, "a"), upd(1, 30, "b"), in_file(del(1, 20), F2)],
    );
    assert_eq!(
        rows,
        vec![
            expect(1, "a", &[Some(10), Some(20)]),
            expect(1, "b", &[Some(30), None])
        ]
    );
}

#[test]
fn scd2_reinsert_after_a_delete_opens_a_new_version() {
    let (rows, counters) = run_batches(
        &scd2(),
        &[ins(1, 10, "a"), del(1, 20), ins(1, 30, "a")],
        &[2],
    );
    assert_eq!(
        rows,
        vec![
            expect(1, "a", &[Some(10), Some(20)]),
            expect(1, "a", &[Some(30), None])
        ]
    );
    assert_eq!(counters.versions, Some(2));
    assert_eq!(counters.deletes, 1);
}

#[test]
fn scd2_delete_of_an_unknown_key_and_equal_sequences() {
    assert!(run(&scd2(), &[del(3, 10), upd(3, 5, "early")]).len() == 1);
    assert!(run(&scd2(), &[del(3, 10)]).is_empty());
    // Of equal sequences only the last applies: no version for "a".
    let rows = run(
        &scd2(),
        &[in_file(ins(1, 10, "a"), F1), in_file(ins(1, 10, "b"), F2)],
    );
    assert_eq!(rows, vec![expect(1, "b", &[Some(10), None])]);
    let rows = run(&scd2(), &[ins(1, 5, "a"), upd(1, 10, "b"), del(1, 10)]);
    assert_eq!(rows, vec![expect(1, "a", &[Some(5), Some(10)])]);
}

// ------------------------------------------------------------------ other

#[test]
fn a_null_key_or_sequence_names_the_row() {
    let plan = Arc::new(Plan::new(&scd1(), input_schema()).unwrap());
    let mut merge = Merge::new(plan.clone());
    merge
        .push(&super::batch(&[ins(1, 10, "a"), ins(2, 10, "b")]))
        .unwrap();
    let mut bad = super::batch(&[ins(7, 10, "a"), ins(8, 10, "b")]);
    let mut columns = bad.columns().to_vec();
    columns[7] = Arc::new(
        arrow_array::TimestampMicrosecondArray::from(vec![Some(1), None]).with_timezone("UTC"),
    );
    bad = arrow_array::RecordBatch::try_new(bad.schema(), columns).unwrap();
    let Err(Error::InvalidData(m)) = merge.push(&bad) else {
        panic!("expected a data error")
    };
    assert!(
        m.contains("row 3 ")
            && m.contains("customer_id=8")
            && m.contains("NULL sequence `updated_at`"),
        "{m}"
    );

    let mut merge = Merge::new(plan);
    let mut columns = bad.columns().to_vec();
    columns[0] = Arc::new(arrow_array::Int64Array::from(vec![None, Some(1)]));
    let bad = arrow_array::RecordBatch::try_new(bad.schema(), columns).unwrap();
    let Err(Error::InvalidData(m)) = merge.push(&bad) else {
        panic!("expected a data error")
    };
    assert!(
        m.contains("row 0 ") && m.contains("NULL key `customer_id`"),
        "{m}"
    );
}

#[test]
fn a_batch_of_another_schema_is_refused() {
    let plan = Arc::new(Plan::new(&scd1(), input_schema()).unwrap());
    let mut merge = Merge::new(plan);
    let batch = super::batch(&[ins(1, 10, "a")])
        .project(&[0, 1, 2])
        .unwrap();
    assert!(matches!(merge.push(&batch), Err(Error::InvalidData(_))));
}

#[test]
fn output_comes_in_batches_of_at_most_65536_rows() {
    let changes: Vec<Change> = (0..70_000).map(|k| ins(k, 10, "a")).collect();
    let plan = Arc::new(Plan::new(&scd2(), input_schema()).unwrap());
    let mut merge = Merge::new(plan);
    for chunk in changes.chunks(8192) {
        merge.push(&super::batch(chunk)).unwrap();
    }
    let mut sizes = Vec::new();
    let counters = merge
        .finish(&mut |b| {
            sizes.push(b.num_rows());
            Ok(())
        })
        .unwrap();
    assert_eq!(sizes, vec![MAX_BATCH_ROWS, 70_000 - MAX_BATCH_ROWS]);
    assert_eq!(
        (counters.rows_in, counters.rows_out, counters.keys),
        (70_000, 70_000, 70_000)
    );
}

#[test]
fn no_input_gives_an_empty_table() {
    let (rows, counters) = run_batches(&scd2(), &[], &[1]);
    assert!(rows.is_empty());
    assert_eq!(counters.rows_in, 0);
}
