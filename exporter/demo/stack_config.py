"""Files and command lines of the alerting loop: Prometheus, rules, Alertmanager, responder.

Shared by `mlmon demo --stack` and tests/e2e/test_loop.py, so the demo runs exactly
what the end-to-end test checks: the committed ``rules/`` with every ``for`` scaled
down, and the committed ``alertmanager/alertmanager.yml`` pointed at loopback.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from exporter.demo.alertmanager_config import Loopback, for_loopback
from exporter.rulegen import dump_rule_file, load_groups, repository_path, scale_for

# The checkout's files, or the copies an installed wheel carries (setup.py)
RULES_DIR = repository_path("rules").resolve()
ALERTMANAGER_CONFIG = repository_path("alertmanager/alertmanager.yml").resolve()
BINARIES = ("prometheus", "prometheus-alertmanager")
JOB = "mlmon"  # the rules find sidecars by this job name (MlmonSidecarTargetsAbsent)

# 5m -> 5s, 1h -> 60s: a critical alert fires seconds after its condition holds, while
# the hour-long warnings (sustained medium drift) stay pending through a short drift.
FOR_SCALE = 1 / 60
# predict_linear over [1h], 4 h ahead: on a history of minutes, noise in any feature's
# PSI extrapolates past the high threshold, so this rule keeps its real `for` (15m).
UNSCALED = frozenset({"MlmonFeatureDriftTrendingHigh"})
# Every route: notify a second after an alert arrives, repeat every 3 s while it fires.
TIMINGS: Mapping[str, str] = {"group_wait": "1s", "group_interval": "1s",
                              "repeat_interval": "3s"}
# The demo: the same first notification, repeats a human can follow.
DEMO_TIMINGS: Mapping[str, str] = {"group_wait": "1s", "group_interval": "5s",
                                   "repeat_interval": "30s"}


def missing_binaries() -> list[str]:
    return [name for name in BINARIES if shutil.which(name) is None]


def write_rules(path: Path, factor: float = FOR_SCALE, rules_dir: Path = RULES_DIR) -> Path:
    """``rules/`` as one file, every ``for`` multiplied by ``factor`` except ``UNSCALED``."""
    original = load_groups(rules_dir)
    scaled = scale_for(original, factor)
    for old, new in zip(original, scaled, strict=True):
        new["rules"] = [o if o.get("alert") in UNSCALED else n
                        for o, n in zip(old["rules"], new["rules"], strict=True)]
    path.write_text(dump_rule_file(scaled), encoding="utf-8")
    return path


def write_prometheus(path: Path, rules: Path, sidecar: str, alertmanager: str,
                     interval: str = "1s") -> Path:
    """Scrape ``sidecar`` (HOST:PORT) as job ``mlmon``; alerts to ``alertmanager``."""
    config: dict[str, Any] = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(rules)],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]},
        "scrape_configs": [{"job_name": JOB, "static_configs": [{"targets": [sidecar]}]}],
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def write_alertmanager(directory: Path, loopback: Loopback,
                       timings: Mapping[str, str] = TIMINGS) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return for_loopback(ALERTMANAGER_CONFIG, directory, loopback, timings)


def write_responder(directory: Path, token: str, models: Mapping[str, Mapping[str, Any]],
                    dry_run: bool = False) -> Path:
    """A responder config in ``directory`` (token file, state dir) for ``models``."""
    directory.mkdir(parents=True, exist_ok=True)
    token_file = directory / "token"
    token_file.write_text(token + "\n", encoding="utf-8")
    token_file.chmod(0o600)
    config = {"token_file": "token", "state_dir": "state", "dry_run": dry_run,
              "retry": {"attempts": 2, "backoff": "200ms"},
              "models": [{"name": name, **spec} for name, spec in models.items()]}
    path = directory / "responder.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def responder_argv(config: Path, listen: str, dry_run: bool = False) -> list[str]:
    """``mlmon respond`` with this interpreter, listening on ``listen`` (HOST:PORT)."""
    return [sys.executable, "-m", "exporter", "respond", "--config", str(config),
            "--listen", listen, *(["--dry-run"] if dry_run else [])]


def prometheus_argv(binary: str, config: Path, data: Path, listen: str) -> list[str]:
    return [binary, f"--config.file={config}", f"--storage.tsdb.path={data}",
            f"--web.listen-address={listen}"]


def alertmanager_argv(binary: str, config: Path, data: Path, listen: str) -> list[str]:
    # --cluster.listen-address= turns gossip off: one instance, no port 9094 taken.
    return [binary, f"--config.file={config}", f"--storage.path={data}",
            f"--web.listen-address={listen}", "--cluster.listen-address="]
