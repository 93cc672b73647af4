//! An independent, naive model (nested loops over plain Rust values)
//! compared with the engine on random inputs.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Decimal128Type, Float64Type, Int32Type, Int64Type};
use arrow_array::{
    Array, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int32Array, Int64Array,
    RecordBatch, StringArray,
};
use arrow_schema::DataType;

use super::functions::{base_schema, t_schema};
use super::{batch, run};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn maybe<T>(&mut self, value: impl FnOnce(&mut Rng) -> T) -> Option<T> {
        (!self.chance(15)).then(|| value(self))
    }
}

#[derive(Clone)]
struct B {
    k: Option<i64>,
    g: Option<String>,
    x: Option<i32>,
}

#[derive(Clone)]
struct T {
    k: Option<i64>,
    g: Option<String>,
    v: Option<i32>,
    d: Option<i128>,
    f: Option<f64>,
    s: Option<String>,
    flag: Option<bool>,
    day: Option<i32>,
}

#[derive(Debug, Clone, PartialEq)]
enum Cell {
    N,
    I(i128),
    F(f64),
    S(String),
}

fn gen_base(r: &mut Rng) -> Vec<B> {
    let mut keys: Vec<Option<i64>> = (0..30).filter(|_| r.chance(60)).map(Some).collect();
    if r.chance(30) {
        keys.push(None);
    }
    keys.into_iter()
        .map(|k| B {
            k,
            g: r.maybe(|r| ["x", "y"][r.below(2) as usize].to_string()),
            x: r.maybe(|r| r.below(5) as i32 - 1),
        })
        .collect()
}

fn gen_t(r: &mut Rng, n: usize) -> Vec<T> {
    (0..n)
        .map(|_| T {
            k: r.maybe(|r| r.below(35) as i64),
            g: r.maybe(|r| ["x", "y"][r.below(2) as usize].to_string()),
            v: r.maybe(|r| r.below(100) as i32 - 50),
            d: r.maybe(|r| r.below(200_000) as i128 - 100_000),
            f: r.maybe(|r| (r.below(40) as f64 - 20.0) / 4.0),
            s: r.maybe(|r| ["a", "b", "c"][r.below(3) as usize].to_string()),
            flag: r.maybe(|r| r.chance(50)),
            day: r.maybe(|r| r.below(1000) as i32),
        })
        .collect()
}

fn base_batch(rows: &[B]) -> RecordBatch {
    batch(
        &base_schema(),
        vec![
            Arc::new(Int64Array::from(
                rows.iter().map(|r| r.k).collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(
                rows.iter().map(|r| r.g.clone()).collect::<Vec<_>>(),
            )),
            Arc::new(Int32Array::from(
                rows.iter().map(|r| r.x).collect::<Vec<_>>(),
            )),
        ],
    )
}

fn t_batch(rows: &[T]) -> RecordBatch {
    batch(
        &t_schema(),
        vec![
            Arc::new(Int64Array::from(
                rows.iter().map(|r| r.k).collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(
                rows.iter().map(|r| r.g.clone()).collect::<Vec<_>>(),
            )),
            Arc::new(Int32Array::from(
                rows.iter().map(|r| r.v).collect::<Vec<_>>(),
            )),
            Arc::new(
                Decimal128Array::from(rows.iter().map(|r| r.d).collect::<Vec<_>>())
                    .with_precision_and_scale(10, 3)
                    .unwrap(),
            ),
            Arc::new(Float64Array::from(
                rows.iter().map(|r| r.f).collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(
                rows.iter().map(|r| r.s.clone()).collect::<Vec<_>>(),
            )),
            Arc::new(BooleanArray::from(
                rows.iter().map(|r| r.flag).collect::<Vec<_>>(),
            )),
            Arc::new(Date32Array::from(
                rows.iter().map(|r| r.day).collect::<Vec<_>>(),
            )),
        ],
    )
}

/// Pushes in one to three pieces, the inputs interleaved.
fn pieces(r: &mut Rng, name: &'static str, b: RecordBatch) -> Vec<(&'static str, RecordBatch)> {
    let n = b.num_rows();
    let cut = if n > 0 {
        r.below(n as u64 + 1) as usize
    } else {
        0
    };
    vec![(name, b.slice(0, cut)), (name, b.slice(cut, n - cut))]
}

struct Case {
    base_filter: bool,
    lookup_how: &'static str,
    lookup_filter: bool,
    agg_how: &'static str,
    agg_filter: bool,
    multi: bool,
}

const AGGS: &str = r#"
    {"name": "n", "function": "count"},
    {"name": "n_v", "function": "count", "column": "v"},
    {"name": "nd_s", "function": "count_distinct", "column": "s"},
    {"name": "sum_v", "function": "sum", "column": "v"},
    {"name": "sum_d", "function": "sum", "column": "d", "type": "decimal(18,3)", "default": "0"},
    {"name": "sum_f", "function": "sum", "column": "f"},
    {"name": "min_v", "function": "min", "column": "v"},
    {"name": "max_s", "function": "max", "column": "s"},
    {"name": "min_day", "function": "min", "column": "day"},
    {"name": "max_d", "function": "max", "column": "d"},
    {"name": "avg_v", "function": "avg", "column": "v"},
    {"name": "avg_d", "function": "avg", "column": "d"},
    {"name": "avg_f", "function": "avg", "column": "f"}"#;

fn options(c: &Case) -> String {
    let base_filter = if c.base_filter {
        r#", "filter": "x > 0""#
    } else {
        ""
    };
    let lookup_filter = if c.lookup_filter {
        r#", "filter": "flag""#
    } else {
        ""
    };
    let agg_filter = if c.agg_filter {
        r#", "filter": "v > 0 OR s = 'a'""#
    } else {
        ""
    };
    let on = if c.multi {
        r#"{"k": "k", "g": "g"}"#
    } else {
        r#"{"k": "k"}"#
    };
    format!(
        r#"{{"base": {{"input": "b", "key": ["k"], "columns": ["k", "g"]{base_filter}}},
            "joins": [
              {{"input": "l", "how": "{}", "on": {{"k": "k"}}{lookup_filter}, "columns": ["s", "day"]}},
              {{"input": "t", "how": "{}", "on": {on}{agg_filter}, "aggregates": [{AGGS}]}}]}}"#,
        c.lookup_how, c.agg_how
    )
}

fn sum_i(values: impl Iterator<Item = Option<i128>>) -> Option<(i128, usize)> {
    let v: Vec<i128> = values.flatten().collect();
    (!v.is_empty()).then(|| (v.iter().sum(), v.len()))
}

fn model(c: &Case, base: &[B], lookup: &[T], t: &[T]) -> Vec<Vec<Cell>> {
    let mut base: Vec<&B> = base
        .iter()
        .filter(|b| !c.base_filter || b.x.is_some_and(|x| x > 0))
        .collect();
    base.sort_by_key(|b| b.k); // None first
    let opt_i = |v: Option<i128>| v.map_or(Cell::N, Cell::I);
    let opt_s = |v: Option<&String>| v.map_or(Cell::N, |s| Cell::S(s.clone()));
    let mut out = Vec::new();
    for b in base {
        let mut row = vec![opt_i(b.k.map(i128::from)), opt_s(b.g.as_ref())];
        let found: Vec<&T> = lookup
            .iter()
            .filter(|l| !c.lookup_filter || l.flag == Some(true))
            .filter(|l| b.k.is_some() && l.k == b.k)
            .collect();
        assert!(found.len() <= 1);
        if found.is_empty() && c.lookup_how == "inner" {
            continue;
        }
        let l = found.first();
        row.push(opt_s(l.and_then(|l| l.s.as_ref())));
        row.push(opt_i(l.and_then(|l| l.day).map(i128::from)));
        let rows: Vec<&T> = t
            .iter()
            .filter(|r| !c.agg_filter || r.v.is_some_and(|v| v > 0) || r.s.as_deref() == Some("a"))
            .filter(|r| b.k.is_some() && r.k == b.k)
            .filter(|r| !c.multi || (b.g.is_some() && r.g == b.g))
            .collect();
        if rows.is_empty() && c.agg_how == "inner" {
            continue;
        }
        let v = || rows.iter().map(|r| r.v.map(i128::from));
        let d = || rows.iter().map(|r| r.d);
        let fs: Vec<f64> = rows.iter().filter_map(|r| r.f).collect();
        let distinct: BTreeSet<&String> = rows.iter().filter_map(|r| r.s.as_ref()).collect();
        row.push(Cell::I(rows.len() as i128));
        row.push(Cell::I(v().flatten().count() as i128));
        row.push(Cell::I(distinct.len() as i128));
        row.push(opt_i(sum_i(v()).map(|s| s.0)));
        row.push(Cell::I(sum_i(d()).map_or(0, |s| s.0)));
        row.push(if fs.is_empty() {
            Cell::N
        } else {
            Cell::F(fs.iter().sum())
        });
        row.push(opt_i(v().flatten().min()));
        row.push(opt_s(rows.iter().filter_map(|r| r.s.as_ref()).max()));
        row.push(opt_i(
            rows.iter().filter_map(|r| r.day).min().map(i128::from),
        ));
        row.push(opt_i(d().flatten().max()));
        let avg = |s: Option<(i128, usize)>, unit: f64| {
            s.map_or(Cell::N, |(s, n)| Cell::F(s as f64 / unit / n as f64))
        };
        row.push(avg(sum_i(v()), 1.0));
        row.push(avg(sum_i(d()), 1000.0));
        row.push(if fs.is_empty() {
            Cell::N
        } else {
            Cell::F(fs.iter().sum::<f64>() / fs.len() as f64)
        });
        out.push(row);
    }
    out
}

fn cells(out: &RecordBatch) -> Vec<Vec<Cell>> {
    (0..out.num_rows())
        .map(|i| {
            out.columns()
                .iter()
                .map(|c| {
                    if c.is_null(i) {
                        return Cell::N;
                    }
                    match c.data_type() {
                        DataType::Int64 => Cell::I(c.as_primitive::<Int64Type>().value(i).into()),
                        DataType::Int32 => Cell::I(c.as_primitive::<Int32Type>().value(i).into()),
                        DataType::Date32 => Cell::I(c.as_primitive::<Date32Type>().value(i).into()),
                        DataType::Decimal128(_, _) => {
                            Cell::I(c.as_primitive::<Decimal128Type>().value(i))
                        }
                        DataType::Float64 => Cell::F(c.as_primitive::<Float64Type>().value(i)),
                        DataType::Utf8 => Cell::S(c.as_string::<i32>().value(i).to_string()),
                        t => panic!("unexpected {t}"),
                    }
                })
                .collect()
        })
        .collect()
}

fn same(a: &Cell, b: &Cell) -> bool {
    match (a, b) {
        (Cell::F(x), Cell::F(y)) => (x - y).abs() <= 1e-9 * x.abs().max(1.0),
        _ => a == b,
    }
}

#[test]
fn engine_matches_a_naive_model() {
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    let mut total = 0;
    for round in 0..300 {
        let base = gen_base(&mut r);
        let n = r.below(80) as usize;
        let t = gen_t(&mut r, n);
        // A lookup table: at most one row per key.
        let mut lookup = gen_t(&mut r, 30);
        let mut seen = BTreeSet::new();
        lookup.retain(|l| l.k.is_none_or(|k| seen.insert(k)));
        let hows = ["left", "inner"];
        let case = Case {
            base_filter: r.chance(30),
            lookup_how: hows[r.below(2) as usize],
            lookup_filter: r.chance(50),
            agg_how: hows[r.below(2) as usize],
            agg_filter: r.chance(40),
            multi: r.chance(40),
        };
        let mut pushes = pieces(&mut r, "t", t_batch(&t));
        pushes.extend(pieces(&mut r, "b", base_batch(&base)));
        pushes.extend(pieces(&mut r, "l", t_batch(&lookup)));
        let inputs = [("b", base_schema()), ("t", t_schema()), ("l", t_schema())];
        let out = run(&options(&case), &inputs, &pushes).unwrap();
        let got = cells(&out);
        let want = model(&case, &base, &lookup, &t);
        assert_eq!(got.len(), want.len(), "round {round}: row count");
        total += got.len();
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(
                g.len() == w.len() && g.iter().zip(w).all(|(a, b)| same(a, b)),
                "round {round}, row {i}:\n got {g:?}\nwant {w:?}"
            );
        }
    }
    // The cases are not all empty.
    assert!(total > 1000, "{total}");
}
