#!/usr/bin/env python3
"""Deterministic generator of landing files in the shape of the seed pipeline's
data contract (shared/spec/medallion.md, "Landing files" and "Malformed input").

    python tests/e2e/landing.py OUT_DIR --batches N --seed S [--rows R] [--first-batch K] [--clean]

writes, per batch k (file names sort by batch, then by part):

    OUT_DIR/customers/batch-KKKK-a.csv   header in declared order, LF, row-level dirt
    OUT_DIR/customers/batch-KKKK-b.csv   UTF-8 BOM, CRLF, columns reordered, no final newline
    OUT_DIR/customers/batch-KKKK-c.csv   `phone` missing from the header, extra `loyalty_tier` column
    OUT_DIR/addresses/batch-KKKK-a.jsonl objects, wrong JSON types, nulls, unknown fields, bad lines
    OUT_DIR/addresses/batch-KKKK-b.jsonl a few more objects, no final newline
    OUT_DIR/orders/batch-KKKK-a.parquet  the contract's Arrow types, several row groups, nulls
    OUT_DIR/orders/batch-KKKK-b.parquet  columns reordered, `items` missing, extra columns

With --clean only the `-a` files are written, without dirty rows. With
--quality each batch also gets

    OUT_DIR/customers/batch-KKKK-q.csv   rows that fail (or narrowly pass) each
    OUT_DIR/addresses/batch-KKKK-q.jsonl  expectation of the silver_*_clean
    OUT_DIR/orders/batch-KKKK-q.parquet   tables, one case per row

drawn from a random stream of their own, so the other files are the same
bytes with or without it.

The generator only writes text and values; it never decides what a table
should hold (that is oracle.py's job, from the files themselves). Each batch
is seeded by (seed, batch) alone, so batches can be added later and the same
arguments always give the same bytes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import unicodedata
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

CUSTOMER_COLUMNS = ["customer_id", "first_name", "last_name", "email", "phone", "operation", "updated_at"]
ADDRESS_FIELDS = ["customer_id", "street", "city", "state", "postal_code", "country", "operation", "updated_at"]
ORDER_SCHEMA = pa.schema(
    [
        pa.field("order_id", pa.int64()),
        pa.field("customer_id", pa.int64()),
        pa.field("order_date", pa.date32()),
        pa.field("status", pa.string()),
        pa.field("items", pa.int32()),
        pa.field("amount", pa.decimal128(12, 2)),
        pa.field("operation", pa.string()),
        pa.field("updated_at", pa.timestamp("us", tz="UTC")),
    ]
)

FIRST_NAMES = [
    "Ana", "José", "Zoë", "Łukasz", "Mei", "Ngozi", "Olivia", "Søren", "Émile", "Aarav",
    "Fatima", "Björn", "Chloé", "Dmitri", "Eun-ji", "Grace", "Hiroshi", "Inês", "Jamal", "Kwame",
]
LAST_NAMES = [
    "Silva", "O'Brien", "Müller", "Nakamura", "Okafor", "García", "Kowalski", "Nguyen", "Dubois",
    "Smith", "Johansson", "Rossi", "Patel", "Kim", "Ferreira", "Haddad", "Novák", "Lefèvre",
]
# (city, state or None, country, postal code shape)
PLACES = [
    ("Lisboa", None, "PT", "1100-{n3}"),
    ("São Paulo", "SP", "BR", "0{n4}-000"),
    ("Austin", "TX", "US", "787{n2}"),
    ("München", "BY", "DE", "80{n3}"),
    ("Kyōto", None, "JP", "600-{n4}"),
    ("Toronto", "ON", "CA", "M5V {n1}A{n1}"),
    ("Zürich", None, "CH", "80{n2}"),
    ("Lagos", "LA", "NG", "100{n3}"),
]
STREETS = ["Rua Augusta", "Main St", "Leopoldstraße", "Shijō-dōri", "King St W", "Bahnhofstrasse", "Allen Ave"]
OPERATIONS = ["INSERT"] * 6 + ["UPDATE"] * 3 + ["DELETE"]
STATUSES = ["PLACED", "SHIPPED", "DELIVERED", "CANCELLED", "RETURNED"]

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
DAY_US = 86_400_000_000

# CSV field markers: `QUOTED_EMPTY` is written `""`, `None` as nothing at all.
QUOTED_EMPTY = object()


class Raw(str):
    """A CSV record written exactly as given (no quoting, no field splitting)."""


def micros(when: dt.datetime) -> int:
    return (when - EPOCH) // dt.timedelta(microseconds=1)


def ts_text(rng: random.Random, us: int, style: str | None = None) -> str:
    """An RFC 3339 text for the instant `us` (µs since the epoch), in a random
    but valid style. Styles with fewer than 6 fraction digits drop the rest
    of the instant; `ns` adds 3 random digits past the microseconds."""
    style = style or rng.choices(["s", "ms", "us", "ns", "offset"], weights=[4, 2, 5, 1, 2])[0]
    utc = EPOCH + dt.timedelta(microseconds=us)
    offset = dt.timedelta(0)
    suffix = "Z"
    if style == "offset":
        hours, minutes = rng.choice([(2, 0), (-5, -30), (5, 45), (0, 0), (-8, 0)])
        offset = dt.timedelta(hours=hours, minutes=minutes)
        sign = "-" if offset < dt.timedelta(0) else "+"
        total = abs(hours * 60 + minutes)
        suffix = f"{sign}{total // 60:02d}:{total % 60:02d}"
    local = utc + offset
    base = local.strftime("%Y-%m-%dT%H:%M:%S")
    digits = {"s": 0, "ms": 3, "us": 6, "ns": 9}.get(style, rng.choice([0, 3, 6, 7, 9]))
    frac = f"{local.microsecond:06d}"
    if digits <= 6:
        frac = frac[:digits]
    else:
        frac = frac + "".join(str(rng.randint(0, 9)) for _ in range(digits - 6))
    return base + ("." + frac if frac else "") + suffix


_FOLD = str.maketrans({"ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "ß": "ss"})


def ascii_fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return text.encode("ascii", "ignore").decode("ascii")


class Batch:
    """Values for one batch: its random stream and its time window."""

    def __init__(self, seed: int, batch: int, rows: int):
        self.rng = random.Random(f"lfhost-landing/{seed}/{batch}")
        self.batch = batch
        self.rows = rows
        self.max_customer = max(40, rows * 2)
        # Mostly this batch's day, sometimes late data from up to 3 days before.
        self.day_start = micros(START) + (batch - 1) * DAY_US

    def instant(self) -> int:
        rng = self.rng
        late = DAY_US * rng.randint(1, 3) if rng.random() < 0.1 else 0
        return self.day_start - late + rng.randrange(DAY_US)

    def customer_id(self) -> int:
        return self.rng.randint(1, self.max_customer)

    # ------------------------------------------------------------ customers --

    def customer(self) -> dict:
        rng = self.rng
        cid = self.customer_id()
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{ascii_fold(first)}.{ascii_fold(last)}{cid}@example.com".lower().replace("'", "")
        return {
            "customer_id": str(cid),
            "first_name": first,
            "last_name": last,
            "email": email if rng.random() > 0.05 else email.replace("@", " at "),
            "phone": None if rng.random() < 0.2 else f"+1-555-{rng.randint(0, 9999):04d}",
            "operation": rng.choice(OPERATIONS),
            "updated_at": ts_text(rng, self.instant()),
        }

    def customer_dirt(self) -> list:
        """One record per kind of CSV dirt the contract lists."""
        rng = self.rng
        out: list = []

        def row(**changes):
            r = self.customer()
            r.update(changes)
            out.append(r)

        row(customer_id="C-1042")  # not an integer
        row(customer_id="12.5")  # not an integer
        row(customer_id="99999999999999999999")  # out of int64 range
        row(customer_id="+17")  # a sign is allowed
        row(customer_id="-3")
        row(updated_at="2026-02-30T10:00:00Z")  # no such day
        row(updated_at="yesterday")
        row(updated_at="2026-03-01")  # a date is not a timestamp
        row(updated_at="2026-03-01T12:15:00+02:00")  # offset, converted to UTC
        row(updated_at="2026-03-01T04:45:30.5-05:30")
        row(updated_at="2026-03-01T10:15:00.1234567891Z")  # truncated to µs
        row(updated_at="2026-03-01T23:59:59.999999999+02:00")
        row(email=QUOTED_EMPTY, phone=None)  # empty fields, quoted and not
        row(customer_id=None, updated_at=QUOTED_EMPTY, operation=QUOTED_EMPTY)
        row(first_name="Mary\nAnn", last_name="Smith, Jr.")  # quoted comma and newline
        row(first_name='Robert "Bob"', email='bob,"the builder"@example.com')  # quoted quotes
        row(operation="upsert")  # bronze keeps any string
        out.append(Raw("1001,Ann,Lee"))  # too few fields
        out.append(Raw(f"1002,Bo,Li,bo@example.com,+1-555-0101,INSERT,{ts_text(rng, self.instant())},surplus"))
        out.append(Raw('1003,"Lee, Jr.","two\nlines",x@example.com,,INSERT'))  # too few, spans two lines
        out.append(Raw(""))  # blank line
        out.append(Raw(""))
        return out

    # ------------------------------------------------------------ addresses --

    def address(self) -> dict:
        rng = self.rng
        city, state, country, shape = rng.choice(PLACES)
        postal = shape.format(
            n1=rng.randint(0, 9), n2=f"{rng.randint(0, 99):02d}", n3=f"{rng.randint(0, 999):03d}",
            n4=f"{rng.randint(0, 9999):04d}",
        )
        obj = {
            "customer_id": self.customer_id(),
            "street": f"{rng.choice(STREETS)} {rng.randint(1, 999)}",
            "city": city,
            "state": state,
            "postal_code": postal,
            "country": country,
            "operation": rng.choice(OPERATIONS),
            "updated_at": ts_text(rng, self.instant()),
        }
        if state is None and rng.random() < 0.5:
            del obj["state"]  # missing instead of null
        if rng.random() < 0.03:
            obj["postal_code"] = "1"  # too short for silver, fine for bronze
        if rng.random() < 0.03:
            obj["country"] = "PRT"
        return obj

    def address_dirt(self) -> list:
        """One line per kind of JSON dirt; `Raw` lines are written as is."""
        out: list = []

        def obj(**changes):
            o = self.address()
            for k, v in changes.items():
                if v is _DROP:
                    o.pop(k, None)
                else:
                    o[k] = v
            out.append(o)

        obj(customer_id="42")  # a string for an int64
        obj(customer_id="")
        obj(customer_id=7.5)  # a fraction for an int64
        obj(customer_id=True)  # a boolean for an int64
        obj(postal_code=12345)  # a number for a string
        obj(street=["1 Main St", "Apt 2"])  # an array for a string
        obj(city={"name": "Porto"})  # an object for a string
        obj(updated_at=1767225600)  # a number for a timestamp
        obj(updated_at="2026-13-01T00:00:00Z")  # no such month
        obj(updated_at="2026-03-01T12:00:00.123456789+02:00")  # valid: offset, 9 digits
        obj(updated_at="2026-03-01T00:00:00.000001-08:00")
        obj(state=None, country=None)  # JSON nulls
        obj(state=_DROP, postal_code=_DROP, updated_at=_DROP)  # missing fields
        obj(state="")  # an empty JSON string is a string
        obj(geo={"lat": 38.7, "lon": -9.1}, source_system="crm", note=None)  # unknown fields
        obj(street='Rua "Nova" \\ 2', city="Kyōto 🏠")
        out.append({})  # an object with no field at all
        out.append({"customer_id": None})
        for line in ["[1, 2, 3]", "42", '"just a string"', "null", "true"]:
            out.append(Raw(line))  # valid JSON, not an object
        for line in ['{"customer_id": 5, "street":', "not json at all", "{'customer_id': 6}", '{"customer_id": 7,}']:
            out.append(Raw(line))  # not JSON
        out.append(Raw(""))  # blank lines
        out.append(Raw(""))
        return out

    def json_line(self, obj: dict) -> str:
        rng = self.rng
        items = list(obj.items())
        rng.shuffle(items)
        separators = rng.choice([(", ", ": "), (",", ":")])
        return json.dumps(dict(items), ensure_ascii=rng.random() < 0.3, separators=separators)

    # --------------------------------------------------------------- orders --

    def order(self, i: int) -> dict:
        rng = self.rng
        day = (START + dt.timedelta(days=self.batch - 1 - rng.randint(0, 30))).date()
        amount = Decimal(rng.randint(100, 250_000)).scaleb(-2)
        row = {
            "order_id": self.batch * 1_000_000 + i if rng.random() > 0.1 else self.batch * 1_000_000 + rng.randint(0, max(i, 1)),
            "customer_id": self.customer_id(),
            "order_date": day,
            "status": rng.choice(STATUSES),
            "items": rng.randint(1, 9),
            "amount": amount,
            "operation": rng.choice(OPERATIONS),
            "updated_at": self.instant(),
        }
        roll = rng.random()
        if roll < 0.04:
            row["amount"] = -amount  # negative: silver drops it, bronze keeps it
        elif roll < 0.08:
            row["items"] = rng.choice([0, -1])
        elif roll < 0.11:
            row["status"] = "UNKNOWN"
        elif roll < 0.2:
            row[rng.choice(list(row))] = None  # a null somewhere
        return row


_DROP = object()


def _csv_field(value, rng: random.Random) -> str:
    if value is None:
        return ""
    if value is QUOTED_EMPTY:
        return '""'
    if any(c in value for c in ',"\r\n') or rng.random() < 0.1:
        return '"' + value.replace('"', '""') + '"'
    return value


def _csv_text(header: list[str], records: list, rng: random.Random, newline: str, bom: bool, final_newline: bool) -> bytes:
    lines = [",".join(header)]
    for record in records:
        if isinstance(record, Raw):
            lines.append(str(record).replace("\n", newline) if newline != "\n" else str(record))
        else:
            lines.append(",".join(_csv_field(record.get(c), rng) for c in header))
    text = newline.join(lines) + (newline if final_newline else "")
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


def _mix(rng: random.Random, clean: list, dirt: list) -> list:
    """`clean` with every item of `dirt` inserted at a random position."""
    out = list(clean)
    for item in dirt:
        out.insert(rng.randint(0, len(out)), item)
    return out


def _write(path: Path, data: bytes, written: list[Path]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    written.append(path)


def _order_table(rows: list[dict], schema: pa.Schema) -> pa.Table:
    return pa.table({f.name: pa.array([r.get(f.name) for r in rows], type=f.type) for f in schema}, schema=schema)


def write_batch(out_dir: Path, batch: int, seed: int, rows: int = 30, dirty: bool = True, quality: bool = False) -> list[Path]:
    """Writes batch number `batch` (1-based) and returns the files written."""
    out = Path(out_dir)
    b = Batch(seed, batch, rows)
    rng = b.rng
    name = f"batch-{batch:04d}"
    written: list[Path] = []

    # customers (CSV)
    records = [b.customer() for _ in range(rows)]
    if dirty:
        records = _mix(rng, records, b.customer_dirt())
    _write(out / "customers" / f"{name}-a.csv", _csv_text(CUSTOMER_COLUMNS, records, rng, "\n", False, True), written)
    if dirty:
        few = max(4, rows // 5)
        header = ["updated_at", "operation", "customer_id", "email", "last_name", "first_name", "phone"]
        records = [b.customer() for _ in range(few)]
        records[0]["last_name"] = "Line1\r\nLine2"  # a CRLF inside quotes
        records[-1]["updated_at"] = "2026-03-02T08:00:00.1234567+02:00"
        dirt = [Raw("2026-03-01T00:00:00Z,INSERT,1004"), Raw("")]
        records = _mix(rng, records[:-1], dirt) + records[-1:]
        data = _csv_text(header, records, rng, "\r\n", bom=True, final_newline=False)
        _write(out / "customers" / f"{name}-b.csv", data, written)

        header = ["customer_id", "first_name", "last_name", "email", "operation", "updated_at", "loyalty_tier"]
        records = []
        for _ in range(few):
            r = b.customer()
            r["loyalty_tier"] = rng.choice(["gold", "silver", None, QUOTED_EMPTY, "platinum, plus"])
            records.append(r)
        r = b.customer()
        r.update(customer_id="x9", loyalty_tier="gold")  # rescued twice
        records.append(r)
        r = b.customer()
        r.update(loyalty_tier=None, email=QUOTED_EMPTY)
        records.append(r)
        data = _csv_text(header, records, rng, "\n", bom=False, final_newline=True)
        _write(out / "customers" / f"{name}-c.csv", data, written)

    # addresses (JSON Lines)
    objects: list = [b.address() for _ in range(rows)]
    if dirty:
        objects = _mix(rng, objects, b.address_dirt())
    lines = [str(o) if isinstance(o, Raw) else b.json_line(o) for o in objects]
    _write(out / "addresses" / f"{name}-a.jsonl", ("\n".join(lines) + "\n").encode("utf-8"), written)
    if dirty:
        objects = [b.address() for _ in range(max(3, rows // 6))]
        objects[0]["loyalty"] = {"tier": "gold", "since": 2019}
        lines = [b.json_line(o) for o in objects]
        _write(out / "addresses" / f"{name}-b.jsonl", "\n".join(lines).encode("utf-8"), written)

    # orders (Parquet)
    orders = [b.order(i) for i in range(rows)]
    table = _order_table(orders, ORDER_SCHEMA)
    path = out / "orders" / f"{name}-a.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, row_group_size=max(1, rows // 3))
    written.append(path)
    if dirty:
        few = max(4, rows // 5)
        orders = [b.order(rows + i) for i in range(few)]
        for o in orders:
            o["channel"] = rng.choice(["web", "store", None])
            o["loyalty_points"] = rng.choice([None, rng.randint(0, 500)])
        names = ["updated_at", "operation", "amount", "status", "order_date", "customer_id", "order_id"]
        types = {f.name: f.type for f in ORDER_SCHEMA}
        schema = pa.schema(
            [pa.field(n, types[n]) for n in names]
            + [pa.field("channel", pa.string()), pa.field("loyalty_points", pa.int64())]
        )
        path = out / "orders" / f"{name}-b.parquet"
        pq.write_table(_order_table(orders, schema), path)
        written.append(path)
    if quality:
        written.extend(write_quality_batch(out, batch, seed))
    return written


def generate(
    out_dir, batches: int = 2, seed: int = 0, rows: int = 30, first_batch: int = 1, dirty: bool = True,
    quality: bool = False,
) -> list[Path]:
    """Writes batches first_batch .. first_batch+batches-1 under out_dir and
    returns the files written, in order."""
    written: list[Path] = []
    for batch in range(first_batch, first_batch + batches):
        written.extend(write_batch(Path(out_dir), batch, seed, rows, dirty, quality))
    return written


# ---------------------------------------------- data-quality edge cases --


def _quality_batch(seed: int, batch: int) -> Batch:
    """A Batch whose random stream is not the batch's own."""
    b = Batch(seed, batch, 10)
    b.rng = random.Random(f"lfhost-landing-quality/{seed}/{batch}")
    return b


def quality_customers(b: Batch) -> list[dict]:
    """Customers that fail (or just pass) the silver_customers_clean
    expectations: valid_customer_id, valid_operation, valid_sequence (drop),
    valid_email (warn)."""
    out = []

    def row(**changes):
        r = b.customer()
        r["email"] = r["email"].replace(" at ", "@")
        r["operation"] = "INSERT"
        r.update(changes)
        out.append(r)

    row()  # clean
    row(operation="UPDATE")
    row(customer_id=None)
    row(customer_id="not-a-number")  # null after parsing
    row(operation="insert")  # IN is case-sensitive
    row(operation="MERGE")
    row(operation=" DELETE")  # a space is part of the value
    row(operation=None)
    row(updated_at=None)
    row(updated_at="2026-02-29T00:00:00Z")  # no such day: null
    row(email="@example.com")  # nothing before the @
    row(email="ann@")  # nothing after it
    row(email="a@b")  # the shortest passing address
    row(email="ü@ß")  # one character each side, two bytes each
    row(email=None)  # NULL: fails (warn) unless a DELETE
    row(email="nobody", operation="DELETE")  # deletes need no email
    row(email=None, operation="DELETE")
    row(customer_id=None, operation="bogus", updated_at=None, email="x")  # every expectation fails
    row(operation="UPSERT", updated_at=None)  # two drop expectations, not the first
    return out


def quality_addresses(b: Batch) -> list[dict]:
    """Addresses for silver_addresses_clean: valid_customer_id,
    valid_operation, valid_sequence, valid_postal_code (drop), valid_country
    (warn). `length` counts characters, not bytes."""
    out = []

    def obj(**changes):
        o = b.address()
        o["operation"] = "INSERT"
        o["postal_code"] = "1100-042"
        o["country"] = "PT"
        o.update(changes)
        out.append(o)

    obj()  # clean
    obj(customer_id=None)
    obj(customer_id="17")  # a string for an int64: null
    obj(operation="Insert")
    obj(operation="upsert")
    obj(operation=None)
    obj(updated_at=None)
    obj(updated_at="2026-04-31T10:00:00Z")  # no such day: null
    obj(postal_code="12")  # 2 characters
    obj(postal_code="123")  # 3
    obj(postal_code="1234567890")  # 10
    obj(postal_code="12345678901")  # 11
    obj(postal_code="ÄÖ")  # 2 characters, 4 bytes: fails
    obj(postal_code="ÄÖÜ")  # 3 characters
    obj(postal_code="京都市下京区六条通り")  # 10 characters, 30 bytes: passes
    obj(postal_code="京都市下京区六条通り1")  # 11 characters
    obj(postal_code=None)  # NULL fails unless a DELETE
    obj(postal_code=12345)  # a number for a string: null
    obj(postal_code="1", operation="DELETE")  # deletes need no postal code
    obj(postal_code=None, operation="DELETE")
    obj(country="PRT")  # warn
    obj(country="")
    obj(country="P")
    obj(country=None)  # passes
    obj(country="ÄÖ")  # 2 characters, 4 bytes: passes
    obj(customer_id=None, operation="MERGE", updated_at=None, postal_code="9", country="PRT")  # everything fails
    obj(operation="UPSERT", postal_code="1234567890123")  # valid_operation and valid_postal_code
    return out


def quality_orders(b: Batch) -> list[dict]:
    """Orders for silver_orders_clean: valid_order_id, valid_customer_id,
    valid_operation, valid_sequence, non_negative_amount, positive_items
    (drop), valid_status (warn). NULL operands make NULL, which fails."""
    out = []
    base = b.batch * 1_000_000 + 900_000

    def row(**changes):
        r = b.order(0)
        r.update(order_id=base + len(out), customer_id=b.customer_id(), status="PLACED", items=2,
                 amount=Decimal("19.99"), operation="INSERT")
        r.update(changes)
        out.append(r)

    row()  # clean
    row(order_id=None)
    row(customer_id=None)
    row(customer_id=None, operation="DELETE")  # a delete needs no customer
    row(operation="MERGE")
    row(operation="delete")
    row(operation=None, amount=Decimal("5.00"), items=1)  # NULL OR TRUE is TRUE
    row(operation=None, amount=Decimal("-5.00"))  # NULL OR FALSE is NULL
    row(updated_at=None)
    row(amount=Decimal("-0.01"))
    row(amount=Decimal("0.00"))  # zero is not negative
    row(amount=None)
    row(amount=Decimal("-100.00"), operation="DELETE")
    row(items=0)
    row(items=-1)
    row(items=None)
    row(items=1)
    row(items=0, operation="DELETE")
    row(status="UNKNOWN")  # warn
    row(status="placed")
    row(status=None)
    row(status="UNKNOWN", operation="DELETE")
    row(order_id=None, customer_id=None, operation="MERGE", updated_at=None, amount=Decimal("-1.00"), items=0,
        status="LOST")  # everything fails
    row(amount=Decimal("-3.00"), items=0, status="UNKNOWN")  # both numeric checks and the warning
    return out


def write_quality_batch(out_dir, batch: int, seed: int) -> list[Path]:
    """The batch's `-q` files: quality_customers/addresses/orders."""
    out = Path(out_dir)
    b = _quality_batch(seed, batch)
    rng = b.rng
    name = f"batch-{batch:04d}-q"
    written: list[Path] = []
    records = quality_customers(b)
    rng.shuffle(records)
    _write(out / "customers" / f"{name}.csv", _csv_text(CUSTOMER_COLUMNS, records, rng, "\n", False, True), written)
    objects = quality_addresses(b)
    rng.shuffle(objects)
    lines = [b.json_line(o) for o in objects]
    _write(out / "addresses" / f"{name}.jsonl", ("\n".join(lines) + "\n").encode("utf-8"), written)
    orders = quality_orders(b)
    rng.shuffle(orders)
    path = out / "orders" / f"{name}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(_order_table(orders, ORDER_SCHEMA), path)
    written.append(path)
    return written


# ------------------------------------------------- files for special tests --


def write_ignored_files(out_dir) -> list[Path]:
    """Files next to the real ones that match no source pattern. Most would
    fail their table if they were read."""
    out = Path(out_dir)
    written: list[Path] = []
    junk = b"\xff\xfe not UTF-8 \xc3\x28 and not a table\n"
    _write(out / "customers" / "notes.txt", junk, written)
    _write(out / "customers" / "batch-0001-a.csv.bak", junk, written)
    _write(out / "customers" / "batch-9999.CSV.tmp", junk, written)
    _write(out / "addresses" / "batch-0001.json", b'{"customer_id": 1}\n' + junk, written)
    _write(out / "addresses" / "README.md", b"# addresses\n", written)
    _write(out / "orders" / "readme.txt", junk, written)
    _write(out / "orders" / "batch-0001-a.parquet.part", b"PAR1 truncated", written)
    return written


def write_truncated_parquet(path, seed: int = 0, rows: int = 50) -> Path:
    """A Parquet file of orders cut in half: not readable at all."""
    path = Path(path)
    b = Batch(seed, 9000, rows)
    table = _order_table([b.order(i) for i in range(rows)], ORDER_SCHEMA)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def write_non_utf8_csv(path, seed: int = 0, rows: int = 20) -> Path:
    """A customers CSV that is valid except for one Latin-1 byte deep inside."""
    path = Path(path)
    b = Batch(seed, 9001, rows)
    records = [b.customer() for _ in range(rows)]
    data = _csv_text(CUSTOMER_COLUMNS, records, b.rng, "\n", False, True)
    cut = data.index(b"\n", len(data) * 2 // 3) + 1
    bad = b"4242,Jos\xe9,Nu\xf1ez,jose@example.com,,INSERT,2026-03-01T00:00:00Z\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data[:cut] + bad + data[cut:])
    return path


def write_non_utf8_jsonl(path, seed: int = 0, rows: int = 20) -> Path:
    """An addresses JSON Lines file with one Latin-1 string deep inside."""
    path = Path(path)
    b = Batch(seed, 9002, rows)
    lines = [b.json_line(b.address()).encode("utf-8") for _ in range(rows)]
    lines.insert(rows * 2 // 3, b'{"customer_id": 4242, "city": "S\xe3o Paulo", "operation": "INSERT"}')
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--batches", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rows", type=int, default=30, help="rows per source per batch (plus dirty rows)")
    parser.add_argument("--first-batch", type=int, default=1)
    parser.add_argument("--clean", action="store_true", help="no dirty rows or odd files")
    parser.add_argument("--quality", action="store_true", help="also -q files of data-quality edge cases")
    args = parser.parse_args(argv)
    files = generate(
        args.out_dir, args.batches, args.seed, args.rows, args.first_batch, dirty=not args.clean, quality=args.quality
    )
    for path in files:
        print(os.fspath(path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
