"""Plugins written in Python (plugins/pii-mask-python, componentize-py) and
JavaScript (plugins/derive-columns-js, jco) run in a pipeline behind the
Rust bronze plugin, through the host's `columns` interface: their tables
equal an oracle computed here, their counters reach the event log, their
option errors point at the TOML line, and `plugin inspect` describes them.

The suite builds both plugins from source (scripts/build-polyglot-plugins.sh),
so a change to their code or to the WIT contract is tested as it is."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

import helpers

LANDING_CSV = """\
customer_id,first_name,last_name,email,phone
1,Jane,Doe,jane.doe@Example.COM,+1-555-010-0100
2,Zoë,Ñúñez,zoe@mail.example.org,(555) 123-4567
3,,Solo,no-at-sign,1234
4,Kwame,,,
5,,,@bare.example,5
6,"O'Brien, Jr.",Lee,a@b@C.Org,+44 20 7946 0958
7,Émile,Zola,e@,phone: n/a
n/a,Ana,Silva,ANA@EXAMPLE.COM,55512
"""

PIPELINE = """\
[pipeline]
name = "polyglot"
lake = "lake"

[plugins]
bronze = {{ path = "{bronze}" }}
pii = {{ path = "{pii}" }}
derive = {{ path = "{derive}" }}

[tables.customers]
plugin = "bronze"
source = {{ path = "landing/customers", pattern = "*.csv" }}

[tables.customers.options]
format = "csv"
columns = [
  {{ name = "customer_id", type = "int64" }},
  {{ name = "first_name", type = "string" }},
  {{ name = "last_name", type = "string" }},
  {{ name = "email", type = "string" }},
  {{ name = "phone", type = "string" }},
]

[tables.masked]
plugin = "pii"
inputs = ["customers"]

[tables.masked.options]
mask = {{ email = "{email_method}", phone = "phone" }}

[tables.display]
plugin = "derive"
inputs = ["masked"]

[tables.display.options]
columns = [
  {{ name = "full_name", concat = ["first_name", "{last_name}"] }},
  {{ name = "email_domain", domain_of = "email" }},
]
"""

BRONZE_COLUMNS = ["customer_id", "first_name", "last_name", "email", "phone", "_rescued_data", "_source_file"]


@pytest.fixture(scope="module")
def polyglot_wasm(tmp_path_factory, repo) -> dict[str, Path]:
    """Both plugins, built from source by the repo's script."""
    out = tmp_path_factory.mktemp("polyglot-wasm")
    done = subprocess.run(
        [str(repo / "scripts" / "build-polyglot-plugins.sh"), str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"build-polyglot-plugins.sh failed\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return {"pii": out / "pii_mask.wasm", "derive": out / "derive_columns.wasm"}


def write_pipeline(root: Path, bronze_wasm, wasm, email_method="email", last_name="last_name") -> Path:
    path = root / "pipelines.toml"
    path.write_text(
        PIPELINE.format(
            bronze=os.fspath(bronze_wasm),
            pii=os.fspath(wasm["pii"]),
            derive=os.fspath(wasm["derive"]),
            email_method=email_method,
            last_name=last_name,
        )
    )
    return path


# ------------------------------------------------------------- oracle --
# Written apart from the plugins' code, from the rules in their READMEs.


def landing_rows(path: Path) -> list[dict]:
    """The bronze rows of LANDING_CSV: an empty field is null, a customer_id
    that is not an integer is null and rescued."""
    rows = []
    for record in csv.DictReader(io.StringIO(LANDING_CSV)):
        row = {k: (v if v != "" else None) for k, v in record.items()}
        rescued = None
        if row["customer_id"] is not None and re.fullmatch(r"[+-]?\d+", row["customer_id"]):
            row["customer_id"] = int(row["customer_id"])
        elif row["customer_id"] is not None:
            rescued = {"customer_id": row["customer_id"]}
            row["customer_id"] = None
        row["_rescued_data"] = rescued
        row["_source_file"] = os.fspath(path)
        rows.append(row)
    return rows


def masked_email(v):
    if v is None:
        return None
    at = v.rfind("@")
    return "***" if at < 0 else v[:at][:1] + "***" + v[at:]


def masked_phone(v):
    if v is None:
        return None
    digits = [i for i, c in enumerate(v) if c.isascii() and c.isdigit()]
    starred = set(digits[:-4] if len(digits) >= 5 else digits)
    return "".join("*" if i in starred else c for i, c in enumerate(v))


def domain_of(v):
    if v is None or "@" not in v:
        return None
    return v.rsplit("@", 1)[1].lower()


def full_name(*parts):
    present = [p for p in parts if p is not None]
    return " ".join(present) if present else None


def expected_tables(path: Path) -> tuple[list[dict], list[dict]]:
    masked = [dict(r, email=masked_email(r["email"]), phone=masked_phone(r["phone"])) for r in landing_rows(path)]
    display = [
        dict(r, full_name=full_name(r["first_name"], r["last_name"]), email_domain=domain_of(r["email"]))
        for r in masked
    ]
    return masked, display


def test_the_oracle_agrees_with_the_examples_in_the_brief():
    """Guards the oracle itself with the documented examples."""
    assert masked_email("jane.doe@example.com") == "j***@example.com"
    assert masked_email("no-at-sign") == "***"
    assert masked_phone("+1-555-010-0100") == "+*-***-***-0100"
    assert masked_phone("1234") == "****"
    assert domain_of("j***@Example.COM") == "example.com"


# -------------------------------------------------------------- tests --


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory, polyglot_wasm, bronze_wasm, run_lfhost):
    root = Path(os.path.realpath(tmp_path_factory.mktemp("polyglot-run")))
    landing = root / "landing" / "customers"
    landing.mkdir(parents=True)
    (landing / "batch-1.csv").write_text(LANDING_CSV, encoding="utf-8")
    pipeline = write_pipeline(root, bronze_wasm, polyglot_wasm)
    # The first run compiles two large components (CPython, SpiderMonkey).
    rc, out, err = run_lfhost("run", pipeline, cwd=root, timeout=600)
    assert rc == 0, f"lfhost run exited {rc}\nstdout:\n{out}\nstderr:\n{err}"
    return root, pipeline, landing / "batch-1.csv"


def test_python_and_javascript_tables_equal_the_oracle(pipeline_run):
    root, _, landing_file = pipeline_run
    want_masked, want_display = expected_tables(landing_file)
    masked = helpers.read_delta(root / "lake" / "masked")
    display = helpers.read_delta(root / "lake" / "display")
    # pii-mask keeps the schema; derive-columns appends its columns in option order.
    bronze_names = BRONZE_COLUMNS + ["_ingested_at"]
    assert masked.column_names == bronze_names
    assert display.column_names == bronze_names + ["full_name", "email_domain"]
    helpers.assert_same_rows(helpers.table_rows(masked), want_masked, "masked (Python plugin)", BRONZE_COLUMNS)
    helpers.assert_same_rows(
        helpers.table_rows(display), want_display, "display (JavaScript plugin)", BRONZE_COLUMNS + ["full_name", "email_domain"]
    )
    # The run's one _ingested_at passes through both plugins (a timestamp
    # crosses the `columns` interface as microseconds and back).
    bronze = helpers.table_rows(helpers.read_delta(root / "lake" / "customers"))
    stamps = {r["_ingested_at"] for t in (bronze, helpers.table_rows(masked), helpers.table_rows(display)) for r in t}
    assert len(stamps) == 1 and None not in stamps, stamps


def test_the_plugins_counters_reach_the_event_log(pipeline_run, run_lfhost):
    root, pipeline, landing_file = pipeline_run
    want_masked, want_display = expected_tables(landing_file)
    rc, out, err = run_lfhost("events", pipeline, "--json", cwd=root)
    assert rc == 0, (rc, out, err)
    progress = {
        e["origin"]["table"]: e["details"]
        for e in map(json.loads, out.splitlines())
        if e["event_type"] == "flow_progress"
    }
    landed = landing_rows(landing_file)
    masked_values = sum(r[c] is not None for r in landed for c in ("email", "phone"))
    derived_values = sum(r[c] is not None for r in want_display for c in ("full_name", "email_domain"))
    assert progress["masked"]["counters"].get("masked_values") == masked_values, progress["masked"]
    assert progress["display"]["counters"].get("derived_values") == derived_values, progress["display"]
    assert progress["masked"]["num_output_rows"] == len(want_masked), progress["masked"]
    assert progress["display"]["num_output_rows"] == len(want_display), progress["display"]


@pytest.mark.parametrize(
    "mistake, key, path, fragments",
    [
        # pii-mask (Python): a method it does not know.
        (dict(email_method="hash"), "mask", "options.mask.email", ("hash", "email, phone, redact")),
        # derive-columns (JavaScript): a concat part the input does not have.
        (dict(last_name="surname"), "concat", "options.columns.0.concat.1", ("surname", "customer_id")),
    ],
)
def test_option_errors_point_at_the_option(mistake, key, path, fragments, tmp_path, polyglot_wasm, bronze_wasm, run_lfhost):
    root = Path(os.path.realpath(tmp_path))
    (root / "landing" / "customers").mkdir(parents=True)
    pipeline = write_pipeline(root, bronze_wasm, polyglot_wasm, **mistake)
    rc, out, err = run_lfhost("validate", pipeline, cwd=root, timeout=600)
    assert rc == 2, f"`lfhost validate` exited {rc}, expected 2\nstdout:\n{out}\nstderr:\n{err}"
    problems = [line for line in err.splitlines() if line.startswith(f"{pipeline}:")]
    assert len(problems) == 1, f"expected one problem line, got {problems}\nstderr:\n{err}"
    m = re.match(re.escape(os.fspath(pipeline)) + r":(\d+):(\d+): (.*)$", problems[0])
    assert m, f"not `FILE:LINE:COL: message`: {problems[0]!r}"
    # The line is the option's own (a column inside an inline table is the
    # host's choice, so only the line is checked).
    text = pipeline.read_text().splitlines()
    line = int(m.group(1))
    assert key in text[line - 1], f"line {line} is {text[line - 1]!r}, not the `{key}` option: {problems[0]}"
    message = m.group(3)
    assert path in message, f"{path!r} not in {message!r}"
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


@pytest.mark.parametrize("plugin, name", [("pii", "pii-mask"), ("derive", "derive-columns")])
def test_plugin_inspect_describes_each_plugin(plugin, name, polyglot_wasm, run_lfhost, tmp_path):
    rc, out, err = run_lfhost("plugin", "inspect", polyglot_wasm[plugin], cwd=tmp_path, timeout=600)
    assert rc == 0, (rc, out, err)
    assert name in out, out
    assert "lfhost:plugin" in out and "0.1.3" in out, out
    assert "wasi:http" not in out, "the component imports wasi:http, which the host does not grant"
