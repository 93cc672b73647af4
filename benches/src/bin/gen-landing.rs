//! Generates landing files in the seed contract's shape, at scale, fast.
//!
//!     gen-landing OUT [--customers N] [--addresses N] [--orders N]
//!                     [--batches B] [--seed S] [--increment-dir DIR] [--increment-percent P]
//!
//! Writes B batches of `customers/*.csv`, `addresses/*.jsonl` and
//! `orders/*.parquet` under OUT: CDC changes (inserts, updates, deletes)
//! whose sequence mostly follows the batches, with some late arrivals and
//! equal sequences, and a small share of rows that fail each expectation.
//! With --increment-dir, also one more batch of P% (default 1) as many
//! changes, later than all others, written under DIR for an incremental run.
//! The same arguments always give the same bytes.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use arrow_array::{
    ArrayRef, Date32Array, Decimal128Array, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow_schema::Schema;
use chrono::{DateTime, SecondsFormat};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

/// 2026-01-01T00:00:00Z: the first change.
const START_MICROS: i64 = 1_767_225_600_000_000;
/// Changes spread over 90 days.
const SPAN_MICROS: i64 = 90 * 86_400_000_000;
/// Rows per Parquet file (a batch may have several).
const PARQUET_FILE_ROWS: usize = 2_000_000;

const FIRST_NAMES: &[&str] = &[
    "Ada",
    "Grace",
    "Alan",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
    "Ken",
    "Margaret",
    "Linus",
    "Radia",
    "Niklaus",
    "Hedy",
    "Dennis",
    "Katherine",
    "John",
];
const LAST_NAMES: &[&str] = &[
    "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Hamilton",
    "Torvalds", "Perlman", "Wirth", "Lamarr", "Ritchie", "Johnson", "Backus",
];
const CITIES: &[(&str, Option<&str>, &str)] = &[
    ("Springfield", Some("IL"), "US"),
    ("Portland", Some("OR"), "US"),
    ("Austin", Some("TX"), "US"),
    ("Toronto", Some("ON"), "CA"),
    ("Lyon", None, "FR"),
    ("Berlin", None, "DE"),
    ("Osaka", None, "JP"),
    ("Porto", None, "PT"),
];
const STREETS: &[&str] = &[
    "Main St", "Oak Ave", "Pine Rd", "Elm St", "Maple Dr", "Cedar Ln",
];
const STATUSES: &[&str] = &["PLACED", "SHIPPED", "DELIVERED", "CANCELLED", "RETURNED"];

/// SplitMix64: a tiny generator whose output is fixed by its definition, so
/// the data set does not change when a crate's algorithm does.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64) -> Rng {
        Rng(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// True with probability `per_million` / 1,000,000.
    fn chance(&mut self, per_million: u64) -> bool {
        self.below(1_000_000) < per_million
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Insert,
    Update,
    Delete,
}

impl Op {
    fn text(self) -> &'static str {
        match self {
            Op::Insert => "INSERT",
            Op::Update => "UPDATE",
            Op::Delete => "DELETE",
        }
    }
}

/// One change of a key: what the file row is built from.
#[derive(Clone, Copy)]
struct Change {
    key: i64,
    op: Op,
    seq: i64,
    /// Which batch file it lands in.
    batch: usize,
    /// Drives the row's values and its dirt.
    salt: u64,
}

struct Args {
    out: PathBuf,
    customers: usize,
    addresses: usize,
    orders: usize,
    batches: usize,
    seed: u64,
    increment_dir: Option<PathBuf>,
    increment_percent: f64,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        out: PathBuf::new(),
        customers: 1_000_000,
        addresses: 2_000_000,
        orders: 10_000_000,
        batches: 4,
        seed: 7,
        increment_dir: None,
        increment_percent: 1.0,
    };
    let mut out = None;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--customers" => args.customers = value()?.parse()?,
            "--addresses" => args.addresses = value()?.parse()?,
            "--orders" => args.orders = value()?.parse()?,
            "--batches" => args.batches = value()?.parse()?,
            "--seed" => args.seed = value()?.parse()?,
            "--increment-dir" => args.increment_dir = Some(PathBuf::from(value()?)),
            "--increment-percent" => args.increment_percent = value()?.parse()?,
            other if other.starts_with("--") => bail!("unknown option {other}"),
            other => out = Some(PathBuf::from(other)),
        }
    }
    args.out = out.context("usage: gen-landing OUT [--customers N] [--addresses N] [--orders N] [--batches B] [--seed S] [--increment-dir DIR] [--increment-percent P]")?;
    if args.batches == 0 || args.customers == 0 {
        bail!("--batches and --customers must be positive");
    }
    Ok(args)
}

/// `total` changes over keys 1..=`keys`: each key inserted once (in key
/// order over the span), then updates and 1% deletes at random later times.
/// Sorted by sequence and cut into `batches`; 1% arrive one batch late.
fn changes(rng: &mut Rng, keys: usize, total: usize, batches: usize) -> Vec<Change> {
    let keys = keys.min(total).max(1);
    let mut out = Vec::with_capacity(total);
    for k in 0..keys {
        let seq = START_MICROS + (k as i64 * (SPAN_MICROS / 2)) / keys as i64;
        out.push(Change {
            key: k as i64 + 1,
            op: Op::Insert,
            seq,
            batch: 0,
            salt: rng.next(),
        });
    }
    for _ in keys..total {
        let key = rng.below(keys as u64) as i64 + 1;
        let inserted = START_MICROS + ((key - 1) * (SPAN_MICROS / 2)) / keys as i64;
        let seq =
            inserted + 1_000_000 + rng.below((START_MICROS + SPAN_MICROS - inserted) as u64) as i64;
        let op = if rng.chance(10_000) {
            Op::Delete
        } else {
            Op::Update
        };
        // Whole seconds, so that some changes of a key share a sequence.
        out.push(Change {
            key,
            op,
            seq: seq - seq % 1_000_000,
            batch: 0,
            salt: rng.next(),
        });
    }
    out.sort_by_key(|c| (c.seq, c.key));
    let n = out.len();
    for (i, change) in out.iter_mut().enumerate() {
        let late = rng.chance(10_000);
        change.batch = ((i * batches) / n + usize::from(late)).min(batches - 1);
    }
    out
}

/// Changes for an increment: `total` of them after every base change, mostly
/// updates of existing keys, some inserts of new keys.
fn increment(rng: &mut Rng, keys: usize, total: usize, batch: usize) -> Vec<Change> {
    let mut out: Vec<Change> = (0..total)
        .map(|i| {
            let new_key = rng.chance(100_000);
            let key = if new_key {
                (keys + i) as i64 + 1
            } else {
                rng.below(keys as u64) as i64 + 1
            };
            Change {
                key,
                op: if new_key { Op::Insert } else { Op::Update },
                seq: START_MICROS + SPAN_MICROS + 1_000_000 * (i as i64 + 1),
                batch,
                salt: rng.next(),
            }
        })
        .collect();
    out.sort_by_key(|c| (c.seq, c.key));
    out
}

fn timestamp_text(micros: i64) -> String {
    DateTime::from_timestamp_micros(micros)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
        .unwrap_or_default()
}

fn create(path: &Path) -> anyhow::Result<BufWriter<File>> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    Ok(BufWriter::with_capacity(
        1 << 20,
        File::create(path).with_context(|| format!("creating {}", path.display()))?,
    ))
}

fn write_customers(dir: &Path, name: &str, changes: &[Change]) -> anyhow::Result<()> {
    let mut w = create(&dir.join("customers").join(format!("{name}.csv")))?;
    writeln!(
        w,
        "customer_id,first_name,last_name,email,phone,operation,updated_at"
    )?;
    for c in changes {
        let mut rng = Rng::new(c.salt, 1);
        let first = rng.pick(FIRST_NAMES);
        let last = rng.pick(LAST_NAMES);
        // Dirt, each failing one expectation: no key, a bad operation, no
        // sequence (dropped); an email without '@' (warned).
        let id = if rng.chance(500) {
            String::new()
        } else {
            c.key.to_string()
        };
        let op = if rng.chance(500) {
            "UPSERT"
        } else {
            c.op.text()
        };
        let seq = if rng.chance(500) {
            String::new()
        } else {
            timestamp_text(c.seq)
        };
        let at = if rng.chance(5_000) { " at " } else { "@" };
        let phone = if rng.chance(100_000) {
            String::new()
        } else {
            format!("+1-555-{:04}", rng.below(10_000))
        };
        writeln!(
            w,
            "{id},{first},{last},{}.{}{}{at}example.com,{phone},{op},{seq}",
            first.to_lowercase(),
            last.to_lowercase(),
            c.key,
        )?;
    }
    w.flush()?;
    Ok(())
}

#[derive(serde::Serialize)]
struct AddressRow<'a> {
    customer_id: Option<i64>,
    street: String,
    city: &'a str,
    state: Option<&'a str>,
    postal_code: String,
    country: &'a str,
    operation: &'a str,
    updated_at: String,
}

fn write_addresses(dir: &Path, name: &str, changes: &[Change]) -> anyhow::Result<()> {
    let mut w = create(&dir.join("addresses").join(format!("{name}.jsonl")))?;
    for c in changes {
        let mut rng = Rng::new(c.salt, 2);
        // One in ten updates repeats the key's first address: no new version.
        let mut values = if c.op == Op::Update && rng.chance(100_000) {
            Rng::new(c.key as u64, 3)
        } else {
            Rng::new(c.salt, 3)
        };
        let (city, state, country) = *values.pick(CITIES);
        let street = format!("{} {}", values.below(9_999) + 1, values.pick(STREETS));
        let mut postal_code = format!("{:05}", values.below(100_000));
        if rng.chance(1_000) {
            postal_code.truncate(2); // too short: dropped
        }
        let row = AddressRow {
            customer_id: (!rng.chance(300)).then_some(c.key),
            street,
            city,
            state,
            postal_code,
            country: if rng.chance(3_000) { "USA" } else { country }, // warned
            operation: if rng.chance(300) {
                "MERGE"
            } else {
                c.op.text()
            },
            updated_at: timestamp_text(c.seq),
        };
        serde_json::to_writer(&mut w, &row)?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    Ok(())
}

fn orders_schema() -> Arc<Schema> {
    Arc::new(Schema::new(lfhost_bench::landing_order_fields()))
}

fn write_orders(
    dir: &Path,
    name: &str,
    changes: &[Change],
    customers: usize,
) -> anyhow::Result<()> {
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    for (part, chunk) in changes.chunks(PARQUET_FILE_ROWS).enumerate() {
        let path = dir.join("orders").join(format!("{name}-{part:02}.parquet"));
        let mut order_id = Vec::with_capacity(chunk.len());
        let mut customer_id = Vec::with_capacity(chunk.len());
        let mut order_date = Vec::with_capacity(chunk.len());
        let mut status = Vec::with_capacity(chunk.len());
        let mut items = Vec::with_capacity(chunk.len());
        let mut amount = Vec::with_capacity(chunk.len());
        let mut operation = Vec::with_capacity(chunk.len());
        let mut updated_at = Vec::with_capacity(chunk.len());
        for c in chunk {
            let mut rng = Rng::new(c.salt, 4);
            // An order keeps its customer and date; 1% belong to no customer.
            let mut fixed = Rng::new(c.key as u64, 5);
            let customer_range = (customers as u64) * 101 / 100;
            order_id.push((!rng.chance(300)).then_some(c.key));
            customer_id.push(Some(fixed.below(customer_range) as i64 + 1));
            order_date.push(Some(
                (c.seq / 86_400_000_000) as i32 - fixed.below(3) as i32,
            ));
            status.push(Some(if rng.chance(2_000) {
                "LOST" // warned
            } else if c.op == Op::Insert {
                "PLACED"
            } else {
                *rng.pick(&STATUSES[1..])
            }));
            items.push(Some(if rng.chance(1_000) {
                0
            } else {
                rng.below(9) as i32 + 1
            }));
            let cents = rng.below(50_000) as i128 + 100;
            amount.push(Some(if rng.chance(1_000) { -cents } else { cents }));
            operation.push(Some(if rng.chance(300) {
                "REPLACE"
            } else {
                c.op.text()
            }));
            updated_at.push(Some(c.seq));
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(order_id)),
            Arc::new(Int64Array::from(customer_id)),
            Arc::new(Date32Array::from(order_date)),
            Arc::new(StringArray::from(status)),
            Arc::new(Int32Array::from(items)),
            Arc::new(Decimal128Array::from(amount).with_precision_and_scale(12, 2)?),
            Arc::new(StringArray::from(operation)),
            Arc::new(TimestampMicrosecondArray::from(updated_at).with_timezone("UTC")),
        ];
        let batch = RecordBatch::try_new(orders_schema(), columns)?;
        let file = create(&path)?;
        let mut writer = ArrowWriter::try_new(file, orders_schema(), Some(props.clone()))?;
        writer.write(&batch)?;
        writer.close()?;
    }
    Ok(())
}

fn write_batches(
    dir: &Path,
    prefix: &str,
    customers: &[Change],
    addresses: &[Change],
    orders: &[Change],
    customer_keys: usize,
    batches: std::ops::Range<usize>,
) -> anyhow::Result<()> {
    for batch in batches {
        let name = format!("{prefix}-{batch:04}");
        let of = |changes: &[Change]| -> Vec<Change> {
            changes
                .iter()
                .filter(|c| c.batch == batch)
                .copied()
                .collect()
        };
        write_customers(dir, &name, &of(customers))?;
        write_addresses(dir, &name, &of(addresses))?;
        write_orders(dir, &name, &of(orders), customer_keys)?;
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let started = Instant::now();
    let mut rng = Rng::new(args.seed, 0);
    // Each customer has one address insert; orders have ~0.6 changes per order id.
    let customers = changes(
        &mut rng,
        args.customers,
        args.customers * 6 / 5,
        args.batches,
    );
    let addresses = changes(&mut rng, args.customers, args.addresses, args.batches);
    let orders = changes(&mut rng, args.orders * 3 / 5, args.orders, args.batches);
    write_batches(
        &args.out,
        "batch",
        &customers,
        &addresses,
        &orders,
        args.customers,
        0..args.batches,
    )?;
    let rows = customers.len() + addresses.len() + orders.len();
    println!(
        "wrote {} customer, {} address and {} order changes in {} batches to {} in {:.1} s",
        customers.len(),
        addresses.len(),
        orders.len(),
        args.batches,
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    if let Some(dir) = &args.increment_dir {
        let share = |n: usize| ((n as f64) * args.increment_percent / 100.0).ceil() as usize;
        let batch = args.batches;
        let c = increment(&mut rng, args.customers, share(customers.len()), batch);
        let a = increment(&mut rng, args.customers, share(addresses.len()), batch);
        let o = increment(&mut rng, args.orders * 3 / 5, share(orders.len()), batch);
        write_batches(dir, "batch", &c, &a, &o, args.customers, batch..batch + 1)?;
        println!(
            "wrote an increment of {} rows ({}% of {rows}) to {}",
            c.len() + a.len() + o.len(),
            args.increment_percent,
            dir.display()
        );
    }
    Ok(())
}
