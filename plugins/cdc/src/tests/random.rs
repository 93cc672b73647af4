//! Property tests: random change streams (inserts, updates, deletes, NULL
//! operations, duplicates, equal sequences, out-of-order sequences, random
//! files and batch splits), the merge against the model.

use std::collections::HashSet;

use super::model::{Config, model};
use super::{Change, VALUES, run_batches, run_taken};

/// SplitMix64: a small seeded generator, so that failures replay.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// In `0..n`.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const FILES: [&str; 6] = [
    "s3://lake/landing/addresses/2026-03-01.jsonl",
    "s3://lake/landing/addresses/2026-03-01b.jsonl",
    "s3://lake/landing/addresses/B.jsonl",
    "s3://lake/landing/addresses/a.jsonl",
    "s3://lake/landing/addresses/a/b.jsonl",
    "s3://lake/landing/addresses/\u{e9}.jsonl",
];

fn stream(rng: &mut Rng) -> Vec<Change> {
    let keys = 1 + rng.below(5) as i64;
    let sequences = 1 + rng.below(8) as i64;
    let files = 1 + rng.below(FILES.len());
    let n = rng.below(41);
    (0..n)
        .map(|_| {
            let file = match rng.below(30) {
                0 => None,
                _ => Some(FILES[rng.below(files)].to_string()),
            };
            let op = *rng.pick(&[
                Some("INSERT"),
                Some("INSERT"),
                Some("UPDATE"),
                Some("UPDATE"),
                Some("UPDATE"),
                Some("DELETE"),
                Some("DELETE"),
                None,
            ]);
            let values = std::array::from_fn(|i| {
                let pool = [
                    None,
                    Some(format!("{}-x", VALUES[i])),
                    Some(format!("{}-y", VALUES[i])),
                ];
                rng.pick(&pool).clone()
            });
            Change {
                key: rng.below(keys as usize) as i64 - 2,
                seq: 1_772_000_000_000_000 + 1_000_000 * rng.below(sequences as usize) as i64,
                file,
                op,
                values,
            }
        })
        .collect()
}

fn options_for(config: &Config) -> String {
    let mut extra = String::new();
    if config.scd == 2 {
        let names: Vec<String> = config
            .tracked
            .iter()
            .map(|&i| format!("\"{}\"", VALUES[i]))
            .collect();
        extra += &format!(r#", "track_history_column_list": [{}]"#, names.join(", "));
    }
    if config.ignore_nulls {
        extra += r#", "ignore_null_updates": true"#;
    }
    if !config.files {
        extra += r#", "source_file_column": null"#;
    }
    format!(
        r#"{{"keys": ["customer_id"], "sequence_by": "updated_at",
            "apply_as_deletes": "operation = 'DELETE'",
            "except_column_list": ["operation", "_rescued_data", "_source_file", "_ingested_at"],
            "stored_as_scd_type": {}{extra}}}"#,
        config.scd
    )
}

fn configs() -> Vec<Config> {
    let mut configs = Vec::new();
    for scd in [1, 2] {
        for ignore_nulls in [false, true] {
            for files in [true, false] {
                let tracked_sets: Vec<Vec<usize>> = if scd == 2 {
                    vec![vec![0, 1, 2, 3, 4], vec![0, 2], vec![]]
                } else {
                    vec![vec![]]
                };
                for tracked in tracked_sets {
                    configs.push(Config {
                        scd,
                        ignore_nulls,
                        tracked,
                        files,
                    });
                }
            }
        }
    }
    configs
}

/// The same files pushed in another order, each file's rows in order.
fn files_reordered(rng: &mut Rng, changes: &[Change]) -> Vec<Change> {
    let mut files: Vec<Option<String>> = Vec::new();
    for c in changes {
        if !files.contains(&c.file) {
            files.push(c.file.clone());
        }
    }
    for i in (1..files.len()).rev() {
        files.swap(i, rng.below(i + 1));
    }
    files
        .iter()
        .flat_map(|f| changes.iter().filter(move |c| &c.file == f).cloned())
        .collect()
}

#[test]
fn merge_equals_the_model_on_random_streams() {
    const CASES: usize = 400;
    let mut rng = Rng(0x5eed_cdc0);
    let mut checked = 0;
    for config in configs() {
        let options = options_for(&config);
        for case in 0..CASES {
            let changes = stream(&mut rng);
            let sizes: Vec<usize> = (0..8).map(|_| 1 + rng.below(9)).collect();
            let expected = model(&config, &changes);
            let (got, counters) = run_batches(&options, &changes, &sizes);
            assert_eq!(
                got, expected,
                "config {config:?}, case {case}, changes {changes:#?}"
            );
            // Positions into host-kept rows make the same table.
            match run_taken(&options, &changes, &sizes) {
                Some((taken, taken_counters)) => {
                    assert_eq!(taken, got, "config {config:?}, case {case}: taken");
                    assert_eq!(taken_counters, counters);
                }
                None => assert!(config.ignore_nulls, "config {config:?} should be taken"),
            }
            assert_eq!(counters.rows_in, changes.len() as u64);
            assert_eq!(counters.rows_out, expected.len() as u64);
            let keys: HashSet<i64> = changes.iter().map(|c| c.key).collect();
            assert_eq!(counters.keys, keys.len() as u64);
            let deletes = changes.iter().filter(|c| c.op == Some("DELETE")).count();
            assert_eq!(counters.deletes, deletes as u64);
            let versions = (config.scd == 2).then_some(expected.len() as u64);
            assert_eq!(counters.versions, versions);
            if config.files {
                // Only the order matters, not how files were split or pushed.
                let reordered = files_reordered(&mut rng, &changes);
                let (again, _) = run_batches(&options, &reordered, &[1 + rng.below(20)]);
                assert_eq!(
                    again, got,
                    "config {config:?}, case {case}: push order of files"
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, CASES * configs().len());
}
