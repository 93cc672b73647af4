#!/usr/bin/env python3
"""Checks the peer pipelines against the test suite's independent oracle.

    python benches/peers/check_against_oracle.py [--seeds 1-4] [--batches 1-4] [--rows 200]
                                                 [--quality] [--peers duckdb,polars] [--threads N]

For every (seed, batch count) it generates contract-shaped landing files with
tests/e2e/landing.py (`--clean`: well-formed files; `--quality` adds the `-q`
files of expectation edge cases), runs each peer on them, and compares every
table the peer wrote with what tests/e2e/oracle.py (bronze) and
tests/e2e/oracle_scd.py (clean, SCD 1, SCD 2, gold) compute from the same
files, plus the expectation counts of `_data_quality.json` with the oracle's
rows under SQL three-valued logic. Prints OK, or the differences, and exits 1
on any difference.

Compared columns: the contract's, as benches/peers/compare.py picks them, with
`_source_file` compared in full (peers and oracle both record the absolute
path). `_rescued_data` is not compared (the peers never rescue); the number
of oracle rows that carry rescued data is printed as a known gap.

Run it with a Python that has pyarrow and the peers' engines (duckdb,
polars), e.g. a venv made from benches/peers/requirements.txt; the peers are
run with the same interpreter unless --python says otherwise.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(HERE))

import pyarrow.parquet as pq  # noqa: E402

import compare  # noqa: E402
import landing  # noqa: E402
import oracle  # noqa: E402
import oracle_scd  # noqa: E402

PEERS = {"duckdb": HERE / "duckdb_pipeline.py", "polars": HERE / "polars_pipeline.py"}
CLEAN_OF = oracle_scd.CLEAN_OF  # bronze -> clean table

# The contract's warn expectations (the drop ones are oracle_scd.DROPS).
STATUSES = ("PLACED", "SHIPPED", "DELIVERED", "CANCELLED", "RETURNED")


def _like_any_at_any(text):
    """email LIKE '%_@_%': an '@' with at least one character on each side."""
    return None if text is None else "@" in text[1:-1]


WARNS = {
    "bronze_customers": (
        ("valid_email", lambda r: oracle_scd._or(oracle_scd._is_delete(r), _like_any_at_any(r["email"]))),
    ),
    "bronze_addresses": (
        ("valid_country", lambda r: oracle_scd._or(r["country"] is None, None if r["country"] is None else len(r["country"]) == 2)),
    ),
    "bronze_orders": (
        ("valid_status", lambda r: oracle_scd._or(oracle_scd._is_delete(r), oracle_scd._in(r["status"], STATUSES))),
    ),
}


def expected_quality(bronze: str, rows: list[dict]) -> dict:
    """{expectation: passed count}, __total and __kept, from the oracle's rows."""
    checks = list(oracle_scd.DROPS[bronze]) + list(WARNS[bronze])
    out = {name: sum(1 for r in rows if check(r) is True) for name, check in checks}
    out["__total"] = len(rows)
    out["__kept"] = sum(1 for r in rows if oracle_scd.passes_drops(bronze, r))
    return out


# ----------------------------------------------------------- edge cases --
#
# The generated batches almost never have two changes of one key with equal
# sequences, so they hardly test the (file path, row position) part of the
# order. These files do: hand-written SCD cases, then a stress part with few
# distinct keys and sequences over large files (large enough for DuckDB to
# scan one file with several threads), where most results hang on row order.

T = ["2026-01-01T10:00:00Z", "2026-01-02T10:00:00Z", "2026-01-03T10:00:00Z", "2026-01-04T10:00:00Z"]


def _csv_line(values) -> str:
    out = []
    for v in values:
        if v is None:
            out.append("")
        elif v == "":
            out.append('""')
        elif any(c in v for c in ',"\r\n'):
            out.append('"' + v.replace('"', '""') + '"')
        else:
            out.append(v)
    return ",".join(out)


def write_edge_landing(root: Path, stress_rows: int, seed: int = 0) -> None:
    import random
    from decimal import Decimal

    import pyarrow as pa

    rng = random.Random(f"peers-edge/{seed}")
    for folder in ("customers", "addresses", "orders"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    header = landing.CUSTOMER_COLUMNS

    def cust(cid, op, ts, first="Ann", email=None, phone=None):
        email = email if email is not None else f"c{cid}@example.com"
        return [str(cid), first, "Lee", email, phone, op, ts]

    # customers: SCD 1 by customer_id. File names sort "a" < "b" < "c".
    a = [
        cust(1, "INSERT", T[0], "A1"), cust(1, "UPDATE", T[1], "A2"), cust(1, "UPDATE", T[1], "A3"),  # tie: last row
        cust(2, "INSERT", T[1], "B1"),  # tie with c.csv: the later file wins
        cust(3, "DELETE", T[2]),  # a delete of a key never seen: a tombstone
        cust(4, "INSERT", T[3], "D-new"),  # newer than the late change in b.csv
        cust(5, "INSERT", T[0], "E1"), cust(5, "DELETE", T[1]),  # deleted, a late insert must not resurrect
        cust(6, "INSERT", "2026-01-01t10:00:00z", "F1"), cust(6, "UPDATE", "2026-01-01T12:00:00+02:00", "F2"),  # same instant
        cust(7, "INSERT", "2026-01-01T10:00:00.1234567Z", "G1"), cust(7, "UPDATE", "2026-01-01T10:00:00.123456Z", "G2"),
        cust(8, "INSERT", T[0], "H1", email="", phone=""),  # quoted empty fields are null
        cust(9, "DELETE", T[1]), cust(9, "INSERT", T[1], "I1"),  # tie: the insert is later
    ]
    (root / "customers" / "a.csv").write_text("\n".join([",".join(header)] + [_csv_line(r) for r in a]) + "\n", "utf-8")
    b_header = ["updated_at", "operation", "customer_id", "email", "last_name", "first_name", "loyalty"]  # no phone
    b = [
        [T[2], "UPDATE", "4", "d@example.com", "Lee", "D-late", "gold"],
        [T[0], "INSERT", "5", "e@example.com", "Lee", "E-late", None],
        [T[3], "INSERT", "3", "c3@example.com", "Lee", "C-after", ""],  # after its delete: a new row
    ]
    data = "\ufeff" + "\r\n".join([",".join(b_header)] + [_csv_line(r) for r in b])  # BOM, CRLF, no final newline
    (root / "customers" / "b.csv").write_text(data, "utf-8")
    c = [cust(2, "UPDATE", T[1], "B2"), cust(9, "DELETE", T[0])]
    (root / "customers" / "c.csv").write_text("\n".join([",".join(header)] + [_csv_line(r) for r in c]) + "\n", "utf-8")

    # addresses: SCD 2 by customer_id.
    def addr(cid, op, ts, street="S1", city="Lisboa", state=None, postal="1100-001", country="PT", **extra):
        obj = {"customer_id": cid, "street": street, "city": city, "state": state, "postal_code": postal,
               "country": country, "operation": op, "updated_at": ts}
        obj.update(extra)
        return obj

    a = [
        addr(1, "INSERT", T[0]), addr(1, "UPDATE", T[1], street="S2"), addr(1, "UPDATE", T[1]),  # tie → equal: no-op
        addr(2, "INSERT", T[1], street="S1"), addr(2, "INSERT", T[0], street="S3"),  # out of order in one file
        addr(3, "DELETE", T[0]),  # nothing in force
        addr(3, "DELETE", T[3]),
        addr(4, "INSERT", T[0]), addr(4, "UPDATE", T[1]),  # equal with state null: no-op
        addr(4, "DELETE", T[2]), addr(4, "INSERT", T[3]),  # after a delete the same values open a version
        addr(5, "UPDATE", T[0], street="S2"),  # earlier than b.jsonl's insert
        addr(6, "INSERT", T[0]), addr(6, "INSERT", T[1], street="S2"), addr(6, "DELETE", T[1]),  # tie: the delete
        addr(7, "INSERT", T[0]), addr(7, "DELETE", T[1]), addr(7, "INSERT", T[1], street="S3"),  # tie: the insert
        addr(8, "INSERT", "2026-01-01t10:00:00z", street="S1"),
        addr(8, "UPDATE", "2026-01-01T12:00:00+02:00", street="S2"),  # same instant: this one
        addr(9, "INSERT", T[0], state="ON", geo={"lat": 1}), addr(9, "UPDATE", T[1], state=None),
        addr(10, "INSERT", T[0]), addr(10, "UPDATE", T[1], street="S2"), addr(10, "UPDATE", T[2]),  # back: new version
    ]
    del a[0]["state"]  # a missing field is null
    (root / "addresses" / "a.jsonl").write_text("".join(json.dumps(o) + "\n" for o in a), "utf-8")
    b = [
        addr(2, "UPDATE", T[1], street="S4"),  # tie with a.jsonl: the later file wins
        addr(3, "INSERT", T[1]), addr(3, "UPDATE", T[2]),  # no-op, then closed by a.jsonl's delete at T[3]
        addr(5, "INSERT", T[2]), addr(5, "UPDATE", T[1], street="S2"),  # equal to the version in force: no-op
    ]
    (root / "addresses" / "b.jsonl").write_text("\n".join(json.dumps(o) for o in b), "utf-8")  # no final newline

    # orders: SCD 1 by order_id; b.parquet has its columns reordered, no items, an extra column.
    def order(oid, op, day, ts, amount="10.00", items=1, cid=1, status="PLACED"):
        return {"order_id": oid, "customer_id": cid, "order_date": __import__("datetime").date(2026, 1, day),
                "status": status, "items": items, "amount": Decimal(amount), "operation": op,
                "updated_at": oracle.parse_timestamp(ts)}

    a = [order(1, "INSERT", 1, T[0]), order(1, "UPDATE", 1, T[1], "20.00"), order(1, "UPDATE", 1, T[1], "30.00"),
         order(2, "INSERT", 2, T[1], cid=2), order(3, "DELETE", 3, T[2], cid=None), order(4, "INSERT", 4, T[0], cid=9)]
    b = [order(2, "UPDATE", 2, T[1], "99.99", cid=2), order(3, "INSERT", 3, T[1], cid=3), order(5, "INSERT", 5, T[3], cid=3)]
    schema = landing.ORDER_SCHEMA

    def table_of(rows, fields):
        return pa.table({f.name: pa.array([r.get(f.name) for r in rows], type=f.type if f.name != "updated_at" else pa.int64())
                         for f in fields}).cast(pa.schema(fields))

    import pyarrow.parquet as pqw

    pqw.write_table(table_of(a, list(schema)), root / "orders" / "a.parquet")
    b_fields = [schema.field(n) for n in ["updated_at", "operation", "amount", "status", "order_date", "customer_id", "order_id"]]
    tb = table_of(b, b_fields).append_column("channel", pa.array(["web"] * len(b)))
    pqw.write_table(tb, root / "orders" / "b.parquet")

    if stress_rows <= 0:
        return
    # Stress: few keys, four sequences, few distinct values, files of very
    # different sizes (names "s-1" < "s-10" < "s-2" byte-wise).
    sizes = {"s-1": stress_rows // 10, "s-10": stress_rows * 7 // 10, "s-2": stress_rows - stress_rows // 10 - stress_rows * 7 // 10}
    ops = ["INSERT", "UPDATE", "UPDATE", "DELETE"]
    for name, n in sizes.items():
        lines = [",".join(header)]
        for _ in range(n):
            cid = rng.randint(1, 2000)
            lines.append(_csv_line(cust(cid, rng.choice(ops), rng.choice(T), f"N{rng.randint(0, 99)}",
                                        phone=f"+1-555-{rng.randint(0, 9999):04d}")))
        (root / "customers" / f"{name}.csv").write_text("\n".join(lines) + "\n", "utf-8")
        with open(root / "addresses" / f"{name}.jsonl", "w", encoding="utf-8") as f:
            for _ in range(n):
                f.write(json.dumps(addr(rng.randint(1, 2000), rng.choice(ops), rng.choice(T),
                                        street=rng.choice(["S1", "S2"]), state=rng.choice([None, "X"]))) + "\n")
        rows = [order(rng.randint(1, 3000), rng.choice(ops), rng.randint(1, 28), rng.choice(T),
                      f"{rng.randint(0, 9999)}.{rng.randint(0, 99):02d}", rng.randint(1, 9), rng.randint(1, 2000))
                for _ in range(n)]
        pqw.write_table(table_of(rows, list(schema)), root / "orders" / f"{name}.parquet", row_group_size=max(1, n // 7))


def parse_range(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if "-" in part[1:]:
            lo, hi = part.split("-", 1)
            out.extend(range(int(lo), int(hi) + 1))
        elif part:
            out.append(int(part))
    return out


def run_peer(python: str, peer: str, land: Path, out: Path, threads: int | None) -> tuple[bool, str, float]:
    cmd = [python, str(PEERS[peer]), str(land), str(out)]
    if threads:
        cmd += ["--threads", str(threads)]
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        return False, f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr.strip()[-3000:]}", elapsed
    return True, proc.stdout.strip(), elapsed


def check_case(args, peer: str, land: Path, out: Path, expected_tables: dict, bronze_rows: dict, quality: dict) -> list[str]:
    """Problems found for one peer on one landing folder ([] when none)."""
    ok, text, _ = run_peer(args.python, peer, land, out, args.threads)
    if not ok:
        return [text]
    problems: list[str] = []
    for table in compare.TABLES:
        path = out / f"{table}.parquet"
        if not path.exists():
            problems.append(f"{table}: no file {path}")
            continue
        actual = pq.read_table(path)
        problems.extend(f"note: {n}" for n in compare.type_notes(table, actual, peer) if not args.quiet_types)
        columns = compare.compared_columns(table, rescued=False, source_file="full")
        try:
            got = compare.arrow_rows(actual, columns, "full")
        except KeyError as e:
            problems.append(f"{table}: {e}")
            continue
        want = compare.dict_rows(expected_tables[table], columns, "full")
        problems.extend(compare.diff_rows(table, want, got, columns, "oracle", peer, args.limit))
    # Expectation counts.
    try:
        with open(out / "_data_quality.json") as f:
            reported = json.load(f)
    except OSError as e:
        problems.append(f"_data_quality.json: {e}")
        reported = {}
    for bronze, clean in CLEAN_OF.items():
        want = quality[bronze]
        got = reported.get(clean)
        if got is None:
            problems.append(f"_data_quality.json: no {clean}")
            continue
        have = {e["name"]: e["passed_records"] for e in got["expectations"]}
        have["__total"] = got["num_input_rows"]
        have["__kept"] = got["num_output_rows"]
        for name in want:
            if have.get(name) != want[name]:
                problems.append(f"{clean} {name}: {peer} counts {have.get(name)} passed, the oracle {want[name]}")
    return [p for p in problems if not p.startswith("note: ")] + sorted({p for p in problems if p.startswith("note: ")})


def check_landing(args, peers: list[str], name: str, land: Path, out_root: Path) -> tuple[int, int]:
    """Runs every peer on one landing folder; returns (cases, failures)."""
    bronze_rows = {b: oracle.expected_rows(b, oracle.source_files(land, b)) for b in oracle.BRONZE_TABLES}
    exp = oracle_scd.expected(land)
    tables = dict(bronze_rows)
    for bronze, clean in CLEAN_OF.items():
        tables[clean] = [c.row for c in exp.changes[bronze]]
    tables.update(exp.tables)
    quality = {b: expected_quality(b, rows) for b, rows in bronze_rows.items()}
    rescued = {b: sum(1 for r in rows if r["_rescued_data"]) for b, rows in bronze_rows.items()}
    gap = ", ".join(f"{b} {n}" for b, n in rescued.items() if n)
    sizes = ", ".join(
        f"{t} {len(tables[t])}"
        for t in ("bronze_customers", "silver_customers", "silver_orders", "silver_addresses", "gold_customer_orders")
    )
    failures = 0
    for peer in peers:
        problems = check_case(args, peer, land, out_root / peer, tables, bronze_rows, quality)
        errors = [p for p in problems if not p.startswith("note: ")]
        status = "OK" if not errors else "DIFF"
        extra = f"; oracle rows with _rescued_data (not compared): {gap}" if gap else ""
        print(f"{name} {peer}: {status} ({sizes}){extra}", flush=True)
        for line in problems:
            print("  " + line.replace("\n", "\n  "))
        failures += bool(errors)
    return len(peers), failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="1-4", help="e.g. 1-4 or 1,3,7")
    parser.add_argument("--batches", default="1-4", help="batch counts to try, e.g. 1-4")
    parser.add_argument("--rows", type=int, default=200, help="rows per source per batch")
    parser.add_argument("--quality", action="store_true", help="add the -q files (expectation edge cases)")
    parser.add_argument("--edge-rows", type=int, default=300_000,
                        help="rows per source of the edge-case set's stress files (0: hand-written cases only; -1: no edge set)")
    parser.add_argument("--peers", default="duckdb,polars")
    parser.add_argument("--threads", type=int, default=None, help="passed to the peers")
    parser.add_argument("--python", default=sys.executable, help="interpreter that runs the peers")
    parser.add_argument("--keep", type=Path, default=None, help="keep landing and outputs under this folder")
    parser.add_argument("--limit", type=int, default=5, help="differing keys shown per table")
    parser.add_argument("--quiet-types", action="store_true", help="do not print column-type notes")
    args = parser.parse_args(argv)
    peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    for p in peers:
        if p not in PEERS:
            parser.error(f"unknown peer {p}; known: {', '.join(PEERS)}")

    cases = failures = 0
    with tempfile.TemporaryDirectory(prefix="peers-oracle-") as tmp:
        root = args.keep or Path(tmp)
        for seed in parse_range(args.seeds):
            for batches in parse_range(args.batches):
                name = f"seed{seed}-batches{batches}{'-quality' if args.quality else ''}"
                land = root / name / "landing"
                shutil.rmtree(land, ignore_errors=True)
                landing.generate(land, batches=batches, seed=seed, rows=args.rows, dirty=False, quality=args.quality)
                n, f = check_landing(args, peers, name, land, root / name)
                cases, failures = cases + n, failures + f
        if args.edge_rows >= 0:
            name = f"edge-cases-stress{args.edge_rows}"
            land = root / name / "landing"
            shutil.rmtree(land, ignore_errors=True)
            write_edge_landing(land, args.edge_rows)
            n, f = check_landing(args, peers, name, land, root / name)
            cases, failures = cases + n, failures + f
    print(f"{cases - failures} passed, {failures} failed")
    print("OK" if failures == 0 else "FAILED")
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
