"""The live terminal summary, formatted from the sidecar's /v1/status JSON (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SEVERITY_MARK = {"low": "low", "medium": "MEDIUM", "high": "HIGH !"}
PERFORMANCE_ORDER = ("accuracy", "macro_f1", "log_loss", "mae", "rmse", "mape", "r2")
TIMELINE_LINES = 12  # timeline lines a summary shows (the latest ones)


@dataclass(frozen=True)
class Rates:
    """What the demo measured between two summaries."""

    elapsed: float  # seconds since the demo started
    sent_per_s: float  # predictions tapped by the simulated model server
    accepted_per_s: float | None  # predictions the sidecar counted (None on the first one)
    client_dropped: int
    drift: str  # e.g. "off (starts at 60s)" or "ON since 60s: amount ×2.2 ..."


def fmt_float(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "—"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def fmt_pvalue(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 1e-4:
        return "<1e-4"
    return f"{value:.4f}"


def _yes_no(value: bool | None) -> str:
    return "—" if value is None else ("yes" if value else "no")


def _feature_rows(features: Sequence[Mapping[str, Any]],
                  prediction: Mapping[str, Any] | None) -> list[str]:
    """PSI, its upper confidence bound and noise floor, the test p-value the verdict rests
    on, significant (after Holm), severity. Most drifted first; features without a verdict
    yet (too few samples) last; then the prediction, which counts in the drift share."""
    ordered = sorted(features, key=lambda f: (f.get("psi") is None, -(f.get("psi") or 0.0),
                                             str(f.get("name"))))
    if prediction is not None:
        ordered.append(prediction)
    w = max([16, *(len(str(f.get("name"))) for f in ordered)])
    rows = [f"  {'feature':<{w}} {'kind':<12} {'samples':>7} {'PSI':>7} {'upper':>7} "
            f"{'floor':>7} {'test p':>8} {'signif':>6}  severity"]
    for f in ordered:
        severity = f.get("severity")
        mark = SEVERITY_MARK.get(str(severity), "—") if severity is not None else "—"
        rows.append(f"  {f.get('name')!s:<{w}} {f.get('kind')!s:<12} "
                    f"{int(f.get('samples') or 0):>7} {fmt_float(f.get('psi')):>7} "
                    f"{fmt_float(f.get('psi_upper_bound')):>7} "
                    f"{fmt_float(f.get('psi_noise_floor')):>7} "
                    f"{fmt_pvalue(f.get('pvalue')):>8} {_yes_no(f.get('significant')):>6}"
                    f"  {mark}")
    return rows


def _performance(perf: Mapping[str, Any]) -> str:
    parts = [f"{k.replace('_', ' ')} {fmt_float(perf[k])}" for k in PERFORMANCE_ORDER
             if k in perf and perf[k] is not None]
    if not parts:
        return "  performance: waiting for labels"
    samples = perf.get("samples")
    return "  performance: " + ", ".join(parts) + (f"  (n={samples})" if samples else "")


def format_model(model: Mapping[str, Any], now: float) -> list[str]:
    last = model.get("last_compute")
    age = f"{max(0.0, now - float(last)):.0f}s ago" if last is not None else "not yet"
    share = model.get("drift_share")
    lines = [
        f"model {model.get('model')}:{model.get('version')}  "
        f"window {model.get('window_samples')}/{model.get('window_size')} "
        f"({100 * float(model.get('window_fill') or 0.0):.0f}%)  "
        f"severity {str(model.get('severity') or '—').upper()}  "
        f"drift share {fmt_float(share, 2)}  computed {age}",
        f"  predictions {model.get('predictions_total')}  labels joined "
        f"{model.get('labels_joined')}",
        *_feature_rows(model.get("features") or (), model.get("prediction")),
        _performance(model.get("performance") or {}),
        *_estimate(model),
    ]
    return lines


def _estimate(model: Mapping[str, Any]) -> list[str]:
    """CBPE next to realized accuracy: the estimate needs no labels, so after a shift it
    moves with the prediction window while realized accuracy waits for the labels."""
    basis = model.get("estimate_basis")
    if basis is None:
        return []  # regression, or a sidecar without the estimate
    est = model.get("estimate")
    if est is None:
        return [f"  estimated accuracy: waiting for min_samples predictions ({basis})"]
    realized = (model.get("performance") or {}).get("accuracy")
    return [f"  estimated accuracy {fmt_float(est.get('accuracy'))} vs realized "
            f"{fmt_float(realized)}  ({basis}; n={est.get('samples')})"]


def format_timeline(events: Sequence[str], limit: int = TIMELINE_LINES,
                    earlier: int = 0) -> list[str]:
    """The last ``limit`` timeline lines, oldest first, after a line counting the ones
    left out (``earlier``: already dropped before ``events``); nothing when there are none."""
    shown = list(events[-limit:]) if limit > 0 else []
    hidden = earlier + len(events) - len(shown)
    if not shown and not hidden:
        return []
    return (["timeline:"] + ([f"  … {hidden} earlier"] if hidden else [])
            + [f"  {line}" for line in shown])


def format_summary(status: Mapping[str, Any] | None, rates: Rates, now: float,
                   urls: Mapping[str, str], extra: Sequence[str] = (),
                   timeline: Sequence[str] = (), earlier: int = 0) -> str:
    """One block of text; ``status`` None means the sidecar did not answer; ``extra``
    lines (the floor crossings) follow the models, then the URLs, then the last
    ``TIMELINE_LINES`` of ``timeline`` (see format_timeline): a redraw that clears the
    screen keeps them in view, and the lines printed as they happen continue them."""
    accepted = "—" if rates.accepted_per_s is None else f"{rates.accepted_per_s:.0f}"
    lines = [f"── mlmon demo  t={rates.elapsed:.0f}s  drift: {rates.drift}",
             f"events/s: sent {rates.sent_per_s:.0f}, accepted by sidecar {accepted}; "
             f"client drops {rates.client_dropped}"]
    if status is None:
        lines.append("sidecar: no answer from /v1/status")
    else:
        rejected = sum(int(v) for v in status.get("events", {}).get("rejected", {}).values())
        lines[-1] += f"; rejected {rejected}"
        for model in status.get("models", ()):
            lines.extend(format_model(model, now))
    lines.extend(extra)
    lines.extend(f"{name}: {url}" for name, url in urls.items())
    lines.extend(format_timeline(timeline, TIMELINE_LINES, earlier))
    return "\n".join(lines) + "\n"


@dataclass
class FloorWatch:
    """When the estimated and the realized accuracy first fell below the accuracy floor,
    in seconds after drift started (measured at the sidecar computation that first showed
    it). Fed every status the demo fetches; only computations after the drift count."""

    floor: float
    drift_started: float | None = None  # wall time of the first drifted prediction
    estimate_below: float | None = None  # seconds after drift_started
    realized_below: float | None = None
    basis: str | None = None  # what the estimate rests on ("calibrated on N reference rows")
    estimate: float | None = None  # latest values seen
    realized: float | None = None

    def update(self, model: Mapping[str, Any] | None) -> list[str]:
        """Feed one model's status; returns a line per floor crossing it shows first."""
        if model is None:
            return []
        self.basis = model.get("estimate_basis") or self.basis
        est = (model.get("estimate") or {}).get("accuracy")
        real = (model.get("performance") or {}).get("accuracy")
        self.estimate = est if est is not None else self.estimate
        self.realized = real if real is not None else self.realized
        computed = model.get("last_compute")
        if self.drift_started is None or computed is None or computed < self.drift_started:
            return []
        after = float(computed) - self.drift_started
        lines = []
        if self.estimate_below is None and est is not None and est < self.floor:
            self.estimate_below = after
            lines.append(f"estimated accuracy {est:.3f} fell below the floor {self.floor:g} "
                         f"{after:.0f}s after drift started ({self.basis}); realized "
                         f"accuracy still {fmt_float(self.realized)}")
        if self.realized_below is None and real is not None and real < self.floor:
            self.realized_below = after
            lead = ("" if self.estimate_below is None
                    else f", {after - self.estimate_below:.0f}s after the estimate")
            lines.append(f"realized accuracy {real:.3f} fell below the floor {self.floor:g} "
                         f"{after:.0f}s after drift started{lead}")
        return lines

    def describe(self) -> str:
        """One summary line: both crossings relative to the drift, and the estimate's basis."""
        def when(t: float | None) -> str:
            if t is not None:
                return f"{t:.0f}s after drift started"
            return "not yet" if self.drift_started is not None else "— (no drift yet)"

        return (f"  accuracy floor {self.floor:g}: estimate below {when(self.estimate_below)}, "
                f"realized below {when(self.realized_below)}  (estimate "
                f"{self.basis or 'not available'})")
