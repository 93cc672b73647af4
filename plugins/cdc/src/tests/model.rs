//! The contract written as plainly as possible: per key, sort the changes
//! by (sequence, file path, position) and apply them one by one.

use std::collections::BTreeMap;

use super::{Change, Row, row};

#[derive(Debug, Clone)]
pub struct Config {
    pub scd: u8,
    pub ignore_nulls: bool,
    /// SCD2: indices into `VALUES` of the tracked columns.
    pub tracked: Vec<usize>,
    /// Whether equal sequences are ordered by file path.
    pub files: bool,
}

type Values = [Option<String>; 5];

/// The table the changes give, rows in key order (SCD2: versions by start).
pub fn model(config: &Config, changes: &[Change]) -> Vec<Row> {
    let mut by_key: BTreeMap<i64, Vec<(usize, &Change)>> = BTreeMap::new();
    for (position, change) in changes.iter().enumerate() {
        by_key
            .entry(change.key)
            .or_default()
            .push((position, change));
    }
    let mut table = Vec::new();
    for (key, mut list) in by_key {
        list.sort_by(|(pa, a), (pb, b)| {
            let files = if config.files {
                a.file.cmp(&b.file)
            } else {
                std::cmp::Ordering::Equal
            };
            a.seq.cmp(&b.seq).then(files).then(pa.cmp(pb))
        });
        // Of equal sequences only the last applies.
        let applied: Vec<&Change> = list
            .iter()
            .enumerate()
            .filter(|(i, (_, c))| list.get(i + 1).is_none_or(|(_, next)| next.seq != c.seq))
            .map(|(_, (_, c))| *c)
            .collect();
        if config.scd == 1 {
            scd1(config, key, &applied, &mut table);
        } else {
            scd2(config, key, &applied, &mut table);
        }
    }
    table
}

fn is_delete(c: &Change) -> bool {
    c.op == Some("DELETE")
}

fn carry(config: &Config, before: Option<&Values>, change: &Change) -> Values {
    let mut values = change.values.clone();
    if let (true, Some(before)) = (config.ignore_nulls, before) {
        for (v, b) in values.iter_mut().zip(before) {
            if v.is_none() {
                v.clone_from(b);
            }
        }
    }
    values
}

fn scd1(config: &Config, key: i64, applied: &[&Change], table: &mut Vec<Row>) {
    let mut state: Option<(Values, i64)> = None;
    for c in applied {
        state = if is_delete(c) {
            None
        } else {
            Some((carry(config, state.as_ref().map(|s| &s.0), c), c.seq))
        };
    }
    if let Some((values, seq)) = state {
        table.push(row(key, &values, &[Some(seq)]));
    }
}

fn scd2(config: &Config, key: i64, applied: &[&Change], table: &mut Vec<Row>) {
    let tracked = |v: &Values| -> Vec<Option<String>> {
        config.tracked.iter().map(|&i| v[i].clone()).collect()
    };
    let mut open: Option<(Values, i64)> = None;
    for c in applied {
        if is_delete(c) {
            if let Some((values, start)) = open.take() {
                table.push(row(key, &values, &[Some(start), Some(c.seq)]));
            }
            continue;
        }
        let values = carry(config, open.as_ref().map(|o| &o.0), c);
        open = match open.take() {
            Some((before, start)) if tracked(&before) == tracked(&values) => Some((values, start)),
            Some((before, start)) => {
                table.push(row(key, &before, &[Some(start), Some(c.seq)]));
                Some((values, c.seq))
            }
            None => Some((values, c.seq)),
        };
    }
    if let Some((values, start)) = open {
        table.push(row(key, &values, &[Some(start), None]));
    }
}
