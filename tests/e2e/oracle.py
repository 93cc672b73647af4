"""The bronze rows that landing files must give, computed from the data
contract (shared/spec/medallion.md) alone: Python's csv and json modules,
pyarrow for Parquet, and a hand-written RFC 3339 reader.

Rules applied (quoted or paraphrased from the contract):

* Only regular files of the source folder whose name matches the pattern.
* CSV: header row, comma, RFC 4180 quoting, UTF-8; a BOM is ignored; columns
  are matched by header name; a declared column missing from the header is
  null; an empty field, quoted or not, is null and not a parse failure.
* A value that does not parse as its declared type is null and
  `_rescued_data` holds the original value under the column's name; non-null
  values of unknown extra fields/columns go there too.
* JSON: a field of the wrong JSON type is such a value; a missing field or
  JSON null is simply null.
* A CSV record with the wrong number of fields, or a JSON line that is not an
  object (or not JSON), is a row with every typed column null and
  `_rescued_data` = {"_raw": "<the record's text>"}.
* Timestamps: RFC 3339, an offset is converted to UTC, digits past
  microseconds are truncated. Integers: decimal digits with an optional sign,
  within range.
* Blank lines hold no record (a JSON Lines file holds one object per line;
  an empty line is not a line of data in either format).

Rows are dicts: the declared columns, `_rescued_data` (a dict or None) and
`_source_file` (the file's absolute path). `_ingested_at` depends on the run,
so tests check it separately. Timestamps are integers (µs since the epoch,
UTC), dates `datetime.date`, decimals `decimal.Decimal`.
"""

from __future__ import annotations

import csv
import datetime as dt
import fnmatch
import io
import json
import os
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq


@dataclass(frozen=True)
class Source:
    folder: str
    pattern: str
    format: str
    columns: tuple[tuple[str, str], ...]


# The "Landing files" section, table by table.
CONTRACT = {
    "bronze_customers": Source(
        "customers",
        "*.csv",
        "csv",
        (
            ("customer_id", "int64"),
            ("first_name", "string"),
            ("last_name", "string"),
            ("email", "string"),
            ("phone", "string"),
            ("operation", "string"),
            ("updated_at", "timestamp"),
        ),
    ),
    "bronze_addresses": Source(
        "addresses",
        "*.jsonl",
        "jsonl",
        (
            ("customer_id", "int64"),
            ("street", "string"),
            ("city", "string"),
            ("state", "string"),
            ("postal_code", "string"),
            ("country", "string"),
            ("operation", "string"),
            ("updated_at", "timestamp"),
        ),
    ),
    "bronze_orders": Source(
        "orders",
        "*.parquet",
        "parquet",
        (
            ("order_id", "int64"),
            ("customer_id", "int64"),
            ("order_date", "date"),
            ("status", "string"),
            ("items", "int32"),
            ("amount", "decimal(12,2)"),
            ("operation", "string"),
            ("updated_at", "timestamp"),
        ),
    ),
}
BRONZE_TABLES = tuple(CONTRACT)
METADATA_COLUMNS = ("_rescued_data", "_source_file", "_ingested_at")

ARROW_TYPES = {
    "int32": pa.int32(),
    "int64": pa.int64(),
    "string": pa.string(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "decimal(12,2)": pa.decimal128(12, 2),
}
INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


def expected_schema(table: str) -> pa.Schema:
    """Declared columns in order, then _rescued_data, _source_file, _ingested_at."""
    fields = [pa.field(name, ARROW_TYPES[ty]) for name, ty in CONTRACT[table].columns]
    fields += [
        pa.field("_rescued_data", pa.string()),
        pa.field("_source_file", pa.string()),
        pa.field("_ingested_at", pa.timestamp("us", tz="UTC")),
    ]
    return pa.schema(fields)


def source_files(landing, table: str) -> list[Path]:
    """The files of `table`'s source folder that match its pattern, absolute."""
    source = CONTRACT[table]
    folder = Path(os.path.abspath(os.path.join(os.fspath(landing), source.folder)))
    if not folder.is_dir():
        return []
    return sorted(
        (folder / name for name in os.listdir(folder) if fnmatch.fnmatchcase(name, source.pattern) and (folder / name).is_file()),
        key=lambda p: os.fsencode(p),
    )


def expected_rows(table: str, files) -> list[dict]:
    """The bronze rows of `table` from exactly these files."""
    source = CONTRACT[table]
    reader = {"csv": read_csv, "jsonl": read_jsonl, "parquet": read_parquet}[source.format]
    rows: list[dict] = []
    for path in files:
        rows.extend(reader(Path(os.path.abspath(path)), source.columns))
    return rows


# ------------------------------------------------------------------ values --

_INT = re.compile(r"[+-]?[0-9]+")
_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_MISSING = object()  # "could not parse"


def parse_int(text: str, ty: str):
    if not _INT.fullmatch(text):
        return _MISSING
    value = int(text)
    low, high = INT_RANGES[ty]
    return value if low <= value <= high else _MISSING


def parse_timestamp(text: str):
    """RFC 3339 date-time → µs since the epoch (UTC), fraction truncated."""
    m = _RFC3339.fullmatch(text)
    if not m:
        return _MISSING
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    fraction = (m.group(7) or "")[:6].ljust(6, "0")
    zone = m.group(8)
    if zone in ("Z", "z"):
        offset = dt.timedelta(0)
    else:
        oh, om = int(zone[1:3]), int(zone[4:6])
        if oh > 23 or om > 59:
            return _MISSING
        offset = dt.timedelta(hours=oh, minutes=om) * (1 if zone[0] == "+" else -1)
    try:
        when = dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.timezone(offset))
    except ValueError:
        return _MISSING
    return (when - _EPOCH) // dt.timedelta(microseconds=1) + int(fraction)


def parse_date(text: str):
    m = _DATE.fullmatch(text)
    if not m:
        return _MISSING
    try:
        return dt.date(*(int(g) for g in m.groups()))
    except ValueError:
        return _MISSING


def parse_decimal(text: str, precision: int, scale: int):
    if not re.fullmatch(r"[+-]?[0-9]+(\.[0-9]+)?", text):
        return _MISSING
    try:
        value = Decimal(text)
    except InvalidOperation:
        return _MISSING
    if -value.as_tuple().exponent > scale:
        return _MISSING
    quantized = value.quantize(Decimal(1).scaleb(-scale))
    if len(quantized.as_tuple().digits) > precision:
        return _MISSING
    return quantized


def parse_text(text: str, ty: str):
    """A CSV field's text as `ty`, or _MISSING."""
    if ty == "string":
        return text
    if ty in INT_RANGES:
        return parse_int(text, ty)
    if ty == "timestamp":
        return parse_timestamp(text)
    if ty == "date":
        return parse_date(text)
    m = re.fullmatch(r"decimal\((\d+),(\d+)\)", ty)
    if m:
        return parse_decimal(text, int(m.group(1)), int(m.group(2)))
    raise NotImplementedError(f"the oracle does not know type {ty}")


def parse_json_value(value, ty: str):
    """A JSON value (not null) as `ty`, or _MISSING when it is the wrong JSON type."""
    if ty == "string":
        return value if isinstance(value, str) else _MISSING
    if ty in INT_RANGES:
        if isinstance(value, bool) or not isinstance(value, int):
            return _MISSING
        low, high = INT_RANGES[ty]
        return value if low <= value <= high else _MISSING
    if ty in ("timestamp", "date"):
        return parse_text(value, ty) if isinstance(value, str) else _MISSING
    raise NotImplementedError(f"the oracle does not know JSON values of type {ty}")


def _row(columns, values: dict, rescued: dict, path: Path) -> dict:
    row = {name: values.get(name) for name, _ in columns}
    row["_rescued_data"] = rescued or None
    row["_source_file"] = os.fspath(path)
    return row


def _malformed(columns, raw: str, path: Path) -> dict:
    return _row(columns, {}, {"_raw": raw}, path)


# --------------------------------------------------------------------- CSV --


def _strip_terminator(text: str) -> str:
    if text.endswith("\r\n"):
        return text[:-2]
    if text.endswith("\n") or text.endswith("\r"):
        return text[:-1]
    return text


def read_csv(path: Path, columns) -> list[dict]:
    text = path.read_bytes().decode("utf-8")  # strict: a non-UTF-8 file is an error
    if text.startswith("\ufeff"):
        text = text[1:]
    consumed: list[str] = []

    def lines():
        for line in io.StringIO(text, newline=""):
            consumed.append(line)
            yield line

    reader = csv.reader(lines(), dialect="excel", strict=True)
    consumed.clear()
    header = next(reader, None)
    if header is None:
        return []
    types = dict(columns)
    rows = []
    while True:
        consumed.clear()
        try:
            record = next(reader)
        except StopIteration:
            break
        raw = _strip_terminator("".join(consumed))
        if record == [] and raw == "":
            continue  # a blank line
        if len(record) != len(header):
            rows.append(_malformed(columns, raw, path))
            continue
        values: dict = {}
        rescued: dict = {}
        for name, field in zip(header, record):
            if field == "":
                continue  # null, quoted or not
            if name in types:
                value = parse_text(field, types[name])
                if value is _MISSING:
                    rescued[name] = field
                else:
                    values[name] = value
            else:
                rescued[name] = field
        rows.append(_row(columns, values, rescued, path))
    return rows


# -------------------------------------------------------------- JSON Lines --


def read_jsonl(path: Path, columns) -> list[dict]:
    text = path.read_bytes().decode("utf-8")
    types = dict(columns)
    rows = []
    for line in text.split("\n"):
        if line == "":
            continue  # blank line, or the end of the last line
        try:
            obj = json.loads(line)
        except ValueError:
            rows.append(_malformed(columns, line, path))
            continue
        if not isinstance(obj, dict):
            rows.append(_malformed(columns, line, path))
            continue
        values: dict = {}
        rescued: dict = {}
        for name, value in obj.items():
            if value is None:
                continue
            if name in types:
                parsed = parse_json_value(value, types[name])
                if parsed is _MISSING:
                    rescued[name] = value
                else:
                    values[name] = parsed
            else:
                rescued[name] = value
        rows.append(_row(columns, values, rescued, path))
    return rows


# ----------------------------------------------------------------- Parquet --


def _column_values(array: pa.ChunkedArray) -> list:
    if pa.types.is_timestamp(array.type):
        if array.type.unit != "us" or array.type.tz not in ("UTC", "+00:00", "Etc/UTC"):
            raise NotImplementedError(f"the oracle only knows µs UTC timestamps in Parquet, not {array.type}")
        return pc.cast(array, pa.int64()).to_pylist()
    return array.to_pylist()


def _json_compatible(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise NotImplementedError(f"the oracle cannot rescue a Parquet value of type {type(value)}")


def read_parquet(path: Path, columns) -> list[dict]:
    table = pq.read_table(path)
    types = dict(columns)
    declared = {}
    for name, ty in columns:
        if name in table.column_names:
            actual = table.schema.field(name).type
            if actual != ARROW_TYPES[ty]:
                raise NotImplementedError(f"{path}: column {name} is {actual}, the oracle expects {ARROW_TYPES[ty]}")
            declared[name] = _column_values(table.column(name))
    extra = {name: _column_values(table.column(name)) for name in table.column_names if name not in types}
    rows = []
    for i in range(table.num_rows):
        values = {name: vals[i] for name, vals in declared.items()}
        rescued = {name: _json_compatible(vals[i]) for name, vals in extra.items() if vals[i] is not None}
        rows.append(_row(columns, values, rescued, path))
    return rows
