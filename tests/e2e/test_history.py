"""`mlmon history` against a real Prometheus holding backfilled, known history."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.e2e.history_data import DAY, STEP, Truth, generate
from tests.procs import closed_port, require_binary, serving


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Truth]]:
    promtool = require_binary("promtool")
    prometheus = require_binary("prometheus")
    tmp = tmp_path_factory.mktemp("history")
    end = float(int(time.time() // STEP * STEP) - 3600)
    text, truth = generate(end)
    source = tmp / "history.om"
    source.write_text(text)
    data = tmp / "data"
    subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(source),
                    str(data)], check=True, capture_output=True, timeout=120)
    (tmp / "prometheus.yml").write_text("global: {scrape_interval: 1m}\n")
    with serving([prometheus, f"--config.file={tmp / 'prometheus.yml'}",
                  f"--storage.tsdb.path={data}", "--web.listen-address=127.0.0.1:0",
                  "--storage.tsdb.retention.time=30d"],
                 tmp / "prometheus.log", "/-/ready", timeout=60) as server:
        yield server.url, truth


def _history(url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "exporter", "history", "--prometheus", url,
                           "--model", "fraud", *extra], capture_output=True, text=True,
                          timeout=120)


def test_reports_known_slope_crossings_and_forecast(prom: tuple[str, Truth]) -> None:
    url, truth = prom
    out = _history(url, "--version", "3", "--range", "2d", "--step", "5m",
                   "--end", repr(truth.end), "--format", "json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["thresholds"] == {"psi_medium": 0.1, "psi_high": 0.25}
    drift = {d["name"]: d for d in doc["drift"]}
    amount = drift["amount"]
    assert amount["trend"]["slope_per_day"] == pytest.approx(truth.amount_slope_per_day, rel=1e-3)
    assert amount["trend"]["significant"] is True
    # first crossing: the first 5-minute sample at or after the true crossing time
    assert truth.amount_medium_at <= amount["first_crossed"]["medium"] < (
        truth.amount_medium_at + STEP + 1)
    assert truth.amount_high_at <= amount["first_crossed"]["high"] < (
        truth.amount_high_at + STEP + 1)
    assert amount["forecast_high"] is None  # already high
    income = drift["income"]
    lo, hi = income["trend"]["ci_low_per_day"], income["trend"]["ci_high_per_day"]
    assert lo <= truth.income_slope_per_day <= hi
    assert income["first_crossed"]["high"] is None
    assert income["forecast_high"] == pytest.approx(truth.income_high_at, abs=0.1 * DAY)
    age = drift["age"]
    assert age["trend"]["ci_low_per_day"] < 0 < age["trend"]["ci_high_per_day"]
    assert age["trend"]["significant"] is False
    assert age["shape"] == "flat" and age["step"] is None
    # a step: its time (± one step) and size, no slope and no forecast
    region = drift["region"]
    assert region["shape"] == "step" and region["trend"] is None
    assert region["trend_reason"] == "a step fits better than a line"
    assert abs(region["step"]["time"] - truth.region_step_at) <= STEP
    assert region["step"]["size"] == pytest.approx(truth.region_after - truth.region_before,
                                                   abs=0.003)
    assert region["forecast_high"] is None
    assert amount["shape"] == income["shape"] == "trend"
    perf = {p["name"]: p for p in doc["performance"]}
    assert perf["accuracy"]["current"] == pytest.approx(truth.acc3_end, abs=1e-6)
    assert perf["accuracy"]["change"] == pytest.approx(truth.acc3_end - truth.acc3_start,
                                                       abs=1e-6)
    assert perf["accuracy"]["trend"]["slope_per_day"] == pytest.approx(
        (truth.acc3_end - truth.acc3_start) / 2.0, rel=1e-3)


def test_compare_versions(prom: tuple[str, Truth]) -> None:
    url, truth = prom
    out = _history(url, "--compare", "3", "4", "--range", "2d", "--step", "5m",
                   "--end", repr(truth.end), "--format", "json")
    assert out.returncode == 0, out.stderr
    results = {r["name"]: r for r in json.loads(out.stdout)["compare"]["results"]}
    acc = results["accuracy"]
    # mean accuracy of version 3 over the range is the midpoint of its linear fall
    assert acc["a"] == pytest.approx((truth.acc3_start + truth.acc3_end) / 2, abs=1e-4)
    assert acc["b"] == pytest.approx(truth.acc4, abs=1e-6)
    assert acc["method"] == "two-proportion z-test"
    n = truth.joined_per_step * (2 * DAY / STEP)  # increase of the joined counter
    p_a, p_b = acc["a"], acc["b"]
    pooled = (p_a + p_b) / 2
    z = (p_b - p_a) / np.sqrt(pooled * (1 - pooled) * (2 / n))
    assert acc["statistic"] == pytest.approx(z, rel=0.02)
    assert acc["significant"] is True and acc["better"] == "4"
    assert results["psi:amount"]["better"] == "4"


def test_text_and_html_reports(prom: tuple[str, Truth], tmp_path: Path) -> None:
    url, truth = prom
    out = _history(url, "--version", "3", "--range", "2d", "--end", repr(truth.end))
    assert out.returncode == 0, out.stderr
    assert "amount" in out.stdout and "significant" in out.stdout
    region = next(line for line in out.stdout.splitlines() if line.split()[:2] == ["3", "region"])
    assert region.endswith("(no slope: a step fits better than a line)")
    out = _history(url, "--version", "3", "--range", "12m", "--end", repr(truth.end))
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("not reported (range 12m < 1h minimum)") == 5  # 4 PSI + accuracy
    page = tmp_path / "report.html"
    out = _history(url, "--version", "3", "--range", "2d", "--end", repr(truth.end),
                   "--format", "html", "--out", str(page))
    assert out.returncode == 0, out.stderr
    html = page.read_text()
    assert html.count("<svg") == 5  # 4 features + accuracy
    assert "<script" not in html
    for needle in ("src=", "href=", "url(", "@import"):
        assert needle not in html, needle  # self-contained: nothing loaded from elsewhere
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no temporary left
    out = _history(url, "--version", "3", "--range", "2d", "--end", repr(truth.end),
                   "--out", str(tmp_path / "missing" / "r.txt"))
    assert out.returncode == 2 and "cannot write report" in out.stderr


def test_errors_are_clear(prom: tuple[str, Truth]) -> None:
    url, truth = prom
    with closed_port() as dead:  # bound, not listening: connections are refused
        out = _history(url.rsplit(":", 1)[0] + f":{dead}")
    assert out.returncode == 2 and "cannot reach Prometheus" in out.stderr
    out = _history(url, "--range", "2d", "--end", repr(truth.end), "--model", "nope")
    assert out.returncode == 2 and "unknown model 'nope'" in out.stderr
    assert "fraud" in out.stderr
    out = _history(url, "--range", "1d", "--end", repr(truth.start - 20 * DAY))
    assert out.returncode == 2 and "no data for model 'fraud'" in out.stderr
    out = _history(url, "--range", "2d", "--step", "1s", "--end", repr(truth.end))
    assert out.returncode == 2
    assert "answered HTTP 400" in out.stderr and "resolution" in out.stderr
