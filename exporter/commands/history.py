"""`mlmon history`: trends, crossings, forecasts and version comparison from Prometheus."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from exporter.config.durations import ALLOWED, parse_duration

HELP = "report drift and performance trends for a model from Prometheus history"

def duration(text: str) -> float:
    """A Prometheus-style duration ("90s", "5m", "7d") in seconds."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc}; use {ALLOWED}") from None


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--prometheus", required=True, metavar="URL",
                        help="Prometheus base URL, e.g. http://127.0.0.1:9090")
    parser.add_argument("--model", required=True)
    parser.add_argument("--version", default=None, help="only this model version")
    parser.add_argument("--range", type=duration, default=duration("7d"), dest="range_",
                        metavar="DURATION", help="how far back to look (default 7d)")
    parser.add_argument("--step", type=duration, default=None, metavar="DURATION",
                        help="resolution (default: range / 500, at least 15s)")
    parser.add_argument("--end", type=float, default=None, metavar="UNIX_TIME",
                        help="end of the range (default: now)")
    parser.add_argument("--compare", nargs=2, metavar=("VERSION_A", "VERSION_B"),
                        help="compare two versions (champion vs challenger)")
    parser.add_argument("--series", choices=("auto", "raw", "downsampled"), default="auto",
                        help="the sidecars' raw series, or the hourly averages of "
                             "rules/mlmon-downsampling.yml that a long-term store keeps "
                             "(default auto: raw, downsampled when the range has no raw)")
    parser.add_argument("--format", choices=("text", "json", "html"), default="text")
    parser.add_argument("--out", type=Path, default=None, help="write here instead of stdout")


def run(args: argparse.Namespace) -> int:
    from exporter.atomic import write_atomic
    from exporter.history.analysis import HistoryError, analyse
    from exporter.history.promapi import PrometheusAPI, PrometheusError
    from exporter.history.render import text, to_html, to_json

    end = args.end if args.end is not None else time.time()
    start = end - args.range_
    step = args.step if args.step is not None else max(15.0, args.range_ / 500.0)
    api = PrometheusAPI(args.prometheus)
    try:
        report = analyse(api, args.model, args.version, start, end, step,
                         tuple(args.compare) if args.compare else None, args.series)
    except (HistoryError, PrometheusError) as exc:
        print(f"mlmon history: {exc}", file=sys.stderr)
        return 2
    render = {"text": text, "json": to_json, "html": to_html}[args.format]
    output = render(report)
    if args.out is None:
        sys.stdout.write(output)
    else:
        try:
            write_atomic(args.out, output)
        except OSError as exc:
            print(f"mlmon history: {args.out}: cannot write report ({exc.strerror or exc})",
                  file=sys.stderr)
            return 2
    return 0
