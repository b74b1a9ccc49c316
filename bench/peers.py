"""Benchmark: mlmon side by side with Evidently, Alibi Detect, NannyML and Frouros.

The workload (``bench/peer_jobs/workload.py``, seeded): 25 features (20 numeric, 5
categorical), a 100k-row reference and a 10k-row current Parquet file, five features
shifted on purpose (``num_00`` .. ``num_03``, ``cat_0``), the other twenty not.

Every job is a whole process, started the way a user would start it, and reads the
Parquet files itself: the floors (read a file into numpy with pyarrow, nothing else),
``mlmon batch`` (profile prebuilt), ``mlmon profile build`` of the reference, and one job
script per peer in that peer's virtualenv (``.venv-peer-<name>``, made by ``make
bench-peers``), which fits on the reference and computes drift on the current file with
the peer's own API. After one warm-up round, the jobs run in ``--rounds`` rounds, one
run of each per round, the order rotated every round. Per job: median wall, median CPU
(user + sys of the child, ``os.wait4``), median peak RSS (the child's ``ru_maxrss``), the
wall ratio to ``mlmon batch`` and to the floor, and which features it flagged against
the known shifts. Then one in-process drift computation: mlmon's ``analyze`` with the
profile loaded and the data in memory, against Alibi Detect's ``predict`` (fit excluded),
alternated in the same rounds.

Figures, never pass/fail on timing. Run: ``python bench/peers.py [--rounds N]``.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
JOBS_DIR = ROOT / "bench" / "peer_jobs"
sys.path.insert(0, str(JOBS_DIR))

import workload  # noqa: E402  (bench/peer_jobs/workload.py, numpy and pyarrow only)

# peer -> (label, distribution package, how it flags)
PEERS: dict[str, tuple[str, str, str]] = {
    "alibi": ("Alibi Detect KSDrift + ChiSquareDrift", "alibi-detect", "p < 0.05 per feature"),
    "nannyml": ("NannyML UnivariateDriftCalculator (KS, chi2)", "nannyml",
                "alert per feature"),
    "evidently": ("Evidently DataDriftPreset", "evidently", "its default test per column"),
    "frouros": ("Frouros KSTest + ChiSquareTest", "frouros", "p < 0.05 per feature"),
}
NOT_INSTALLED = "not installed (run make bench-peers)"


@dataclass
class Job:
    key: str
    label: str
    argv: list[str]
    flags_by: str = ""
    report: Path | None = None  # mlmon batch: flagged features come from its JSON report
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)  # MB
    flagged: list[str] | None = None

    def median(self, what: str) -> float:
        return statistics.median(getattr(self, what))


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float
    rss_mb: float
    last_line: dict[str, Any]


def run_process(argv: list[str], cwd: Path) -> Run:
    """One whole process: wall from start to reaped, CPU and peak RSS from its rusage."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        if proc.returncode != 0:
            tail = err.read().decode(errors="replace")[-3000:]
            raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}:\n{tail}")
    lines = stdout.strip().splitlines()
    last = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, last)


def peer_python(name: str) -> Path | None:
    venv = ROOT / f".venv-peer-{name}"
    python = venv / "bin" / "python"
    return python if python.exists() and (venv / ".installed").exists() else None


def version(python: Path, dist: str) -> str:
    code = f"import importlib.metadata as m; print(m.version({dist!r}))"
    return subprocess.run([str(python), "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip()


def make_jobs(w: workload.Workload, bin_dir: Path,
              peers: dict[str, Path]) -> list[Job]:
    py = str(bin_dir / "python")
    mlmon = str(bin_dir / "mlmon")
    jobs = [
        Job("floor", "floor: read current.parquet (numpy + pyarrow)",
            [py, str(JOBS_DIR / "floor.py"), str(w.current)]),
        Job("floor_ref", "floor: read reference.parquet (numpy + pyarrow)",
            [py, str(JOBS_DIR / "floor.py"), str(w.reference)]),
        Job("batch", "`mlmon batch` (profile prebuilt)",
            [mlmon, "batch", "--profile", str(w.profile), "--input", str(w.current),
             "--config", str(w.config), "--format", "json", "--out",
             str(w.dir / "report.json")],
            "severity medium+", report=w.dir / "report.json"),
        Job("build", "`mlmon profile build` (100k rows)",
            [mlmon, "profile", "build", "--config", str(w.config), "--model", "bench",
             "--input", str(w.reference), "--out", str(w.dir / "profile-timed.json")]),
    ]
    for name, python in peers.items():
        label, _, flags_by = PEERS[name]
        jobs.append(Job(name, label, [str(python), str(JOBS_DIR / f"{name}_job.py"),
                                      str(w.spec)], flags_by))
    return jobs


def run_rounds(jobs: list[Job], rounds: int, cwd: Path) -> None:
    for j in jobs:  # warm-up: page cache, .pyc files; also checks every job works
        run_process(j.argv, cwd)
    for r in range(rounds):
        shift = r % len(jobs)
        for j in jobs[shift:] + jobs[:shift]:
            run = run_process(j.argv, cwd)
            j.walls.append(run.wall)
            j.cpus.append(run.cpu)
            j.rss.append(run.rss_mb)
            j.flagged = mlmon_flagged(j.report) if j.report else run.last_line.get("flagged")
        print(f"round {r + 1}/{rounds} done", file=sys.stderr, flush=True)


def mlmon_flagged(report: Path) -> list[str]:
    data = json.loads(report.read_text())
    return sorted(f["name"] for f in data["features"] if f["severity"] in ("medium", "high"))


@dataclass(frozen=True)
class InProcess:
    timings: dict[str, tuple[float, float]]  # analyze / collect_analyze / predict: wall, CPU
    runs: int
    rounds: int


def in_process(w: workload.Workload, bin_dir: Path, alibi: Path | None, rounds: int,
               runs: int) -> InProcess:
    """Each side in its own process, ``runs`` timed calls each; alternated ``rounds``
    times; the median of the per-process medians, wall and CPU."""
    got: dict[str, list[float]] = {}
    for _ in range(rounds):
        lines = [run_process([str(bin_dir / "python"), str(JOBS_DIR / "mlmon_drift.py"),
                              str(w.spec), str(runs)], w.dir).last_line]
        if alibi is not None:
            lines.append(run_process([str(alibi), str(JOBS_DIR / "alibi_predict.py"),
                                      str(w.spec), str(runs)], w.dir).last_line)
        for line in lines:
            for key, value in line.items():
                if key not in ("flagged", "runs"):
                    got.setdefault(key, []).append(value)
    keys = [k for k in ("analyze", "collect_analyze", "predict") if k in got]
    return InProcess({k: (statistics.median(got[k]), statistics.median(got[f"{k}_cpu"]))
                      for k in keys}, runs, rounds)


def flag_summary(flagged: list[str] | None) -> str:
    if flagged is None:
        return "–"
    shifted = set(workload.SHIFTS)
    tp = sorted(set(flagged) & shifted)
    fp = sorted(set(flagged) - shifted)
    missed = sorted(shifted - set(flagged))
    out = f"{len(tp)}/{len(shifted)} shifts"
    out += f", missed {', '.join(missed)}" if missed else ""
    out += f"; {len(fp)} false ({', '.join(fp)})" if fp else "; 0 false"
    return out


def print_tables(jobs: list[Job], missing: list[str], ip: InProcess, alibi_note: str) -> None:
    by = {j.key: j for j in jobs}
    batch, floor = by["batch"].median("walls"), by["floor"].median("walls")
    print("| job (whole process) | wall | CPU | peak RSS | wall / mlmon batch "
          "| flagged: known shifts found; false alarms |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for j in jobs:
        print(f"| {j.label} | {j.median('walls'):.2f} s | {j.median('cpus'):.2f} s | "
              f"{j.median('rss'):.0f} MB | {j.median('walls') / batch:.2f}x | "
              f"{flag_summary(j.flagged)} |")
        if j.key == "build":
            both = batch + j.median("walls")
            print(f"| `mlmon profile build` + `mlmon batch` (sum of medians) | {both:.2f} s | "
                  f"{by['batch'].median('cpus') + j.median('cpus'):.2f} s | – | "
                  f"{both / batch:.2f}x | – |")
    for name in missing:
        print(f"| {PEERS[name][0]} | {NOT_INSTALLED} | | | | |")
    print()
    print("| target | measured | floor (same run) | ratio | target |")
    print("| --- | ---: | ---: | ---: | --- |")
    cpu = {k: by[k].median("cpus") for k in ("batch", "floor", "build", "floor_ref")}
    print(f"| `mlmon batch` end to end | {batch:.2f} s | {floor:.2f} s (read current) | "
          f"{batch / floor:.2f}x (CPU {cpu['batch'] / cpu['floor']:.2f}x) | ≤ 2x the floor |")
    build, floor_ref = by["build"].median("walls"), by["floor_ref"].median("walls")
    print(f"| `mlmon profile build`, 100k rows | {build:.2f} s | {floor_ref:.2f} s (read "
          f"reference) | {build / floor_ref:.2f}x (CPU {cpu['build'] / cpu['floor_ref']:.2f}x) "
          "| ≤ 3x the floor |")
    t = ip.timings
    a, m = t.get("predict"), t["analyze"]
    measured = "–" if a is None else f"{a[0] * 1e3:.1f} ms / {m[0] * 1e3:.1f} ms"
    ratio = "–" if a is None else f"{a[0] / m[0]:.1f}x faster (CPU {a[1] / m[1]:.1f}x)"
    print(f"| one drift computation in-process, 25 features (Alibi `predict` / mlmon "
          f"`analyze`) | {measured} | – | {ratio} | ≥ 5x faster |")
    print()
    print(f"In-process, median of {ip.runs} calls per process, {ip.rounds} processes each "
          "side, alternated:")
    print("| computation (25 features, reference fitted / profile loaded) | wall (median) "
          "| CPU (median) | Alibi / this, wall (CPU) |")
    print("| --- | ---: | ---: | ---: |")
    labels = {"analyze": "mlmon `analyze` on collected values (what `mlmon batch` runs)",
              "collect_analyze": "mlmon `collect` + `analyze` from reader chunks in memory",
              "predict": "Alibi Detect KSDrift + ChiSquareDrift `predict`"}
    for key, (wall, cpu) in t.items():
        ratio = "–" if a is None else f"{a[0] / wall:.1f}x ({a[1] / cpu:.1f}x)"
        print(f"| {labels[key]} | {wall * 1e3:.1f} ms | {cpu * 1e3:.1f} ms | {ratio} |")
    if a is None:
        print(f"| Alibi Detect `predict` | {alibi_note} | | |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed runs of each job")
    parser.add_argument("--inprocess-runs", type=int, default=10,
                        help="timed calls per in-process measurement")
    parser.add_argument("--require-peers", action="store_true",
                        help="fail when a peer's virtualenv is missing")
    parser.add_argument("--keep", type=Path, help="write the workload here and keep it")
    parser.add_argument("--peers", default=",".join(PEERS),
                        help="comma-separated subset of: %(default)s")
    args = parser.parse_args()
    bin_dir = Path(sys.executable).parent
    chosen = [n for n in PEERS if n in args.peers.split(",")]
    peers = {n: p for n in chosen if (p := peer_python(n)) is not None}
    missing = [n for n in chosen if n not in peers]
    if missing and args.require_peers:
        print(f"peers {', '.join(missing)}: {NOT_INSTALLED}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="mlmon-peers-") as tmp:
        directory = args.keep or Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        w = workload.write(directory)
        run_process([str(bin_dir / "mlmon"), "profile", "build", "--config", str(w.config),
                     "--model", "bench", "--input", str(w.reference), "--out",
                     str(w.profile)], directory)
        jobs = make_jobs(w, bin_dir, peers)
        load0 = os.getloadavg()[0]
        run_rounds(jobs, args.rounds, directory)
        ip = in_process(w, bin_dir, peers.get("alibi"), min(args.rounds, 3),
                        args.inprocess_runs)
        load1 = os.getloadavg()[0]
    versions = ", ".join(f"{PEERS[n][1]} {version(p, PEERS[n][1])}" for n, p in peers.items())
    print(f"workload: {len(workload.NUMERIC)} numeric + {len(workload.CATEGORICAL)} "
          f"categorical features, reference {workload.REF_ROWS:,} rows, current "
          f"{workload.CUR_ROWS:,} rows, Parquet, seed {workload.SEED}")
    print("known shifts: " + "; ".join(f"{k} {v}" for k, v in workload.SHIFTS.items()))
    print(f"{os.cpu_count()} CPUs, load average {load0:.1f} at start, {load1:.1f} at end; "
          f"median of {args.rounds} rounds after one warm-up round")
    print(f"peers: {versions or 'none installed'}")
    print("mlmon flags severity medium+ (PSI size and a significant test); "
          + "; ".join(f"{PEERS[n][0].split()[0]}: {PEERS[n][2]}" for n in peers))
    print()
    print_tables(jobs, missing, ip,
                 NOT_INSTALLED if "alibi" in missing else "not run (see --peers)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
