//! Running the plugin over a merge's changes and writing what comes out.
//!
//! Changes go to the plugin in groups of whole pieces, a flow per group and
//! several at once. Each group's flow runs on the instance of the group one
//! round before it (group i on that of group i - W, for W at once), so that
//! an instance's memory is faulted in once, and which groups share an
//! instance does not depend on timing. Three kinds of work overlap: gathering
//! changes in key order (this task), writing them to the state (a task of
//! its own), and writing each finished group's table rows (a task per
//! group). So only the groups in flight are held in memory, never the
//! whole table, and the files come out in the same order whatever the
//! timing.

use std::collections::{HashMap, VecDeque};
use std::ops::Range;
use std::sync::Arc;

use arrow_array::builder::UInt32Builder;
use arrow_array::cast::AsArray;
use arrow_array::types::Int32Type;
use arrow_array::{Array, ArrayRef, DictionaryArray, RecordBatch};
use arrow_row::{Row, Rows};
use arrow_schema::{ArrowError, DataType, SchemaRef};
use arrow_select::interleave::{interleave, interleave_record_batch};
use deltalake_core::kernel::Add;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::clusters::KeyEncoder;
use super::layout;
use super::order::{Entry, compare_inlined, inline_key, sorted_entries};
use super::{CLUSTER_ROWS_ENV, cluster_rows, group_rows};
use crate::config::Location;
use crate::runner::plan::PlannedTable;
use crate::runner::writer::{CHANNEL_BATCHES, spawn_collector};
use crate::runner::{FlowFailure, RunContext, spawn_flow_on};
use crate::sandbox::{FlowReport, Idle, OutputSink, PluginError};
use crate::storage::compact::compact_text;
use crate::storage::delta::{self, TableWriter};
use crate::storage::reader::BATCH_ROWS;

/// Everything the run feeds the plugin, in the order it does.
pub struct Changes {
    /// The input's schema, which the plugin is given.
    pub schema: SchemaRef,
    /// Old changes of the touched clusters, then the new changes, with
    /// some text columns as dictionaries (see [`crate::storage::compact`]).
    pub batches: Vec<RecordBatch>,
    pub keys: Vec<Rows>,
    /// (batch, row) of every change, sorted by key (stably).
    pub order: Vec<(u32, u32)>,
    /// Per column, its texts when `batches` hold it as dictionaries.
    texts: Vec<Option<DictionaryTexts>>,
}

impl Changes {
    pub fn new(
        schema: SchemaRef,
        batches: Vec<RecordBatch>,
        keys: Vec<Rows>,
        order: Vec<(u32, u32)>,
    ) -> Result<Changes, FlowFailure> {
        let mut texts = Vec::with_capacity(schema.fields().len());
        for (c, field) in schema.fields().iter().enumerate() {
            let arrays: Vec<&dyn Array> = batches.iter().map(|b| b.column(c).as_ref()).collect();
            let held = arrays.first().map(|a| a.data_type());
            texts.push(
                (held == Some(&compact_text()) && field.data_type() == &DataType::Utf8)
                    .then(|| DictionaryTexts::new(&arrays))
                    .transpose()?,
            );
        }
        Ok(Changes {
            schema,
            batches,
            keys,
            order,
            texts,
        })
    }

    /// The key of the i-th change in key order.
    pub fn key(&self, i: usize) -> Row<'_> {
        let (b, r) = self.order[i];
        self.keys[b as usize].row(r as usize)
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// The changes at `positions` (in key order) as one batch of the
    /// input's schema.
    fn gather(&self, positions: Range<usize>) -> Result<RecordBatch, FlowFailure> {
        let fail = |e: ArrowError| FlowFailure::new(format!("gathering changes: {e}"));
        let indices: Vec<(usize, usize)> = self.order[positions]
            .iter()
            .map(|&(b, r)| (b as usize, r as usize))
            .collect();
        let mut columns = Vec::with_capacity(self.schema.fields().len());
        for (c, field) in self.schema.fields().iter().enumerate() {
            let arrays: Vec<&dyn Array> =
                self.batches.iter().map(|b| b.column(c).as_ref()).collect();
            let column = if let Some(Some(texts)) = self.texts.get(c) {
                texts.gather(&arrays, &indices)?
            } else {
                let column = interleave(&arrays, &indices).map_err(fail)?;
                if column.data_type() == field.data_type() {
                    column
                } else {
                    arrow_cast::cast(&column, field.data_type()).map_err(fail)?
                }
            };
            columns.push(column);
        }
        RecordBatch::try_new(self.schema.clone(), columns).map_err(fail)
    }
}

/// A text column held as dictionaries, ready to gather back to text: the
/// batches' dictionaries concatenated once (each distinct one once), so
/// that a gather only picks numbers and one `take` makes the text.
pub struct DictionaryTexts {
    values: ArrayRef,
    /// Per batch, where its dictionary starts in `values`.
    starts: Vec<u32>,
}

fn not_text() -> FlowFailure {
    FlowFailure::new("gathering changes: a compact text column is not one")
}

fn dictionaries<'a>(
    arrays: &[&'a dyn Array],
) -> Result<Vec<&'a DictionaryArray<Int32Type>>, FlowFailure> {
    arrays
        .iter()
        .map(|a| a.as_dictionary_opt::<Int32Type>().ok_or_else(not_text))
        .collect()
}

impl DictionaryTexts {
    pub fn new(arrays: &[&dyn Array]) -> Result<DictionaryTexts, FlowFailure> {
        let mut distinct: Vec<&ArrayRef> = Vec::new();
        let mut starts = Vec::with_capacity(arrays.len());
        let mut len = 0usize;
        let mut last: Option<(*const (), u32)> = None;
        for dictionary in dictionaries(arrays)? {
            let values = dictionary.values();
            if values.as_string_opt::<i32>().is_none() {
                return Err(not_text());
            }
            // Batches of one row group share their dictionary.
            let pointer = Arc::as_ptr(values).cast::<()>();
            let start = match last {
                Some((p, start)) if p == pointer => start,
                _ => {
                    let start = u32::try_from(len).map_err(|_| {
                        FlowFailure::new("gathering changes: dictionaries too large")
                    })?;
                    distinct.push(values);
                    len += values.len();
                    last = Some((pointer, start));
                    start
                }
            };
            starts.push(start);
        }
        let parts: Vec<&dyn Array> = distinct.iter().map(|v| v.as_ref()).collect();
        let values = if parts.is_empty() {
            arrow_array::new_empty_array(&DataType::Utf8)
        } else {
            arrow_select::concat::concat(&parts)
                .map_err(|e| FlowFailure::new(format!("gathering changes: {e}")))?
        };
        Ok(DictionaryTexts { values, starts })
    }

    /// The texts at `indices` of `arrays`, the arrays this was made from.
    pub fn gather(
        &self,
        arrays: &[&dyn Array],
        indices: &[(usize, usize)],
    ) -> Result<ArrayRef, FlowFailure> {
        let dictionaries = dictionaries(arrays)?;
        let mut picks = UInt32Builder::with_capacity(indices.len());
        for &(b, r) in indices {
            let keys = dictionaries[b].keys();
            let pick = keys
                .is_valid(r)
                .then(|| u32::try_from(keys.value(r)).ok())
                .flatten()
                .and_then(|k| self.starts[b].checked_add(k));
            picks.append_option(pick);
        }
        arrow_select::take::take(self.values.as_ref(), &picks.finish(), None)
            .map_err(|e| FlowFailure::new(format!("gathering changes: {e}")))
    }
}

/// What the merge's plugin and writers did.
pub struct Fed {
    pub report: FlowReport,
    pub table_adds: Vec<Add>,
    pub state_adds: Vec<Add>,
    pub rows_out: u64,
}

pub struct Feed<'a> {
    pub run: &'a RunContext,
    pub table: &'a PlannedTable,
    pub input_name: &'a str,
    pub input_schema: &'a SchemaRef,
    pub state_location: &'a Location,
    pub location: &'a Location,
    pub schema: &'a SchemaRef,
    pub encoder: Arc<KeyEncoder>,
    pub changes: Arc<Changes>,
    pub pieces: &'a [Range<usize>],
}

type Worker = JoinHandle<Result<(FlowReport, Option<Idle>), PluginError>>;
type Written = JoinHandle<Result<(Vec<Add>, u64), FlowFailure>>;

/// A group whose instance is running: its worker, what it emits, and the
/// pieces it was given.
struct Running {
    worker: Worker,
    emitted: JoinHandle<Vec<RecordBatch>>,
    pieces: Vec<Range<usize>>,
}

/// Consecutive pieces, as ranges of piece indices, of at most `max_rows`
/// changes each (a piece larger than that is a group of its own).
pub fn groups(pieces: &[Range<usize>], max_rows: usize) -> Vec<Range<usize>> {
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

/// What the state's writer task is sent.
enum ToState {
    Changes(RecordBatch),
    /// The piece's changes are all sent: close its file.
    EndOfPiece,
}

type StateWriter = JoinHandle<Result<Vec<Add>, FlowFailure>>;

fn spawn_state_writer(
    location: &Location,
    schema: SchemaRef,
) -> Result<(mpsc::Sender<ToState>, StateWriter), FlowFailure> {
    let mut writer = TableWriter::new(location, schema)?
        .one_file_per_cut()
        .internal();
    let (tx, mut rx) = mpsc::channel::<ToState>(CHANNEL_BATCHES);
    let task = tokio::spawn(async move {
        let mut adds = Vec::new();
        while let Some(message) = rx.recv().await {
            match message {
                ToState::Changes(batch) => writer.write(batch).await?,
                ToState::EndOfPiece => {
                    let files = writer.cut().await?;
                    if files.len() > 1 {
                        return Err(FlowFailure::new(format!(
                            "a cluster's changes took more than {} MiB, which the merge's layout cannot hold in one file: set {CLUSTER_ROWS_ENV} below {}",
                            delta::ONE_FILE_LIMIT >> 20,
                            cluster_rows()
                        )));
                    }
                    adds.extend(files);
                }
            }
        }
        Ok(adds)
    });
    Ok((tx, task))
}

impl Feed<'_> {
    pub async fn run(self) -> Result<Fed, FlowFailure> {
        let groups = groups(self.pieces, group_rows());
        let flows = i64::try_from(groups.len()).unwrap_or(i64::MAX);
        let (workers, _extra_permits) = merge_workers(self.run, groups.len());
        let mut instances = 0i64;
        let (state_tx, state_task) =
            spawn_state_writer(self.state_location, self.input_schema.clone())?;

        let mut running: VecDeque<Running> = VecDeque::new();
        let mut writing: VecDeque<Written> = VecDeque::new();
        let mut fed = Fed {
            report: FlowReport::default(),
            table_adds: Vec::new(),
            state_adds: Vec::new(),
            rows_out: 0,
        };
        let mut failed: Option<FlowFailure> = None;
        'feed: for group in groups {
            let mut idle = None;
            if running.len() >= workers
                && let Some(done) = running.pop_front()
            {
                match self.finish_group(&mut fed.report, done).await {
                    Ok((written, kept)) => {
                        writing.push_back(written);
                        idle = kept;
                    }
                    Err(e) => {
                        failed = Some(e);
                        break 'feed;
                    }
                }
                if writing.len() > workers
                    && let Some(written) = writing.pop_front()
                    && let Err(e) = collect(&mut fed, written).await
                {
                    failed = Some(e);
                    break 'feed;
                }
            }
            if idle.is_none() {
                instances += 1;
            }
            let (batch_tx, started) = self.start_group(self.pieces[group.clone()].to_vec(), idle);
            running.push_back(started);
            for piece in &self.pieces[group] {
                for cut in layout::cuts(piece.clone()) {
                    let batch = match self.changes.gather(cut) {
                        Ok(batch) => batch,
                        Err(e) => {
                            failed = Some(e);
                            break 'feed;
                        }
                    };
                    if state_tx
                        .send(ToState::Changes(batch.clone()))
                        .await
                        .is_err()
                    {
                        break 'feed; // the state's writer failed; its error follows
                    }
                    if batch_tx.send(batch).await.is_err() {
                        break 'feed; // the plugin stopped; its error follows
                    }
                }
                if state_tx.send(ToState::EndOfPiece).await.is_err() {
                    break 'feed;
                }
            }
        }
        drop(state_tx);
        // Every instance and writer is awaited, so that none outlives the flow.
        for done in running {
            match self.finish_group(&mut fed.report, done).await {
                Ok((written, _)) => writing.push_back(written),
                Err(e) => {
                    failed.get_or_insert(e);
                }
            }
        }
        for written in writing {
            if let Err(e) = collect(&mut fed, written).await {
                failed.get_or_insert(e);
            }
        }
        let state = state_task
            .await
            .map_err(|e| FlowFailure::new(format!("the merge state's writer failed: {e}")))
            .and_then(|adds| adds);
        if let Some(e) = failed {
            return Err(e);
        }
        fed.state_adds = state?;
        fed.report.counters.add("plugin_flows", flows);
        fed.report.counters.add("plugin_instances", instances);
        Ok(fed)
    }

    /// Starts a flow for the changes of `pieces`, on `idle` or else a fresh
    /// instance; returns where to send them.
    fn start_group(
        &self,
        pieces: Vec<Range<usize>>,
        idle: Option<Idle>,
    ) -> (mpsc::Sender<RecordBatch>, Running) {
        let (out_tx, emitted) = spawn_collector();
        let outputs = HashMap::from([(
            crate::sandbox::MAIN_OUTPUT.to_string(),
            OutputSink {
                schema: self.schema.clone(),
                sender: out_tx,
            },
        )]);
        let (batch_tx, mut batch_rx) = mpsc::channel::<RecordBatch>(CHANNEL_BATCHES);
        let input = self.input_name.to_string();
        let worker = spawn_flow_on(self.run, self.table, idle, outputs, move |flow| {
            while let Some(batch) = batch_rx.blocking_recv() {
                flow.push(&input, &batch)?;
            }
            Ok::<(), PluginError>(())
        });
        let running = Running {
            worker,
            emitted,
            pieces,
        };
        (batch_tx, running)
    }

    /// Waits for a group's flow, adds its report to `total`, and starts
    /// writing its table rows; hands back its instance when it can run
    /// another flow.
    async fn finish_group(
        &self,
        total: &mut FlowReport,
        done: Running,
    ) -> Result<(Written, Option<Idle>), FlowFailure> {
        let (part, idle) = done
            .worker
            .await
            .map_err(|e| FlowFailure::new(format!("the flow's thread failed: {e}")))?
            .map_err(|e| FlowFailure::new(format!("plugin {}: {e}", self.table.plugin.name())))?;
        total.counters.absorb(&part.counters);
        total.rows_out += part.rows_out;
        total.bytes_out += part.bytes_out;
        let emitted = done
            .emitted
            .await
            .map_err(|e| FlowFailure::new(format!("collecting the plugin's output failed: {e}")))?;
        let group = GroupRows {
            encoder: self.encoder.clone(),
            changes: self.changes.clone(),
            pieces: done.pieces,
            emitted,
        };
        let mut writer = TableWriter::new(self.location, self.schema.clone())?
            .one_file_per_cut()
            .with_text_statistics(&self.encoder.key_names());
        let progress = self.run.progress.clone();
        let name = self.table.spec.name.clone();
        let written = tokio::spawn(async move {
            let mut adds = group
                .write(&mut writer, &|rows| progress.rows_written(&name, rows))
                .await?;
            let rows = writer.rows();
            adds.extend(writer.finish().await?);
            Ok((adds, rows))
        });
        Ok((written, idle))
    }
}

async fn collect(fed: &mut Fed, written: Written) -> Result<(), FlowFailure> {
    let (adds, rows) = written
        .await
        .map_err(|e| FlowFailure::new(format!("the table's writer failed: {e}")))??;
    fed.table_adds.extend(adds);
    fed.rows_out += rows;
    Ok(())
}

/// What one group's instance emitted, with the changes it was given.
struct GroupRows {
    encoder: Arc<KeyEncoder>,
    changes: Arc<Changes>,
    pieces: Vec<Range<usize>>,
    emitted: Vec<RecordBatch>,
}

impl GroupRows {
    /// Writes the rows as one table file per piece (more only past the
    /// writer's file limit), each sorted by key; a row whose key lies
    /// outside the instance's changes is refused (it would land in
    /// clusters this run does not own).
    async fn write(
        self,
        writer: &mut TableWriter,
        written: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<Vec<Add>, FlowFailure> {
        let keys: Vec<Rows> = self
            .emitted
            .iter()
            .map(|b| self.encoder.encode(b).map_err(FlowFailure::new))
            .collect::<Result<_, _>>()?;
        let order = sorted_entries(&keys)?;
        let outside = |b: u32, r: u32| {
            FlowFailure::new(format!(
                "the plugin emitted a row (batch {b}, row {r}) whose key is outside the changes it was given"
            ))
        };
        if self.pieces.is_empty() {
            return match order.first() {
                Some(&(_, b, r)) => Err(outside(b, r)),
                None => Ok(Vec::new()),
            };
        }
        let changes = &self.changes;
        let emitted_keys = &keys;
        let emitted =
            |&(inline, b, r): &Entry| (inline, move || emitted_keys[b as usize].row(r as usize));
        // Each piece's first and last keys: a row goes to the last piece
        // starting at or before its key and must not lie past that piece's
        // last key. Between two pieces may lie clusters this run does not
        // rewrite; a row there would duplicate their keys.
        let last_of = |p: &Range<usize>| p.end.saturating_sub(1).max(p.start);
        let bounds: Vec<([u64; 2], [u64; 2])> = self
            .pieces
            .iter()
            .map(|p| {
                let key = |i: usize| inline_key(changes.key(i));
                (key(p.start), key(last_of(p)))
            })
            .collect();
        let mut per_piece: Vec<Vec<(usize, usize)>> = vec![Vec::new(); self.pieces.len()];
        let mut piece = 0;
        for entry in &order {
            while let Some(next) = self.pieces.get(piece + 1)
                && compare_inlined(
                    (bounds[piece + 1].0, || changes.key(next.start)),
                    emitted(entry),
                )
                .is_le()
            {
                piece += 1;
            }
            let (span, (low, high)) = (&self.pieces[piece], bounds[piece]);
            let within = compare_inlined((low, || changes.key(span.start)), emitted(entry)).is_le()
                && compare_inlined(emitted(entry), (high, || changes.key(last_of(span)))).is_le();
            if !within {
                return Err(outside(entry.1, entry.2));
            }
            per_piece[piece].push((entry.1 as usize, entry.2 as usize));
        }
        drop(keys);
        let sources: Vec<&RecordBatch> = self.emitted.iter().collect();
        let mut adds = Vec::new();
        for rows in per_piece.into_iter().filter(|rows| !rows.is_empty()) {
            for chunk in rows.chunks(BATCH_ROWS) {
                let batch = interleave_record_batch(&sources, chunk)
                    .map_err(|e| FlowFailure::new(format!("gathering table rows: {e}")))?;
                let count = batch.num_rows() as u64;
                writer.write(batch).await?;
                written(count);
            }
            adds.extend(writer.cut().await?);
        }
        Ok(adds)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::cast::AsArray;
    use arrow_array::types::Int32Type;
    use arrow_array::{Array, DictionaryArray, Int32Array, StringArray};

    use super::DictionaryTexts;

    #[test]
    fn texts_gather_from_each_batchs_own_dictionary() {
        let first = DictionaryArray::<Int32Type>::try_new(
            Int32Array::from(vec![Some(0), None, Some(1), Some(2)]),
            Arc::new(StringArray::from(vec![Some("a"), Some("b"), None])),
        )
        .unwrap();
        let second = DictionaryArray::<Int32Type>::try_new(
            Int32Array::from(vec![Some(1), Some(0)]),
            Arc::new(StringArray::from(vec!["x", "b"])),
        )
        .unwrap();
        let arrays: Vec<&dyn Array> = vec![&first, &second];
        let texts = DictionaryTexts::new(&arrays).unwrap();
        let gathered = texts
            .gather(&arrays, &[(1, 0), (0, 0), (0, 1), (1, 1), (0, 3), (0, 2)])
            .unwrap();
        let texts: Vec<Option<&str>> = gathered.as_string::<i32>().iter().collect();
        assert_eq!(
            texts,
            vec![Some("b"), Some("a"), None, Some("x"), None, Some("b")]
        );
        let plain = StringArray::from(vec!["p"]);
        assert!(DictionaryTexts::new(&[&plain]).is_err());
    }

    #[tokio::test]
    async fn rows_outside_the_given_changes_are_refused() {
        use arrow_array::{Int64Array, RecordBatch};
        use arrow_schema::{DataType, Field, Schema};

        use super::{Changes, GroupRows, KeyEncoder};
        use crate::config::Location;
        use crate::runner::merge::order::sorted_by_key;
        use crate::storage::delta::TableWriter;

        let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
        let batch = |ids: Vec<i64>| {
            RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(ids))]).unwrap()
        };
        let encoder = Arc::new(KeyEncoder::new(&schema, &["id".to_string()]).unwrap());
        // Two pieces, 10..=13 (12 not among them) and 20..=21; the keys
        // between them may belong to a cluster this run does not rewrite.
        let given = batch(vec![21, 10, 13, 11, 20]);
        let keys = vec![encoder.encode(&given).unwrap()];
        let order = sorted_by_key(&keys).unwrap();
        let changes = Arc::new(Changes::new(schema.clone(), vec![given], keys, order).unwrap());
        let dir = std::env::temp_dir().join(format!("lfhost-feed-{}", std::process::id()));
        let location = Location::parse(dir.to_str().unwrap(), &dir).unwrap();
        let cases = [
            (vec![21, 10, 12, 20], true),
            (vec![13, 11], true),
            (vec![9, 10], false),
            (vec![10, 15], false),
            (vec![22], false),
        ];
        for (emitted, accepted) in cases {
            let group = GroupRows {
                encoder: encoder.clone(),
                changes: changes.clone(),
                pieces: vec![0..3, 3..5],
                emitted: vec![batch(emitted.clone())],
            };
            let mut writer = TableWriter::new(&location, schema.clone()).unwrap();
            let result = group.write(&mut writer, &|_| {}).await;
            assert_eq!(result.is_ok(), accepted, "{emitted:?}: {result:?}");
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}
