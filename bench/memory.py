"""Sidecar memory: idle, after 30k events, and 2 x 50 features with full 10k windows.

    .venv/bin/python bench/memory.py [--json]

Each case starts a real `mlmon serve` (sidecar + decoder process, a state file saved
every 2 s, statistics computed every 2 s) on profiles built by `mlmon profile build`
from 100k generated rows at the default sample size, as a user builds them:

- idle: 25 features (20 numeric + 5 categorical), 10k window, no events;
- after 30k events: the same sidecar after 30,000 events with fresh ids (window full,
  30,000 predictions waiting for their labels);
- 2 x 50 features (45 numeric + 5 categorical each), 10k windows, both windows filled.

Each figure is the sidecar's and its decoder's memory summed, read from /proc after
two compute cycles and a state save: RSS (what `ps` and the targets use; library
pages the two share are counted twice), PSS (shared pages counted once, closer to
what the container's memory cgroup is charged) and the highest summed RSS sampled
every 0.2 s over the case. The floor, measured in the same run, is what the two
processes cost before holding anything: a fresh interpreter importing
`exporter.sidecar.runtime` (the sidecar) plus one importing the decoder's module.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from loadgen import preload  # bench/loadgen.py, beside this script
from procfs import Memory, floor, memory
from sidecar_proc import Sidecar
from synthetic import write_config

TARGETS_MB = {"idle": 100.0, "after_30k": 140.0, "two_by_50": 160.0}
SETTLE = 6.0  # seconds: three compute cycles and three state saves at 2 s
SERVER = "state_interval: 2s"


def floors() -> dict[str, Memory]:
    """Fresh interpreters: bare, with numpy, with the sidecar's and the decoder's imports."""
    return {"python": floor(), "numpy": floor("numpy"),
            "sidecar_imports": floor("exporter.sidecar.runtime"),
            "decoder_imports": floor("exporter.sidecar.ingest.decode_process")}


def _settle(sc: Sidecar, work: Callable[[], None] = lambda: None) -> dict[str, float]:
    """Do ``work``, then sample every 0.2 s for SETTLE seconds: the median of the summed
    RSS and PSS over that time (compute cycles and saves come and go), the highest summed
    RSS sampled from the start of ``work``, and the split between the processes."""
    with sc.watch_memory() as watch:
        work()
        start = len(watch.samples)
        time.sleep(SETTLE)
    settled = watch.samples[start:] or watch.samples[-1:]
    parts = [memory(p) for p in sc.pids()]
    return {"rss": statistics.median(r for r, _ in settled),
            "pss": statistics.median(p for _, p in settled),
            "peak_rss": max(r for r, _ in watch.samples[1:]), "main_rss": parts[0].rss,
            "decoder_rss": sum(m.rss for m in parts[1:]), "processes": len(parts)}


def one_model(tmp: Path) -> dict[str, dict[str, float]]:
    """Idle, then after 30k events: 25 features, 10k window."""
    cfg = write_config(tmp, [("m25", 20, 5)], 10_000, "2s", built=True, server=SERVER,
                       filename="m25.yaml")
    sc = Sidecar(tmp, cfg, "m25", "--state-file", str(tmp / "m25.state"))
    try:
        idle = _settle(sc)
        busy = _settle(sc, lambda: preload(sc, "m25", 20, 5, 30_000))
    finally:
        sc.stop()
    return {"idle": idle, "after_30k": busy}


def two_models(tmp: Path) -> dict[str, float]:
    """2 x 50 features, 10k windows, after filling both."""
    cfg = write_config(tmp, [("alpha", 45, 5), ("beta", 45, 5)], 10_000, "2s", built=True,
                       server=SERVER, filename="two.yaml")
    sc = Sidecar(tmp, cfg, "two", "--state-file", str(tmp / "two.state"))

    def fill() -> None:
        for name in ("alpha", "beta"):
            preload(sc, name, 45, 5, 10_000, shift=1.0)

    try:
        return _settle(sc, fill)
    finally:
        sc.stop()


def run() -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="mlmon-memory-") as d:
        tmp = Path(d)
        cases = one_model(tmp)
        cases["two_by_50"] = two_models(tmp)
    return {"floors": {k: asdict(v) for k, v in floors().items()}, "cases": cases}


LABELS = {"idle": "idle, 25 features (20 num + 5 cat), 10k window",
          "after_30k": "same, after 30,000 events",
          "two_by_50": "2 models x 50 features, 10k windows filled"}


def print_table(result: dict[str, object]) -> None:
    fl: dict[str, dict[str, float]] = result["floors"]  # type: ignore[assignment]
    cases: dict[str, dict[str, float]] = result["cases"]  # type: ignore[assignment]
    floor_rss = fl["sidecar_imports"]["rss"] + fl["decoder_imports"]["rss"]
    floor_pss = fl["sidecar_imports"]["pss"] + fl["decoder_imports"]["pss"]
    print("sidecar + decoder memory, MB (2^20 bytes), summed over both processes")
    head = (f"{'case':<48} {'RSS':>6} {'target':>7} {'ok':>3} {'PSS':>6} {'peak RSS':>9}"
            f" {'sidecar':>8} {'decoder':>8}")
    print(head)
    for key, label in LABELS.items():
        c = cases[key]
        target = TARGETS_MB[key]
        ok = "yes" if c["rss"] <= target else "NO"
        print(f"{label:<48} {c['rss']:>6.0f} {'<= ' + format(target, '.0f'):>7} {ok:>3}"
              f" {c['pss']:>6.0f} {c['peak_rss']:>9.0f} {c['main_rss']:>8.0f}"
              f" {c['decoder_rss']:>8.0f}")
    print(f"{'floor: interpreters importing sidecar, decoder':<48}"
          f" {floor_rss:>6.0f} {'':>7} {'':>3} {floor_pss:>6.0f} {'':>9}"
          f" {fl['sidecar_imports']['rss']:>8.0f} {fl['decoder_imports']['rss']:>8.0f}")
    print(f"(floors, RSS: python alone {fl['python']['rss']:.0f}, python + numpy "
          f"{fl['numpy']['rss']:.0f}; RSS counts the library pages the two processes share "
          "twice, PSS once; peak RSS: highest summed RSS sampled every 0.2 s in the case)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the raw numbers as JSON")
    args = parser.parse_args()
    result = run()
    if args.json:
        print(json.dumps(result, indent=2))
    print_table(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
