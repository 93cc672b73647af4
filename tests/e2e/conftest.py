"""Fixtures for the end-to-end tests: the built binary and plugins, a scratch
workspace, a way to run lfhost, and two independent Delta readers."""

from __future__ import annotations

import glob
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import helpers  # noqa: E402

REPO = HERE.parent.parent
# LFHOST_BIN / LFHOST_WASM_DIR point the suite at other builds (e.g. debug).
BINARY = Path(os.environ.get("LFHOST_BIN") or REPO / "target" / "release" / "lfhost")
WASM_DIR = Path(os.environ.get("LFHOST_WASM_DIR") or REPO / "target" / "wasm32-wasip2" / "release")
SEED_PIPELINE = REPO / "pipelines.toml"
BUILD_HINT = "build it first: scripts/build.sh (cargo build --release, plugins for wasm32-wasip2)"


def _built(path: Path, what: str) -> Path:
    if not path.is_file():
        pytest.fail(f"{what} not found at {path}: {BUILD_HINT}", pytrace=False)
    return path


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def seed_pipeline() -> Path:
    assert SEED_PIPELINE.is_file(), f"no seed pipeline at {SEED_PIPELINE}"
    return SEED_PIPELINE


@pytest.fixture(scope="session")
def lfhost_bin() -> Path:
    path = _built(BINARY, "the lfhost binary")
    assert os.access(path, os.X_OK), f"{path} is not executable"
    return path


@pytest.fixture(scope="session")
def bronze_wasm() -> Path:
    return _built(WASM_DIR / "bronze_ingest.wasm", "the bronze-ingest plugin")


@pytest.fixture(scope="session")
def hostile_wasm() -> Path:
    return _built(WASM_DIR / "hostile.wasm", "the hostile test plugin")


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """One compiled-plugin cache for the whole session (LFHOST_CACHE_DIR)."""
    return tmp_path_factory.mktemp("lfhost-cache")


@pytest.fixture(scope="session")
def lfhost_env(cache_dir) -> dict:
    env = dict(os.environ)
    env["LFHOST_CACHE_DIR"] = str(cache_dir)
    env["NO_COLOR"] = "1"
    env.pop("LFHOST_LOG", None)
    env.pop("RUST_BACKTRACE", None)
    return env


@pytest.fixture(scope="session")
def run_lfhost(lfhost_bin, lfhost_env):
    """run_lfhost(*args, cwd=..., timeout=...) -> (returncode, stdout, stderr);
    ANSI colours are stripped from both streams."""

    def run(*args, cwd=None, timeout=120, env=None):
        argv = [str(lfhost_bin), *(os.fspath(a) for a in args)]
        try:
            done = subprocess.run(
                argv,
                cwd=cwd,
                env=env or lfhost_env,
                capture_output=True,
                timeout=timeout,
                text=True,
                errors="replace",
            )
        except subprocess.TimeoutExpired as e:
            out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
            err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
            pytest.fail(f"`{' '.join(argv)}` did not finish within {timeout} s\nstdout:\n{out}\nstderr:\n{err}")
        return done.returncode, helpers.strip_ansi(done.stdout), helpers.strip_ansi(done.stderr)

    return run


@pytest.fixture(scope="session")
def warm_seed_plugins(run_lfhost, seed_pipeline, bronze_wasm, tmp_path_factory):
    """Compiles the seed pipeline's plugin into the session's cache, so that
    timed runs do not include Cranelift."""
    root = tmp_path_factory.mktemp("warm-seed")
    rc, out, err = run_lfhost("validate", seed_pipeline, cwd=root, timeout=300)
    assert rc == 0, f"lfhost validate {seed_pipeline} failed\nstdout:\n{out}\nstderr:\n{err}"


@pytest.fixture
def workspace(tmp_path) -> Path:
    """A scratch folder (symlinks resolved) holding landing/ and lake/."""
    root = Path(os.path.realpath(tmp_path))
    (root / "landing").mkdir()
    (root / "lake").mkdir()
    return root


# ------------------------------------------------------------- readers --


read_delta = helpers.read_delta
delta_version = helpers.delta_version


def duckdb_extension_path() -> str:
    import duckdb_extension_delta

    root = os.path.dirname(duckdb_extension_delta.__file__)
    found = sorted(glob.glob(os.path.join(root, "**", "*.duckdb_extension"), recursive=True))
    if not found:
        pytest.fail(f"no .duckdb_extension file under {root}: install tests/e2e/requirements.txt into .venv")
    return found[0]


@pytest.fixture(scope="session")
def duck():
    import duckdb

    con = duckdb.connect(
        config={"allow_unsigned_extensions": "true", "autoinstall_known_extensions": "false", "autoload_known_extensions": "false"}
    )
    con.execute(f"LOAD '{duckdb_extension_path()}'")
    con.execute("SET TimeZone = 'UTC'")
    yield con
    con.close()


@pytest.fixture(scope="session")
def read_duckdb(duck):
    def read(path):
        escaped = os.fspath(path).replace("'", "''")
        return duck.execute(f"SELECT * FROM delta_scan('{escaped}')").to_arrow_table()

    return read


@pytest.fixture(scope="session", name="read_delta")
def read_delta_fixture():
    return read_delta


@pytest.fixture(scope="session", name="delta_version")
def delta_version_fixture():
    return delta_version


@pytest.fixture(scope="session")
def escape_wasm() -> Path:
    return _built(WASM_DIR / "escape.wasm", "the escape test plugin")


@pytest.fixture(scope="session")
def next_contract_wasm() -> Path:
    return _built(WASM_DIR / "next_contract.wasm", "the next-contract test plugin")
