"""The Spark engine against the local one: whole `mlmon` processes, runs alternated.

Writes a generated CSV (a binary classifier's scores and labels, numeric and categorical
features, some missing values), then alternates, ``--rounds`` times:

* ``python -c 'import numpy, pyarrow.csv; read the file'``: the floor (reading alone);
* ``mlmon profile build`` with ``--engine local`` and ``--engine spark``;
* ``mlmon batch --format json`` with ``--engine local`` and ``--engine spark``.

Each is a fresh process as a user runs it (Spark's JVM start included). Prints median
wall, CPU and peak memory of the whole process tree (Spark's JVM included), and checks
that both engines wrote the same profile (content hash) and the same report (apart from
``analysed_at``). Not a test. Run:
``python bench/spark_engine.py [--rows N] [--rounds R] [--master local[2]]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import procfs

BIN = Path(sys.executable).parent
FEATURES = 12


def write_input(folder: Path, rows: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    cols: dict[str, object] = {}
    for i in range(FEATURES):
        x = rng.normal(i, 1 + i / 4, rows).round(4)
        x[rng.random(rows) < 0.01] = np.nan
        cols[f"x{i}"] = x
    cols["country"] = rng.choice(["DE", "FR", "GB", "US", "ES"], rows)
    score = 1 / (1 + np.exp(-(cols["x0"] - 0.0)))  # type: ignore[operator]
    score = np.where(np.isnan(score), 0.5, score).round(6)
    cols["prediction"] = score
    cols["label"] = (rng.random(rows) < score).astype(np.int64)
    path = folder / f"data-{seed}.csv"
    pacsv.write_csv(pa.table(cols), path)
    return path


def write_config(folder: Path) -> Path:
    features = {f"x{i}": "numeric" for i in range(FEATURES)}
    features["country"] = "categorical"
    doc = {"models": [{"name": "bench", "version": "1", "features": features,
                       "prediction": {"kind": "classification", "classes": ["0", "1"]}}]}
    path = folder / "mlmon.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def tree(pid: int) -> list[int]:
    """The process and all its descendants (Spark's JVM is a grandchild of `mlmon`)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            todo += procfs.children(p)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return out


def run(argv: list[str]) -> tuple[float, float, float]:
    """Wall s, CPU s and peak memory MB of one whole process tree. The tree is sampled
    every 0.05 s (PSS summed over it counts shared pages once); a process too short for a
    sample counts with its own peak RSS. CPU: the reaped child's rusage (its reaped
    descendants included) or, when larger, each process's last sampled CPU time, summed
    (Spark's JVM is not reaped by the child)."""
    cpu: dict[int, float] = {}
    peak = 0.0
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err,
                                stdin=subprocess.DEVNULL)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            total = 0.0
            for p in tree(proc.pid):
                try:
                    total += procfs.memory(p).pss
                    cpu[p] = procfs.cpu_seconds(p)
                except (FileNotFoundError, ProcessLookupError):
                    continue
            peak = max(peak, total)
            time.sleep(0.05)
        wall = time.perf_counter() - t0
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(argv)} failed:\n{err.read().decode()[-3000:]}")
    return (wall, max(sum(cpu.values()), usage.ru_utime + usage.ru_stime),
            max(peak, usage.ru_maxrss / 1024))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=500_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--master", default="local[2]")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        reference = write_input(folder, args.rows, 1)
        current = write_input(folder, args.rows, 2)
        config = write_config(folder)
        mlmon = str(BIN / "mlmon")
        spark = ["--engine", "spark", "--spark-master", args.master]
        build = [mlmon, "profile", "build", "--config", str(config), "--model", "bench",
                 "--input", str(reference)]
        local_profile, spark_profile = folder / "local.json", folder / "spark.json"
        batch = [mlmon, "batch", "--profile", str(local_profile), "--config", str(config),
                 "--input", str(current), "--format", "json"]
        floor = [sys.executable, "-c", "import sys, numpy, pyarrow.csv as c; "
                 "c.read_csv(sys.argv[1])", str(current)]
        jobs = {
            "floor: python + numpy + read the CSV": floor,
            "profile build, local": [*build, "--out", str(local_profile)],
            "profile build, spark": [*build, "--out", str(spark_profile), *spark],
            "batch, local": [*batch, "--out", str(folder / "local-report.json")],
            "batch, spark": [*batch, "--out", str(folder / "spark-report.json"), *spark],
        }
        results: dict[str, list[tuple[float, float, float]]] = {k: [] for k in jobs}
        for _ in range(args.rounds):
            for name, argv in jobs.items():
                results[name].append(run(argv))
        same_profile = (json.loads(local_profile.read_bytes())["content_hash"]
                        == json.loads(spark_profile.read_bytes())["content_hash"])
        reports = [json.loads((folder / f"{e}-report.json").read_bytes())
                   for e in ("local", "spark")]
        for r in reports:
            r.pop("analysed_at", None)
        size = reference.stat().st_size / 2**20
    print(f"{args.rows:,} rows x {FEATURES + 3} columns ({size:.0f} MiB CSV), "
          f"Spark master {args.master}, medians of {args.rounds} alternated rounds")
    print("| job | wall | CPU | peak memory (tree) |")
    print("| --- | ---: | ---: | ---: |")
    for name, runs in results.items():
        wall, cpu, rss = (statistics.median(r[i] for r in runs) for i in range(3))
        print(f"| {name} | {wall:.2f} s | {cpu:.2f} s | {rss:.0f} MB |")
    print(f"same profile content hash: {same_profile}; same batch report: "
          f"{reports[0] == reports[1]}")
    return 0 if same_profile and reports[0] == reports[1] else 1


if __name__ == "__main__":
    sys.exit(main())
