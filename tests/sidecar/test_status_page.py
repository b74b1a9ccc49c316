"""GET / on a real sidecar (loopback aiohttp) fed with events: the page shows /v1/status."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np

from exporter.config.model import FeatureConfig
from exporter.sidecar.runtime import Sidecar
from exporter.sidecar.status_page import render
from tests.factories import config, fraud_events, fraud_model, fraud_profile, price_model
from tests.procs import post_events
from tests.sidecar.threaded import ndjson, running

# A feature name that breaks the page if left unescaped. (No '"' or '\\': msgspec refuses
# those as field names, so the sidecar cannot serve such a feature.)
ODD = "age<b>&'q"


class Page(HTMLParser):
    """Rows (attributes and (class, text) cells), links and sections of the status page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[tuple[dict[str, str], list[tuple[str, str]]]] = []
        self.links: list[str] = []
        self.sections: list[dict[str, str]] = []
        self.meta: list[dict[str, str]] = []
        self.tags: list[str] = []
        self._cell: list[str] | None = None
        self._cell_class = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.append(tag)
        if tag == "tr":
            self.rows.append((a, []))
        elif tag in ("td", "th") and self.rows:
            self._cell, self._cell_class = [], a.get("class", "")
        elif tag == "a":
            self.links.append(a.get("href", ""))
        elif tag == "section":
            self.sections.append(a)
        elif tag == "meta":
            self.meta.append(a)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1][1].append((self._cell_class, "".join(self._cell).strip()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def row(self, attr: str, value: str) -> list[tuple[str, str]]:
        found = [cells for a, cells in self.rows if a.get(attr) == value]
        assert len(found) == 1, f"{attr}={value!r}: {len(found)} rows"
        return found[0]

    def feature(self, model_index: int, name: str) -> tuple[dict[str, str], dict[str, str]]:
        rows = [(a, cells) for a, cells in self.rows if a.get("data-feature") == name]
        a, cells = rows[model_index]
        return a, {cls.split()[-1]: text for cls, text in cells}


def _get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.status, resp.headers["Content-Type"], resp.read()


def _close(text: str, value: float, decimals: int = 4) -> bool:
    return text == f"{value:.{decimals}f}" or abs(float(text) - value) <= 0.5 * 10 ** -decimals


def _p_close(text: str, value: float) -> bool:
    return abs(float(text) - value) <= max(5e-5, 0.006 * value)  # 3 significant digits


def _scenario(tmp: Path) -> tuple[dict[str, Any], str, str, str, np.ndarray[Any, Any]]:
    base = fraud_model(window=400, min_samples=100)
    fraud = replace(base, features=tuple(
        FeatureConfig(ODD, f.kind) if f.name == "age" else f for f in base.features))
    prof = fraud_profile(base)
    prof = replace(prof, features=tuple(
        replace(f, name=ODD) if f.name == "age" else f for f in prof.features))
    price = price_model(window=200)
    events = fraud_events(300, shift=1.0)  # amount drifts strongly
    for e in events:
        e["features"][ODD] = e["features"].pop("age")
    labels = [{"v": 1, "model": "fraud", "version": "1", "id": e["id"], "label": i % 2}
              for i, e in enumerate(events[:120])]
    rng = np.random.default_rng(5)
    preds = rng.normal(100, 20, 50).round(3)
    truth = (preds + rng.normal(0, 5, 50)).round(3)
    price_lines = [{"v": 1, "model": "price", "version": "7", "id": f"p{i}",
                    "features": {"rooms": 3}, "prediction": float(p)}
                   for i, p in enumerate(preds)]
    price_labels = [{"v": 1, "model": "price", "version": "7", "id": f"p{i}", "label": float(y)}
                    for i, y in enumerate(truth)]
    bad = ["{not json", json.dumps({"v": 1, "model": "nope", "prediction": 1})]
    with running(Sidecar(config(fraud, price, tmp=tmp), {fraud.key: prof})) as r:
        batches = [events, labels, price_lines, price_labels]
        for batch in batches:
            assert post_events(f"{r.http}/v1/events", ndjson(batch))[0] == 202
        assert post_events(f"{r.http}/v1/events", ndjson(bad))[0] == 202
        r.settle(sum(map(len, batches)) + len(bad))
        r.compute()
        status, ctype, page = _get(f"{r.http}/")
        assert status == 200
        _, _, doc = _get(f"{r.http}/v1/status")
        links = Page()
        links.feed(page.decode())
        targets = {href: _get(urllib.parse.urljoin(f"{r.http}/", href))[0]
                   for href in links.links}
    return json.loads(doc), ctype, page.decode(), json.dumps(targets), np.abs(preds - truth)


def test_page_shows_what_v1_status_reports(tmp_path: Path) -> None:
    doc, ctype, html, targets, abs_err = _scenario(tmp_path)
    assert ctype == "text/html; charset=utf-8"
    page = Page()
    page.feed(html)
    page.close()

    fraud, price = doc["models"]
    assert [s["data-model"] for s in page.sections] == ["fraud", "price"]
    assert [s["data-version"] for s in page.sections] == ["1", "7"]
    by_name = {f["name"]: f for f in fraud["features"]}
    assert by_name["amount"]["severity"] == "high"  # lognormal mean shifted by e: PSI far > 0.25
    shown_severities = set()
    for f in fraud["features"]:
        attrs, cells = page.feature(0, f["name"])
        expected = f"sev-{f['severity']}" if f["severity"] else "sev-none"
        assert expected in attrs["class"].split()
        shown_severities.add(expected)
        assert cells["name"] == f["name"]
        assert _close(cells["psi"], f["psi"])
        assert int(cells["samples"]) == f["samples"] == 300
        if f["kind"] == "numeric":
            assert _p_close(cells["ks"], f["ks_pvalue"]) and cells["chi2"] == "–"
        else:
            assert _p_close(cells["chi2"], f["chi2_pvalue"]) and cells["ks"] == "–"
    assert "sev-high" in shown_severities and len(shown_severities) >= 2

    # No profile for price: no verdict, shown as such.
    rooms_attrs, rooms = page.feature(0, "rooms")
    assert "sev-none" in rooms_attrs["class"].split() and rooms["severity"] == "no verdict"

    # Escaping: the odd name round-trips through the parser and never appears raw.
    assert page.feature(0, ODD)[1]["name"] == ODD
    assert ODD not in html and "age&lt;b&gt;&amp;&#x27;q" in html
    assert page.tags.count("b") == 0

    # Window fill and last compute, as /v1/status says.
    summary_cells = [c for _, cells in page.rows for c in cells if c[0] == "window-fill"]
    assert f"({fraud['window_samples']} / {fraud['window_size']})" in summary_cells[0][1]
    assert f"{fraud['window_fill']:.1%}" in summary_cells[0][1]
    computed = [c for _, cells in page.rows for c in cells if c[0] == "last-compute"]
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(fraud["last_compute"]))
    assert stamp in computed[0][1]

    # Performance: accuracy from /v1/status, MAE against a hand calculation.
    metric_rows = [(a["data-metric"], cells[-1][1]) for a, cells in page.rows
                   if "data-metric" in a]
    fraud_metrics = dict(metric_rows[:len(fraud["performance"])])
    price_metrics = dict(metric_rows[len(fraud["performance"]):])
    assert fraud["performance"]["samples"] == 120
    assert _close(fraud_metrics["accuracy"], fraud["performance"]["accuracy"])
    sent = fraud_events(300, shift=1.0)[:120]  # by hand: label i % 2, class 1 when score >= 0.5
    hits = sum((e["prediction"] >= 0.5) == (i % 2 == 1) for i, e in enumerate(sent))
    assert _close(fraud_metrics["accuracy"], hits / 120)
    assert int(price_metrics["samples"]) == price["performance"]["samples"] == 50
    assert _close(price_metrics["mae"], float(abs_err.mean()))
    assert _close(price_metrics["rmse"], float(np.sqrt((abs_err ** 2).mean())))

    # Events received and rejected.
    received = doc["events"]["received"]
    assert int(page.row("data-transport", "http")[-1][1]) == received["http"] > 0
    rejected = {k: v for k, v in doc["events"]["rejected"].items() if v}
    assert rejected and sum(rejected.values()) >= 2
    assert rejected == {"malformed_json": 1, "unknown_model": 1}  # the two bad lines sent
    for reason, count in rejected.items():
        assert int(page.row("data-reason", reason)[-1][1]) == count

    # Links to the machine endpoints, and they resolve; the page refreshes itself.
    assert json.loads(targets) == {"/metrics": 200, "/v1/status": 200}
    assert any(m.get("http-equiv") == "refresh" for m in page.meta)


def test_render_escapes_model_names_and_handles_no_compute() -> None:
    doc = {"version": "0", "uptime_seconds": 1.0, "events": {"received": {}, "rejected": {}},
           "models": [{"model": "<script>x</script>", "version": '1&"2', "window_size": 10,
                       "window_samples": 0, "window_fill": 0.0, "last_compute": None,
                       "predictions_total": 0, "labels_joined": 0, "severity": None,
                       "drift_share": None, "features": [], "top_drifted": [],
                       "performance": {}}]}
    html = render(doc, now=0.0)
    page = Page()
    page.feed(html)
    assert "script" not in page.tags
    assert page.sections == [{"class": "model", "data-model": "<script>x</script>",
                              "data-version": '1&"2'}]
    assert "not yet" in html and "No joined labels yet." in html
