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
mod feed;
mod layout;
mod order;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_row::{OwnedRow, Rows};
use arrow_schema::SchemaRef;
use deltalake_core::DeltaTable;
use deltalake_core::kernel::Transaction;

use super::plan::PlannedTable;
use super::transform::{InputDelta, conform, input_app_id, input_delta};
use super::writer::data_bytes;
use super::{FlowFailure, FlowOutcome, RunContext};
use crate::config::Location;
use crate::storage::compact::{self, FileSet};
use crate::storage::delta::{self, Commit, DataFile};
use crate::storage::{open_store, reader};
use clusters::{KeyEncoder, cluster_of};
use feed::{Changes, Fed, Feed};

/// Changes per cluster: a run that touches one key rewrites about this
/// many changes and their table rows.
const DEFAULT_CLUSTER_ROWS: usize = 131_072;

/// Overrides [`DEFAULT_CLUSTER_ROWS`] (tests use tiny clusters).
const CLUSTER_ROWS_ENV: &str = "LFHOST_MERGE_CLUSTER_ROWS";

/// Changes one plugin instance is given at most. Keys never span pieces,
/// so each group's result is independent of the others': this bounds a
/// plugin's memory whatever the table's size, and lets a large merge run
/// several instances at once.
const DEFAULT_GROUP_ROWS: usize = 1 << 19;

/// Overrides [`DEFAULT_GROUP_ROWS`] (tests use tiny groups).
const GROUP_ROWS_ENV: &str = "LFHOST_MERGE_GROUP_ROWS";

/// Data files whose first keys are read at once when indexing.
const INDEX_READS: usize = 16;

/// Data files decoded at once when reading changes.
const READS_AT_ONCE: usize = 2;

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
    let _turn =
        run.merges.acquire().await.map_err(|e| {
            FlowFailure::new(format!("waiting for the merges before this one: {e}"))
        })?;
    let started = std::time::Instant::now();
    let phase = |what: &str| tracing::debug!(table = %name, "merge: {what} after {:.2?}", started.elapsed());
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
    let (store, root) = open_store(&input.location)?;
    let new_files = FileSet {
        store,
        root,
        files: input.files.clone(),
    };
    let (compact, new_batches) =
        compact::read_compact(&new_files, &input_schema, None, READS_AT_ONCE).await?;
    let new_batches = conformed(new_batches, &compact.schema)?;
    phase("read the new changes");
    let new_keys = encode_all(&encoder, &new_batches)?;
    let touched: BTreeSet<usize> = new_keys
        .iter()
        .flat_map(|rows| rows.iter().map(|k| cluster_of(&firsts, k)))
        .filter(|_| !rebuild)
        .collect();
    let (store, root) = open_store(&state_location)?;
    let old_files = FileSet {
        store,
        root,
        files: touched.iter().map(|&c| clusters[c].state.clone()).collect(),
    };
    let (_, old_batches) =
        compact::read_compact(&old_files, &input_schema, Some(&compact), READS_AT_ONCE).await?;
    let mut batches = conformed(old_batches, &compact.schema)?;
    let mut keys_of_batches = encode_all(&encoder, &batches)?;
    batches.extend(new_batches);
    keys_of_batches.extend(new_keys);
    phase("read the touched clusters and encoded keys");
    let mut order = order::sorted_by_key(&keys_of_batches)?;
    phase("sorted");
    let (batches, keys_of_batches) =
        layout::grouped_by_stretch(batches, keys_of_batches, &mut order, &encoder)?;
    phase("grouped the changes by stretch");
    let changes = Arc::new(Changes::new(
        input_schema.clone(),
        batches,
        keys_of_batches,
        order,
    )?);
    let starts = clusters::cluster_starts(&firsts, changes.len(), |i| changes.key(i));
    let same_key = |i: usize| order::compare_keys(changes.key(i), changes.key(i - 1)).is_eq();
    let pieces = clusters::pieces(&starts, changes.len(), same_key, cluster_rows());

    // The plugin gets the changes piece by piece; the state gets them too,
    // one file per piece, and the table one file per piece of what the
    // plugin emits.
    let fed = Feed {
        run,
        table,
        input_name: &input.name,
        input_schema: &input_schema,
        state_location: &state_location,
        location: &location,
        schema: &schema,
        encoder: Arc::new(encoder),
        changes: changes.clone(),
        pieces: &pieces,
    }
    .run()
    .await?;
    phase("fed the plugin and wrote the table");
    let rows_in = changes.len();
    drop(changes);
    let Fed {
        report,
        table_adds: target_adds,
        state_adds,
        rows_out,
    } = fed;

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
    counters.set_default("rows_in", i64::try_from(rows_in).unwrap_or(i64::MAX));
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

fn conformed(
    batches: Vec<RecordBatch>,
    schema: &SchemaRef,
) -> Result<Vec<RecordBatch>, FlowFailure> {
    batches
        .iter()
        .map(|b| conform(b, schema).map_err(FlowFailure::new))
        .collect()
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

#[cfg(test)]
mod tests {
    use super::keys_of;

    #[test]
    fn groups_hold_whole_pieces_up_to_the_limit() {
        use super::feed::groups;
        let pieces = [0..3, 3..5, 5..6, 6..16, 16..17];
        assert_eq!(groups(&pieces, 6), vec![0..3, 3..4, 4..5]);
        assert_eq!(groups(&pieces, 100), vec![0..5]);
        assert_eq!(groups(&pieces, 1), vec![0..1, 1..2, 2..3, 3..4, 4..5]);
        assert!(groups(&[], 4).is_empty());
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
