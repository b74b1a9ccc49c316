"""Fleet ROC AUC recording rule through the real promtool, against numpy and scipy.

Three "pods" each see their own score distribution; each minute repeats the pod's sample,
so the hour's exact AUC is that of the pooled samples (a repeated sample changes neither
U/(n1*n0) nor the bin shares). The counters grow linearly, as a steady sidecar's do.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy.stats import mannwhitneyu

from tests.rules.rule_files import RULES_DIR, promtool

RULE = "model_version:mlmon_roc_auc_ratio:fleet_rate1h"
EDGES = np.arange(51) / 50  # the sidecar's 50 score bins (docs/statistics.md)
PODS = ((400, 0.2, 0.30, 0.20), (250, 0.5, 0.45, 0.25), (150, 0.05, 0.30, 0.10))


def _pods(seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(scores, positive) per pod: n per minute, prevalence, score shift of positives, sd."""
    rng = np.random.default_rng(seed)
    out = []
    for n, prevalence, shift, sd in PODS:
        y = rng.random(n) < prevalence
        s = np.clip(rng.normal(0.3 + shift * y, sd), 0.0, 1.0)
        out.append((s, y))
    return out


def _series(name: str, labels: dict[str, str], per_minute: float) -> dict[str, str]:
    text = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{name}{{{text}}}", "values": f"0+{per_minute:g}x120"}


def _input(pods: list[tuple[np.ndarray, np.ndarray]], model: str) -> list[dict[str, str]]:
    out = []
    for i, (s, y) in enumerate(pods):
        pos = np.histogram(s[y], bins=EDGES)[0]
        neg = np.histogram(s[~y], bins=EDGES)[0]
        for b, edge in enumerate(EDGES[1:].tolist()):
            common = {"model": model, "version": "2", "job": "mlmon", "instance": f"p{i}:9847"}
            out.append(_series("mlmon_score_bucket_total",
                               {**common, "label": "positive", "bucket": repr(edge)}, pos[b]))
            out.append(_series("mlmon_score_bucket_total",
                               {**common, "label": "negative", "bucket": repr(edge)}, neg[b]))
            out.append(_series("mlmon_score_positives_above_total",
                               {**common, "bucket": repr(edge)}, pos[b + 1:].sum()))
    return out


def _numpy_binned_auc(s: np.ndarray, y: np.ndarray) -> float:
    """Sum over bin pairs by brute force: P(bin of a positive > bin of a negative) + ties/2."""
    pos = np.histogram(s[y], bins=EDGES)[0].astype(float)
    neg = np.histogram(s[~y], bins=EDGES)[0].astype(float)
    wins = sum(pos[i] * neg[j] for i in range(50) for j in range(50) if i > j)
    ties = sum(pos[i] * neg[i] for i in range(50))
    return float((wins + 0.5 * ties) / (pos.sum() * neg.sum()))


def _run(tmp_path: Path, tests: list[dict[str, object]]) -> str:
    doc = {"rule_files": [str(RULES_DIR / "mlmon-recording.yml")], "evaluation_interval": "1m",
           "tests": tests}
    path = tmp_path / "fleet_auc.test.yml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    out = promtool("test", "rules", str(path))
    return out.stdout + out.stderr if out.returncode else ""


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fleet_auc_rule_equals_numpy(tmp_path: Path, seed: int) -> None:
    pods = _pods(seed)
    s = np.concatenate([p[0] for p in pods])
    y = np.concatenate([p[1] for p in pods])
    binned = _numpy_binned_auc(s, y)
    exact = float(mannwhitneyu(s[y], s[~y]).statistic) / (y.sum() * (~y).sum())
    pos = np.histogram(s[y], bins=EDGES)[0]
    neg = np.histogram(s[~y], bins=EDGES)[0]
    bound = float(np.sum(pos * neg) / (2.0 * pos.sum() * neg.sum()))
    assert abs(binned - exact) <= bound
    # the rule evaluated at 120m over [1h]; "lonely" has no negatives: no fleet AUC
    lonely = [(s0, np.ones_like(y0)) for s0, y0 in pods[:1]]
    case = {
        "interval": "1m",
        "input_series": _input(pods, "fraud") + _input(lonely, "lonely"),
        "promql_expr_test": [
            {"expr": f'abs({RULE}{{model="fraud"}} - {binned!r}) < bool 1e-9',
             "eval_time": "120m",
             "exp_samples": [{"labels": '{model="fraud",version="2"}', "value": 1}]},
            {"expr": f'{RULE}{{model="lonely"}}', "eval_time": "120m", "exp_samples": []},
        ],
    }
    failure = _run(tmp_path, [case])
    assert failure == "", failure
    print(f"seed {seed}: fleet AUC (rule = numpy 50-bin) {binned:.9f}, exact Mann-Whitney "
          f"{exact:.9f}, |diff| {abs(binned - exact):.2e} <= bin bound {bound:.2e}")


def test_a_wrong_expectation_fails(tmp_path: Path) -> None:
    """Not vacuous: the same check with the exact (unbinned) AUC fails in promtool."""
    pods = _pods(1)
    s = np.concatenate([p[0] for p in pods])
    y = np.concatenate([p[1] for p in pods])
    exact = float(mannwhitneyu(s[y], s[~y]).statistic) / (y.sum() * (~y).sum())
    assert abs(exact - _numpy_binned_auc(s, y)) > 1e-9
    case = {"interval": "1m", "input_series": _input(pods, "fraud"),
            "promql_expr_test": [
                {"expr": f'abs({RULE}{{model="fraud"}} - {exact!r}) < bool 1e-9',
                 "eval_time": "120m",
                 "exp_samples": [{"labels": '{model="fraud",version="2"}', "value": 1}]}]}
    assert "FAILED" in _run(tmp_path, [case])
