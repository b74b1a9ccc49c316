"""The terminal report: a per-feature table, the dataset verdict and performance."""

from __future__ import annotations

from exporter.batch.dataquality import text_lines
from exporter.batch.errorstream import error_drift_line
from exporter.batch.multivariate import text_lines as multivariate_lines
from exporter.batch.report import BatchReport, Chunking, ChunkResult, FeatureResult
from exporter.batch.segments import text_lines as segment_lines
from exporter.batch.timestamps import iso
from exporter.stats.performance import ClassificationMetrics

_HEADER = ("feature", "kind", "n", "psi", "ks_D", "ks_p", "chi2", "chi2_p",
           "wasser", "js", "hellinger", "severity")


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _table(rows: list[tuple[str, ...]], left: tuple[int, ...] = (0, 1, -1)) -> list[str]:
    """Columns padded to their widest cell; text columns (``left``) left-aligned."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lefts = {i % len(widths) for i in left}
    lines = []
    for r in rows:
        cells = [c.ljust(w) if i in lefts else c.rjust(w)
                 for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
    return lines


def render(r: BatchReport) -> str:
    rows: list[tuple[str, ...]] = [_HEADER]
    for f in r.features:
        d = f.drift
        rows.append((d.name, d.kind, str(d.samples), _fmt(d.psi), _fmt(d.ks_statistic),
                     _fmt(d.ks_pvalue), _fmt(d.chi2_statistic), _fmt(d.chi2_pvalue),
                     _fmt(d.wasserstein), _fmt(d.jensen_shannon), _fmt(d.hellinger),
                     d.severity.label if d.severity is not None else "n/a"))
    t = r.thresholds
    out = [f"model {r.model} version {r.version}: {r.rows} rows", "", *_table(rows), ""]
    verdict = r.severity.label if r.severity is not None else "n/a (too few samples)"
    out.append(f"dataset: drift share {r.drift_share:.1%}, severity {verdict} "
               f"(psi medium >= {t.psi_medium:g}, high >= {t.psi_high:g}, "
               f"min samples {t.min_samples})")
    out.append(f"top drifted: {flagged(r.drifted())}")
    note = sampled_note(r)
    if note is not None:
        out.append(note)
    if r.chunking is not None:
        out.extend(["", chunking_title(r.chunking, len(r.chunks))])
        out.extend(chunk_line(c, r.chunking, t.min_samples) for c in r.chunks)
    out.extend(_performance(r))
    out.extend(_quality(r))
    out.extend(_estimate(r))
    out.extend(text_lines(r))
    out.extend(multivariate_lines(r))
    out.extend(segment_lines(r.segments))
    if (line := error_drift_line(r.error_drift)) is not None:
        out.append(line)
    return "\n".join(out) + "\n"


def _estimate(r: BatchReport) -> list[str]:
    """CBPE of the file (and of each chunk), next to realized accuracy when labels exist."""
    e = r.estimate
    if e is None:
        return []
    basis = "calibrated confidence" if e.calibrated else "raw scores, no reference labels"
    extra = "".join(f", {k} {_fmt(v)}" for k, v in
                    (("precision", e.precision), ("recall", e.recall), ("f1", e.f1))
                    if v is not None)
    realized = (f" (realized {_fmt(r.performance.accuracy)})"
                if isinstance(r.performance, ClassificationMetrics) else "")
    lines = ["", f"estimated performance ({e.samples} rows, {basis}): accuracy "
                 f"{_fmt(e.accuracy)}{realized}{extra}"]
    lines += [f"  chunk {c.index}: estimated accuracy {_fmt(c.estimate.accuracy)}"
              for c in r.chunks if c.estimate is not None]
    return lines


def flagged(features: list[FeatureResult]) -> str:
    """The features at medium or above with severity and PSI, or that there are none."""
    if not features:
        return "none (no feature at medium or above)"
    return ", ".join(f"{f.drift.name} ({_label(f)}, "
                     f"psi {_fmt(f.drift.psi)})" for f in features)


def chunking_title(c: Chunking, count: int) -> str:
    if c.by_time:
        return f"{count} chunks by {c.column!r}, periods of {c.period:g} s (UTC):"
    return f"{count} chunks of {c.rows} rows:"


def chunk_span(c: ChunkResult, chunking: Chunking) -> str:
    if chunking.by_time:
        return f"{iso(c.start)} to {iso(c.end)}"
    return f"rows {c.start}-{c.end}"


def chunk_line(c: ChunkResult, chunking: Chunking, min_samples: int) -> str:
    head = f"chunk {c.index}: {chunk_span(c, chunking)}, {c.rows} rows:"
    if c.severity is None or c.drift_share is None:
        return f"{head} n/a (too few samples, min samples {min_samples})"
    return (f"{head} severity {c.severity.label}, drift share {c.drift_share:.1%}; "
            f"drifted: {flagged(c.drifted()) if c.drifted() else 'none'}")


def _performance(r: BatchReport) -> list[str]:
    p = r.performance
    if p is None:
        return []
    if isinstance(p, ClassificationMetrics):
        rows: list[tuple[str, ...]] = [("class", "precision", "recall", "f1")]
        rows += [(c, _fmt(pr), _fmt(rc), _fmt(f1))
                 for c, pr, rc, f1 in zip(p.classes, p.precision, p.recall, p.f1, strict=True)]
        rows.append(("macro", _fmt(p.macro_precision), _fmt(p.macro_recall), _fmt(p.macro_f1)))
        extra = f", log loss {_fmt(p.log_loss)}" if p.log_loss is not None else ""
        return ["", f"performance ({p.samples} labelled rows): accuracy {_fmt(p.accuracy)}{extra}",
                *_table(rows, left=(0,))]
    return ["", f"performance ({p.samples} labelled rows): MAE {_fmt(p.mae)}, "
                f"RMSE {_fmt(p.rmse)}, MAPE {_fmt(p.mape)}, R² {_fmt(p.r2)}"]


def _quality(r: BatchReport) -> list[str]:
    q = r.quality
    if q is None:
        return []
    parts = []
    if q.roc_auc is not None:
        how = "" if q.roc_auc_method == "exact" else f" (binned, ±{q.roc_auc_error_bound:.1e})"
        parts.append(f"ROC AUC {_fmt(q.roc_auc)}{how}")
    if q.brier is not None:
        parts.append(f"Brier {_fmt(q.brier)}")
    if q.ece is not None:
        parts.append(f"ECE {_fmt(q.ece)}")
    return [f"ranking and calibration ({q.samples} rows): {', '.join(parts)}"] if parts else []


def _label(f: FeatureResult) -> str:
    return f.drift.severity.label if f.drift.severity is not None else "n/a"


def sampled_note(r: BatchReport) -> str | None:
    """Which features' KS and Wasserstein come from a sample (beyond column.SAMPLE_CAP)."""
    sampled = [f"{f.drift.name} ({f.ks_sample:,})" for f in r.features
               if f.ks_sample is not None]
    if not sampled:
        return None
    return ("ks and wasserstein from a uniform sample of the values (bins, psi and "
            f"chi2 over all rows): {', '.join(sampled)}")
