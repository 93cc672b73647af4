"""The hostile-plugin suite: every misbehaviour a third-party plugin may try,
each a real Wasm component (tests/plugins/hostile, tests/plugins/escape) run
through the real `lfhost` binary.

For every failure the message must name the table, the plugin and the limit
or reason; an independent healthy table of the same run must commit exactly
the rows the oracle expects (read back with Python's deltalake); and the
peak RSS of the lfhost process (measured with GNU time) must stay bounded.
The figures are printed at the end of the module.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

import helpers
import landing
import oracle
from helpers import delta_version, read_delta

HEALTHY = "bronze_customers"
EVIL_FILES = 6
# Nothing a hostile table does may take the host anywhere near this.
RSS_BOUND_MIB = 1024
# Every hostile table runs with these limits unless its case says otherwise.
BASE_LIMITS = {"memory_mib": 64, "cpu_seconds": 5}
HOST_PANIC = re.compile(r"^(thread '[^']*' panicked at|note: run with `RUST_BACKTRACE|stack backtrace:|fatal runtime error)")
HOST_CRASHES = ("the flow crashed", "the flow's thread failed", "the writer task failed")

HEADER = """\
[pipeline]
name = "hostile_suite"
lake = "lake"

[plugins]
bronze = {{ path = "{bronze}" }}
hostile = {{ path = "{hostile}" }}

[tables.bronze_customers]
plugin = "bronze"
source = {{ path = "landing/customers", pattern = "*.csv" }}

""" + helpers.CUSTOMERS_OPTIONS_TEMPLATE

# behaviour -> (limits over BASE_LIMITS, the file it fails on (1-based), the reason the message must end with)
FAILURES = {
    "loop": ({"cpu_seconds": 2}, 1, "exceeded its CPU time limit of 2 s"),
    "memory_bomb": ({}, 1, re.compile(r"exceeded its memory limit of 64 MiB \(asked for \d+ MiB\)")),
    # Rust keeps its stack in linear memory (an out-of-bounds trap); a Wasm stack overflow says so itself.
    "recursion": (
        {},
        1,
        re.compile(r"(trapped: out-of-bounds memory access \(often its stack overflowing: |overflowed its stack \()recursion too deep\)"),
    ),
    "panic": (
        {},
        1,
        re.compile(r"trapped: wasm trap: wasm `unreachable` instruction executed; it printed: .*panicked at .* \| hostile plugin panicking on purpose( \| .*)?"),
    ),
    "garbage": ({}, 1, "emitted an invalid batch on `main`: malformed IPC framing at byte 4: message length exceeds the bytes given"),
    "truncated_ipc": ({}, 1, re.compile(r"emitted an invalid batch on `main`: malformed IPC framing at byte \d+: .*exceeds the bytes given")),
    "trailing_ipc": ({}, 1, "emitted an invalid batch on `main`: 8 trailing byte(s) after the end of the IPC stream"),
    # Intact framing, one buffer claiming 2^40 bytes of a 64-byte body.
    "forged_ipc": (
        {},
        1,
        re.compile(r"emitted an invalid batch on `main`: malformed IPC framing at byte \d+: a buffer lies outside its message body"),
    ),
    "wrong_schema": (
        {},
        1,
        "emitted an invalid batch on `main`: batch schema differs from the declared schema: expected [value: Int64], got [other: Int64]",
    ),
    "giant_batch": ({"max_batch_mib": 1}, 1, "emitted a batch of 8 MiB, over the limit of 1 MiB per batch"),
    # 1 MiB batches without end; a generous CPU limit, so that only the output cap can stop it in time.
    "giant_output": (
        {"max_output_mib": 4, "max_batch_mib": 2, "cpu_seconds": 20},
        1,
        "emitted more than its output limit of 4 MiB for this flow",
    ),
    "trap_on_fifth": ({}, 5, "trapped: wasm trap: wasm `unreachable` instruction executed"),
    # The `rows` interface refuses what does not fit the flow, and the refusal stops the plugin.
    "selection_outside_push": ({}, 1, "emitted selected rows outside a push"),
    "take_unretained": ({}, 1, "asked for columns of input `nope`, but the flow has no inputs"),
}

# label -> (peak RSS MiB, CPU s, wall s) of each lfhost run, printed at the end.
FIGURES: dict[str, tuple[float, float, float]] = {}


# ------------------------------------------------------------ plumbing --


def _limits_toml(table: str, overrides: dict) -> str:
    limits = {**BASE_LIMITS, **overrides}
    return f"[tables.{table}.limits]\n" + "".join(f"{k} = {v}\n" for k, v in limits.items())


def _hostile_table(table: str, behaviour: str, limits: dict, extra_options: str = "") -> str:
    return (
        f"\n[tables.{table}]\n"
        'plugin = "hostile"\n'
        'source = { path = "landing/evil", pattern = "*.txt" }\n'
        f'options = {{ behaviour = "{behaviour}"{extra_options} }}\n' + _limits_toml(table, limits)
    )


def _pipeline(root: Path, bronze_wasm, hostile_wasm, tables: str) -> Path:
    path = root / "pipeline.toml"
    path.write_text(HEADER.format(bronze=os.fspath(bronze_wasm), hostile=os.fspath(hostile_wasm)) + tables)
    return path


def _landing(root: Path) -> tuple[list[Path], list[Path]]:
    """The healthy table's customer files, and EVIL_FILES small files of
    integers for the hostile tables (file k holds 10k+1 .. 10k+3)."""
    land = root / "landing"
    for path in landing.generate(land, batches=1, seed=31, rows=20):
        if path.parent.name != "customers":
            path.unlink()
    customers = oracle.source_files(land, HEALTHY)
    assert len(customers) == 3, customers
    evil = land / "evil"
    evil.mkdir()
    files = []
    for k in range(1, EVIL_FILES + 1):
        path = evil / f"{k:02d}.txt"
        path.write_text("".join(f"{10 * k + i}\n" for i in range(1, 4)))
        files.append(path)
    return customers, files


class Run:
    def __init__(self, rc, out, err, elapsed, peak_rss_mib, cpu_seconds):
        self.rc, self.out, self.err = rc, out, err
        self.elapsed, self.peak_rss_mib, self.cpu_seconds = elapsed, peak_rss_mib, cpu_seconds

    def context(self) -> str:
        return (
            f"\nexit {self.rc} after {self.elapsed:.1f} s, peak RSS {self.peak_rss_mib:.0f} MiB, "
            f"CPU {self.cpu_seconds:.2f} s\nstdout:\n{self.out}\nstderr:\n{self.err}"
        )

    def errors(self) -> list[str]:
        return [line for line in self.out.splitlines() if line.startswith("error: ")]


def _gnu_time() -> str | None:
    """/usr/bin/time if it is GNU time (-f, -o), else None."""
    try:
        done = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", os.devnull, "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return "/usr/bin/time" if done.returncode == 0 else None


def _vm_hwm_mib(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


@pytest.fixture(scope="module")
def run_measured(lfhost_bin, lfhost_env):
    """Runs lfhost and measures that one process's peak RSS and CPU time.

    Not with wait4 on lfhost itself: Linux carries the forking process's RSS
    high-water mark (pytest's, ~100+ MiB) into the child's ru_maxrss across
    exec. GNU time forks lfhost from a small process, so its %M is lfhost's
    own; without GNU time, VmHWM of /proc/PID/status is polled (its last
    milliseconds may be missed)."""
    gnu_time = _gnu_time()

    def run(*args, cwd, label, timeout=60, env=None, stdin_text=""):
        argv = [os.fspath(lfhost_bin), *(os.fspath(a) for a in args)]
        out_path, err_path = Path(cwd) / f".{label}.stdout", Path(cwd) / f".{label}.stderr"
        usage_path = Path(cwd) / f".{label}.usage"
        command = [gnu_time, "-f", "%M %U %S", "-o", os.fspath(usage_path), *argv] if gnu_time else argv
        polled = [0.0]
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            started = time.monotonic()
            proc = subprocess.Popen(
                command, cwd=cwd, env=env or lfhost_env, stdin=subprocess.PIPE, stdout=out, stderr=err, start_new_session=True
            )
            killed = threading.Event()

            def kill():
                killed.set()
                os.killpg(proc.pid, 9)

            def poll():
                while proc.poll() is None:
                    hwm = _vm_hwm_mib(proc.pid)
                    polled[0] = max(polled[0], hwm or 0.0)
                    time.sleep(0.01)

            timer = threading.Timer(timeout, kill)
            timer.start()
            poller = None if gnu_time else threading.Thread(target=poll, daemon=True)
            if poller:
                poller.start()
            try:
                try:
                    proc.stdin.write(stdin_text.encode())
                    proc.stdin.close()
                except BrokenPipeError:
                    pass
                if gnu_time:
                    proc.wait()
                else:
                    _, status, usage = os.wait4(proc.pid, 0)
                    proc.returncode = os.waitstatus_to_exitcode(status)
            finally:
                timer.cancel()
                if poller:
                    poller.join()
            elapsed = time.monotonic() - started
        if gnu_time:
            fields = usage_path.read_text().split()
            # When lfhost is killed GNU time writes a "Command terminated" line first.
            peak_mib, cpu = int(fields[-3]) / 1024, float(fields[-2]) + float(fields[-1])
        else:
            peak_mib, cpu = polled[0], usage.ru_utime + usage.ru_stime
        run = Run(
            proc.returncode,
            helpers.strip_ansi(out_path.read_text(errors="replace")),
            helpers.strip_ansi(err_path.read_text(errors="replace")),
            elapsed,
            peak_mib,
            cpu,
        )
        if killed.is_set():
            pytest.fail(f"`{' '.join(argv)}` did not finish within {timeout} s" + run.context())
        assert peak_mib > 0, f"no peak RSS measured for {label}" + run.context()
        FIGURES[label] = (run.peak_rss_mib, run.cpu_seconds, run.elapsed)
        return run

    return run


@pytest.fixture(scope="module", autouse=True)
def report_figures(request):
    yield
    if not FIGURES:
        return
    lines = ["", f"lfhost process per run: peak RSS (bound {RSS_BOUND_MIB} MiB), CPU time, wall time"]
    lines += [f"  {label:<30} {mib:7.1f} MiB {cpu:6.2f} s CPU {wall:6.2f} s wall" for label, (mib, cpu, wall) in FIGURES.items()]
    capture = request.config.pluginmanager.getplugin("capturemanager")
    reporter = request.config.pluginmanager.getplugin("terminalreporter")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        for line in lines:
            if reporter is not None:
                reporter.write_line(line)
            else:
                print(line)


@pytest.fixture(scope="module")
def hostile_name(tmp_path_factory, run_lfhost, bronze_wasm, hostile_wasm) -> str:
    """Compiles both plugins into the session's cache (so that the timed runs
    time plugins, not Cranelift) and returns the hostile plugin's name and
    version as lfhost shows it."""
    root = tmp_path_factory.mktemp("warm")
    (root / "landing" / "evil").mkdir(parents=True)
    pipeline = _pipeline(root, bronze_wasm, hostile_wasm, _hostile_table("evil", "panic", {}))
    rc, out, err = run_lfhost("validate", pipeline, cwd=root, timeout=300)
    assert rc == 0, f"validate of the suite's pipeline failed\nstdout:\n{out}\nstderr:\n{err}"
    rc, out, err = run_lfhost("plugin", "inspect", hostile_wasm)
    assert rc == 0, (rc, out, err)
    names = [line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("name:")]
    assert len(names) == 1 and names[0].startswith("hostile "), out
    return names[0]


def _assert_no_host_crash(run: Run) -> None:
    panics = [l for l in run.err.splitlines() + run.out.splitlines() if HOST_PANIC.match(l)]
    assert not panics, f"the host itself panicked: {panics}" + run.context()
    for crash in HOST_CRASHES:
        assert crash not in run.out, f"the host reports `{crash}`" + run.context()


def _assert_bounded(run: Run) -> None:
    assert run.peak_rss_mib < RSS_BOUND_MIB, f"peak RSS {run.peak_rss_mib:.0f} MiB is over {RSS_BOUND_MIB} MiB" + run.context()


def _assert_healthy(root: Path, customers: list[Path], run_id: str | None = None) -> dict:
    """The healthy table committed exactly the oracle's rows; returns the
    run's flow events by table."""
    lake = root / "lake"
    helpers.compare_bronze(read_delta(lake / HEALTHY), HEALTHY, customers, "deltalake")
    events = helpers.event_log(read_delta, lake)
    flows = helpers.flow_events(events, run_id or helpers.new_run_id(events, set()))
    details = flows[HEALTHY]["details_json"]
    assert details.get("status") == "COMPLETED", details
    assert details.get("num_output_rows") == len(oracle.expected_rows(HEALTHY, customers)), details
    return flows


def _assert_failure(run: Run, root: Path, table: str, plugin: str, file: Path, reason, flows: dict) -> None:
    """Exactly one error line for `table`, naming the table, the plugin, the
    file and ending with `reason` (text, or a regex matched in full); the
    event log records the same message and FAILED; the table committed
    nothing."""
    mine = [l for l in run.errors() if l.startswith(f"error: table `{table}`: ")]
    assert len(mine) == 1, f"expected one error line for table `{table}`" + run.context()
    prefix = f"error: table `{table}`: plugin {plugin} while ingesting {file}: "
    line = mine[0]
    assert line.startswith(prefix), f"the error does not start with {prefix!r}:\n{line}" + run.context()
    rest = line[len(prefix) :]
    if isinstance(reason, str):
        assert rest == reason, f"table `{table}`: expected the reason\n  {reason!r}\ngot\n  {rest!r}" + run.context()
    else:
        assert reason.fullmatch(rest), f"table `{table}`: the reason {rest!r} does not match {reason.pattern!r}" + run.context()
    assert delta_version(root / "lake" / table) is None, f"the failed table `{table}` committed" + run.context()
    event = flows[table]
    assert event["details_json"].get("status") == "FAILED", event
    assert event["message"] == line[len(f"error: table `{table}`: ") :], event


# --------------------------------------------------------------- tests --


@pytest.mark.parametrize("behaviour", list(FAILURES))
def test_hostile_table_fails_with_its_reason_and_the_healthy_table_commits(
    behaviour, hostile_name, workspace, run_measured, bronze_wasm, hostile_wasm
):
    limits, failing_file, reason = FAILURES[behaviour]
    customers, evil_files = _landing(workspace)
    pipeline = _pipeline(workspace, bronze_wasm, hostile_wasm, _hostile_table("evil", behaviour, limits))

    run = run_measured("run", pipeline, cwd=workspace, label=behaviour)

    assert run.rc == 1, "the run must fail with exit code 1" + run.context()
    assert run.elapsed < 30, "the run took too long" + run.context()
    _assert_no_host_crash(run)
    assert len(run.errors()) == 1, "only the hostile table may fail" + run.context()
    if behaviour == "loop":
        assert run.elapsed >= 2, "a 2 s CPU limit stopped the loop too early" + run.context()
    _assert_bounded(run)
    flows = _assert_healthy(workspace, customers)
    _assert_failure(run, workspace, "evil", hostile_name, evil_files[failing_file - 1], reason, flows)


def test_every_hostile_tenant_at_once(hostile_name, workspace, run_measured, bronze_wasm, hostile_wasm):
    """All the failing plugins run concurrently in one process beside the
    healthy table: each fails with its own reason, none disturbs another."""
    customers, evil_files = _landing(workspace)
    tables = "".join(_hostile_table(f"evil_{b}", b, limits) for b, (limits, _, _) in FAILURES.items())
    pipeline = _pipeline(workspace, bronze_wasm, hostile_wasm, tables)

    run = run_measured("run", pipeline, cwd=workspace, label="all failing tenants at once")

    assert run.rc == 1, run.context()
    assert run.elapsed < 30, "the run took too long" + run.context()
    _assert_no_host_crash(run)
    assert len(run.errors()) == len(FAILURES), "every hostile table, and only they, must fail" + run.context()
    _assert_bounded(run)
    flows = _assert_healthy(workspace, customers)
    for behaviour, (_, failing_file, reason) in FAILURES.items():
        _assert_failure(run, workspace, f"evil_{behaviour}", hostile_name, evil_files[failing_file - 1], reason, flows)


def test_slow_but_legal_plugin_commits_the_same_rows(hostile_name, workspace, run_measured, bronze_wasm, hostile_wasm):
    """A plugin that burns well over a second of CPU, well under its 10 s
    limit, then emits legally: its table commits exactly the rows of its
    files, the same as a run of the same plugin that does no work."""
    customers, evil_files = _landing(workspace)
    expected = sorted(int(line) for f in evil_files for line in f.read_text().split())
    figures = {}
    for label, iterations in (("slow (no work, control)", 0), ("slow (burns CPU)", 150_000_000)):
        lake = workspace / "lake"
        for table in (HEALTHY, "slow", "_event_log"):
            if (lake / table).exists():
                shutil.rmtree(lake / table)
        pipeline = _pipeline(
            workspace, bronze_wasm, hostile_wasm, _hostile_table("slow", "slow", {"cpu_seconds": 10}, f", iterations = {iterations}")
        )
        run = run_measured("run", pipeline, cwd=workspace, label=label)
        assert run.rc == 0, "the slow plugin's run must succeed" + run.context()
        assert not run.errors(), run.context()
        _assert_no_host_crash(run)
        _assert_bounded(run)
        assert run.elapsed < 10, "the run went past the slow table's CPU limit" + run.context()
        rows = read_delta(lake / "slow").column("value").to_pylist()
        assert sorted(rows) == expected, f"{label}: the slow table holds {sorted(rows)}, expected {expected}"
        flows = _assert_healthy(workspace, customers)
        details = flows["slow"]["details_json"]
        assert details.get("status") == "COMPLETED" and details.get("num_output_rows") == len(expected), details
        figures[iterations] = run
    burnt = figures[150_000_000].cpu_seconds - figures[0].cpu_seconds
    assert burnt >= 0.5, (
        f"the slow plugin burnt only {burnt:.2f} s of CPU more than the control run: it is not slow"
        + figures[150_000_000].context()
    )


def test_plugin_sees_no_environment_arguments_or_stdin(hostile_name, workspace, run_measured, lfhost_env, lfhost_bin, bronze_wasm, hostile_wasm):
    """The host links wasi:cli (environment, stdin) so that standard
    libraries start, but hands the plugin an empty environment, no arguments
    and an empty stdin: a secret in lfhost's own environment or on its stdin
    never reaches a plugin."""
    # The plugin really imports the interface it is probed through.
    inspect = subprocess.run([os.fspath(lfhost_bin), "plugin", "inspect", os.fspath(hostile_wasm)], capture_output=True, text=True, env=lfhost_env)
    assert inspect.returncode == 0, inspect
    assert re.search(r"^\s+wasi:cli/environment@", inspect.stdout, re.M), inspect.stdout
    assert re.search(r"^\s+wasi:cli/stdin@", inspect.stdout, re.M), inspect.stdout

    secret = "s3cr3t-tenant-token-7d1f0c2a"
    env = dict(lfhost_env)
    env["LFHOST_TEST_TENANT_SECRET"] = secret
    env["AWS_SECRET_ACCESS_KEY"] = secret + "-aws"
    customers, evil_files = _landing(workspace)
    pipeline = _pipeline(workspace, bronze_wasm, hostile_wasm, _hostile_table("env_probe", "environment", {}))

    run = run_measured("run", pipeline, cwd=workspace, label="environment", env=env, stdin_text=f"{secret}-stdin\n")

    assert run.rc == 0, run.context()
    _assert_no_host_crash(run)
    _assert_bounded(run)
    rows = helpers.table_rows(read_delta(workspace / "lake" / "env_probe"))
    per_file = [("env_count", "0"), ("args_count", "0"), ("stdin", "0 bytes")]
    assert sorted((r["key"], r["value"]) for r in rows) == sorted(per_file * len(evil_files)), (
        f"the plugin saw more than an empty environment: {rows}"
    )
    assert not any(secret in (r["value"] or "") or secret in (r["key"] or "") for r in rows), rows
    assert secret not in run.out and secret not in run.err, "the secret was printed" + run.context()
    _assert_healthy(workspace, customers)


def test_escape_plugin_gets_nothing(run_measured, workspace, bronze_wasm, escape_wasm):
    """A plugin that reaches for a file, a directory listing, the wall clock,
    a one-hour sleep, a socket and a name lookup loads (WASI is linked, as
    Python and JavaScript runtimes need) but gets nothing: every file and
    network call is refused, the clock is frozen at 1970-01-01 and the
    sleep returns at once, so it cannot park a host thread. The healthy
    table of the same run commits."""
    customers, evil_files = _landing(workspace)
    pipeline = workspace / "pipeline.toml"
    pipeline.write_text(
        HEADER.format(bronze=os.fspath(bronze_wasm), hostile=os.fspath(escape_wasm)).replace("hostile =", "escape =")
        + '\n[tables.stolen]\nplugin = "escape"\nsource = { path = "landing/evil", pattern = "*.txt" }\n'
    )

    run = run_measured("run", pipeline, cwd=workspace, label="escape (sealed WASI)", timeout=300)

    assert run.rc == 0, run.context()
    _assert_no_host_crash(run)
    rows = helpers.table_rows(read_delta(workspace / "lake" / "stolen"))
    assert len(rows) == 6 * len(evil_files), rows
    seen = {(r["key"], r["value"]) for r in rows}
    got = dict(seen)
    assert len(seen) == 6, f"attempts gave different answers on different files: {sorted(seen)}"
    for key in ("file", "listing", "socket", "name_lookup"):
        assert got[key].startswith("refused: "), f"{key}: {got[key]}"
    assert got["wall_clock_seconds"] == "0", got
    assert got["sleep_3600s_took"] == "0 s", got
    _assert_healthy(workspace, customers)
