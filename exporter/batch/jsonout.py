"""The JSON report (shape in docs/architecture.md, plus samples, prediction, performance).

Non-finite numbers (a MAPE with no non-zero label, say) are written as null so
the document stays strict JSON.
"""

from __future__ import annotations

import json
import math
from typing import Any

from exporter.batch.dataquality import quality_dicts
from exporter.batch.errorstream import error_drift_dict
from exporter.batch.multivariate import result_dict
from exporter.batch.perf import Performance
from exporter.batch.quality import quality_dict
from exporter.batch.report import (
    BatchReport,
    Chunking,
    ChunkResult,
    FeatureResult,
    PredictionStats,
)
from exporter.batch.segments import as_dicts as segment_dicts
from exporter.batch.timestamps import iso
from exporter.stats.cbpe import Estimate
from exporter.stats.performance import ClassificationMetrics
from exporter.stats.severity import Severity


def _num(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def _severity(value: Severity | None) -> str | None:
    return None if value is None else value.label


def feature_dict(f: FeatureResult) -> dict[str, Any]:
    d = f.drift
    return {
        "name": d.name,
        "kind": d.kind,
        "samples": d.samples,
        "missing": f.missing,
        "psi": _num(d.psi),
        "ks_statistic": _num(d.ks_statistic),
        "ks_pvalue": _num(d.ks_pvalue),
        "chi2_statistic": _num(d.chi2_statistic),
        "chi2_pvalue": _num(d.chi2_pvalue),
        "wasserstein": _num(d.wasserstein),
        "jensen_shannon": _num(d.jensen_shannon),
        "hellinger": _num(d.hellinger),
        "severity": _severity(d.severity),
        "drift_pvalue": _num(d.pvalue),
        "psi_noise_floor": _num(d.psi_noise_floor),
        "psi_upper_bound": _num(d.psi_upper),
        "significant": d.significant,
        # only when sampled (column.SAMPLE_CAP): files within the cap keep their shape
        **({} if f.ks_sample is None else {"ks_sample": f.ks_sample}),
    }


def prediction_dict(p: PredictionStats) -> dict[str, Any] | None:
    if p.summary is not None:
        s = p.summary
        return {"count": s.count, "mean": _num(s.mean), "std": _num(s.std),
                "min": _num(s.min), "max": _num(s.max),
                "quantiles": {repr(q): _num(v) for q, v in s.quantiles},
                **({} if p.quantile_sample is None
                   else {"quantile_sample": p.quantile_sample})}
    if p.class_shares:
        return {"class_shares": {c: _num(v) for c, v in p.class_shares}}
    return None


def performance_dict(p: Performance | None) -> dict[str, Any] | None:
    if p is None:
        return None
    if isinstance(p, ClassificationMetrics):
        return {
            "kind": "classification",
            "samples": p.samples,
            "accuracy": _num(p.accuracy),
            "classes": {c: {"precision": _num(pr), "recall": _num(rc), "f1": _num(f1)}
                        for c, pr, rc, f1 in zip(p.classes, p.precision, p.recall, p.f1,
                                                 strict=True)},
            "macro": {"precision": _num(p.macro_precision), "recall": _num(p.macro_recall),
                      "f1": _num(p.macro_f1)},
            "log_loss": _num(p.log_loss),
        }
    return {"kind": "regression", "samples": p.samples, "mae": _num(p.mae),
            "rmse": _num(p.rmse), "mape": _num(p.mape), "r2": _num(p.r2)}


def estimate_dict(e: Estimate | None) -> dict[str, Any] | None:
    """CBPE: estimated accuracy (binary: precision / recall / F1 at 0.5) without labels."""
    if e is None:
        return None
    return {"samples": e.samples, "accuracy": _num(e.accuracy), "precision": _num(e.precision),
            "recall": _num(e.recall), "f1": _num(e.f1),
            "confidence": "calibrated" if e.calibrated else "raw scores (no reference labels)"}


def no_verdict_note(min_samples: int) -> str:
    return f"no verdict: fewer than min_samples ({min_samples}) values in every feature"


def chunk_dict(c: ChunkResult, chunking: Chunking, min_samples: int) -> dict[str, Any]:
    by_time = chunking.by_time
    return {
        "index": c.index,
        "start": iso(c.start) if by_time else c.start,
        "end": iso(c.end) if by_time else c.end,
        "first_row": c.first_row,
        "rows": c.rows,
        "features": [feature_dict(f) for f in c.features],
        "drift_share": _num(c.drift_share),
        "severity": _severity(c.severity),
        "note": no_verdict_note(min_samples) if c.severity is None else None,
        "estimate": estimate_dict(c.estimate),
        "data_quality": quality_dicts(c.data_quality, min_samples),
        "multivariate": result_dict(c.multivariate),
    }


def chunking_dict(c: Chunking) -> dict[str, Any]:
    if c.by_time:
        return {"column": c.column, "period_seconds": c.period}
    return {"rows": c.rows}


def report_dict(r: BatchReport) -> dict[str, Any]:
    out = {
        "model": r.model,
        "version": r.version,
        "rows": r.rows,
        "features": [feature_dict(f) for f in r.features],
        "drift_share": _num(r.drift_share),
        "severity": _severity(r.severity),
        "samples": {f.drift.name: f.drift.samples for f in r.features},
        "thresholds": dict(r.thresholds.items()),
        "prediction": prediction_dict(r.prediction),
        "performance": performance_dict(r.performance),
        "estimate": estimate_dict(r.estimate),
        "error_drift": error_drift_dict(r.error_drift),
        "data_quality": quality_dicts(r.data_quality, r.thresholds.min_samples),
        "multivariate": result_dict(r.multivariate),
        "segments": segment_dicts(r.segments),  # [] without a segments profile
        "analysed_at": r.analysed_at,
    }
    performance = out["performance"]
    if isinstance(performance, dict) and r.quality is not None:
        performance.update(quality_dict(r.quality))  # AUC, Brier, ECE
    if r.chunking is not None:
        out["chunking"] = chunking_dict(r.chunking)
        out["chunks"] = [chunk_dict(c, r.chunking, r.thresholds.min_samples) for c in r.chunks]
    return out


def render(r: BatchReport) -> str:
    return json.dumps(report_dict(r), indent=2, allow_nan=False) + "\n"
