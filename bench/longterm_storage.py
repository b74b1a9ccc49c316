"""What a long-term store holds for mlmon: series per model and bytes per sample.

Runs the stack of tests/e2e/test_victoriametrics.py for --duration seconds (a sidecar
fed the fraud example, drifted rows from --drift-after on; Prometheus scraping it and
remote-writing with the keep rules of prometheus/prometheus.example.yml to one
VictoriaMetrics; a second VictoriaMetrics scraping the sidecar itself, with vmalert
writing rules/'s recording rules into it), then flushes both stores and reads their own
accounting from /metrics: samples stored (vm_rows) and bytes on disk
(vm_data_size_bytes), data parts and index separately.

Everything is scraped and evaluated every second here, so a minute of run time stands
for 15 minutes of a 15 s scrape. The projection per model and day uses the intervals of
the example config: 15 s scrapes, 5-minute downsampling rules (rules/mlmon-downsampling.yml).

    python bench/longterm_storage.py --duration 120 --drift-after 40
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e import vm_support as vs  # noqa: E402

BINARIES = ("prometheus", "prometheus-alertmanager", "victoria-metrics", "vmalert")
SCRAPE, RULES = 15.0, 300.0  # production intervals of the example config, seconds
DAY = 86_400.0
_SAMPLE = re.compile(r'^(vm_rows|vm_data_size_bytes)\{type="([^"]+)"\} (\S+)$', re.M)


def storage(store: str) -> dict[str, float]:
    """Samples and bytes of the data parts and bytes of the index, after a flush."""
    with urllib.request.urlopen(f"{store}/internal/force_flush", timeout=30):
        pass
    time.sleep(2)  # the flushed parts are counted on the next /metrics
    text = vs.get_text(f"{store}/metrics")
    out = {"rows": 0.0, "data": 0.0, "index": 0.0}
    for name, kind, value in _SAMPLE.findall(text):
        if kind.startswith("storage/"):
            out["rows" if name == "vm_rows" else "data"] += float(value)
        elif kind.startswith("indexdb") and name == "vm_data_size_bytes":
            out["index"] += float(value)
    return out


def per_name(store: str, match: str, since: float) -> dict[str, int]:
    count: dict[str, int] = {}
    for labels in vs.series(store, match, since):
        count[labels["__name__"]] = count.get(labels["__name__"], 0) + 1
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=120.0)
    parser.add_argument("--drift-after", type=float, default=40.0)
    args = parser.parse_args()
    missing = [b for b in BINARIES if shutil.which(b) is None]
    if missing:
        print(f"missing {', '.join(missing)}: make tools installs them", file=sys.stderr)
        return 2
    binaries = {b: str(shutil.which(b)) for b in BINARIES}
    with tempfile.TemporaryDirectory() as tmp, vs.stack(Path(tmp), binaries) as s:
        time.sleep(args.drift_after)
        s.traffic.drifted = True
        time.sleep(max(0.0, args.duration - args.drift_after))
        time.sleep(6)  # the last remote-write batches
        expected = vs.expected_series(vs.get_text(f"{s.sidecar}/metrics"), "fraud")
        kept = per_name(s.longterm, '{model="fraud"}', s.started)
        alerts = kept.pop("ALERTS", 0)
        everything = per_name(s.victoria, '{model="fraud"}', s.started)
        stores = {"long-term store (keep rules)": storage(s.longterm),
                  "full store (every series, recording rules)": storage(s.victoria)}
        elapsed = time.time() - s.started
    print(f"run {elapsed:.0f} s, scrape and rule interval 1 s, drift after "
          f"{args.drift_after:.0f} s; model fraud, one pod\n")
    print("| series kept per model | count |\n| --- | ---: |")
    for name, n in sorted(kept.items()):
        print(f"| `{name}` | {n} |")
    print(f"| all but ALERTS (expected from the sidecar's /metrics: "
          f"{sum(expected.values())}) | {sum(kept.values())} |")
    print(f"| `ALERTS` (one per alert and state seen) | {alerts} |")
    print(f"| every fraud series, for comparison (full store) | {sum(everything.values())} |\n")
    print("| store | samples | data bytes | bytes/sample | index bytes |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for label, st in stores.items():
        per = st["data"] / st["rows"] if st["rows"] else float("nan")
        print(f"| {label} | {st['rows']:,.0f} | {st['data']:,.0f} | {per:.2f} | "
              f"{st['index']:,.0f} |")
    recorded = sum(n for name, n in kept.items() if ":" in name)
    scraped = sum(kept.values()) - recorded
    per_day = scraped * DAY / SCRAPE + recorded * DAY / RULES
    long_bps = stores["long-term store (keep rules)"]
    bps = long_bps["data"] / long_bps["rows"] if long_bps["rows"] else float("nan")
    print(f"\nprojection, one pod of fraud at the example's intervals: {scraped} scraped "
          f"series every {SCRAPE:g} s + {recorded} recorded every {RULES:g} s = "
          f"{per_day:,.0f} samples/day, {per_day * bps / 1e6:.2f} MB/day, "
          f"{per_day * bps * 365 / 1e6:.0f} MB/year at {bps:.2f} bytes/sample")
    return 0


if __name__ == "__main__":
    sys.exit(main())
