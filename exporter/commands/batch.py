"""`mlmon batch`: drift (and, with labels, performance) of a file against a profile.

Exit codes: 0 done; 2 usage or input error (message names the file/column),
unreachable Pushgateway; 3 ``--fail-on`` reached (some feature, the prediction
included, has at least that severity in the whole file or in any chunk).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from exporter.spark import options as spark_options

if TYPE_CHECKING:
    from exporter.batch.report import Chunking

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
    parser.add_argument("--html-out", type=Path, metavar="FILE",
                        help="also write the self-contained HTML report here (one analysis, "
                             "two reports)")
    parser.add_argument("--fail-on", choices=("medium", "high"),
                        help="exit 3 when any feature reaches this drift severity, in the "
                             "whole file or in any chunk")
    parser.add_argument("--chunk-size", metavar="ROWS",
                        help="also judge every ROWS rows on their own (JSON `chunks`)")
    parser.add_argument("--chunk-by", metavar="COLUMN",
                        help="also judge each period of this time column on its own "
                             "(ISO 8601 or epoch seconds, rows sorted by time); "
                             "needs --chunk-period")
    parser.add_argument("--chunk-period", metavar="DURATION",
                        help="period of --chunk-by: 1h, 1d, 7d, … (aligned on UTC epoch "
                             "multiples: 1d starts at midnight UTC)")
    parser.add_argument("--pushgateway", metavar="URL",
                        help="push the batch's metrics (job=mlmon-batch, grouped by model "
                             "and version)")
    mlflow = parser.add_mutually_exclusive_group()
    mlflow.add_argument("--mlflow-run", metavar="RUN_ID",
                        help="log the statistics as metrics and the JSON/HTML reports as "
                             "artifacts to this MLflow run")
    mlflow.add_argument("--mlflow-experiment", metavar="NAME",
                        help="like --mlflow-run, in a new run of this experiment")
    parser.add_argument("--mlflow-uri", metavar="URL", default=os.environ.get(
                        "MLFLOW_TRACKING_URI"),
                        help="MLflow tracking server (default: $MLFLOW_TRACKING_URI)")
    spark_options.add_arguments(parser)


def _error(message: str) -> int:
    print(f"mlmon batch: error: {message}", file=sys.stderr)
    return EXIT_INPUT


def _chunking(args: argparse.Namespace) -> Chunking | None:
    """The --chunk-* options; ValueError with the message to print."""
    from exporter.batch.report import Chunking
    from exporter.config.durations import ALLOWED, parse_duration

    if args.chunk_size is not None and (args.chunk_by is not None
                                        or args.chunk_period is not None):
        raise ValueError("--chunk-size and --chunk-by/--chunk-period exclude each other; "
                         "chunk by rows or by time")
    if args.chunk_size is not None:
        try:
            rows = int(args.chunk_size)
        except ValueError:
            rows = 0
        if rows < 1:
            raise ValueError(f"--chunk-size {args.chunk_size!r}: give a number of rows >= 1")
        return Chunking(rows=rows)
    if (args.chunk_by is None) != (args.chunk_period is None):
        raise ValueError("--chunk-by COLUMN and --chunk-period DURATION go together "
                         "(e.g. --chunk-by ts --chunk-period 1d)")
    if args.chunk_by is None:
        return None
    try:
        period = parse_duration(args.chunk_period)
    except ValueError:
        raise ValueError(f"--chunk-period {args.chunk_period!r}: give {ALLOWED}") from None
    return Chunking(column=args.chunk_by, period=period)


def run(args: argparse.Namespace) -> int:
    from exporter.atomic import write_atomic
    from exporter.batch import html, jsonout, prom, text
    from exporter.batch.errors import BatchInputError
    from exporter.batch.run import BatchOptions, run_batch
    from exporter.config.errors import ConfigError
    from exporter.config.load import load_config
    from exporter.config.model import ModelConfig
    from exporter.profile.files import load_profile
    from exporter.profile.model import ProfileError
    from exporter.stats.severity import Severity
    from exporter.stats.thresholds import Thresholds

    try:
        chunking = _chunking(args)
    except ValueError as exc:
        return _error(str(exc))
    try:
        profile = load_profile(args.profile)
    except ProfileError as exc:
        return _error(str(exc))
    model: ModelConfig | None = None
    thresholds = Thresholds()
    if args.config is not None:
        try:
            model = load_config(args.config).model(profile.model, profile.version)
        except ConfigError as exc:
            return _error(str(exc))
        except KeyError:
            return _error(f"{args.config}: no model {profile.model!r} version "
                          f"{profile.version!r} (the profile's); add it under `models`")
        thresholds = model.thresholds
    options = BatchOptions(
        input=args.input,
        prediction_column=args.prediction_column or (
            model.prediction_column if model else "prediction"),
        label_column=args.label_column or (model.label_column if model else "label"),
        label_named=args.label_column is not None,
        chunking=chunking,
    )
    try:
        if args.engine == "spark":
            from exporter.spark.batch import run_batch_spark
            from exporter.spark.session import SparkUnavailable

            try:
                spark = spark_options.session(args)
            except SparkUnavailable as exc:
                return _error(str(exc))
            print(f"mlmon batch: on Spark, master {spark.sparkContext.master}",
                  file=sys.stderr)
            report = run_batch_spark(profile, model, options, thresholds, spark,
                                     min_partitions=args.spark_partitions)
        else:
            report = run_batch(profile, model, options, thresholds)
    except BatchInputError as exc:
        return _error(str(exc))
    renderers = {"text": text.render, "json": jsonout.render, "html": html.render,
                 "prometheus": prom.render}
    output = renderers[args.format](report)
    for path, content in ((args.out, output), (args.html_out, None)):
        if path is None:
            continue
        try:
            write_atomic(path, content if content is not None else html.render(report))
        except OSError as exc:
            return _error(f"{path}: cannot write report ({exc.strerror or exc})")
    if args.out is None:
        sys.stdout.write(output)
    if args.pushgateway:
        try:
            prom.push(report, args.pushgateway)
        except (OSError, ValueError) as exc:
            return _error(f"cannot push to Pushgateway {args.pushgateway}: {exc}")
    if args.mlflow_run or args.mlflow_experiment:
        code = _log_to_mlflow(args, jsonout.render(report), html.render(report))
        if code:
            return code
    if args.fail_on is not None:
        level = Severity[args.fail_on.upper()]
        chunks = [str(c.index) for c in report.chunks_reaching(level)]
        if report.reaches(level) or chunks:
            reached = report.severity.label if report.severity is not None else "n/a"
            more = f" and {len(chunks) - 10} more" if len(chunks) > 10 else ""
            where = f"; chunks {', '.join(chunks[:10])}{more}" if chunks else ""
            print(f"mlmon batch: drift severity {args.fail_on} or above reached "
                  f"(dataset severity {reached}{where})", file=sys.stderr)
            return EXIT_DRIFT
    return 0


def _log_to_mlflow(args: argparse.Namespace, report_json: str, report_html: str) -> int:
    import json

    from exporter.integrations.mlflow_tracking import MLflowError, log_report

    if not args.mlflow_uri:
        return _error("--mlflow-run/--mlflow-experiment need --mlflow-uri or "
                      "MLFLOW_TRACKING_URI (e.g. http://mlflow:5000)")
    try:
        logged = log_report(args.mlflow_uri, json.loads(report_json),
                            {"mlmon-report.json": report_json.encode(),
                             "mlmon-report.html": report_html.encode()},
                            run_id=args.mlflow_run, experiment=args.mlflow_experiment)
    except MLflowError as exc:
        return _error(str(exc))
    print(f"mlmon batch: logged {logged.metrics} metrics and {len(logged.artifacts)} "
          f"artifacts to MLflow run {logged.run_id}", file=sys.stderr)
    return 0
