//! One flow, independent of the host: buffers the inputs' rows (filtered,
//! only the columns used) and computes the whole output at the end.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_arith::boolean::and;
use arrow_array::{ArrayRef, BooleanArray, RecordBatch, UInt32Array};
use arrow_schema::SchemaRef;
use arrow_select::concat::concat_batches;
use arrow_select::filter::filter_record_batch;
use arrow_select::take::take;
use lfhost_plugin_sdk::Error;

use crate::joins::join_columns;
use crate::keys;
use crate::plan::{Plan, Source};

/// The most rows in one output batch.
pub const MAX_BATCH_ROWS: usize = 65536;

pub struct Engine {
    plan: Plan,
    /// Rows kept by the base (index 0) and by each join (index 1 + j).
    buffers: Vec<Vec<RecordBatch>>,
    rows_in: BTreeMap<String, u64>,
    /// Per input pushed with only some of its columns, those columns
    /// (input indices, ascending).
    sent: BTreeMap<String, Vec<usize>>,
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::internal(e.to_string())
}

impl Engine {
    pub fn new(options: &str, inputs: &[(String, SchemaRef)]) -> Result<Engine, Error> {
        let plan = Plan::new(options, inputs)?;
        let buffers = vec![Vec::new(); 1 + plan.joins.len()];
        Ok(Engine {
            plan,
            buffers,
            rows_in: BTreeMap::new(),
            sent: BTreeMap::new(),
        })
    }

    /// Per input, the columns (input indices, ascending) that the base and
    /// the joins read of it, filters included.
    pub fn read_columns(&self) -> BTreeMap<String, Vec<usize>> {
        let mut read: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for source in self.sources() {
            let columns = read.entry(source.input.clone()).or_default();
            columns.extend(&source.columns);
            if let Some(filter) = &source.filter {
                columns.extend(filter.columns());
            }
        }
        for columns in read.values_mut() {
            columns.sort_unstable();
            columns.dedup();
        }
        read
    }

    /// From now on, batches of `input` carry only `columns` (input
    /// indices, ascending, at least its [`Engine::read_columns`]).
    pub fn sent_only(&mut self, input: &str, columns: Vec<usize>) {
        self.sent.insert(input.to_string(), columns);
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.plan.schema
    }

    fn sources(&self) -> impl Iterator<Item = &Source> {
        std::iter::once(&self.plan.base).chain(self.plan.joins.iter().map(|j| &j.source))
    }

    /// One batch of `input` (with the input's planned schema).
    pub fn push(&mut self, input: &str, batch: &RecordBatch) -> Result<(), Error> {
        *self.rows_in.entry(input.to_string()).or_default() += batch.num_rows() as u64;
        let mut kept = Vec::new();
        for (i, source) in self.sources().enumerate() {
            if source.input != input || batch.num_rows() == 0 {
                continue;
            }
            // Where input column `i` is in the batch.
            let sent = self.sent.get(input);
            let at = |i: usize| match sent {
                Some(columns) => columns.binary_search(&i).ok(),
                None => Some(i),
            };
            let columns = source
                .columns
                .iter()
                .map(|&i| at(i))
                .collect::<Option<Vec<usize>>>()
                .ok_or_else(|| Error::internal(format!("a column of `{input}` was not pushed")))?;
            let projected = batch
                .project(&columns)
                .map_err(|e| Error::data(format!("a batch of `{input}`: {e}")))?;
            let projected = match &source.filter {
                None => projected,
                Some(p) => {
                    let column = |i: usize| at(i).and_then(|c| batch.columns().get(c).cloned());
                    let mask = p
                        .evaluate_columns_true(&column, batch.num_rows())
                        .map_err(|e| Error::data(format!("filter on `{input}`: {e}")))?;
                    filter_record_batch(&projected, &mask).map_err(internal)?
                }
            };
            if projected.num_rows() > 0 {
                kept.push((i, projected));
            }
        }
        for (i, b) in kept {
            self.buffers[i].push(b);
        }
        Ok(())
    }

    /// Rows pushed so far, per input.
    pub fn rows_in(&self) -> &BTreeMap<String, u64> {
        &self.rows_in
    }

    /// The whole output, sorted by the base key, in batches of at most
    /// [`MAX_BATCH_ROWS`] rows (none when it is empty).
    pub fn finish(&mut self) -> Result<Vec<RecordBatch>, Error> {
        let buffers = std::mem::take(&mut self.buffers);
        let mut tables = Vec::new();
        for (source, batches) in self.sources().zip(&buffers) {
            tables.push(concat_batches(&source.schema, batches).map_err(internal)?);
        }
        drop(buffers);
        let mut tables = tables.into_iter();
        let base = tables
            .next()
            .ok_or_else(|| Error::internal("no base table"))?;
        let base = self.sorted_base(&base)?;

        let mut columns: Vec<ArrayRef> = self
            .plan
            .base_columns
            .iter()
            .map(|&c| base.column(c).clone())
            .collect();
        let mut keep: Option<BooleanArray> = None;
        for (join, table) in self.plan.joins.iter().zip(tables) {
            let joined = join_columns(join, &base, &table)?;
            columns.extend(joined.columns);
            if let Some(matched) = joined.matched {
                keep = Some(match keep {
                    None => matched,
                    Some(k) => and(&k, &matched).map_err(internal)?,
                });
            }
        }
        let out = RecordBatch::try_new(self.plan.schema.clone(), columns).map_err(internal)?;
        let out = match keep {
            Some(k) => filter_record_batch(&out, &k).map_err(internal)?,
            None => out,
        };
        let rows = out.num_rows();
        Ok((0..rows)
            .step_by(MAX_BATCH_ROWS)
            .map(|start| out.slice(start, MAX_BATCH_ROWS.min(rows - start)))
            .collect())
    }

    /// The base rows in key order; a key (without NULLs) on two rows is an error.
    fn sorted_base(&self, base: &RecordBatch) -> Result<RecordBatch, Error> {
        let key = &self.plan.key;
        let schema = base.schema();
        let types: Vec<_> = key
            .iter()
            .map(|&k| schema.field(k).data_type().clone())
            .collect();
        let converter = keys::converter(&types)?;
        let (rows, complete, _) = keys::encode(&converter, base, key, &types)?;
        let keys = keys::keys_of(&rows);
        let mut order: Vec<u32> = (0..base.num_rows() as u32).collect();
        order.sort_by(|&a, &b| keys[a as usize].cmp(&keys[b as usize]));
        for pair in order.windows(2) {
            let (a, b) = (pair[0] as usize, pair[1] as usize);
            if complete[a] && keys[a] == keys[b] {
                return Err(Error::data(format!(
                    "base `{}` has more than one row with key {}",
                    self.plan.base.input,
                    keys::render(base, key, a)
                )));
            }
        }
        let order = UInt32Array::from(order);
        let columns = base
            .columns()
            .iter()
            .map(|c| take(c.as_ref(), &order, None))
            .collect::<Result<Vec<_>, _>>()
            .map_err(internal)?;
        RecordBatch::try_new(Arc::clone(&schema), columns).map_err(internal)
    }
}
