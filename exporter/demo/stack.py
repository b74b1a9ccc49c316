"""`mlmon demo --stack`: the alerting loop around the demo's sidecar.

After the sidecar, the demo starts (in this order) loopback Slack/PagerDuty/email
receivers that print what they get, the responder in dry-run, Alertmanager with
``alertmanager/alertmanager.yml`` pointed at them, Prometheus scraping the sidecar with
``rules/`` (every ``for`` scaled down, see stack_config), and the timeline printer. All on
127.0.0.1 free ports, files in the demo's temporary directory; stopped in reverse order.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from exporter.config.model import ModelConfig
from exporter.demo import stack_config
from exporter.demo.alertmanager_config import Loopback
from exporter.demo.programs import Program, free_port
from exporter.demo.receivers import HttpReceiver, SmtpReceiver
from exporter.demo.services import Service
from exporter.demo.timeline import Timeline

TOKEN = "mlmon-demo-responder-token"


def check() -> str | None:
    """Why the stack cannot run here (missing programs or files), or None."""
    missing = stack_config.missing_binaries()
    if missing:
        return (f"{' and '.join(missing)} not found on PATH; install the Debian packages "
                "prometheus and prometheus-alertmanager (make test does: "
                "scripts/ensure-tools.sh)")
    for path in (stack_config.RULES_DIR, stack_config.ALERTMANAGER_CONFIG):
        if not path.exists():
            return f"{path} not found; --stack runs from a source checkout of mlmon"
    return None


def stack_services(model: ModelConfig, sidecar_http: str, workdir: Path,
                   out: TextIO = sys.stdout) -> list[Service]:
    """The services to start after the sidecar (listening on ``sidecar_http``)."""
    prometheus_bin = shutil.which("prometheus")
    alertmanager_bin = shutil.which("prometheus-alertmanager")
    if prometheus_bin is None or alertmanager_bin is None:
        raise RuntimeError(check() or "binaries missing")
    prom_port, am_port, resp_port = free_port(), free_port(), free_port()
    prometheus = f"http://127.0.0.1:{prom_port}"
    alertmanager = f"http://127.0.0.1:{am_port}"
    responder = f"http://127.0.0.1:{resp_port}"
    resp_dir = workdir / "responder"
    timeline = Timeline(prometheus, resp_dir / "state" / "audit.jsonl", out)
    hooks = HttpReceiver("receivers", on_receive=timeline.note_request)
    smtp = SmtpReceiver("smtp", on_receive=timeline.note_mail)
    return [hooks, smtp,
            _Deferred(lambda: _responder(model, hooks, resp_dir, responder, resp_port)),
            _Deferred(lambda: _alertmanager(alertmanager_bin, hooks, smtp, workdir,
                                            responder, alertmanager, am_port)),
            _prometheus(prometheus_bin, workdir, sidecar_http, prometheus, prom_port,
                        am_port),
            timeline]


def _responder(model: ModelConfig, hooks: HttpReceiver, directory: Path, url: str,
               port: int) -> Program:
    # Dry-run: every decision is audited (and printed), nothing is executed; the webhook
    # URLs would only be called by a real run.
    actions = {"rollback": {"backend": "webhook", "url": f"{hooks.url}/rollback"},
               "retrain": {"backend": "webhook", "url": f"{hooks.url}/retrain",
                           "window": "immediate"}}
    config = stack_config.write_responder(directory, TOKEN, {model.name: actions},
                                          dry_run=True)
    argv = stack_config.responder_argv(config, f"127.0.0.1:{port}", dry_run=True)
    return Program("responder", argv, directory / "responder.log", f"{url}/healthz",
                   {"responder": f"{url}/metrics"})


def _alertmanager(binary: str, hooks: HttpReceiver, smtp: SmtpReceiver, workdir: Path,
                  responder: str, url: str, port: int) -> Program:
    config = stack_config.write_alertmanager(workdir / "alertmanager", Loopback(
        slack_url=f"{hooks.url}/slack", pagerduty_url=f"{hooks.url}/pagerduty",
        responder_url=f"{responder}/v1/alerts", smtp_smarthost=smtp.smarthost,
        responder_token=TOKEN), stack_config.DEMO_TIMINGS)
    argv = stack_config.alertmanager_argv(binary, config, workdir / "alertmanager-data",
                                          f"127.0.0.1:{port}")
    return Program("alertmanager", argv, workdir / "alertmanager.log", f"{url}/-/ready",
                   {"alertmanager": url})


def _prometheus(binary: str, workdir: Path, sidecar_http: str, url: str, port: int,
                am_port: int) -> Program:
    rules = stack_config.write_rules(workdir / "rules.yml")
    config = stack_config.write_prometheus(workdir / "prometheus.yml", rules, sidecar_http,
                                           f"127.0.0.1:{am_port}")
    argv = stack_config.prometheus_argv(binary, config, workdir / "prometheus-data",
                                        f"127.0.0.1:{port}")
    return Program("prometheus", argv, workdir / "prometheus.log", f"{url}/-/ready",
                   {"prometheus": f"{url}/alerts"})


class _Deferred:
    """A Program whose files are written at start, once the receivers have their ports."""

    def __init__(self, make: Callable[[], Program]) -> None:
        self._make = make
        self._program: Program | None = None
        self.name = "stack"

    def start(self) -> None:
        program = self._make()
        self._program = program
        self.name = program.name
        program.start()

    def stop(self, timeout: float = 15.0) -> int | None:
        return None if self._program is None else self._program.stop(timeout)

    def urls(self) -> dict[str, str]:
        return {} if self._program is None else self._program.urls()

    def alive(self) -> bool:
        return self._program is not None and self._program.alive()
