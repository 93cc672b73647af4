//! A keyed merge: a `merge` stage with `keys` (like `cdc`), run so that a
//! run rewrites only the parts of its table that its new changes touch.
//!
//! A merge's table is a function of each key's changes, in order. The host
//! keeps every change it has applied in a state table beside the target
//! (`<table>/_lfhost_state/<fingerprint>`, a Delta table that readers of
//! the target never see), laid out in clusters of keys (see
//! [`clusters`]). A run finds the clusters its new changes fall in, gives
//! the plugin those clusters' old changes followed by the new ones (sorted
//! by key, each key's changes in their original order: the plugin's view of
//! each key is the same as if it saw the whole history), and replaces the
//! clusters' state and table files with the results: one commit to the
//! state, then one to the table, both recording the input version read.
//!
//! When the state is missing, or out of step with the table (a crash
//! between the two commits), or was made for other keys, options, input
//! schema or plugin (the fingerprint differs), the run rebuilds both from
//! the input's whole history.

mod clusters;

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::ops::Range;

use arrow_array::RecordBatch;
use arrow_row::{OwnedRow, Row, Rows};
use arrow_schema::SchemaRef;
use arrow_select::interleave::interleave_record_batch;
use deltalake_core::DeltaTable;
use deltalake_core::kernel::{Add, Transaction};
use tokio::sync::mpsc;

use super::plan::PlannedTable;
use super::transform::{InputDelta, conform, input_app_id, input_delta};
use super::writer::{CHANNEL_BATCHES, data_bytes, spawn_collector};
use super::{FlowFailure, FlowOutcome, RunContext, spawn_flow};
use crate::config::Location;
use crate::sandbox::{FlowReport, OutputSink};
use crate::storage::delta::{self, Commit, DataFile, TableWriter};
use crate::storage::{open_store, reader};
use clusters::{KeyEncoder, cluster_of};

/// Changes per cluster: a run that touches one key rewrites about this
/// many changes and their table rows.
const DEFAULT_CLUSTER_ROWS: usize = 131_072;

/// Overrides [`DEFAULT_CLUSTER_ROWS`] (tests use tiny clusters).
const CLUSTER_ROWS_ENV: &str = "LFHOST_MERGE_CLUSTER_ROWS";

/// Changes one plugin instance is given at most. Keys never span pieces,
/// so each group's result is independent of the others': this bounds a
/// plugin's memory whatever the table's size, and lets a large merge run
/// several instances at once.
const DEFAULT_GROUP_ROWS: usize = 1 << 20;

/// Overrides [`DEFAULT_GROUP_ROWS`] (tests use tiny groups).
const GROUP_ROWS_ENV: &str = "LFHOST_MERGE_GROUP_ROWS";

/// Data files whose first keys are read at once when indexing.
const INDEX_READS: usize = 16;

/// The `keys` option of a merge stage, when it has one.
pub(super) fn keys_of(options_json: &str) -> Option<Vec<String>> {
    let options: serde_json::Value = serde_json::from_str(options_json).ok()?;
    let keys = options.get("keys")?.as_array()?;
    let keys: Option<Vec<String>> = keys
        .iter()
        .map(|k| k.as_str().map(str::to_string))
        .collect();
    keys.filter(|k| !k.is_empty())
}

fn cluster_rows() -> usize {
    positive_env(CLUSTER_ROWS_ENV).unwrap_or(DEFAULT_CLUSTER_ROWS)
}

fn group_rows() -> usize {
    positive_env(GROUP_ROWS_ENV).unwrap_or(DEFAULT_GROUP_ROWS)
}

fn positive_env(name: &str) -> Option<usize> {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n: &usize| n > 0)
}

/// One cluster of an existing layout.
struct Cluster {
    first: OwnedRow,
    state: DataFile,
    targets: Vec<DataFile>,
}

/// Everything the run feeds the plugin, in the order it does.
struct Changes {
    /// Old changes of the touched clusters, then the new changes.
    batches: Vec<RecordBatch>,
    keys: Vec<Rows>,
    /// (batch, row) of every change, sorted by key (stably).
    order: Vec<(usize, usize)>,
}

impl Changes {
    fn key(&self, at: (usize, usize)) -> Row<'_> {
        self.keys[at.0].row(at.1)
    }
}

pub(super) struct MergeRun<'a> {
    pub run: &'a RunContext,
    pub table: &'a PlannedTable,
    pub keys: Vec<String>,
    pub input: InputDelta,
    pub existing: Option<DeltaTable>,
    pub schema: SchemaRef,
    /// Rebuild from the input's whole history.
    pub rebuild: bool,
}

pub(super) async fn run(merge: MergeRun<'_>) -> Result<FlowOutcome, FlowFailure> {
    let MergeRun {
        run,
        table,
        keys,
        input,
        existing,
        schema,
        rebuild,
    } = merge;
    let name = &table.spec.name;
    let input_schema = table
        .inputs
        .first()
        .map(|(_, s)| s.clone())
        .ok_or_else(|| FlowFailure::new("the merge has no input"))?;
    let encoder = KeyEncoder::new(&input_schema, &keys).map_err(FlowFailure::new)?;
    let location = run.pipeline.table_location(name);
    let state_location =
        location
            .join("_lfhost_state")
            .join(&fingerprint(table, &keys, &input_schema));
    let state = delta::open(&state_location).await?;
    let app_id = input_app_id(&input.name);

    let mut layout = None;
    if let (false, Some(target), Some(state)) = (rebuild, &existing, &state) {
        let applied = delta::transaction_version(target, &app_id).await?;
        if applied.is_some() && applied == delta::transaction_version(state, &app_id).await? {
            layout = index(&encoder, state, &state_location, target, &location).await?;
        }
    }
    let (clusters, input) = match layout {
        Some(clusters) => (clusters, input),
        None => {
            if !rebuild && existing.is_some() {
                tracing::warn!(table = %name, "the merge state is missing or out of step with the table: rebuilding {name} from its input");
            }
            (Vec::new(), input_delta(run, &input.name, None).await?.delta)
        }
    };
    let rebuild = clusters.is_empty();
    let firsts: Vec<OwnedRow> = clusters.iter().map(|c| c.first.clone()).collect();

    // The new changes, the clusters they touch, and those clusters' old changes.
    let mut new_batches = Vec::new();
    let (input_store, input_root) = open_store(&input.location)?;
    for file in &input.files {
        for batch in reader::read_file(&input_store, &input_root, file).await? {
            new_batches.push(conform(&batch, &input_schema).map_err(FlowFailure::new)?);
        }
    }
    let new_keys = encode_all(&encoder, &new_batches)?;
    let touched: BTreeSet<usize> = new_keys
        .iter()
        .flat_map(|rows| rows.iter().map(|k| cluster_of(&firsts, k)))
        .filter(|_| !rebuild)
        .collect();
    let mut batches = Vec::new();
    let (state_store, state_root) = open_store(&state_location)?;
    for &c in &touched {
        for batch in reader::read_file(&state_store, &state_root, &clusters[c].state).await? {
            batches.push(conform(&batch, &input_schema).map_err(FlowFailure::new)?);
        }
    }
    let mut keys_of_batches = encode_all(&encoder, &batches)?;
    batches.extend(new_batches);
    keys_of_batches.extend(new_keys);
    let order = sorted_by_key(&keys_of_batches)?;
    let changes = Changes {
        order,
        batches,
        keys: keys_of_batches,
    };

    let sorted_keys: Vec<Row> = changes.order.iter().map(|&at| changes.key(at)).collect();
    let cluster_ids: Vec<usize> = sorted_keys
        .iter()
        .map(|&k| cluster_of(&firsts, k))
        .collect();
    let pieces = clusters::pieces(&sorted_keys, &cluster_ids, cluster_rows());
    let piece_firsts: Vec<OwnedRow> = pieces
        .iter()
        .map(|p| sorted_keys[p.start].owned())
        .collect();

    // The plugin gets the changes piece by piece; the state gets them too,
    // one file per piece.
    let (report, emitted, state_adds) = feed(
        run,
        table,
        &input.name,
        &input_schema,
        &state_location,
        &changes,
        &pieces,
    )
    .await?;
    let fed = changes.order.len();

    let target_adds = write_table(
        &encoder,
        &location,
        &schema,
        &emitted,
        &sorted_keys,
        &piece_firsts,
        run,
        name,
    )
    .await?;
    let rows_out: u64 = emitted.iter().map(|b| b.num_rows() as u64).sum();

    let transactions: Vec<Transaction> = input
        .version
        .map(|v| Transaction::new(&app_id, v))
        .into_iter()
        .collect();
    let info = HashMap::from([("lfhost.run_id".to_string(), serde_json::json!(run.run_id))]);
    let touched_clusters = || touched.iter().map(|&c| &clusters[c]);
    let state_commit = Commit {
        adds: state_adds,
        removes: touched_clusters().map(|c| c.state.path.clone()).collect(),
        overwrite: rebuild && state.is_some(),
        transactions: [delta::writer_tag(state.as_ref())]
            .into_iter()
            .chain(transactions.iter().cloned())
            .collect(),
        info: info.clone(),
        may_rebase: false,
    };
    delta::commit(&state_location, state.as_ref(), &input_schema, state_commit)
        .await
        .map_err(|e| FlowFailure::new(format!("the merge state: {e}")))?;
    let bytes_written = data_bytes(&target_adds);
    let target_commit = Commit {
        adds: target_adds,
        removes: touched_clusters()
            .flat_map(|c| c.targets.iter().map(|f| f.path.clone()))
            .collect(),
        overwrite: rebuild && existing.is_some(),
        transactions: [delta::writer_tag(existing.as_ref())]
            .into_iter()
            .chain(transactions)
            .collect(),
        info,
        may_rebase: false,
    };
    crate::failpoint::hit("merge-before-table-commit");
    let version = delta::commit(&location, existing.as_ref(), &schema, target_commit).await?;

    let mut counters = report.counters;
    counters.set_default("rows_in", i64::try_from(fed).unwrap_or(i64::MAX));
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    counters.add("clusters_rewritten", count(pieces.len()));
    counters.add(
        "clusters",
        count(clusters.len() - touched.len() + pieces.len()),
    );
    Ok(FlowOutcome {
        committed_version: Some(version),
        rows_out,
        bytes_written,
        files: input.files.len(),
        counters,
    })
}

/// Names the state by what it depends on, so that a change to any of it
/// starts a new state (and so a rebuild) instead of misreading the old one.
fn fingerprint(table: &PlannedTable, keys: &[String], input: &SchemaRef) -> String {
    let text = serde_json::json!({
        "keys": keys,
        "input": lfhost_ipc::describe_schema(input),
        "options": table.spec.options_json,
        "plugin": table.plugin.digest,
    })
    .to_string();
    crate::sandbox::digest(text.as_bytes())[..16].to_string()
}

fn encode_all(encoder: &KeyEncoder, batches: &[RecordBatch]) -> Result<Vec<Rows>, FlowFailure> {
    batches
        .iter()
        .map(|b| encoder.encode(b).map_err(FlowFailure::new))
        .collect()
}

/// The existing layout: clusters by their state files' first keys, each
/// with the table files whose first key falls in it. `None` when the two
/// do not fit together (then the run rebuilds).
async fn index(
    encoder: &KeyEncoder,
    state: &DeltaTable,
    state_location: &Location,
    target: &DeltaTable,
    target_location: &Location,
) -> Result<Option<Vec<Cluster>>, FlowFailure> {
    let state_files = delta::data_files(state).await?;
    let target_files = delta::data_files(target).await?;
    let state_firsts = first_keys(encoder, state_location, &state_files).await?;
    let target_firsts = first_keys(encoder, target_location, &target_files).await?;
    let mut clusters: Vec<Cluster> = state_files
        .into_iter()
        .zip(state_firsts)
        .map(|(state, first)| Cluster {
            first,
            state,
            targets: Vec::new(),
        })
        .collect();
    clusters.sort_by(|a, b| a.first.cmp(&b.first));
    let firsts: Vec<OwnedRow> = clusters.iter().map(|c| c.first.clone()).collect();
    if clusters.is_empty() || firsts.windows(2).any(|w| w[0] == w[1]) {
        return Ok(None);
    }
    for (file, first) in target_files.into_iter().zip(target_firsts) {
        if first < firsts[0] {
            return Ok(None);
        }
        clusters[cluster_of(&firsts, first.row())]
            .targets
            .push(file);
    }
    Ok(Some(clusters))
}

async fn first_keys(
    encoder: &KeyEncoder,
    location: &Location,
    files: &[DataFile],
) -> Result<Vec<OwnedRow>, FlowFailure> {
    let (store, root) = open_store(location)?;
    let names = encoder.key_names();
    let mut batches: Vec<RecordBatch> = Vec::with_capacity(files.len());
    for group in files.chunks(INDEX_READS) {
        let reads = group
            .iter()
            .map(|file| reader::first_row(&store, &root, file, &names));
        batches.extend(futures::future::try_join_all(reads).await?);
    }
    batches
        .iter()
        .map(|batch| {
            let rows = encoder.encode(batch).map_err(FlowFailure::new)?;
            Ok(rows.row(0).owned())
        })
        .collect()
}

type Fed = (FlowReport, Vec<RecordBatch>, Vec<Add>);

/// Consecutive pieces, as ranges of piece indices, of at most `max_rows`
/// changes each (a piece larger than that is a group of its own).
fn groups(pieces: &[Range<usize>], max_rows: usize) -> Vec<Range<usize>> {
    let mut groups = Vec::new();
    let (mut start, mut rows) = (0, 0);
    for (i, piece) in pieces.iter().enumerate() {
        if i > start && rows + piece.len() > max_rows {
            groups.push(start..i);
            (start, rows) = (i, 0);
        }
        rows += piece.len();
    }
    if start < pieces.len() {
        groups.push(start..pieces.len());
    }
    groups
}

/// How many plugin instances a merge may run at once: the machine's cores,
/// within what the tenant's instance quota has free (the flow's own
/// instance is already counted; extra ones are only taken if free now, so
/// that flows never wait on each other's permits).
fn merge_workers(
    run: &RunContext,
    groups: usize,
) -> (usize, Vec<tokio::sync::OwnedSemaphorePermit>) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let wanted = cores.min(groups).max(1);
    let Some(instances) = &run.instances else {
        return (wanted, Vec::new());
    };
    let extra: Vec<_> = (1..wanted)
        .map_while(|_| instances.clone().try_acquire_owned().ok())
        .collect();
    (1 + extra.len(), extra)
}

type Worker = tokio::task::JoinHandle<Result<FlowReport, crate::sandbox::PluginError>>;

/// Runs the plugin over `changes`, a fresh instance per group of pieces
/// (several at once), writing the changes to the state as it goes, and
/// returns the instances' summed report, what they emitted, and the
/// state's new files.
async fn feed(
    run: &RunContext,
    table: &PlannedTable,
    input_name: &str,
    input_schema: &SchemaRef,
    state_location: &Location,
    changes: &Changes,
    pieces: &[Range<usize>],
) -> Result<Fed, FlowFailure> {
    let schema = table
        .main_schema()
        .cloned()
        .ok_or_else(|| FlowFailure::new("the plugin declared no output"))?;
    let (out_tx, collector) = spawn_collector();
    let groups = groups(pieces, group_rows());
    let instances = i64::try_from(groups.len()).unwrap_or(i64::MAX);
    let (workers, _extra_permits) = merge_workers(run, groups.len());
    let start_worker = |batch_rx: mpsc::Receiver<RecordBatch>| -> Worker {
        let outputs = HashMap::from([(
            crate::sandbox::MAIN_OUTPUT.to_string(),
            OutputSink {
                schema: schema.clone(),
                sender: out_tx.clone(),
            },
        )]);
        let input = input_name.to_string();
        let mut batch_rx = batch_rx;
        spawn_flow(run, table, outputs, move |flow| {
            while let Some(batch) = batch_rx.blocking_recv() {
                flow.push(&input, &batch)?;
            }
            Ok::<(), crate::sandbox::PluginError>(())
        })
    };

    let mut state = TableWriter::new(state_location, input_schema.clone())?.one_file_per_cut();
    let sources: Vec<&RecordBatch> = changes.batches.iter().collect();
    let mut state_adds = Vec::new();
    let mut written: Result<(), FlowFailure> = Ok(());
    let mut running: VecDeque<Worker> = VecDeque::new();
    let mut report = FlowReport::default();
    let mut failed: Option<FlowFailure> = None;
    'feed: for group in groups {
        if running.len() >= workers
            && let Some(worker) = running.pop_front()
            && let Err(e) = absorb(&mut report, worker, table).await
        {
            failed = Some(e);
            break 'feed;
        }
        let (batch_tx, batch_rx) = mpsc::channel::<RecordBatch>(CHANNEL_BATCHES);
        running.push_back(start_worker(batch_rx));
        for piece in &pieces[group] {
            for chunk in changes.order[piece.clone()].chunks(reader::BATCH_ROWS) {
                let batch = interleave_record_batch(&sources, chunk)
                    .map_err(|e| FlowFailure::new(format!("gathering changes: {e}")))?;
                if let Err(e) = state.write(batch.clone()).await {
                    written = Err(e.into());
                    break 'feed;
                }
                if batch_tx.send(batch).await.is_err() {
                    break 'feed; // the plugin stopped; its error follows
                }
            }
            match state.cut().await {
                Ok(adds) if adds.len() > 1 => {
                    written = Err(FlowFailure::new(format!(
                        "a cluster's changes took more than {} MiB, which the merge's layout cannot hold in one file: set {CLUSTER_ROWS_ENV} below {}",
                        delta::ONE_FILE_LIMIT >> 20,
                        cluster_rows()
                    )));
                    break 'feed;
                }
                Ok(adds) => state_adds.extend(adds),
                Err(e) => {
                    written = Err(e.into());
                    break 'feed;
                }
            }
        }
    }
    drop(out_tx);
    // Every instance is awaited, so that none outlives the flow.
    for worker in running {
        if let Err(e) = absorb(&mut report, worker, table).await {
            failed.get_or_insert(e);
        }
    }
    if let Some(e) = failed {
        return Err(e);
    }
    written?;
    report.counters.add("plugin_instances", instances);
    let emitted = collector
        .await
        .map_err(|e| FlowFailure::new(format!("collecting the plugin's output failed: {e}")))?;
    Ok((report, emitted, state_adds))
}

/// Waits for one instance and adds its report to `total`.
async fn absorb(
    total: &mut FlowReport,
    worker: Worker,
    table: &PlannedTable,
) -> Result<(), FlowFailure> {
    let part = worker
        .await
        .map_err(|e| FlowFailure::new(format!("the flow's thread failed: {e}")))?
        .map_err(|e| FlowFailure::new(format!("plugin {}: {e}", table.plugin.name())))?;
    total.counters.absorb(&part.counters);
    total.rows_out += part.rows_out;
    total.bytes_out += part.bytes_out;
    Ok(())
}

/// (batch, row) of every row of `keys`, sorted by key; rows with equal
/// keys keep their order (batch, then row), as a stable sort would.
fn sorted_by_key(keys: &[Rows]) -> Result<Vec<(usize, usize)>, FlowFailure> {
    let narrow = |n: usize| {
        u32::try_from(n).map_err(|_| FlowFailure::new("a merge of more than 2^32 batches or rows"))
    };
    let mut order = Vec::with_capacity(keys.iter().map(Rows::num_rows).sum());
    for (b, rows) in keys.iter().enumerate() {
        for (r, row) in rows.iter().enumerate() {
            order.push((key_prefix(row), narrow(b)?, narrow(r)?));
        }
    }
    // The prefix settles most comparisons without following the rows.
    order.sort_unstable_by(|x, y| {
        x.0.cmp(&y.0)
            .then_with(|| {
                keys[x.1 as usize]
                    .row(x.2 as usize)
                    .cmp(&keys[y.1 as usize].row(y.2 as usize))
            })
            .then_with(|| (x.1, x.2).cmp(&(y.1, y.2)))
    });
    Ok(order
        .into_iter()
        .map(|(_, b, r)| (b as usize, r as usize))
        .collect())
}

/// The first 8 bytes of a key's row encoding, zero-padded, as a big-endian
/// number: row encodings compare as byte strings, so two keys whose
/// prefixes differ compare as their prefixes do.
fn key_prefix(row: Row<'_>) -> u64 {
    let bytes: &[u8] = row.as_ref();
    let mut prefix = [0u8; 8];
    let n = bytes.len().min(8);
    prefix[..n].copy_from_slice(&bytes[..n]);
    u64::from_be_bytes(prefix)
}

/// Writes the plugin's rows as one table file per piece, each sorted by
/// key; a row whose key the plugin was not given is refused (it would land
/// outside the clusters this run owns).
#[allow(clippy::too_many_arguments)]
async fn write_table(
    encoder: &KeyEncoder,
    location: &Location,
    schema: &SchemaRef,
    emitted: &[RecordBatch],
    sorted_keys: &[Row<'_>],
    piece_firsts: &[OwnedRow],
    run: &RunContext,
    name: &str,
) -> Result<Vec<Add>, FlowFailure> {
    let keys = encode_all(encoder, emitted)?;
    let order = sorted_by_key(&keys)?;
    // Both sides sorted: one walk checks every key and finds its piece.
    let mut per_piece: Vec<Vec<(usize, usize)>> = vec![Vec::new(); piece_firsts.len()];
    let (mut given, mut piece) = (0, 0);
    for &(b, r) in &order {
        let key = keys[b].row(r);
        while given < sorted_keys.len() && sorted_keys[given] < key {
            given += 1;
        }
        if sorted_keys.get(given) != Some(&key) {
            return Err(FlowFailure::new(format!(
                "the plugin emitted a row (batch {b}, row {r}) whose key is in none of the changes it was given"
            )));
        }
        while piece + 1 < piece_firsts.len() && piece_firsts[piece + 1].row() <= key {
            piece += 1;
        }
        per_piece[piece].push((b, r));
    }
    let sources: Vec<&RecordBatch> = emitted.iter().collect();
    let mut writer = TableWriter::new(location, schema.clone())?.one_file_per_cut();
    let mut adds = Vec::new();
    for rows in per_piece {
        if rows.is_empty() {
            continue;
        }
        for chunk in rows.chunks(reader::BATCH_ROWS) {
            let batch = interleave_record_batch(&sources, chunk)
                .map_err(|e| FlowFailure::new(format!("gathering table rows: {e}")))?;
            let count = batch.num_rows() as u64;
            writer.write(batch).await?;
            run.progress.rows_written(name, count);
        }
        adds.extend(writer.cut().await?);
    }
    adds.extend(writer.finish().await?);
    Ok(adds)
}

#[cfg(test)]
mod tests {
    use super::keys_of;

    #[test]
    fn sorting_by_key_matches_a_stable_sort_of_the_rows() {
        use std::sync::Arc;

        use arrow_array::{ArrayRef, Int64Array, StringArray};
        use arrow_row::{RowConverter, SortField};
        use arrow_schema::DataType;

        // Long shared prefixes (strings) and keys equal in their first 8
        // bytes, so that the prefix alone cannot decide.
        let converter = RowConverter::new(vec![
            SortField::new(DataType::Utf8),
            SortField::new(DataType::Int64),
        ])
        .unwrap();
        let batch = |texts: Vec<Option<&str>>, ids: Vec<i64>| {
            let columns: Vec<ArrayRef> = vec![
                Arc::new(StringArray::from(texts)),
                Arc::new(Int64Array::from(ids)),
            ];
            converter.convert_columns(&columns).unwrap()
        };
        let keys = vec![
            batch(
                vec![
                    Some("customer-0002"),
                    Some("customer-0001"),
                    None,
                    Some("customer-0001"),
                ],
                vec![5, 9, 1, 9],
            ),
            batch(
                vec![
                    Some("customer-0001"),
                    Some("c"),
                    Some("customer-0002"),
                    None,
                ],
                vec![9, 3, -5, 1],
            ),
        ];
        let mut expected: Vec<(usize, usize)> =
            (0..2).flat_map(|b| (0..4).map(move |r| (b, r))).collect();
        expected.sort_by(|x, y| keys[x.0].row(x.1).cmp(&keys[y.0].row(y.1)));
        assert_eq!(super::sorted_by_key(&keys).unwrap(), expected);
    }

    #[test]
    fn groups_hold_whole_pieces_up_to_the_limit() {
        let pieces = [0..3, 3..5, 5..6, 6..16, 16..17];
        assert_eq!(super::groups(&pieces, 6), vec![0..3, 3..4, 4..5]);
        assert_eq!(super::groups(&pieces, 100), vec![0..5]);
        assert_eq!(
            super::groups(&pieces, 1),
            vec![0..1, 1..2, 2..3, 3..4, 4..5]
        );
        assert!(super::groups(&[], 4).is_empty());
    }

    #[test]
    fn keys_come_from_the_options() {
        assert_eq!(
            keys_of(r#"{"keys": ["a", "b"], "sequence_by": "s"}"#),
            Some(vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(keys_of(r#"{"keys": []}"#), None);
        assert_eq!(keys_of(r#"{"keys": [1]}"#), None);
        assert_eq!(keys_of(r#"{}"#), None);
        assert_eq!(keys_of("not json"), None);
    }
}
