"""`mlmon demo --stack`: the alerting loop around the demo's sidecar.

After the sidecar, the demo starts (in this order) loopback Slack/PagerDuty/email
receivers that print what they get, the responder in dry-run, Alertmanager with
``alertmanager/alertmanager.yml`` pointed at them, Prometheus scraping the sidecar with
``rules/`` (every ``for`` scaled down, see stack_config), and the timeline printer. All on
127.0.0.1, each program on port 0 with the port it announces (exporter/demo/programs.py)
written into the configuration of the next; files in the demo's temporary directory;
stopped in reverse order.
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
from exporter.demo.programs import Program
from exporter.demo.receivers import HttpReceiver, SmtpReceiver
from exporter.demo.services import Service
from exporter.demo.timeline import EventLog, Timeline

TOKEN = "mlmon-demo-responder-token"
ANY_PORT = "127.0.0.1:0"  # the kernel picks; the program announces it


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


def stack_services(model: ModelConfig, sidecar_http: Callable[[], str], workdir: Path,
                   out: TextIO = sys.stdout, log: EventLog | None = None) -> list[Service]:
    """The services to start after the sidecar (``sidecar_http()``: the HOST:PORT it
    listens on, asked once it has started); the timeline writes through ``log`` (the
    runner's, so its summaries redraw the timeline) or, without one, to ``out``."""
    prometheus_bin = shutil.which("prometheus")
    alertmanager_bin = shutil.which("prometheus-alertmanager")
    if prometheus_bin is None or alertmanager_bin is None:
        raise RuntimeError(check() or "binaries missing")
    resp_dir = workdir / "responder"
    # Prometheus' address is known once it announced it: set when it has started.
    timeline = Timeline("", resp_dir / "state" / "audit.jsonl", out, log=log)
    hooks = HttpReceiver("receivers", on_receive=timeline.note_request)
    smtp = SmtpReceiver("smtp", on_receive=timeline.note_mail)
    responder = _Deferred(lambda: _responder(model, hooks, resp_dir))
    alertmanager = _Deferred(lambda: _alertmanager(alertmanager_bin, hooks, smtp, workdir,
                                                   responder.url))
    prometheus = _Deferred(lambda: _prometheus(prometheus_bin, workdir, sidecar_http(),
                                               alertmanager.address),
                           started=lambda program: setattr(timeline, "prometheus", program.url))
    return [hooks, smtp, responder, alertmanager, prometheus, timeline]


def _responder(model: ModelConfig, hooks: HttpReceiver, directory: Path) -> Program:
    # Dry-run: every decision is audited (and printed), nothing is executed; the webhook
    # URLs would only be called by a real run.
    actions = {"rollback": {"backend": "webhook", "url": f"{hooks.url}/rollback"},
               "retrain": {"backend": "webhook", "url": f"{hooks.url}/retrain",
                           "window": "immediate"}}
    config = stack_config.write_responder(directory, TOKEN, {model.name: actions},
                                          dry_run=True)
    argv = stack_config.responder_argv(config, ANY_PORT, dry_run=True)
    return Program("responder", argv, directory / "responder.log", "{url}/healthz",
                   {"responder": "{url}/metrics"}, announces=True)


def _alertmanager(binary: str, hooks: HttpReceiver, smtp: SmtpReceiver, workdir: Path,
                  responder: str) -> Program:
    config = stack_config.write_alertmanager(workdir / "alertmanager", Loopback(
        slack_url=f"{hooks.url}/slack", pagerduty_url=f"{hooks.url}/pagerduty",
        responder_url=f"{responder}/v1/alerts", smtp_smarthost=smtp.smarthost,
        responder_token=TOKEN), stack_config.DEMO_TIMINGS)
    argv = stack_config.alertmanager_argv(binary, config, workdir / "alertmanager-data",
                                          ANY_PORT)
    # Debian's Alertmanager has no web UI ("/" is a page saying so): the alerts it holds,
    # as JSON, are what answers everywhere (tests/e2e/test_demo_make.py fetches it).
    return Program("alertmanager", argv, workdir / "alertmanager.log", "{url}/-/ready",
                   {"alertmanager": "{url}/api/v2/alerts"}, announces=True)


def _prometheus(binary: str, workdir: Path, sidecar_http: str, alertmanager: str) -> Program:
    rules = stack_config.write_rules(workdir / "rules.yml")
    config = stack_config.write_prometheus(workdir / "prometheus.yml", rules, sidecar_http,
                                           alertmanager)
    argv = stack_config.prometheus_argv(binary, config, workdir / "prometheus-data", ANY_PORT)
    # The classic UI's alerts page: Debian's Prometheus (2.42) has no React UI, so
    # "/alerts" is a 404 there; "/classic/alerts" answers 200 (tests/e2e/test_demo_make.py).
    return Program("prometheus", argv, workdir / "prometheus.log", "{url}/-/ready",
                   {"prometheus": "{url}/classic/alerts"}, announces=True)


class _Deferred:
    """A Program made at start, once the services before it have their ports."""

    def __init__(self, make: Callable[[], Program],
                 started: Callable[[Program], None] | None = None) -> None:
        self._make = make
        self._started = started
        self._program: Program | None = None
        self.name = "stack"

    @property
    def address(self) -> str:
        """HOST:PORT the started program announced."""
        assert self._program is not None, "not started"
        return self._program.address["http"]

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def start(self) -> None:
        program = self._make()
        self._program = program
        self.name = program.name
        program.start()
        if self._started is not None:
            self._started(program)

    def stop(self, timeout: float = 15.0) -> int | None:
        return None if self._program is None else self._program.stop(timeout)

    def urls(self) -> dict[str, str]:
        return {} if self._program is None else self._program.urls()

    def alive(self) -> bool:
        return self._program is not None and self._program.alive()
