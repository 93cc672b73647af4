"""`lfhost report`: a self-contained HTML page with the pipeline graph,
rendered in headless Chromium (Debian's `chromium`, which scripts/test.sh
installs where it can)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import helpers

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-extensions",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]


@pytest.fixture(scope="module")
def reported(run_lfhost, seed_pipeline, tmp_path_factory, warm_seed_plugins) -> dict:
    """Two runs of the seed: the first completes, the second meets a
    customers file that is not UTF-8 (bronze_customers fails, what reads it
    is skipped); then the report."""
    root = Path(os.path.realpath(tmp_path_factory.mktemp("report")))
    landing = root / "landing"
    shutil.copytree(REPO / "data" / "landing", landing)
    args = ("--var", "landing=landing", "--var", "lake=lake")
    rc, out, err = run_lfhost("run", seed_pipeline, *args, cwd=root)
    assert rc == 0, f"{out}\n{err}"
    (landing / "customers" / "batch-9999-broken.csv").write_bytes(
        b"customer_id,first_name,last_name,email,phone,operation,updated_at\n1,\xff\xfe,x,y,z,INSERT,2026-01-01T00:00:00Z\n"
    )
    rc, out, err = run_lfhost("run", seed_pipeline, *args, cwd=root)
    assert rc == 1, f"{out}\n{err}"
    rc, out, err = run_lfhost("report", seed_pipeline, *args, "-o", "out/report.html", cwd=root)
    assert rc != 0 and "cannot write" in err, "a missing folder must be a clear error"
    rc, out, err = run_lfhost("report", seed_pipeline, *args, "-o", "report.html", cwd=root)
    assert rc == 0, f"{out}\n{err}"
    page = root / "report.html"
    return {"root": root, "page": page, "html": page.read_text()}


def test_the_page_needs_no_network(reported):
    html = reported["html"]
    assert "<script" not in html.lower()
    assert not re.search(r"<link\b|\bsrc\s*=|@import|url\((?!#)", html, re.IGNORECASE), "external resource"
    urls = set(re.findall(r"https?://[^\s\"'<>]+", html))
    assert urls <= {"http://www.w3.org/2000/svg"}, urls


def test_every_table_is_in_the_graph_with_its_last_status(reported):
    html = reported["html"]
    by_table = {table: cls for cls, table in re.findall(r'<g class="node (\w+)" id="node-(\w+)"', html)}
    assert set(by_table) == set(helpers.seed_tables()), by_table
    assert by_table["bronze_customers"] == "failed"
    assert by_table["silver_customers_clean"] == "skipped"
    assert by_table["gold_customer_orders"] == "skipped"
    assert by_table["bronze_orders"] == "same", "no new order file: no change"
    assert "batch-9999-broken.csv" in html, "the failed run's error names the file"


def _chromium(out_dir: Path, name: str, *args: str) -> subprocess.CompletedProcess:
    """One Chromium run with a profile of its own: a profile shared with a
    run whose helper processes are still exiting is a crash on a loaded
    machine. Chromium killed by a signal (seen once in CI: SIGSEGV while
    taking the screenshot) is run once more; it says nothing of the page,
    and both runs' errors are shown if the second fails too."""
    errors = []
    for attempt in range(2):
        profile = out_dir / f"chromium-profile-{name}-{attempt}"
        done = subprocess.run(
            [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True, text=True, timeout=120,
        )
        if done.returncode >= 0:
            return done
        errors.append(f"attempt {attempt + 1}: killed by signal {-done.returncode}\n{done.stderr[-1500:]}")
    pytest.fail(f"Chromium crashed twice ({name}):\n" + "\n".join(errors))


def _render(page: Path, out_dir: Path) -> tuple[str, Path]:
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed and could not be installed here (scripts/test.sh installs "
                    "Debian's chromium when it runs as root with apt); the report was checked as text only")
    dom = _chromium(out_dir, "dom", "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    shot = out_dir / "report.png"
    done = _chromium(out_dir, "shot", f"--screenshot={shot}", "--window-size=1400,2000", page.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    return dom.stdout, shot


def test_chromium_renders_every_table(reported):
    dom, shot = _render(reported["page"], reported["root"])
    for table in helpers.seed_tables():
        assert f'id="node-{table}"' in dom, f"{table} is not in the rendered graph"
        assert f'id="table-{table}"' in dom, f"{table} has no section in the rendered page"
    assert dom.count("<svg") == 1 and "</svg>" in dom
    assert shot.stat().st_size > 20_000, "the screenshot is (nearly) empty"
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_history_shows_the_failed_runs_error(reported, run_lfhost, seed_pipeline):
    rc, out, err = run_lfhost(
        "history", seed_pipeline, "--var", "landing=landing", "--var", "lake=lake", "--json", cwd=reported["root"]
    )
    assert rc == 0, err
    runs = [json.loads(line) for line in out.splitlines()]
    assert [r["status"] for r in runs] == ["COMPLETED", "FAILED"], runs
    assert runs[1]["failed_tables"] == ["bronze_customers"], runs[1]
    [error] = runs[1]["errors"]
    assert error.startswith("bronze_customers: ") and "batch-9999-broken.csv" in error, error
