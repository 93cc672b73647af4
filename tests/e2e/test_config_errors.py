"""A wrong pipeline file or option is reported as `FILE:LINE:COL: ...` on
stderr, with exit code 2, by `validate` and by `run` (which then moves no
data)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

BASE = """\
[pipeline]
name = "cfg"
lake = "${lake}"

[vars]
landing = "landing"
lake = "lake"

[plugins]
bronze = { path = "@WASM@" }

[tables.bronze_customers]
plugin = "bronze"
source = { path = "${landing}/customers", pattern = "*.csv" }

[tables.bronze_customers.options]
format = "csv"
columns = [
  { name = "customer_id", type = "int64" },
  { name = "first_name", type = "string" },
  { name = "updated_at", type = "timestamp" },
]
"""

CYCLE = """
[tables.c1]
plugin = "bronze"
inputs = ["c2"]

[tables.c2]
plugin = "bronze"
inputs = ["c1"]
"""

SILVER = """
[tables.silver_customers]
plugin = "bronze"
inputs = ["bronze_customer"]
"""


def position(text: str, marker: str) -> tuple[int, int]:
    """1-based line and column (in characters) of `marker` in `text`."""
    offset = text.index(marker)
    assert text.count(marker) == 1, f"marker {marker!r} is not unique"
    before = text[:offset]
    return before.count("\n") + 1, len(before.rsplit("\n", 1)[-1]) + 1


@dataclass
class Case:
    text: str
    # (marker, whose position the problem has) and what follows `FILE:L:C: `;
    # `exact` is the whole rest of the line, `prefix` its start, `contains`
    # fragments of it.
    marker: str | None = None
    exact: str | None = None
    prefix: str | None = None
    contains: tuple[str, ...] = ()
    line_only: bool = False  # the column depends on the TOML parser
    lines: tuple[int, int] | None = None  # accepted line range instead of a marker
    args: tuple[str, ...] = ()
    whole_line: str | None = None  # for problems without a position
    extra: dict = field(default_factory=dict)


def cases(wasm: Path) -> dict[str, Case]:
    base = BASE.replace("@WASM@", os.fspath(wasm))
    cycle = base + CYCLE
    c_start = cycle.index("[tables.c1]")
    first_line = cycle[:c_start].count("\n") + 1
    return {
        "syntax_error": Case(
            base.replace('name = "cfg"', 'name = = "cfg"'),
            marker='name = = "cfg"',
            line_only=True,
        ),
        "unknown_key": Case(
            base.replace('plugin = "bronze"\nsource', 'plugn = "bronze"\nplugin = "bronze"\nsource'),
            marker='plugn = "bronze"',
            prefix="unknown field `plugn`",
        ),
        "unknown_plugin": Case(
            base.replace('plugin = "bronze"', 'plugin = "silver"'),
            marker='"silver"',
            exact="table `bronze_customers`: unknown plugin `silver` (declared plugins: bronze)",
        ),
        "unknown_input_table": Case(
            base + SILVER,
            marker='"bronze_customer"]',
            exact="table `silver_customers`: unknown input table `bronze_customer`",
        ),
        "cycle": Case(
            cycle,
            lines=(first_line, cycle.count("\n")),
            contains=(),
            extra={"regex": r"the tables form a cycle: (c1 -> c2 -> c1|c2 -> c1 -> c2)$"},
        ),
        "undefined_variable": Case(
            base.replace("${landing}/customers", "${landng}/customers"),
            marker='"${landng}/customers"',
            exact="table `bronze_customers`: undefined variable `landng` (declared in [vars]: lake, landing)",
        ),
        "unknown_var_option": Case(
            base,
            args=("--var", "lak=somewhere"),
            whole_line="--var: unknown variable `lak` (declared in [vars]: lake, landing)",
        ),
        "option_rejected_by_plugin": Case(
            base.replace('type = "string"', 'type = "int65"'),
            marker='"int65"',
            prefix="table `bronze_customers`: options.columns.1.type: ",
            contains=("int65",),
        ),
        "unknown_option_key": Case(
            base.replace('format = "csv"', 'format = "csv"\nformt = "jsonl"'),
            marker='"jsonl"',
            prefix="table `bronze_customers`: options.formt: ",
            contains=("formt",),
        ),
        "missing_plugin_file": Case(
            base.replace(os.fspath(wasm), "/nonexistent/plugins/missing.wasm"),
            marker='{ path = "/nonexistent',
            line_only=True,
            contains=("plugin `bronze`", "/nonexistent/plugins/missing.wasm"),
        ),
    }


CASE_NAMES = [
    "syntax_error",
    "unknown_key",
    "unknown_plugin",
    "unknown_input_table",
    "cycle",
    "undefined_variable",
    "unknown_var_option",
    "option_rejected_by_plugin",
    "unknown_option_key",
    "missing_plugin_file",
]


def problem_lines(stderr: str, pipeline: str) -> list[str]:
    return [l for l in stderr.splitlines() if l.startswith(pipeline + ":") or l.startswith("--var:")]


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("name", CASE_NAMES)
def test_bad_pipeline_is_reported_with_its_position(name, command, tmp_path, run_lfhost, bronze_wasm):
    case = cases(bronze_wasm)[name]
    root = Path(os.path.realpath(tmp_path))
    pipeline = root / "pipeline.toml"
    pipeline.write_text(case.text)
    (root / "landing" / "customers").mkdir(parents=True)
    rc, out, err = run_lfhost(command, pipeline, *case.args, cwd=root, timeout=60)
    assert rc == 2, f"`lfhost {command}` exited {rc}, expected 2\nstdout:\n{out}\nstderr:\n{err}"
    problems = problem_lines(err, os.fspath(pipeline))
    assert len(problems) == 1, f"expected one problem line, got {problems}\nstderr:\n{err}"
    problem = problems[0]

    if case.whole_line is not None:
        assert problem == case.whole_line
    else:
        m = re.match(re.escape(os.fspath(pipeline)) + r":(\d+):(\d+): (.*)$", problem)
        assert m, f"not `FILE:LINE:COL: message`: {problem!r}"
        line, col, message = int(m.group(1)), int(m.group(2)), m.group(3)
        if case.marker is not None:
            want_line, want_col = position(case.text, case.marker)
            assert line == want_line, f"line {line}, expected {want_line}: {problem}"
            if not case.line_only:
                assert col == want_col, f"column {col}, expected {want_col}: {problem}"
        if case.lines is not None:
            assert case.lines[0] <= line <= case.lines[1], f"line {line} outside {case.lines}: {problem}"
        if case.exact is not None:
            assert message == case.exact
        if case.prefix is not None:
            assert message.startswith(case.prefix), f"{message!r} does not start with {case.prefix!r}"
        for fragment in case.contains:
            assert fragment in message, f"{fragment!r} not in {message!r}"
        if "regex" in case.extra:
            assert re.search(case.extra["regex"], message), f"{message!r} !~ {case.extra['regex']}"
        assert message.strip(), "empty message"

    if command == "run":
        assert not (root / "lake").exists(), "an invalid pipeline created its lake"
        assert "error: table" not in out
    else:
        assert "valid" not in out, out


def test_option_error_points_into_the_seed_layout(tmp_path, run_lfhost, seed_pipeline, bronze_wasm):
    """The seed pipeline with one column type misspelt, in its own layout
    (a multi-line array of inline tables): the position is that value's."""
    root = Path(os.path.realpath(tmp_path))
    text = seed_pipeline.read_text()
    relative = "target/wasm32-wasip2/release/"
    assert f'path = "{relative}bronze_ingest.wasm"' in text, "the seed pipeline's plugin path changed"
    bad = text.replace(f'path = "{relative}', f'path = "{os.fspath(bronze_wasm.parent)}/')
    bad = bad.replace('{ name = "items", type = "int32" }', '{ name = "items", type = "int65" }')
    assert "int65" in bad, "the seed pipeline no longer declares items as int32"
    pipeline = root / "pipelines.toml"
    pipeline.write_text(bad)
    rc, out, err = run_lfhost("validate", pipeline, cwd=root, timeout=60)
    assert rc == 2, f"stdout:\n{out}\nstderr:\n{err}"
    line, col = position(bad, '"int65"')
    want = f"{pipeline}:{line}:{col}: table `bronze_orders`: options.columns.4.type: "
    problems = problem_lines(err, os.fspath(pipeline))
    assert len(problems) == 1 and problems[0].startswith(want) and "int65" in problems[0], (
        f"expected a line starting with {want!r}, got {problems}\nstderr:\n{err}"
    )
