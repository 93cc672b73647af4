#!/usr/bin/env python3
"""The seed medallion pipeline at scale: lfhost against DuckDB and Polars,
in one run, on the same generated landing data. Run by scripts/bench.sh.

    bench_medallion.py [--customers N] [--addresses N] [--orders N] [--batches B]
                       [--work DIR] [--threads T] [--peers duckdb,polars]

Steps, each timed as a separate process (wall, user+system CPU, peak RSS
read by GNU time, so that the figure is that process's own):
  1. gen-landing writes the landing files (and a 1% increment aside);
  2. lfhost validates the pipeline once, so its plugins are compiled and
     cached before anything is timed (the compile is reported apart);
  3. lfhost runs the whole pipeline; each peer does the same job from the
     same files (benches/peers/*_pipeline.py, writing Parquet);
  4. every peer's gold table (and silver tables) is checked equal to
     lfhost's: the comparison is of the same work;
  5. lfhost runs again with nothing new (three times: the median counts),
     then with the 1% increment;
  6. bench-expectations measures the sandbox's cost (the same stage native
     and as Wasm, in alternating rounds: the ratio of the medians counts).
It prints one table and each target's figure.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = REPO / "target" / "release"
PEERS = REPO / "benches" / "peers"
COMPARED = ["silver_customers", "silver_orders", "silver_addresses", "gold_customer_orders"]


class Measured:
    def __init__(self, label: str, wall: float, cpu: float, rss_mib: float, out: str):
        self.label, self.wall, self.cpu, self.rss_mib, self.out = label, wall, cpu, rss_mib, out


def measure(label: str, argv: list[str], env: dict | None = None, cwd: Path | None = None) -> Measured:
    """Runs argv under GNU time; fails loudly with its output if it fails."""
    usage = Path(os.environ.get("TMPDIR", "/tmp")) / f"lfhost-bench-{os.getpid()}.usage"
    started = time.monotonic()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M %U %S", "-o", str(usage), *map(str, argv)],
        env=env, cwd=cwd, capture_output=True, text=True,
    )
    wall = time.monotonic() - started
    if done.returncode != 0:
        sys.exit(f"{label} failed (exit {done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    fields = usage.read_text().split()
    usage.unlink()
    rss_kib, user, system = int(fields[-3]), float(fields[-2]), float(fields[-1])
    print(f"  {label}: {wall:.2f} s", flush=True)
    return Measured(label, wall, user + system, rss_kib / 1024, done.stdout + done.stderr)


def landing_rows(landing: Path) -> int:
    import pyarrow.parquet as pq

    rows = 0
    for path in sorted(landing.rglob("*")):
        if path.suffix == ".csv":
            with open(path, "rb") as f:
                rows += sum(1 for _ in f) - 1
        elif path.suffix == ".jsonl":
            with open(path, "rb") as f:
                rows += sum(1 for _ in f)
        elif path.suffix == ".parquet":
            rows += pq.ParquetFile(path).metadata.num_rows
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--addresses", type=int, default=2_000_000)
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--work", type=Path, default=REPO / "target" / "bench-medallion")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--peers", default="duckdb,polars")
    parser.add_argument("--expectation-rows", type=int, default=2_000_000)
    args = parser.parse_args()
    peers = [p for p in args.peers.split(",") if p]

    work = args.work.resolve()
    shutil.rmtree(work, ignore_errors=True)
    landing, increment = work / "landing", work / "increment"
    lake = work / "lake"
    env = dict(os.environ, LFHOST_CACHE_DIR=str(work / "cache"), NO_COLOR="1")
    lfhost = [BIN / "lfhost"]
    pipeline = REPO / "pipelines.toml"
    vars_ = ["--var", f"landing={landing}", "--var", f"lake={lake}"]

    print(f"scale: {args.customers:,} customers, {args.addresses:,} address changes, {args.orders:,} order changes "
          f"in {args.batches} batches; {args.threads} threads; {os.cpu_count()} cores", flush=True)
    gen = measure("generate landing", [BIN / "gen-landing", landing, "--customers", args.customers,
                                       "--addresses", args.addresses, "--orders", args.orders,
                                       "--batches", args.batches, "--increment-dir", increment])
    rows = landing_rows(landing)
    print(f"  {rows:,} landing rows", flush=True)
    compile_ = measure("lfhost validate (compiles the plugins once)", [*lfhost, "validate", pipeline, *vars_], env=env)

    results: list[Measured] = []
    full = measure("lfhost run", [*lfhost, "run", pipeline, *vars_], env=env)
    results.append(full)
    for peer in peers:
        out = work / f"{peer}-out"
        results.append(measure(f"{peer}", [sys.executable, PEERS / f"{peer}_pipeline.py", landing, out,
                                            "--threads", args.threads], env=env))
        check = subprocess.run([sys.executable, PEERS / "compare.py", lake, out, "--tables", ",".join(COMPARED)],
                               capture_output=True, text=True)
        if check.returncode != 0:
            sys.exit(f"{peer}'s tables differ from lfhost's:\n{check.stdout}\n{check.stderr}")
        print(f"  {peer}: {', '.join(COMPARED)} equal lfhost's", flush=True)

    # Three runs, the median reported: one run of a ~100 ms process swings
    # with whatever the machine did just before (the peers' gigabytes).
    nothings = sorted(
        (measure(f"lfhost run, nothing new ({i})", [*lfhost, "run", pipeline, *vars_], env=env) for i in (1, 2, 3)),
        key=lambda m: m.wall,
    )
    nothing = nothings[1]
    for path in sorted(increment.rglob("*.*")):
        target = landing / path.relative_to(increment)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    incremental = measure("lfhost run, 1% new", [*lfhost, "run", pipeline, *vars_], env=env)
    sandbox = measure("bench-expectations", [BIN / "bench-expectations", args.expectation_rows], env=env, cwd=REPO)

    print()
    print(f"{'engine':<12} {'wall s':>8} {'CPU s':>8} {'peak RSS MiB':>13} {'rows/s':>12} {'lfhost/peer wall':>17}")
    for m in results:
        ratio = "" if m is full else f"{full.wall / m.wall:.2f}"
        print(f"{m.label:<12} {m.wall:8.2f} {m.cpu:8.2f} {m.rss_mib:13.0f} {rows / m.wall:12,.0f} {ratio:>17}")
    print()
    print(f"landing generation {gen.wall:.1f} s; plugin compilation (once, cached) {compile_.wall:.1f} s")
    ratio_line = re.search(r"ratio[^\n]*", sandbox.out)
    print("sandbox cost (bench-expectations):", ratio_line.group(0) if ratio_line else sandbox.out.strip()[-300:])
    sandbox_ratio = re.search(r"ratio: ([0-9.]+)x", sandbox.out)
    print()
    print("targets:")
    for m in results[1:]:
        verdict = "met" if full.wall <= m.wall else "MISSED"
        print(f"  lfhost wall <= {m.label}: {full.wall / m.wall:.2f}x  {verdict}")
    share = incremental.wall / full.wall
    print(f"  1% increment < 10% of a full run: {incremental.wall:.2f} s = {share:.1%}  {'met' if share < 0.10 else 'MISSED'}")
    spread = ", ".join(f"{m.wall * 1000:.0f}" for m in nothings)
    print(f"  nothing new < 200 ms: {nothing.wall * 1000:.0f} ms (median of {spread} ms)  {'met' if nothing.wall < 0.2 else 'MISSED'}")
    if sandbox_ratio:
        wasm = float(sandbox_ratio.group(1))
        print(f"  Wasm stages within 1.3x of native: {wasm:.2f}x  {'met' if wasm <= 1.3 else 'MISSED'}")
    else:
        print("  Wasm stages within 1.3x of native: no ratio in bench-expectations' output  MISSED")
    peak = max(full.rss_mib, incremental.rss_mib)
    print(f"  peak RSS < 2 GiB: {peak:.0f} MiB  {'met' if peak < 2048 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
