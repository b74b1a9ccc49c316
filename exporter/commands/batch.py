"""`mlmon batch`: drift (and, with labels, performance) of a file against a profile.

Exit codes: 0 done; 2 usage or input error (message names the file/column),
unreachable Pushgateway; 3 ``--fail-on`` reached (some feature, the prediction
included, has at least that severity).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "analyse a CSV/Parquet/JSONL batch against a reference profile (drift, performance)"

EXIT_INPUT = 2
EXIT_DRIFT = 3
FORMATS = ("text", "json", "html", "prometheus")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = ("exit status: 0 ok, 2 usage/input error or Pushgateway unreachable, "
                     "3 when --fail-on is reached")
    parser.add_argument("--profile", type=Path, required=True, help="reference profile JSON")
    parser.add_argument("--input", type=Path, required=True,
                        help="batch file: .csv, .parquet or .jsonl")
    parser.add_argument("--config", type=Path,
                        help="mlmon.yaml: thresholds and prediction kind of the profile's model")
    parser.add_argument("--label-column",
                        help="ground-truth column (default: the config's, else 'label'); "
                             "performance is computed when the file has it")
    parser.add_argument("--prediction-column",
                        help="prediction column (default: the config's, else 'prediction')")
    parser.add_argument("--format", choices=FORMATS, default="text")
    parser.add_argument("--out", type=Path, help="write the report here (atomic), not stdout")
    parser.add_argument("--fail-on", choices=("medium", "high"),
                        help="exit 3 when any feature reaches this drift severity")
    parser.add_argument("--pushgateway", metavar="URL",
                        help="push the batch's metrics (job=mlmon-batch, grouped by model "
                             "and version)")


def _error(message: str) -> int:
    print(f"mlmon batch: error: {message}", file=sys.stderr)
    return EXIT_INPUT


def run(args: argparse.Namespace) -> int:
    from exporter.batch import html, jsonout, prom, text
    from exporter.batch.errors import BatchInputError
    from exporter.batch.output import write_atomic
    from exporter.batch.run import BatchOptions, run_batch
    from exporter.config import ConfigError, ModelConfig, load_config
    from exporter.profile import ProfileError, load_profile
    from exporter.stats.drift import DriftThresholds
    from exporter.stats.severity import Severity

    try:
        profile = load_profile(args.profile)
    except ProfileError as exc:
        return _error(str(exc))
    model: ModelConfig | None = None
    thresholds = DriftThresholds()
    if args.config is not None:
        try:
            model = load_config(args.config).model(profile.model, profile.version)
        except ConfigError as exc:
            return _error(str(exc))
        except KeyError:
            return _error(f"{args.config}: no model {profile.model!r} version "
                          f"{profile.version!r} (the profile's); add it under `models`")
        thresholds = model.thresholds.drift()
    options = BatchOptions(
        input=args.input,
        prediction_column=args.prediction_column or (
            model.prediction_column if model else "prediction"),
        label_column=args.label_column or (model.label_column if model else "label"),
        label_named=args.label_column is not None,
    )
    try:
        report = run_batch(profile, model, options, thresholds)
    except BatchInputError as exc:
        return _error(str(exc))
    renderers = {"text": text.render, "json": jsonout.render, "html": html.render,
                 "prometheus": prom.render}
    output = renderers[args.format](report)
    if args.out is not None:
        try:
            write_atomic(args.out, output)
        except OSError as exc:
            return _error(f"{args.out}: cannot write report ({exc.strerror or exc})")
    else:
        sys.stdout.write(output)
    if args.pushgateway:
        try:
            prom.push(report, args.pushgateway)
        except (OSError, ValueError) as exc:
            return _error(f"cannot push to Pushgateway {args.pushgateway}: {exc}")
    if args.fail_on is not None and report.reaches(Severity[args.fail_on.upper()]):
        print(f"mlmon batch: drift severity {args.fail_on} or above reached "
              f"(dataset severity {report.severity.label if report.severity else 'n/a'})",
              file=sys.stderr)
        return EXIT_DRIFT
    return 0
