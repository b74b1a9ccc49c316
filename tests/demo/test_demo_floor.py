"""`mlmon demo` in a subprocess (real sidecar, real tap): the estimated accuracy falls below
the floor first, realized accuracy later, and the demo says when, relative to the drift.

Short run, fixed seed: 800 predictions/s, drift after 3 s (the default plan: amount ×10,
country mix reversed, labels drawn from the simulated model's P(y | drifted x)), labels
3-9 s late (--label-delay 6), 26 s. With the fraud example's windows (5000 predictions,
10,000 joined pairs) the estimate turns over in ~6 s and crosses the 0.8 floor ~5 s after
the drift; realized accuracy needs the labels and twice the rows, ~17 s. Not flaky: the
drifted rows' expected accuracy is ~0.776, so at the end the estimate sits ~0.023 below
the floor (7 sampling sd over 5000 rows); realized accuracy cannot cross first, as its
drifted pairs lag the drifted predictions by the label delay and fill a window twice as
long. Oracles: the events the demo sent (--record), recomputed with numpy; the row count
of reference.csv for the estimate's basis. No speed is asserted: only the order of the
crossings, and that the reported one is not earlier than the sent traffic's own crossing
(causality); the times are printed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from exporter.profile.files import load_profile
from tests.demo.conftest import FRAUD

WINDOW = 5000  # the fraud example's prediction window: the estimate's rows
FLOOR = 0.8  # its accuracy_floor
ESTIMATE = re.compile(r"estimated accuracy (\d\.\d+) fell below the floor 0\.8 (\d+)s after "
                      r"drift started \(calibrated on (\d+) reference rows\)")
REALIZED = re.compile(r"realized accuracy (\d\.\d+) fell below the floor 0\.8 (\d+)s after "
                      r"drift started")
FINAL = re.compile(r"estimated accuracy (\d\.\d+) vs realized (\S+)")


def _cbpe(scores: np.ndarray) -> np.ndarray:
    """Each row's calibrated probability of being right (the profile's map, by numpy)."""
    cal = load_profile(FRAUD / "profile.json").calibration
    assert cal is not None
    m = cal.maps[0]
    p = np.interp(scores, np.array(m.x), np.array(m.y))  # clamped outside, as documented
    out: np.ndarray = np.where(scores >= 0.5, p, 1.0 - p)
    return out


def test_demo_reports_the_estimate_crossing_the_floor_before_realized(
        tmp_path: Path) -> None:
    record = tmp_path / "sent.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "exporter", "demo", "--duration", "26", "--drift-after", "3",
         "--rate", "800", "--label-delay", "6", "--compute-interval", "1",
         "--summary-every", "30", "--seed", "0", "--http", "127.0.0.1:0",
         "--record", str(record)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    print("\n" + "\n".join(ln for ln in out.splitlines()
                           if "fell below" in ln or "accuracy" in ln))

    est = ESTIMATE.search(out)
    assert est is not None, out
    t_est, basis = int(est.group(2)), int(est.group(3))
    real = REALIZED.search(out)
    t_real = int(real.group(2)) if real else None
    print(f"below the floor: estimate {t_est}s, realized {t_real}s after drift started")
    assert t_real is None or t_real > t_est
    with (FRAUD / "reference.csv").open(encoding="utf-8") as f:
        assert basis == sum(1 for _ in f) - 1  # rows of the reference it was calibrated on
    final = out.split("── mlmon demo")[-1]
    assert re.search(rf"accuracy floor 0\.8: estimate below {t_est}s after drift started, "
                     r"realized below (\d+s after drift started|not yet)", final), final

    sent = [json.loads(line) for line in record.read_text().splitlines()]
    assert f"  predictions {len(sent)}  " in final  # the sidecar counted all it was sent
    drifted = [i for i, e in enumerate(sent) if e["drifted"]]
    assert drifted and all(e["drifted"] for e in sent[drifted[0]:])
    scores = np.array([e["prediction"]["1"] for e in sent])
    right = _cbpe(scores)
    # When the traffic itself crossed: the first row whose trailing window is below the
    # floor. The sidecar can only report a crossing after it (at its next computation).
    trailing = np.convolve(right, np.ones(WINDOW) / WINDOW, mode="valid")  # ends at WINDOW-1
    k = WINDOW - 1 + int(np.flatnonzero(trailing < FLOOR)[0])
    t_traffic = sent[k]["t"] - sent[drifted[0]]["t"]
    print(f"the sent traffic's trailing {WINDOW} rows crossed {t_traffic:.2f}s after drift")
    assert t_est >= t_traffic - 0.6  # the report rounds to whole seconds

    # The final estimate: the sidecar's window is the last WINDOW predictions sent.
    m = FINAL.search(final)
    assert m is not None, final
    shown = float(m.group(1))
    oracle = float(right[-WINDOW:].mean())
    labels = np.array([e["label"] for e in sent[-WINDOW:]])
    accuracy = float(np.mean(np.where(scores[-WINDOW:] >= 0.5, "1", "0") == labels))
    print(f"end: estimate shown {shown:.3f}, numpy {oracle:.4f}; the same rows' accuracy "
          f"with their labels {accuracy:.4f}")
    assert abs(shown - oracle) <= 0.0005 + 1e-9  # printed with 3 decimals
    # CBPE's premise holds in the demo's covariate shift: the estimate is the accuracy the
    # labels will show (sampling sd over 5000 rows ≈ 0.006, the simulation's bias ≈ 0.003)
    assert abs(oracle - accuracy) <= 0.03
    assert max(oracle, accuracy) < FLOOR


def test_a_negative_label_delay_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    from exporter.cli import main

    assert main(["demo", "--label-delay", "-1", "--duration", "1"]) == 2
    assert "--label-delay must not be negative" in capsys.readouterr().err
