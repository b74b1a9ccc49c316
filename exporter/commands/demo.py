"""`mlmon demo`: run the sidecar and a simulated model server with live drift."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "run the sidecar with simulated traffic, inject drift, print a live summary"

BUNDLED_CONFIG = Path(__file__).resolve().parent.parent / "data/examples/fraud/mlmon.yaml"
DEFAULT_HTTP = "127.0.0.1:9847"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=None, metavar="PATH",
                        help="mlmon YAML configuration (default: the bundled fraud example)")
    parser.add_argument("--model", help="model to simulate (default: the config's first)")
    parser.add_argument("--reference", type=Path, metavar="FILE",
                        help="rows to replay, with a label column "
                             "(default: reference.csv beside the config)")
    parser.add_argument("--duration", type=float, default=None, metavar="SECONDS",
                        help="stop after this long (default: run until Ctrl-C)")
    parser.add_argument("--drift-after", type=float, default=60.0, metavar="SECONDS",
                        help="inject drift after this long (default: 60; negative: never)")
    parser.add_argument("--rate", type=float, default=200.0, metavar="EVENTS_PER_S",
                        help="predictions per second (default: 200)")
    parser.add_argument("--http", default=None, metavar="HOST:PORT",
                        help=f"sidecar HTTP address (default: {DEFAULT_HTTP}, "
                             "or a free loopback port when that one is taken)")
    parser.add_argument("--compute-interval", type=float, default=2.0, metavar="SECONDS",
                        help="sidecar compute interval for the demo (default: 2)")
    parser.add_argument("--summary-every", type=float, default=5.0, metavar="SECONDS",
                        help="seconds between terminal summaries (default: 5)")
    parser.add_argument("--label-delay", type=float, default=20.0, metavar="SECONDS",
                        help="mean delay of ground-truth labels, each uniform between half "
                             "and 1.5× this (default: 20, late as in production: the "
                             "estimated accuracy shows a drop before the labels can)")
    parser.add_argument("--seed", type=int, default=0, help="traffic seed (default: 0)")
    parser.add_argument("--record", type=Path, metavar="FILE",
                        help="write every prediction sent, with its label, as JSON lines")
    parser.add_argument("--stack", action="store_true",
                        help="also run Prometheus with rules/, Alertmanager, loopback "
                             "Slack/PagerDuty/email and the responder (dry-run), and print "
                             "the alert timeline (needs prometheus, prometheus-alertmanager)")
    # --stack adds Prometheus, Alertmanager, receivers and the responder as further
    # exporter.demo.services.Service objects after the sidecar (exporter/demo/stack.py).


def _port_free(hostport: str) -> bool:
    import socket

    host, _, port = hostport.rpartition(":")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host.strip("[]") or "127.0.0.1", int(port)))
        except OSError:
            return False
    return True


def _http_address(requested: str | None) -> str:
    """The sidecar's HTTP address: as asked, else the default when free, else port 0 on
    the default host (the sidecar then announces the port the kernel gave it)."""
    if requested is not None:
        return requested
    if _port_free(DEFAULT_HTTP):
        return DEFAULT_HTTP
    return f"{DEFAULT_HTTP.rpartition(':')[0]}:0"


def run(args: argparse.Namespace) -> int:
    """Ctrl-C at any point ends the demo with code 0 (``make demo`` then prints no
    ``*** Interrupt`` line): before the services started, here; while they start, below
    (Services.start stops what already runs); once they run, the runner's SIGINT flag."""
    try:
        return _run(args)
    except KeyboardInterrupt:
        print("mlmon demo: stopped while starting", flush=True)
        return 0


def _run(args: argparse.Namespace) -> int:
    import signal
    import tempfile
    from types import FrameType

    from exporter.client import Tap
    from exporter.config.errors import ConfigError
    from exporter.config.load import load_config
    from exporter.demo.drift import default_plan
    from exporter.demo.labels import DelayedLabels
    from exporter.demo.model import SimpleModel
    from exporter.demo.programs import ProgramError
    from exporter.demo.reference import load_reference
    from exporter.demo.runner import DemoRunner, DemoSettings
    from exporter.demo.services import Service, Services
    from exporter.demo.sidecar import SidecarProcess
    from exporter.demo.timeline import EventLog
    from exporter.demo.traffic import TrafficSimulator

    config_path: Path = args.config or BUNDLED_CONFIG
    if args.stack:
        from exporter.demo.stack import check

        problem = check()
        if problem is not None:
            print(f"mlmon demo --stack: {problem}", file=sys.stderr)
            return 2
    for name, value in (("--rate", args.rate), ("--compute-interval", args.compute_interval),
                        ("--summary-every", args.summary_every)):
        if value <= 0:
            print(f"mlmon demo: {name} must be positive", file=sys.stderr)
            return 2
    try:
        config = load_config(config_path)
        model = config.model(args.model) if args.model else config.models[0]
        reference = args.reference or config_path.parent / "reference.csv"
        data = load_reference(reference, model)
    except KeyError:
        print(f"mlmon demo: {config_path}: no model {args.model!r}", file=sys.stderr)
        return 2
    except (ConfigError, ValueError, OSError) as exc:
        print(f"mlmon demo: {exc}", file=sys.stderr)
        return 2

    classes = model.prediction.classes if model.prediction.kind == "classification" else ()
    predictor = SimpleModel.fit(data, classes)
    plan = default_plan(data, regression=not classes)
    simulator = TrafficSimulator(data, predictor, plan, seed=args.seed)
    drift_after = args.drift_after if args.drift_after >= 0 else None
    settings = DemoSettings(model=model.name, version=model.version, rate=args.rate,
                            duration=args.duration, drift_after=drift_after,
                            summary_every=args.summary_every,
                            accuracy_floor=model.thresholds.accuracy_floor)
    if args.label_delay < 0:
        print("mlmon demo: --label-delay must not be negative", file=sys.stderr)
        return 2
    try:
        record = args.record.open("w", encoding="utf-8") if args.record else None
    except OSError as exc:
        print(f"mlmon demo: {exc}", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="mlmon-demo-") as tmp:
        sidecar = SidecarProcess(config_path, Path(tmp) / "mlmon.sock",
                                 _http_address(args.http), Path(tmp) / "sidecar.log",
                                 compute_interval=args.compute_interval)
        stack: list[Service] = []
        events = EventLog(sys.stdout)  # the timeline: printed, and redrawn by the summaries
        if args.stack:
            from exporter.demo.stack import stack_services

            # Prometheus is made after the sidecar started: it scrapes the announced port
            stack = stack_services(model, lambda: sidecar.http_address, Path(tmp), sys.stdout,
                                   events)
        services = Services([sidecar, *stack])
        try:
            services.start()
            tap = Tap(sidecar.socket_path)
            runner = DemoRunner(settings, simulator, tap,
                                DelayedLabels(args.label_delay / 2, args.label_delay * 1.5,
                                              seed=args.seed),
                                sidecar, services.urls(), sys.stdout,
                                clear=sys.stdout.isatty(),  # each summary redraws the timeline
                                dead=services.dead,
                                record=record, events=events)

            def request_stop(signum: int, frame: FrameType | None) -> None:
                runner.stop_requested = True

            previous = {s: signal.signal(s, request_stop)
                        for s in (signal.SIGINT, signal.SIGTERM)}
        except ProgramError as exc:
            print(f"mlmon demo: {exc}", file=sys.stderr)
            return 1
        except BaseException:  # Ctrl-C while starting: stop what runs (their own sessions)
            services.stop()
            raise
        print(f"mlmon demo: sidecar ready ({config_path}); tapping {args.rate:g} predictions/s "
              f"of {model.name}:{model.version}; drift "
              + (f"at {drift_after:g}s: {plan.describe()}" if drift_after is not None
                 else "never")
              + ("; Ctrl-C to stop" if args.duration is None else f"; {args.duration:g}s"),
              flush=True)
        for name, url in services.urls().items():
            print(f"  {name}: {url}", flush=True)
        try:
            runner.run()
        finally:
            tap.close(2.0)
            if record is not None:
                record.close()
            stats = tap.stats()
            codes = services.stop()  # a second Ctrl-C meanwhile does not cut this short
            for s, handler in previous.items():
                signal.signal(s, handler)
        print(f"mlmon demo: sent {runner.sent} predictions and {runner.labels_sent} labels "
              f"({stats.sent} events delivered, "
              f"{stats.dropped_queue_full + stats.dropped_disconnected} dropped); "
              f"sidecar exit code {codes.get('sidecar')}", flush=True)
        if runner.failed or codes.get("sidecar") not in (0, None):
            print(sidecar.log_tail(), file=sys.stderr)
            return 1
    return 0
