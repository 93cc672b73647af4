"""docs/plugins.md's tutorial, run as written: every `sh` block of its
"Tutorial" section, in order, in one bash session, with each block marked
`<!-- file: NAME -->` written to NAME where it appears. The scaffold from
`lfhost plugin new` is built from source and run in a pipeline; its table
is then read back and checked, and a wrong pin is shown to be refused."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import helpers
from conftest import REPO

DOC = REPO / "docs" / "plugins.md"
FENCE = re.compile(r"^```(\w*)\s*$")
FILE_MARK = re.compile(r"^<!-- file: (\S+) -->\s*$")


def tutorial_script(markdown: str) -> str:
    """The tutorial as one bash script: `sh` blocks verbatim, file blocks as
    here-documents, everything else (prose, other blocks) left out."""
    section = markdown.split("\n## Tutorial", 1)[1]
    lines = section.splitlines()
    script, pending_file, i = [], None, 0
    while i < len(lines):
        line = lines[i]
        mark = FILE_MARK.match(line)
        if mark:
            pending_file = mark.group(1)
            i += 1
            continue
        fence = FENCE.match(line)
        if not fence:
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        body = lines[i + 1 : end]
        if pending_file:
            script += [f"cat > {pending_file} <<'LFHOST_TUTORIAL_EOF'", *body, "LFHOST_TUTORIAL_EOF"]
        elif fence.group(1) == "sh":
            script += body
        pending_file, i = None, end + 1
    return "set -euo pipefail\n" + "\n".join(script) + "\n"


def test_the_tutorial_runs_as_written(tmp_path: Path, lfhost_bin, lfhost_env, read_delta, bronze_wasm):
    script = tutorial_script(DOC.read_text())
    for step in ("lfhost plugin new", "cargo build --release --target wasm32-wasip2", "lfhost run pipeline.toml"):
        assert step in script, f"the tutorial lost its step `{step}`"
    (tmp_path / "tutorial.sh").write_text(script)
    env = dict(lfhost_env, LFHOST_HOME=os.fspath(REPO))
    done = subprocess.run(["bash", "tutorial.sh"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1500)
    out = helpers.strip_ansi(done.stdout)
    context = f"\nscript:\n{script}\nstdout:\n{out}\nstderr:\n{done.stderr[-6000:]}"
    assert done.returncode == 0, context

    assert "contract: lfhost:plugin@0.1.3" in out, context
    assert out.count("output `main`: 3 rows") == 2, context
    assert "the plugin refused its options: option `column`: no column `email_address`" in done.stderr, context
    rows = helpers.table_rows(read_delta(tmp_path / "lake" / "shouted"))
    assert sorted((r["customer_id"], r["first_name"], r["email"]) for r in rows) == [
        (1, "ADA", "ada@example.com"),
        (2, "GRACE", "grace@example.org"),
        (3, None, "nobody@example.net"),
    ], context

    # A pin that is not the file's digest stops the run before anything runs, naming both.
    pipeline = tmp_path / "pipeline.toml"
    text = pipeline.read_text()
    pinned = re.search(r'sha256 = "([0-9a-f]{64})"', text).group(1)
    wrong = ("0" if pinned[0] != "0" else "1") + pinned[1:]
    pipeline.write_text(text.replace(pinned, wrong))
    before = helpers.table_rows(read_delta(tmp_path / "lake" / "shouted"))
    refused = subprocess.run(
        [os.fspath(lfhost_bin), "run", "pipeline.toml", "--var", f"lfhost_home={REPO}", "--full-refresh"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert refused.returncode == 2, (refused.stdout, refused.stderr)
    assert f"has sha256 {pinned}, but the pipeline pins {wrong}" in refused.stderr, refused.stderr
    assert helpers.table_rows(read_delta(tmp_path / "lake" / "shouted")) == before
