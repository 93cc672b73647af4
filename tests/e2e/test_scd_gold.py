"""The seed pipeline's SCD tables (silver_customers, silver_orders: type 1;
silver_addresses: type 2) and gold_customer_orders against oracle_scd.py,
which computes them from the landing files and the contract
(shared/spec/medallion.md, "Landing files", "SCD type 1", "SCD type 2",
"Gold") alone.

The scenario, one `lfhost run` per step:

  r1              generator batches 2-3 (dirty rows, -q quality files) and
                  hand-written edge files (edge-m, edge-x, edge-z)
  r2_late         generator batch 1: files whose paths sort before the
                  ingested ones, with earlier updated_at values; edge files
                  0-early (sorts before everything), edge-t, edge-x-1,
                  edge-é, edge-a
  r3_late         generator batch 4; late changes (edge-late) that split
                  SCD2 versions, move __START_AT earlier, hit tombstones;
                  edge-Z (sorts before edge-a byte-wise)
  r4_nothing_new  no new file
  r5_no_customers new orders and addresses only

After every run each of the four tables, read with deltalake and with
DuckDB's delta_scan, must equal the oracle's rows (a multiset, compared key
by key), with the contract's column names, order and Arrow types. The same
files ingested in one run, or in the reverse split, must give the same tables.

r2_late and r3_late also get `batch-000N-u` files: random changes to keys of
the generated files already there (same or new values; later, earlier or
equal sequence; deletes), so generated orders change across runs too.

Edge keys (hand-written, with the expected outcome written out below and
checked against the oracle too): customers 5001-5031, 0 and the int64
extremes, orders 9001-9019, addresses 6001-6029 (no customer) and the gold
customers 5003/5013/5015/5016/5020, 0 and the int64 extremes.
The generator uses customers <= 60 and order ids batch * 1e6 + i.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import random
import re
import shutil
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import helpers
import landing
import oracle
import oracle_scd
from helpers import delta_version, read_delta

SEED = 41
ROWS = 30
TABLES = list(oracle_scd.TABLES)
GOLD = oracle_scd.GOLD
READERS = ["deltalake", "duckdb"]

# --------------------------------------------------------------- edge data --

UTC = dt.timezone.utc
BASE = landing.micros(dt.datetime(2026, 2, 1, tzinfo=UTC))
MINUTE = 60_000_000


def t(minutes: int) -> int:
    """2026-02-01T00:00Z + minutes, in µs."""
    return BASE + minutes * MINUTE


def tx(when) -> str:
    """RFC 3339 text for minutes after BASE, or a literal text."""
    if isinstance(when, str):
        return when
    return f"2026-02-01T00:{when:02d}:00Z"


def C(cid, op, when, name):
    return {
        "customer_id": str(cid),
        "first_name": name,
        "last_name": "Edge",
        "email": f"{name}@example.com",
        "phone": None,
        "operation": op,
        "updated_at": tx(when),
    }


V = {
    "v0": {"street": "Rua Augusta 1", "city": "Lisboa", "state": None, "postal_code": "1100-001", "country": "PT"},
    "v1": {"street": "Main St 1", "city": "Austin", "state": "TX", "postal_code": "78701", "country": "US"},
    "v2": {"street": "Leopoldstraße 2", "city": "München", "state": "BY", "postal_code": "80331", "country": "DE"},
    "v3": {"street": "King St W 3", "city": "Toronto", "state": "ON", "postal_code": "M5V 1A1", "country": "CA"},
}
V["v1n"] = {**V["v1"], "state": None}  # NULL state
V["v1e"] = {**V["v1"], "state": ""}  # empty string: not NULL
V["v1s"] = {**V["v1"], "city": "Austin "}  # a trailing space is a different value
V["v1p"] = {**V["v1"], "city": None, "state": None}  # what a change without city and state holds


def A(cid, op, when, version=None, omit=()):
    obj = {"customer_id": cid, "operation": op, "updated_at": tx(when)}
    if version:
        obj.update(V[version])
    for name in omit:
        obj.pop(name)
    return obj


def O(oid, cid, op, when, items=None, amount=None):
    return {
        "order_id": oid,
        "customer_id": cid,
        "order_date": dt.date(2026, 1, 15),
        "status": None if op == "DELETE" else "PLACED",
        "items": items,
        "amount": None if amount is None else Decimal(amount),
        "operation": op,
        "updated_at": t(when),
    }


INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
BIG = "9999999999.99"  # the largest Decimal(12, 2)
MANY = 2_000_000_000  # two of them overflow Int32

EDGE = {
    "r1": {
        "customers/edge-m.csv": [
            C(5001, "INSERT", 10, "c5001-v1"),
            C(5002, "INSERT", 10, "c5002-v1"),
            C(5003, "DELETE", 20, "c5003-del"),
            C(5004, "INSERT", 10, "c5004-m"),
            C(5005, "UPDATE", 10, "c5005-m"),
            C(5006, "INSERT", 10, "c5006-A"),
            C(5006, "UPDATE", 10, "c5006-B"),
            C(5006, "UPDATE", 10, "c5006-C"),
            C(5007, "INSERT", 10, "c5007-A"),
            C(5007, "DELETE", 10, "c5007-del"),
            C(5008, "DELETE", 10, "c5008-del"),
            C(5008, "INSERT", 10, "c5008-X"),
            C(5009, "INSERT", "2026-02-01T02:10:00+02:00", "c5009-m"),
            C(5011, "DELETE", 50, "c5011-del"),
            C(5012, "UPDATE", 20, "c5012-t20"),
            C(5012, "INSERT", 10, "c5012-t10"),
            C(5013, "INSERT", 10, "c5013"),
            C(5014, "INSERT", 10, "c5014"),
            C(5015, "INSERT", 10, "c5015"),
            C(5016, "INSERT", 10, "c5016"),
            C(5019, "INSERT", 10, "c5019-v1"),
            C(5020, "INSERT", 10, "c5020"),
            C(5021, "INSERT", 10, "c5021-v1"),
            C(5022, "INSERT", 10, "c5022-t10"),
            C(5022, "UPDATE", 30, "c5022-t30"),
            C(5023, "INSERT", 10, "c5023-m"),
            C(5024, "INSERT", 10, "c5024-m"),
            C(5025, "UPDATE", "1970-01-01T00:00:01Z", "c5025-1970"),
            C(5025, "INSERT", "1969-12-31T23:59:59Z", "c5025-1969"),
            C(5026, "UPDATE", "9999-12-31T23:59:59.999999Z", "c5026-9999"),
            C(5026, "INSERT", 10, "c5026-2026"),
            C(5027, "INSERT", 10, "two\nlines, \"quoted\""),
            C(5027, "UPDATE", 10, "c5027-last"),
            C(5030, "UPDATE", 10, "c5030-first"),
            C(5030, "INSERT", 10, "multi\r\nline"),
            C(5029, "INSERT", 10, "c5029-m"),
            C(0, "INSERT", 10, "c0"),
            C(INT64_MAX, "INSERT", 10, "cmax"),
            C(INT64_MIN, "INSERT", 10, "cmin"),
            C(5031, "INSERT", 10, "c5031-full"),
            {**C(5031, "UPDATE", 20, "x"), "first_name": None, "email": None},
        ],
        "customers/edge-x.csv": [C(5017, "INSERT", 10, "c5017-x")],
        "customers/edge-z.csv": [C(5018, "INSERT", 10, "c5018-z")],
        "addresses/edge-m.jsonl": [
            A(6001, "INSERT", 10, "v1"),
            A(6001, "UPDATE", 30, "v2"),
            A(6002, "INSERT", 20, "v1"),
            A(6003, "INSERT", 20, "v1"),
            A(6004, "INSERT", 10, "v1"),
            A(6004, "UPDATE", 20, "v1"),
            A(6005, "INSERT", 10, "v1n"),
            A(6005, "UPDATE", 20, "v1n", omit=("state",)),
            A(6005, "UPDATE", 30, "v1e"),
            A(6006, "INSERT", 10, "v1"),
            A(6006, "DELETE", 20),
            A(6006, "INSERT", 30, "v1"),
            A(6007, "DELETE", 20),
            A(6008, "INSERT", 10, "v1"),
            A(6009, "INSERT", 10, "v1"),
            A(6009, "UPDATE", 10, "v2"),
            A(6010, "INSERT", 10, "v1"),
            A(6010, "UPDATE", 30, "v2"),
            A(6011, "INSERT", 10, "v1"),
            A(6011, "UPDATE", 30, "v2"),
            A(6012, "INSERT", 10, "v1"),
            A(6012, "UPDATE", 30, "v2"),
            A(6013, "INSERT", 5, "v1"),
            A(6013, "INSERT", 10, "v2"),
            A(6014, "INSERT", 5, "v0"),
            A(6014, "INSERT", 10, "v1"),
            A(6015, "INSERT", 10, "v1"),
            A(6015, "DELETE", 20),
            A(6016, "UPDATE", 30, "v2"),
            A(6016, "INSERT", 10, "v1"),
            A(6017, "INSERT", "2026-02-01T02:10:00.1234569+02:00", "v1"),
            A(6017, "UPDATE", 20, "v2"),
            A(6018, "INSERT", 10, "v1"),
            A(6020, "INSERT", 5, "v1"),
            A(6020, "UPDATE", 10, "v2"),
            A(6021, "INSERT", 10, "v1"),
            A(6021, "UPDATE", 30, "v1"),
            A(6022, "INSERT", 10, "v1"),
            A(6022, "UPDATE", 30, "v1"),
            A(6023, "INSERT", 10, "v1"),
            A(6023, "DELETE", 20),
            A(6023, "DELETE", 40),
            A(6024, "INSERT", 10, "v1"),
            A(6024, "UPDATE", 20, "v1"),
            A(6025, "INSERT", "1969-12-31T23:59:59Z", "v1"),
            A(6025, "UPDATE", "9999-12-31T23:59:59.999999Z", "v2"),
            A(6026, "INSERT", 10, "v1"),
            A(6026, "UPDATE", 20, "v1s"),
            A(6027, "INSERT", 10, "v1"),
            A(6027, "DELETE", 10),
            A(6028, "UPDATE", "2026-02-01T00:10:00.000002Z", "v2"),
            A(6028, "INSERT", "2026-02-01T00:10:00.000001Z", "v1"),
            A(6028, "UPDATE", "2026-02-01T00:10:00.0000029Z", "v3"),
            A(0, "INSERT", 10, "v1"),
            A(INT64_MAX, "INSERT", 10, "v2"),
            A(INT64_MIN, "INSERT", 10, "v3"),
            A(6029, "INSERT", 10, "v1"),
            A(6029, "UPDATE", 20, "v1", omit=("city", "state")),
            A(5013, "INSERT", 10, "v0"),
            A(5015, "INSERT", 10, "v1"),
            A(5016, "INSERT", 10, "v2"),
            A(5020, "INSERT", 10, "v1"),
        ],
        "orders/edge-m.parquet": [
            O(9001, 5013, "INSERT", 10, 2, "10.00"),
            O(9002, 5013, "INSERT", 10, 3, "20.50"),
            O(9003, 5015, "INSERT", 10, MANY, BIG),
            O(9004, 5015, "INSERT", 10, MANY, BIG),
            O(9005, 7777, "INSERT", 10, 1, "5.00"),
            O(9006, None, "DELETE", 20),
            O(9007, 5013, "INSERT", 10, 1, "1.00"),
            O(9008, 5013, "INSERT", 10, 1, "5.00"),
            O(9008, 5013, "UPDATE", 10, 1, "6.00"),
            O(9009, 5002, "INSERT", 10, 4, "40.00"),
            O(9010, 5013, "UPDATE", 30, 1, "100.00"),
            O(9010, 5013, "INSERT", 10, 1, "50.00"),
            O(9014, 5019, "INSERT", 10, 1, "7.00"),
        ],
    },
    "r2_late": {
        "customers/0-early.csv": [
            C(5004, "UPDATE", 10, "c5004-0early"),
            C(5002, "DELETE", 20, "c5002-del"),
            C(5003, "INSERT", 10, "c5003-early"),
            C(5019, "DELETE", 20, "c5019-del"),
            C(5024, "DELETE", 10, "c5024-del"),
        ],
        "customers/edge-t.csv": [
            C(5005, "UPDATE", 10, "c5005-t"),
            C(5009, "UPDATE", "2026-02-01T00:10:00.000000999Z", "c5009-t"),
            C(5023, "DELETE", 10, "c5023-del"),
            C(5028, "UPDATE", 10, "c5028-t"),
        ],
        "customers/edge-x-1.csv": [C(5017, "UPDATE", 10, "c5017-x-1")],
        "customers/edge-é.csv": [C(5018, "UPDATE", 10, "c5018-é")],
        "customers/edge-a.csv": [C(5010, "INSERT", 10, "c5010-a"), C(5028, "INSERT", 10, "c5028-a")],
        "addresses/0-early.jsonl": [
            A(6002, "INSERT", 10, "v0"),
            A(6003, "INSERT", 10, "v1"),
            A(6007, "INSERT", 10, "v1"),
            A(6008, "UPDATE", 10, "v2"),
            A(6013, "DELETE", 10),
            A(6024, "UPDATE", 20, "v2"),
        ],
        "addresses/edge-t.jsonl": [
            A(6014, "DELETE", 10),
            A(6018, "UPDATE", 10, "v2"),
            A(5015, "UPDATE", 20, "v2"),
            A(6020, "UPDATE", 10, "v1"),
        ],
        "orders/0-early.parquet": [
            O(9006, 5013, "INSERT", 10, 9, "90.00"),
            O(9008, 5013, "UPDATE", 10, 1, "99.00"),
            O(9010, 5013, "UPDATE", 20, 1, "70.00"),
            O(9001, 5013, "DELETE", 20),
        ],
    },
    "r3_late": {
        "customers/edge-late.csv": [
            C(5001, "UPDATE", 5, "c5001-late"),
            C(5002, "INSERT", 15, "c5002-late"),
            C(5003, "INSERT", 30, "c5003-reinserted"),
            C(5019, "UPDATE", 30, "c5019-v3"),
            C(5022, "DELETE", 20, "c5022-del"),
        ],
        "customers/edge-Z.csv": [C(5010, "UPDATE", 10, "c5010-Z")],
        "customers/edge m.csv": [C(5029, "UPDATE", 10, "c5029-space")],
        "addresses/edge-late.jsonl": [
            A(6001, "UPDATE", 20, "v3"),
            A(6010, "DELETE", 20),
            A(6011, "UPDATE", 20, "v1"),
            A(6012, "UPDATE", 20, "v2"),
            A(6015, "UPDATE", 30, "v1"),
            A(6019, "INSERT", 10, "v1"),
            A(5003, "INSERT", 30, "v3"),
            A(6021, "DELETE", 20),
            A(6022, "UPDATE", 20, "v2"),
            A(6023, "INSERT", 30, "v2"),
        ],
        "orders/edge-late.parquet": [
            O(9007, 5016, "UPDATE", 20, 1, "1.00"),
            O(9001, 5013, "INSERT", 30, 2, "11.00"),
            O(9012, 5013, "INSERT", 10, 1, "0.00"),
        ],
        "orders/edge-rg.parquet": [  # written with 2 rows per row group
            O(9017, 0, "INSERT", 10, 1, "1.00"),
            O(9018, INT64_MAX, "INSERT", 10, 1, "1.00"),
            O(9017, 0, "UPDATE", 10, 1, "2.00"),
            O(9019, INT64_MIN, "INSERT", 10, 2, "2.00"),
            O(9017, 0, "UPDATE", 10, 1, "3.00"),
        ],
    },
    "r4_nothing_new": {},
    "r5_no_customers": {
        "addresses/edge-r5.jsonl": [
            A(6019, "UPDATE", 5, "v2"),
            A(6004, "DELETE", 50),
            A(5016, "DELETE", 40),
        ],
        "orders/edge-r5.parquet": [
            O(9002, 5013, "DELETE", 40),
            O(9013, 5014, "INSERT", 40, 3, "30.00"),
            O(9016, 5003, "INSERT", 40, 1, "3.00"),
        ],
    },
}
GENERATOR_BATCHES = {"r1": [2, 3], "r2_late": [1], "r3_late": [4], "r4_nothing_new": [], "r5_no_customers": []}
RUNS = list(EDGE)
DATA_RUNS = [r for r in RUNS if r != "r4_nothing_new"]

# What each edge key must hold after the last run (hand-derived from the contract).
FINAL_CUSTOMERS = {  # customer_id -> first_name, or None for no row
    5001: "c5001-v1",  # a late UPDATE (earlier updated_at) does not overwrite
    5002: None,  # a late INSERT earlier than the DELETE does not resurrect
    5003: "c5003-reinserted",  # DELETE of a never-seen key; late INSERT stays deleted; re-INSERT after it
    5004: "c5004-m",  # equal sequence: edge-m.csv sorts after 0-early.csv, which arrived later
    5005: "c5005-t",  # equal sequence: edge-t.csv (later run) sorts after edge-m.csv
    5006: "c5006-C",  # equal sequence within a file: the last row
    5007: None,  # ... the last row is a DELETE
    5008: "c5008-X",  # ... a DELETE then an INSERT
    5009: "c5009-t",  # equal µs from +02:00 and from 9 fraction digits
    5010: "c5010-a",  # byte-wise: 'Z' (0x5A) < 'a' (0x61), edge-Z.csv loses though ingested later
    5011: None,  # a DELETE of a never-seen key
    5012: "c5012-t20",  # sequence first: the earlier row in the file has the later updated_at
    5017: "c5017-x",  # byte-wise: "edge-x-1.csv" < "edge-x.csv" ('-' 0x2D < '.' 0x2E)
    5018: "c5018-é",  # byte-wise: "edge-é.csv" (0xC3..) > "edge-z.csv"
    5019: "c5019-v3",  # INSERT, DELETE, then a later UPDATE upserts
    5021: "c5021-v1",
    5022: "c5022-t30",  # a late DELETE earlier than the last UPDATE does not delete
    5023: None,  # equal sequence: a DELETE in a later-sorting file (later run) wins
    5024: "c5024-m",  # equal sequence: a DELETE in an earlier-sorting file (later run) loses
    5025: "c5025-1970",  # a sequence before 1970 (negative µs)
    5026: "c5026-9999",  # the year 9999
    5027: "c5027-last",  # equal sequence after a record spanning lines
    5030: "multi\r\nline",  # ... the record spanning lines is the last
    5028: "c5028-t",  # equal sequence, both files in one run
    5029: "c5029-m",  # byte-wise: "edge m.csv" < "edge-m.csv" (' ' 0x20 < '-' 0x2D)
    5031: None,  # an UPDATE with null fields replaces the whole row: first_name null (the row exists)
    0: "c0",  # key 0
    INT64_MAX: "cmax",
    INT64_MIN: "cmin",
}
FINAL_ORDERS = {  # order_id -> (customer_id, items, amount), or None
    9001: (5013, 2, "11.00"),  # DELETE (run 2) then re-INSERT (run 3)
    9002: None,  # deleted in a run without customers
    9003: (5015, MANY, BIG),
    9004: (5015, MANY, BIG),
    9005: (7777, 1, "5.00"),  # an unknown customer
    9006: None,  # DELETE of a never-seen order; late INSERT stays deleted
    9007: (5016, 1, "1.00"),  # moved to another customer
    9008: (5013, 1, "6.00"),  # equal sequence: within a file, and a later-run file that sorts before
    9009: (5002, 4, "40.00"),  # the customer is deleted
    9010: (5013, 1, "100.00"),  # later-run UPDATE with an earlier sequence loses
    9012: (5013, 1, "0.00"),
    9013: (5014, 3, "30.00"),
    9014: (5019, 1, "7.00"),
    9016: (5003, 1, "3.00"),
    9017: (0, 1, "3.00"),  # equal sequence within a file, across Parquet row groups
    9018: (INT64_MAX, 1, "1.00"),
    9019: (INT64_MIN, 2, "2.00"),
}
OPEN = None
FINAL_ADDRESSES = {  # customer_id -> [(version, __START_AT, __END_AT)]
    6001: [("v1", t(10), t(20)), ("v3", t(20), t(30)), ("v2", t(30), OPEN)],  # a late change splits a version
    6002: [("v0", t(10), t(20)), ("v1", t(20), OPEN)],  # a late, different change opens an earlier version
    6003: [("v1", t(10), OPEN)],  # a late, equal change moves __START_AT earlier
    6004: [("v1", t(10), t(50))],  # an UPDATE with unchanged values opens nothing; DELETE closes
    6005: [("v1n", t(10), t(30)), ("v1e", t(30), OPEN)],  # NULL equals NULL (null and missing); '' is not NULL
    6006: [("v1", t(10), t(20)), ("v1", t(30), OPEN)],  # re-INSERT of the same values after a DELETE
    6007: [("v1", t(10), t(20))],  # DELETE of a never-seen key, then a late INSERT before it
    6008: [("v1", t(10), OPEN)],  # equal sequence: the later run's file sorts before, loses
    6009: [("v2", t(10), OPEN)],  # equal sequence within a file: only the last applies
    6010: [("v1", t(10), t(20)), ("v2", t(30), OPEN)],  # a late DELETE inside a version
    6011: [("v1", t(10), t(30)), ("v2", t(30), OPEN)],  # a late change equal to the version in force
    6012: [("v1", t(10), t(20)), ("v2", t(20), OPEN)],  # a late change equal to the next version: its start moves
    6013: [("v1", t(5), t(10)), ("v2", t(10), OPEN)],  # equal sequence: a DELETE in a file that sorts before loses
    6014: [("v0", t(5), t(10))],  # equal sequence: a DELETE in a file that sorts after wins
    6015: [("v1", t(10), t(20)), ("v1", t(30), OPEN)],  # same values after a DELETE, in a later run
    6016: [("v1", t(10), t(30)), ("v2", t(30), OPEN)],  # sequence first, not the row position
    6017: [("v1", t(10) + 123456, t(20)), ("v2", t(20), OPEN)],  # offset converted, fraction truncated
    6018: [("v2", t(10), OPEN)],  # equal sequence: the later run's file sorts after, wins
    6019: [("v2", t(5), t(10)), ("v1", t(10), OPEN)],  # a late change before the first one
    6020: [("v1", t(5), OPEN)],  # equal sequence, the winner (later run) equals the previous version
    6021: [("v1", t(10), t(20)), ("v1", t(30), OPEN)],  # a change that opened nothing opens a version after a late DELETE
    6022: [("v1", t(10), t(20)), ("v2", t(20), t(30)), ("v1", t(30), OPEN)],  # ... after a late different change
    6023: [("v1", t(10), t(20)), ("v2", t(30), t(40))],  # a DELETE that closed nothing closes a late version
    6024: [("v1", t(10), OPEN)],  # equal sequence with a change that opened nothing: that one wins (sorts after)
    6025: [("v1", -1_000_000, 253402300799999999), ("v2", 253402300799999999, OPEN)],  # 1969 and 9999
    6026: [("v1", t(10), t(20)), ("v1s", t(20), OPEN)],  # 'Austin' != 'Austin ' (no trimming)
    6027: [],  # equal sequence within a file: the DELETE is last, nothing opens
    6028: [("v1", t(10) + 1, t(10) + 2), ("v3", t(10) + 2, OPEN)],  # 1 µs apart; 7 digits truncated to a tie
    6029: [("v1", t(10), t(20)), ("v1p", t(20), OPEN)],  # a change missing fields is not merged with the version
    0: [("v1", t(10), OPEN)],
    INT64_MAX: [("v2", t(10), OPEN)],
    INT64_MIN: [("v3", t(10), OPEN)],
    5003: [("v3", t(30), OPEN)],
    5013: [("v0", t(10), OPEN)],
    5015: [("v1", t(10), t(20)), ("v2", t(20), OPEN)],
    5016: [("v2", t(10), t(40))],
    5020: [("v1", t(10), OPEN)],
}
FINAL_GOLD = {  # customer_id -> (city, state, country, total_orders, total_items_order, total_order_amount), or None
    5001: (None, None, None, 0, 0, "0.00"),
    5002: None,
    5003: ("Toronto", "ON", "CA", 1, 1, "3.00"),
    5013: ("Lisboa", None, "PT", 4, 5, "117.00"),
    5014: (None, None, None, 1, 3, "30.00"),
    5015: ("München", "BY", "DE", 2, 2 * MANY, "19999999999.98"),  # beyond Int32 and Decimal(12, 2)
    5016: (None, None, None, 1, 1, "1.00"),  # the address was deleted
    5019: (None, None, None, 1, 1, "7.00"),
    5020: ("Austin", "TX", "US", 0, 0, "0.00"),
    0: ("Austin", "TX", "US", 1, 1, "3.00"),
    INT64_MAX: ("München", "BY", "DE", 1, 1, "1.00"),
    INT64_MIN: ("Toronto", "ON", "CA", 1, 2, "2.00"),
}
EDGE_NOTES = {
    "silver_customers": {k: "" for k in FINAL_CUSTOMERS},
    "silver_orders": {k: "" for k in FINAL_ORDERS},
    "silver_addresses": {k: "" for k in FINAL_ADDRESSES},
    GOLD: {k: "" for k in FINAL_GOLD},
}


def _notes_from_source() -> None:
    """The trailing comments of the FINAL_* tables, as notes for failure reports."""
    import inspect

    source = inspect.getsource(inspect.getmodule(_notes_from_source))
    for table, name in (
        ("silver_customers", "FINAL_CUSTOMERS"),
        ("silver_orders", "FINAL_ORDERS"),
        ("silver_addresses", "FINAL_ADDRESSES"),
        (GOLD, "FINAL_GOLD"),
    ):
        block = source.split(f"\n{name} = {{", 1)[1].split("\n}", 1)[0]
        for line in block.splitlines():
            m = re.match(r"\s+(-?\d+|INT64_MAX|INT64_MIN): .*#\s*(.*)$", line)
            if m:
                key = {"INT64_MAX": INT64_MAX, "INT64_MIN": INT64_MIN}.get(m.group(1)) or int(m.group(1))
                EDGE_NOTES[table][key] = m.group(2)


_notes_from_source()


def write_edge_file(root: Path, relative: str, rows: list) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if relative.endswith(".csv"):
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(landing.CUSTOMER_COLUMNS)
        for r in rows:
            writer.writerow(["" if r[c] is None else r[c] for c in landing.CUSTOMER_COLUMNS])
        path.write_bytes(buf.getvalue().encode("utf-8"))
    elif relative.endswith(".jsonl"):
        path.write_bytes(("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n").encode("utf-8"))
    elif relative.endswith(".parquet"):
        pq.write_table(landing._order_table(rows, landing.ORDER_SCHEMA), path, row_group_size=2 if "-rg" in relative else None)
    else:
        raise ValueError(relative)
    return path


DERIVED = {"r2_late": "batch-0001-u", "r3_late": "batch-0003-u"}


def _modify(bronze: str, row: dict, rng: random.Random) -> None:
    if bronze == "bronze_customers":
        row["first_name"] = rng.choice(landing.FIRST_NAMES) + "-u"
        row["email"] = f"u{rng.randint(1, 9)}@example.com"
    elif bronze == "bronze_addresses":
        row["street"] = f"Changed St {rng.randint(1, 9)}"  # a small range: some changes repeat values
    else:
        row["customer_id"] = rng.randint(1, 60)
        row["items"] = rng.randint(1, 9)
        row["amount"] = Decimal(rng.randint(100, 99_999)).scaleb(-2)


def write_derived_updates(root: Path, name: str, seed: str) -> list[Path]:
    """Random changes to keys of the generated files already in `root`: the
    same values again or new ones, with a later, an earlier or the same
    sequence, and deletes. The generator never updates an order of an
    earlier batch; this does, and it makes ties between generated files."""
    rng = random.Random(f"scd-derived/{seed}/{name}")
    written = []
    for bronze, ext in (("bronze_customers", "csv"), ("bronze_addresses", "jsonl"), ("bronze_orders", "parquet")):
        sources = [p for p in oracle.source_files(root, bronze) if p.name.startswith("batch-") and "-u." not in p.name]
        rows = [c.row for p in sources for c in oracle_scd.file_changes(root, bronze, p)[1]]
        out = []
        for r in rng.sample(rows, min(24, len(rows))):
            kind = rng.choice(["same", "diff", "delete"])
            shift = rng.choice([-1, 0, 1])
            new = dict(r)
            new["operation"] = "DELETE" if kind == "delete" else rng.choice(["INSERT", "UPDATE"])
            new["updated_at"] = r["updated_at"] + shift * rng.randint(1, 7200) * 1_000_000
            if kind == "diff":
                _modify(bronze, new, rng)
            out.append(new)
        rng.shuffle(out)
        relative = f"{oracle.CONTRACT[bronze].folder}/{name}.{ext}"
        columns = [c for c, _ in oracle.CONTRACT[bronze].columns]
        if ext == "csv":
            rows_out = [
                {c: (oracle_scd.fmt_ts(v) if c == "updated_at" else None if v is None else str(v)) for c, v in ((c, r[c]) for c in columns)}
                for r in out
            ]
        elif ext == "jsonl":
            rows_out = [{c: (oracle_scd.fmt_ts(r[c]) if c == "updated_at" else r[c]) for c in columns} for r in out]
        else:
            rows_out = out
        written.append(write_edge_file(root, relative, rows_out))
    return written


# ---------------------------------------------------------------- scenario --

SUMMARY_STATUS = re.compile(r"^(\S+)\s+(done|no change|FAILED|skipped)\s")


def summary_status(stdout: str) -> dict[str, str]:
    out = {}
    for line in stdout.splitlines():
        m = SUMMARY_STATUS.match(line)
        if m and m.group(1) != "table":
            out[m.group(1)] = m.group(2)
    return out


def lake_tables(lake: Path) -> list[str]:
    if not lake.is_dir():
        return []
    return sorted(p.name for p in lake.iterdir() if (p / "_delta_log").is_dir() and p.name != "_event_log")


class Lake:
    """A workspace: landing/ and lake/, run one step after another."""

    def __init__(self, root: Path, run_lfhost, seed_pipeline, read_duckdb, env=None):
        self.root = root
        self.env = env
        self.landing = root / "landing"
        self.lake = root / "lake"
        self.landing.mkdir(parents=True)
        self.lake.mkdir()
        self.run_lfhost = run_lfhost
        self.seed_pipeline = seed_pipeline
        self.read_duckdb = read_duckdb
        self.steps: dict[str, dict] = {}

    def versions(self) -> dict:
        return {t: delta_version(self.lake / t) for t in lake_tables(self.lake)}

    def run(self, label: str, new_files: list[str]) -> dict:
        before = self.versions()
        rc, out, err = self.run_lfhost(
            "run", self.seed_pipeline, "--var", "landing=landing", "--var", "lake=lake", cwd=self.root, timeout=120, env=self.env
        )
        step = {
            "rc": rc,
            "stdout": out,
            "stderr": err,
            "text": f"run `{label}` exited {rc}\nstdout:\n{out}\nstderr:\n{err}",
            "new_files": new_files,
            "versions_before": before,
            "versions_after": self.versions(),
            "expected": oracle_scd.expected(self.landing),
            "deltalake": {},
            "duckdb": {},
        }
        for table in TABLES:
            exists = delta_version(self.lake / table) is not None
            step["deltalake"][table] = read_delta(self.lake / table) if exists else None
            step["duckdb"][table] = self.read_duckdb(self.lake / table) if exists else None
        self.steps[label] = step
        return step

    def final(self) -> dict:
        return self.steps[list(self.steps)[-1]]


def _relative_files(root: Path, paths) -> list[str]:
    return sorted(os.path.relpath(p, root) for p in paths)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory, run_lfhost, seed_pipeline, read_duckdb, warm_seed_plugins) -> Lake:
    root = Path(os.path.realpath(tmp_path_factory.mktemp("scd-gold")))
    s = Lake(root, run_lfhost, seed_pipeline, read_duckdb)
    for label in RUNS:
        written = []
        for batch in GENERATOR_BATCHES[label]:
            written += landing.write_batch(s.landing, batch, SEED, rows=ROWS, dirty=True, quality=True)
        if label in DERIVED:
            written += write_derived_updates(s.landing, DERIVED[label], str(SEED))
        for relative, rows in EDGE[label].items():
            written.append(write_edge_file(s.landing, relative, rows))
        s.run(label, _relative_files(s.landing, written))
    return s


def _copy(src_root: Path, dst_root: Path, relatives) -> None:
    for rel in relatives:
        (dst_root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src_root / rel, dst_root / rel)


@pytest.fixture(scope="module")
def one_run(scenario, tmp_path_factory, run_lfhost, seed_pipeline, read_duckdb) -> Lake:
    """Every file of the scenario, ingested in a single run."""
    root = Path(os.path.realpath(tmp_path_factory.mktemp("scd-one-run")))
    s = Lake(root, run_lfhost, seed_pipeline, read_duckdb)
    files = [f for step in scenario.steps.values() for f in step["new_files"]]
    _copy(scenario.landing, s.landing, files)
    s.run("all_at_once", files)
    return s


@pytest.fixture(scope="module")
def reverse_runs(scenario, tmp_path_factory, run_lfhost, seed_pipeline, read_duckdb) -> Lake:
    """The scenario's runs, newest files first (updates before their inserts)."""
    root = Path(os.path.realpath(tmp_path_factory.mktemp("scd-reverse")))
    s = Lake(root, run_lfhost, seed_pipeline, read_duckdb)
    for label in reversed(DATA_RUNS):
        files = scenario.steps[label]["new_files"]
        _copy(scenario.landing, s.landing, files)
        s.run(f"reverse_{label}", files)
    return s


@pytest.fixture(scope="module")
def clustered_runs(scenario, tmp_path_factory, run_lfhost, seed_pipeline, read_duckdb, lfhost_env) -> Lake:
    """The scenario's runs with merge clusters of a few changes, so that
    incremental runs rewrite some clusters and keep others, and groups of a
    few pieces, so that each merge runs several plugin instances (some at
    once) whose results must add up to the same tables."""
    root = Path(os.path.realpath(tmp_path_factory.mktemp("scd-clustered")))
    env = dict(lfhost_env, LFHOST_MERGE_CLUSTER_ROWS="4", LFHOST_MERGE_GROUP_ROWS="10")
    s = Lake(root, run_lfhost, seed_pipeline, read_duckdb, env=env)
    for label in RUNS:
        files = scenario.steps[label]["new_files"]
        _copy(scenario.landing, s.landing, files)
        if label == "r3_late":
            # A lost merge state is rebuilt from the input, not trusted.
            shutil.rmtree(s.lake / "silver_addresses" / "_lfhost_state")
        if label == "r5_no_customers":
            # A crash between the merge state's commit and the table's: the
            # state is a run ahead of the table, and must not be trusted.
            log = s.lake / "silver_orders" / "_delta_log"
            max(log.glob("*.json"), key=lambda p: int(p.stem)).unlink()
        s.run(f"clustered_{label}", files)
    return s


# ------------------------------------------------------------- comparing --


def _key_of(table: str) -> str:
    return oracle_scd.KEYS[table]


def _by_key(rows: list[dict], table: str, columns: list[str]) -> dict:
    key = _key_of(table)
    out: dict = {}
    for r in rows:
        out.setdefault(r.get(key), Counter())[tuple(r.get(c) for c in columns)] += 1
    return out


def _fmt_rows(counter: Counter, columns: list[str]) -> list[str]:
    lines = []
    for values, n in sorted(counter.items(), key=lambda kv: repr(kv[0])):
        text = oracle_scd.fmt_values(dict(zip(columns, values)), columns)
        lines.append(text + (f" x{n}" if n > 1 else ""))
    return lines or ["(no row)"]


def _sort_key(k):
    return (0, k) if isinstance(k, int) else (1, repr(k))


def table_diff(actual: list[dict], expected: oracle_scd.Expected, table: str, label: str, max_keys: int = 15) -> str | None:
    """None when `actual` holds exactly the oracle's rows; else a report that
    names every differing key with its expected and actual rows (and, for
    silver tables, the key's changes in the contract's order)."""
    columns = oracle_scd.columns_of(table)
    want = _by_key(expected.tables[table], table, columns)
    got = _by_key(actual, table, columns)
    differing = sorted((k for k in set(want) | set(got) if want.get(k, Counter()) != got.get(k, Counter())), key=_sort_key)
    if not differing:
        return None
    notes = EDGE_NOTES.get(table, {})
    differing.sort(key=lambda k: (k not in notes, _sort_key(k)))  # the hand-written edge keys first
    missing_cols = [c for c in columns if actual and c not in actual[0]]
    lines = [
        f"{table} {label}: {len(differing)} of {len(set(want) | set(got))} keys differ "
        f"({len(actual)} rows, expected {len(expected.tables[table])})"
        + (f"; columns missing from the table: {missing_cols}" if missing_cols else "")
    ]
    for k in differing[:max_keys]:
        note = notes.get(k)
        lines.append(f"- {_key_of(table)}={k}" + (f"  [edge case: {note}]" if note else ""))
        lines += [f"    expected {r}" for r in _fmt_rows(want.get(k, Counter()), columns)]
        lines += [f"    actual   {r}" for r in _fmt_rows(got.get(k, Counter()), columns)]
        if table != GOLD:
            lines.append("    changes, in (updated_at, file, row) order:")
            lines += [f"      {c.describe()}" for c in expected.changes_for(table, k)]
    if len(differing) > max_keys:
        lines.append(f"... and {len(differing) - max_keys} more keys: {differing[max_keys:max_keys + 40]}")
    return "\n".join(lines)


def schema_problem(data: pa.Table, table: str) -> str | None:
    got = [(f.name, str(f.type)) for f in data.schema]
    want = [(f.name, str(f.type)) for f in oracle_scd.expected_schema(table)]
    if got == want:
        return None
    return f"{table} schema:\n  got      {got}\n  expected {want}"


def _require_success(step: dict) -> None:
    assert step["rc"] == 0, step["text"]


# ------------------------------------------------------------------ tests --


@pytest.mark.parametrize("label", RUNS)
def test_run_succeeds(scenario, label):
    step = scenario.steps[label]
    _require_success(step)
    assert "error:" not in step["stdout"], step["text"]
    status = summary_status(step["stdout"])
    for table in TABLES:
        assert table in status, f"no summary line for {table}\n{step['text']}"


def test_oracle_agrees_with_the_hand_written_edge_cases(scenario):
    """Checks the oracle (not lfhost): its final tables hold, for every edge
    key, what was derived by hand from the contract."""
    tables = scenario.final()["expected"].tables
    customers = {r["customer_id"]: r for r in tables["silver_customers"]}
    for k, name in FINAL_CUSTOMERS.items():
        assert (customers[k]["first_name"] if k in customers else None) == name, (k, customers.get(k))
    assert customers[5031]["last_name"] == "Edge" and customers[5031]["email"] is None, customers[5031]
    orders = {r["order_id"]: r for r in tables["silver_orders"]}
    for k, want in FINAL_ORDERS.items():
        got = (orders[k]["customer_id"], orders[k]["items"], str(orders[k]["amount"])) if k in orders else None
        assert got == want, (k, orders.get(k))
    named = {tuple(v[c] for c in oracle_scd.TRACKED): n for n, v in V.items()}
    for k, want in FINAL_ADDRESSES.items():
        got = sorted(
            (named[tuple(r[c] for c in oracle_scd.TRACKED)], r["__START_AT"], r["__END_AT"])
            for r in tables["silver_addresses"]
            if r["customer_id"] == k
        )
        assert got == sorted(want), (k, got)
    gold = {r["customer_id"]: r for r in tables[GOLD]}
    for k, want in FINAL_GOLD.items():
        cols = ["city", "state", "country", "total_orders", "total_items_order", "total_order_amount"]
        got = tuple(str(gold[k][c]) if c == "total_order_amount" else gold[k][c] for c in cols) if k in gold else None
        assert got == want, (k, gold.get(k))
    assert 7777 not in gold


def test_the_generated_data_exercises_scd(scenario):
    """Guards against a scenario that tests little: generated keys change
    several times, across runs, with deletes, and late runs carry earlier
    sequences than ingested ones."""
    exp = scenario.final()["expected"]
    for bronze in oracle.BRONZE_TABLES:
        changes = [c for c in exp.changes[bronze] if c.path.startswith(b"batch-")]
        assert len(changes) > 60, bronze
        key = "order_id" if bronze == "bronze_orders" else "customer_id"
        per_key = Counter(c.row[key] for c in changes)
        assert sum(1 for n in per_key.values() if n >= 2) >= 5, f"{bronze}: too few keys with several changes"
        assert any(c.op == "DELETE" for c in changes), bronze
    r1_max = max(c.seq for c in exp.changes["bronze_customers"] if c.path.startswith(b"batch-0002"))
    late_min = min(c.seq for c in exp.changes["bronze_customers"] if c.path.startswith(b"batch-0001"))
    assert late_min < r1_max
    versions = Counter(r["customer_id"] for r in exp.tables["silver_addresses"] if r["customer_id"] <= 60)
    assert any(n >= 2 for n in versions.values()), "no generated address key with history"


@pytest.mark.parametrize("clean", list(oracle_scd.CLEAN_OF.values()))
def test_clean_tables_are_the_oracles_input(scenario, clean):
    """The premise: the oracle's changes (bronze oracle + drop expectations)
    are the silver_*_clean rows lfhost wrote (all columns but _ingested_at)."""
    step = scenario.final()
    _require_success(step)
    bronze = {v: k for k, v in oracle_scd.CLEAN_OF.items()}[clean]
    rows = helpers.table_rows(read_delta(scenario.lake / clean))
    expected = [c.row for c in step["expected"].changes[bronze]]
    helpers.assert_same_rows(rows, expected, f"{clean} (oracle input)", list(expected[0]))


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize("label", RUNS)
def test_table_schema(scenario, label, table, reader):
    step = scenario.steps[label]
    _require_success(step)
    data = step[reader][table]
    assert data is not None, f"{table} does not exist after `{label}`"
    problem = schema_problem(data, table)
    assert problem is None, f"after `{label}`, read by {reader}: {problem}"


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize("label", RUNS)
def test_table_matches_the_oracle(scenario, label, table, reader):
    step = scenario.steps[label]
    _require_success(step)
    data = step[reader][table]
    assert data is not None, f"{table} does not exist after `{label}`"
    expected = step["expected"]
    assert expected.tables[table], f"the oracle expects no row in {table}: the test data is wrong"
    problem = table_diff(helpers.table_rows(data), expected, table, f"after `{label}` read by {reader}")
    assert problem is None, problem


def test_nothing_new_adds_no_version_and_says_no_change(scenario):
    step = scenario.steps["r4_nothing_new"]
    _require_success(step)
    assert step["new_files"] == []
    before, after = step["versions_before"], step["versions_after"]
    for table in TABLES:
        assert before.get(table) is not None, f"{table} missing before the run"
    changed = {t: (before.get(t), after.get(t)) for t in set(before) | set(after) if before.get(t) != after.get(t)}
    assert not changed, f"a run with no new file committed versions (table: (before, after)): {changed}"
    status = summary_status(step["stdout"])
    not_unchanged = {t: status.get(t) for t in TABLES if status.get(t) != "no change"}
    assert not not_unchanged, f"summary status of the SCD/gold tables: {not_unchanged}\n{step['stdout']}"
    others = {t: s for t, s in status.items() if s != "no change"}
    assert not others, f"summary: {others}"


def test_every_data_run_commits_a_version_to_gold(scenario):
    """Gold is recomputed whenever an input changes (r5 has no customer file)."""
    for label in DATA_RUNS:
        step = scenario.steps[label]
        _require_success(step)
        before = step["versions_before"].get(GOLD)
        want = 0 if before is None else before + 1
        assert step["versions_after"].get(GOLD) == want, (label, before, step["versions_after"].get(GOLD))


def _rows_of(lake: Lake, table: str) -> list[dict]:
    return helpers.table_rows(lake.final()["deltalake"][table])


@pytest.mark.parametrize("table", TABLES)
def test_one_run_gives_the_same_tables(scenario, one_run, table):
    _require_success(one_run.final())
    _require_success(scenario.final())
    expected = scenario.final()["expected"]
    problem = table_diff(_rows_of(one_run, table), expected, table, "after one run of every file")
    assert problem is None, problem
    columns = oracle_scd.columns_of(table)
    helpers.assert_same_rows(_rows_of(one_run, table), _rows_of(scenario, table), f"{table}: one run vs five runs", columns)


@pytest.mark.parametrize("table", TABLES)
def test_reverse_split_gives_the_same_tables(scenario, reverse_runs, table):
    for step in reverse_runs.steps.values():
        _require_success(step)
    expected = scenario.final()["expected"]
    problem = table_diff(_rows_of(reverse_runs, table), expected, table, "after the runs in reverse order")
    assert problem is None, problem
    columns = oracle_scd.columns_of(table)
    helpers.assert_same_rows(
        _rows_of(reverse_runs, table), _rows_of(scenario, table), f"{table}: reverse split vs scenario", columns
    )


@pytest.mark.parametrize("table", TABLES)
def test_reverse_split_matches_the_oracle_after_each_run(reverse_runs, table):
    for label, step in reverse_runs.steps.items():
        _require_success(step)
        problem = table_diff(helpers.table_rows(step["deltalake"][table]), step["expected"], table, f"after `{label}`")
        assert problem is None, problem


GOLD_DUCKDB_TYPES = [
    ("customer_id", "BIGINT"),
    ("first_name", "VARCHAR"),
    ("last_name", "VARCHAR"),
    ("email", "VARCHAR"),
    ("city", "VARCHAR"),
    ("state", "VARCHAR"),
    ("country", "VARCHAR"),
    ("total_orders", "BIGINT"),
    ("total_items_order", "BIGINT"),
    ("total_order_amount", "DECIMAL(18,2)"),
]


def test_gold_is_readable_by_duckdb_with_the_contract_types(scenario, duck):
    _require_success(scenario.final())
    path = os.fspath(scenario.lake / GOLD).replace("'", "''")
    described = duck.execute(f"DESCRIBE SELECT * FROM delta_scan('{path}')").fetchall()
    assert [(r[0], r[1]) for r in described] == GOLD_DUCKDB_TYPES
    gold = scenario.final()["expected"].tables[GOLD]
    row = duck.execute(
        f"SELECT count(*), count(DISTINCT customer_id), sum(total_orders), sum(total_items_order), "
        f"sum(total_order_amount) FROM delta_scan('{path}')"
    ).fetchone()
    want = (
        len(gold),
        len(gold),
        sum(r["total_orders"] for r in gold),
        sum(r["total_items_order"] for r in gold),
        sum(r["total_order_amount"] for r in gold),
    )
    assert tuple(row) == want
    big = duck.execute(
        f"SELECT total_items_order, total_order_amount FROM delta_scan('{path}') WHERE customer_id = 5015"
    ).fetchall()
    assert big == [(2 * MANY, Decimal("19999999999.98"))], big


@pytest.mark.parametrize("table", TABLES)
def test_small_clusters_match_the_oracle_after_each_run(clustered_runs, table):
    for label, step in clustered_runs.steps.items():
        _require_success(step)
        problem = table_diff(helpers.table_rows(step["deltalake"][table]), step["expected"], table, f"after `{label}`")
        assert problem is None, problem


def _merge_counters(lake: Path, table: str) -> list[dict]:
    events = read_delta(lake / "_event_log").to_pylist()
    runs = sorted((e for e in events if e["event_type"] == "flow_progress" and e["table_name"] == table), key=lambda e: e["timestamp"])
    return [json.loads(e["details"]).get("counters", {}) for e in runs]


@pytest.mark.parametrize("table", ["silver_customers", "silver_orders", "silver_addresses"])
def test_incremental_merges_rewrite_only_touched_clusters(clustered_runs, table):
    counters = [c for c in _merge_counters(clustered_runs.lake, table) if c]  # {}: nothing new
    assert len(counters) >= 3 and all("clusters_rewritten" in c for c in counters), counters
    assert counters[0]["clusters"] > 3, f"the first run made too few clusters to test with: {counters[0]}"
    partial = [c for c in counters[1:] if 0 < c["clusters_rewritten"] < c["clusters"]]
    assert partial, f"no incremental run of {table} kept any cluster as it was: {counters}"
    # Groups of 10 changes: the first run's merge was split into many flows,
    # run on at most one instance per core, each reused for the flows after it.
    first = counters[0]
    assert first["plugin_flows"] > 1, first
    assert 1 <= first["plugin_instances"] <= min(first["plugin_flows"], os.cpu_count() or 1), first


@pytest.mark.parametrize("label, table", [("r3_late", "silver_addresses"), ("r5_no_customers", "silver_orders")])
def test_a_lost_or_stale_merge_state_is_rebuilt(clustered_runs, label, table):
    step = clustered_runs.steps[f"clustered_{label}"]
    _require_success(step)
    said = step["stdout"] + step["stderr"]
    assert f"rebuilding {table} from its input" in said, step["text"]
