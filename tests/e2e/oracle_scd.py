"""What the seed pipeline's SCD tables (silver_customers, silver_orders,
silver_addresses) and gold_customer_orders must hold, computed from the data
contract (shared/spec/medallion.md, "Landing files", "Expectations", "SCD
type 1", "SCD type 2", "Gold") alone, straight from the landing files:

1. every source file is parsed by the bronze oracle (oracle.py), which also
   gives each row its position within its file;
2. the contract's `drop` expectations are applied in Python with SQL's
   three-valued logic (a NULL result fails, so drops act as filters) — this
   gives the rows of the silver_*_clean tables, which the tests also check
   against the tables read back, so the premise is verified;
3. the changes are put in the contract's order: (updated_at, the file's path
   relative to its source folder compared byte-wise, the row's position in
   the file); how the files were split into runs plays no part;
4. SCD type 1: per key, the last change in that order; no row if it is a
   DELETE. Columns: the source columns less operation, _rescued_data,
   _source_file, _ingested_at;
5. SCD type 2: per key, among changes with equal sequence only the last
   applies; replayed in order, a change whose tracked values (street, city,
   state, postal_code, country; NULL equals NULL) equal those of the version
   in force opens no version, any other INSERT/UPDATE closes the version in
   force (if any) at its sequence and opens one from it, a DELETE closes the
   version in force and opens none. Columns exactly customer_id, street,
   city, state, postal_code, country, __START_AT, __END_AT;
6. gold: one row per silver_customers key, with the current address
   (__END_AT null) or nulls, and count / sum(items) / sum(amount) of the
   customer's silver_orders rows (0, 0, 0.00 when none).

Nothing here is read from pipelines.toml or from the plugins: the rules above
are the contract's. Rows are dicts; timestamps are integers (µs since the
epoch, UTC), dates `datetime.date`, decimals `decimal.Decimal`.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

import oracle

TS = pa.timestamp("us", tz="UTC")
OPERATIONS = ("INSERT", "UPDATE", "DELETE")
METADATA = ("operation", "_rescued_data", "_source_file", "_ingested_at")  # the except_column_list
TRACKED = ("street", "city", "state", "postal_code", "country")

CLEAN_OF = {
    "bronze_customers": "silver_customers_clean",
    "bronze_addresses": "silver_addresses_clean",
    "bronze_orders": "silver_orders_clean",
}
SCD1 = {  # table: (bronze source, key)
    "silver_customers": ("bronze_customers", "customer_id"),
    "silver_orders": ("bronze_orders", "order_id"),
}
SCD2 = {"silver_addresses": ("bronze_addresses", "customer_id")}
GOLD = "gold_customer_orders"
TABLES = ("silver_customers", "silver_orders", "silver_addresses", GOLD)
KEYS = {"silver_customers": "customer_id", "silver_orders": "order_id", "silver_addresses": "customer_id", GOLD: "customer_id"}
SOURCE_OF = {"silver_customers": "bronze_customers", "silver_orders": "bronze_orders", "silver_addresses": "bronze_addresses"}


# ------------------------------------------------------------ schemas --


def _declared(bronze: str) -> list[tuple[str, pa.DataType]]:
    return [(name, oracle.ARROW_TYPES[ty]) for name, ty in oracle.CONTRACT[bronze].columns]


def scd1_columns(table: str) -> list[str]:
    bronze, _ = SCD1[table]
    return [name for name, _ in _declared(bronze) if name not in METADATA]


SCD2_COLUMNS = ["customer_id", *TRACKED, "__START_AT", "__END_AT"]
GOLD_COLUMNS = [
    "customer_id", "first_name", "last_name", "email", "city", "state", "country",
    "total_orders", "total_items_order", "total_order_amount",
]


def expected_schema(table: str) -> pa.Schema:
    if table in SCD1:
        bronze, _ = SCD1[table]
        return pa.schema([pa.field(n, t) for n, t in _declared(bronze) if n not in METADATA])
    if table in SCD2:
        types = dict(_declared("bronze_addresses"))
        return pa.schema([pa.field(n, types[n]) for n in ["customer_id", *TRACKED]] + [pa.field("__START_AT", TS), pa.field("__END_AT", TS)])
    if table == GOLD:
        s = pa.string()
        return pa.schema(
            [
                pa.field("customer_id", pa.int64()),
                pa.field("first_name", s),
                pa.field("last_name", s),
                pa.field("email", s),
                pa.field("city", s),
                pa.field("state", s),
                pa.field("country", s),
                pa.field("total_orders", pa.int64()),
                pa.field("total_items_order", pa.int64()),
                pa.field("total_order_amount", pa.decimal128(18, 2)),
            ]
        )
    raise KeyError(table)


def columns_of(table: str) -> list[str]:
    return [f.name for f in expected_schema(table)]


# ------------------------------------------------- SQL three-valued logic --


def _or(*values):
    if any(v is True for v in values):
        return True
    if any(v is None for v in values):
        return None
    return False


def _and(*values):
    if any(v is False for v in values):
        return False
    if any(v is None for v in values):
        return None
    return True


def _eq(a, b):
    return None if a is None or b is None else a == b


def _in(a, values):
    return None if a is None else a in values


def _cmp(a, op, b):
    if a is None or b is None:
        return None
    return {">=": a >= b, ">": a > b}[op]


def _length_between(text, low, high):
    return None if text is None else low <= len(text) <= high  # characters


def _is_delete(r):
    return _eq(r["operation"], "DELETE")


# The contract's `drop` expectations (warn ones keep the row), as written there.
DROPS = {
    "bronze_customers": (
        ("valid_customer_id", lambda r: r["customer_id"] is not None),
        ("valid_operation", lambda r: _in(r["operation"], OPERATIONS)),
        ("valid_sequence", lambda r: r["updated_at"] is not None),
    ),
    "bronze_addresses": (
        ("valid_customer_id", lambda r: r["customer_id"] is not None),
        ("valid_operation", lambda r: _in(r["operation"], OPERATIONS)),
        ("valid_sequence", lambda r: r["updated_at"] is not None),
        (
            "valid_postal_code",
            lambda r: _or(_is_delete(r), _and(r["postal_code"] is not None, _length_between(r["postal_code"], 3, 10))),
        ),
    ),
    "bronze_orders": (
        ("valid_order_id", lambda r: r["order_id"] is not None),
        ("valid_customer_id", lambda r: _or(_is_delete(r), r["customer_id"] is not None)),
        ("valid_operation", lambda r: _in(r["operation"], OPERATIONS)),
        ("valid_sequence", lambda r: r["updated_at"] is not None),
        ("non_negative_amount", lambda r: _or(_is_delete(r), _cmp(r["amount"], ">=", Decimal(0)))),
        ("positive_items", lambda r: _or(_is_delete(r), _cmp(r["items"], ">", 0))),
    ),
}


def passes_drops(bronze: str, row: dict) -> bool:
    return all(check(row) is True for _, check in DROPS[bronze])


# ------------------------------------------------------------- changes --


@dataclass(frozen=True)
class Change:
    seq: int  # updated_at, µs
    path: bytes  # the file's path relative to the source folder
    pos: int  # the row's position within the file
    row: dict = field(compare=False, hash=False)  # the clean row (declared columns, _rescued_data, _source_file)

    @property
    def order(self) -> tuple:
        return (self.seq, self.path, self.pos)

    @property
    def op(self) -> str:
        return self.row["operation"]

    def describe(self) -> str:
        rel = self.path.decode("utf-8", "replace")
        values = {k: v for k, v in self.row.items() if k not in METADATA and k != "updated_at"}
        return f"{fmt_ts(self.seq)} {rel}#{self.pos} {self.op:<6} {fmt_values(values)}"


def relative_path(landing, bronze: str, path) -> bytes:
    folder = os.path.abspath(os.path.join(os.fspath(landing), oracle.CONTRACT[bronze].folder))
    return os.fsencode(os.path.relpath(os.path.abspath(os.fspath(path)), folder))


def file_changes(landing, bronze: str, path) -> tuple[list[dict], list[Change]]:
    """All bronze rows of one file, and the ones that survive the drop
    expectations as changes (position = index among the file's rows)."""
    rows = oracle.expected_rows(bronze, [path])
    rel = relative_path(landing, bronze, path)
    kept = [Change(r["updated_at"], rel, i, r) for i, r in enumerate(rows) if passes_drops(bronze, r)]
    return rows, kept


def clean_changes(landing, bronze: str, files=None) -> list[Change]:
    """The changes (rows of the clean table) from these files (default: every
    matching file of the source folder now)."""
    if files is None:
        files = oracle.source_files(landing, bronze)
    out: list[Change] = []
    for path in files:
        out.extend(file_changes(landing, bronze, path)[1])
    return out


# ----------------------------------------------------------------- SCD --


def scd1(changes: list[Change], table: str) -> list[dict]:
    _, key = SCD1[table]
    columns = scd1_columns(table)
    last: dict = {}
    for c in sorted(changes, key=lambda c: c.order):
        last[c.row[key]] = c  # deletes are remembered too (tombstones)
    return [{col: c.row[col] for col in columns} for c in last.values() if c.op != "DELETE"]


def applied_changes(changes: list[Change]) -> list[Change]:
    """One key's changes in order, keeping only the last of equal sequences."""
    out: list[Change] = []
    for c in sorted(changes, key=lambda c: c.order):
        if out and out[-1].seq == c.seq:
            out[-1] = c
        else:
            out.append(c)
    return out


def scd2(changes: list[Change]) -> list[dict]:
    by_key: dict = {}
    for c in changes:
        by_key.setdefault(c.row["customer_id"], []).append(c)
    out: list[dict] = []
    for key, mine in by_key.items():
        current = None  # the version in force
        for c in applied_changes(mine):
            if c.op == "DELETE":
                if current is not None:
                    current["__END_AT"] = c.seq
                    current = None
                continue
            values = tuple(c.row[t] for t in TRACKED)
            if current is not None and tuple(current[t] for t in TRACKED) == values:  # None == None
                continue
            if current is not None:
                current["__END_AT"] = c.seq
            current = {"customer_id": key, **dict(zip(TRACKED, values)), "__START_AT": c.seq, "__END_AT": None}
            out.append(current)
    return out


CENT = Decimal("0.01")


def gold(customers: list[dict], addresses: list[dict], orders: list[dict]) -> list[dict]:
    current: dict = {}
    for a in addresses:
        if a["__END_AT"] is None:
            assert a["customer_id"] not in current, f"oracle bug: two current addresses for {a['customer_id']}"
            current[a["customer_id"]] = a
    per_customer: dict = {}
    for o in orders:
        per_customer.setdefault(o["customer_id"], []).append(o)
    out = []
    for c in customers:
        address = current.get(c["customer_id"], {})
        mine = per_customer.get(c["customer_id"], [])
        out.append(
            {
                "customer_id": c["customer_id"],
                "first_name": c["first_name"],
                "last_name": c["last_name"],
                "email": c["email"],
                "city": address.get("city"),
                "state": address.get("state"),
                "country": address.get("country"),
                "total_orders": len(mine),
                "total_items_order": sum(o["items"] for o in mine),
                "total_order_amount": sum((o["amount"] for o in mine), Decimal(0)).quantize(CENT),
            }
        )
    return out


@dataclass
class Expected:
    changes: dict  # bronze table -> [Change]
    tables: dict  # table -> [row]

    def changes_for(self, table: str, key) -> list[Change]:
        """The changes behind one key of a silver table, in order."""
        bronze = SOURCE_OF[table]
        name = KEYS[table]
        return sorted((c for c in self.changes[bronze] if c.row[name] == key), key=lambda c: c.order)


def expected(landing, files: dict | None = None) -> Expected:
    """The four tables after ingesting `files` (bronze table -> paths; default
    every matching file now in `landing`)."""
    changes = {b: clean_changes(landing, b, None if files is None else files[b]) for b in oracle.BRONZE_TABLES}
    customers = scd1(changes["bronze_customers"], "silver_customers")
    orders = scd1(changes["bronze_orders"], "silver_orders")
    addresses = scd2(changes["bronze_addresses"])
    return Expected(
        changes,
        {
            "silver_customers": customers,
            "silver_orders": orders,
            "silver_addresses": addresses,
            GOLD: gold(customers, addresses, orders),
        },
    )


# ------------------------------------------------------------ display --

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def fmt_ts(us) -> str:
    if us is None:
        return "null"
    when = _EPOCH + dt.timedelta(microseconds=us)
    text = when.strftime("%Y-%m-%dT%H:%M:%S")
    if when.microsecond:
        text += f".{when.microsecond:06d}"
    return text + "Z"


def fmt_value(name: str, value) -> str:
    if value is None:
        return "null"
    if isinstance(value, int) and not isinstance(value, bool) and name in ("updated_at", "__START_AT", "__END_AT"):
        return fmt_ts(value)
    if isinstance(value, str):
        return repr(value)
    return str(value)


def fmt_values(row: dict, columns=None) -> str:
    columns = columns or list(row)
    return "{" + ", ".join(f"{c}={fmt_value(c, row.get(c))}" for c in columns) + "}"
