"""`mlmon profile build|show`: build a reference profile from training data, or summarise one."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from exporter.spark import options as spark_options

HELP = "build a reference profile from training data (CSV/Parquet/JSONL), or show one"


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="profile_command", metavar="ACTION", required=True)
    build = sub.add_parser("build", help="build a profile for one model version",
                           description="Build a reference profile in two streaming passes.")
    build.add_argument("--config", required=True, type=Path, help="mlmon YAML config")
    build.add_argument("--model", required=True, help="model name in the config")
    build.add_argument("--version", help="model version (default: the model's only version)")
    build.add_argument("--input", required=True, type=Path,
                       help="training data: .csv, .parquet or .jsonl")
    build.add_argument("--out", required=True, type=Path, help="profile JSON to write")
    build.add_argument("--chunk-rows", type=int, default=None, help=argparse.SUPPRESS)
    spark_options.add_arguments(build)
    show = sub.add_parser("show", help="print a readable summary of a profile",
                          description="Print a readable summary of a profile.")
    show.add_argument("profile", type=Path, metavar="PROFILE")


def run(args: argparse.Namespace) -> int:
    from exporter.config.errors import ConfigError
    from exporter.profile.model import ProfileError

    try:
        return _build(args) if args.profile_command == "build" else _show(args.profile)
    except (ConfigError, ProfileError) as exc:
        print(f"mlmon profile: {exc}", file=sys.stderr)
        return 1


def _build(args: argparse.Namespace) -> int:
    from exporter.config.load import load_config
    from exporter.profile.build import build_profile
    from exporter.profile.files import save_profile

    config = load_config(args.config)
    matches = [m for m in config.models if m.name == args.model
               and (args.version is None or m.version == args.version)]
    if not matches:
        known = ", ".join(f"{m.name}:{m.version}" for m in config.models)
        print(f"mlmon profile: {args.config}: no model {args.model!r}"
              f"{'' if args.version is None else f' version {args.version!r}'} "
              f"(models: {known})", file=sys.stderr)
        return 1
    if len(matches) > 1:
        versions = ", ".join(m.version for m in matches)
        print(f"mlmon profile: {args.config}: model {args.model!r} has several versions "
              f"({versions}); pass --version", file=sys.stderr)
        return 1
    extra = {} if args.chunk_rows is None else {"chunk_rows": args.chunk_rows}
    model = matches[0]
    if args.engine == "spark":
        from exporter.spark.build import build_profile_spark
        from exporter.spark.session import SparkUnavailable

        try:
            spark = spark_options.session(args)
        except SparkUnavailable as exc:
            print(f"mlmon profile: {exc}", file=sys.stderr)
            return spark_options.EXIT_NO_SPARK
        print(f"mlmon profile: on Spark, master {spark.sparkContext.master}", file=sys.stderr)
        profile = build_profile_spark(model, args.input, spark,
                                      min_partitions=args.spark_partitions, **extra)
    else:
        profile = build_profile(model, args.input, **extra)
    if profile.prediction is None:  # a profile without it is valid, but should not be a surprise
        print(f"mlmon profile: {args.input}: no column {model.prediction_column!r} (the model's "
              "prediction_column): the prediction's reference distribution is not built, so "
              f"prediction drift is off for {model.name}:{model.version}", file=sys.stderr)
    try:
        save_profile(profile, args.out)
    except OSError as exc:
        print(f"mlmon profile: {args.out}: cannot write profile ({exc.strerror or exc})",
              file=sys.stderr)
        return 1
    print(f"wrote {args.out}: {profile.model}:{profile.version}, {profile.rows} rows, "
          f"{len(profile.features)} features, sha256 {profile.content_hash[:12]}")
    return 0


def _fmt(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.4g}"


def _show(path: Path) -> int:
    from exporter.profile.files import load_profile
    from exporter.profile.model import CategoricalProfile, FeatureProfile

    p = load_profile(path)
    print(f"profile   {path}")
    print(f"model     {p.model}  version {p.version}  schema {p.schema_version}")
    print(f"rows      {p.rows}")
    print(f"sha256    {p.content_hash}")
    cal = p.calibration
    if cal is not None:
        points = "/".join(str(len(m.x)) for m in cal.maps)
        print(f"calibration {cal.method} on {cal.rows} labelled reference rows, "
              f"{len(cal.maps)} map(s) of {points} points (classes {', '.join(cal.classes)})")
    else:
        print("calibration none (no reference labels: estimates use raw scores)")
    seg = p.segments
    if seg is not None:
        rows = "  ".join(f"{s.value}={s.rows}" for s in seg.segments)
        print(f"segments  {seg.feature} (max_values {seg.max_values}): {rows}")
    pca = p.multivariate
    if pca is not None:
        print(f"pca       {len(pca.components)} component(s) of {len(pca.features)} numeric "
              f"features explain {pca.explained:.1%} (asked {pca.variance_share:.0%}); "
              f"error {pca.error_mean:.4g} (std {pca.error_std:.4g}) on {pca.error_rows} "
              f"held-out rows, fitted on {pca.fit_rows}")
    print()
    header = f"{'feature':<24} {'kind':<12} {'bins':>4} {'missing':>8}  summary"
    print(header)
    print("-" * len(header))
    items: list[FeatureProfile] = [*p.features, *([p.prediction] if p.prediction else [])]
    for f in items:
        if isinstance(f, CategoricalProfile):
            shares = sorted(zip(f.bucket_labels, f.proportions, strict=True),
                            key=lambda kv: -kv[1])[:4]
            text = "  ".join(f"{k}={v:.1%}" for k, v in shares)
            print(f"{f.name:<24} {f.kind:<12} {len(f.counts):>4} {f.missing:>8}  {text}")
        else:
            s = f.summary
            q = dict(s.quantiles)
            text = (f"mean={_fmt(s.mean)} std={_fmt(s.std)} min={_fmt(s.min)} "
                    f"p50={_fmt(q.get(0.5, math.nan))} max={_fmt(s.max)} "
                    f"sample={len(f.sample)}")
            print(f"{f.name:<24} {f.kind:<12} {len(f.counts):>4} {s.missing:>8}  {text}")
    return 0
