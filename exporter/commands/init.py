"""`mlmon init --from train.csv`: write an mlmon.yaml inferred from a training file, printing
each decision and how to change it, and build the reference profile, so that
`mlmon serve --config mlmon.yaml` runs next (rules: exporter/commands/init_infer.py)."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from exporter.commands.init_infer import Inference

HELP = "write an mlmon.yaml inferred from a training file and build its profile"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="source", required=True, type=Path, metavar="FILE",
                        help="training data: .csv, .parquet or .jsonl, with the prediction "
                             "(and label) columns when you have them")
    parser.add_argument("--model", default=None,
                        help="model name (default: the file's name, e.g. train)")
    parser.add_argument("--version", default="1", help="model version (default: 1)")
    parser.add_argument("--out", type=Path, default=Path("mlmon.yaml"),
                        help="configuration to write (default: %(default)s)")
    parser.add_argument("--profile", type=Path, default=None,
                        help="profile to write (default: profile.json beside --out)")
    parser.add_argument("--force", action="store_true",
                        help="overwrite --out and --profile if they exist")


def _usable(path: Path) -> bool:
    """Could this process create ``path`` (its directory existing or creatable)?"""
    d = path.parent
    while not d.exists() and d != d.parent:
        d = d.parent
    return d.is_dir() and os.access(d, os.W_OK | os.X_OK)


def tap_socket(out: Path, default: Path, model: str) -> Path | None:
    """The tap socket to write into the config: None (the default) when this user can
    create it, else one beside the config (in the temporary directory when that path is
    too long for a Unix socket), so that `mlmon serve` runs as a normal user too."""
    if _usable(default):
        return None
    beside = out.resolve().parent / "mlmon.sock"
    if len(os.fsencode(beside)) <= 100 and _usable(beside):
        return beside
    import tempfile

    return Path(tempfile.gettempdir()) / f"mlmon-{_model_name(Path(model))}.sock"


def _model_name(path: Path) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", path.name.split(".")[0]).strip("_") or "model"


def render(inf: Inference, *, model: str, version: str, profile: str, source: str,
           build_command: str, socket: Path | None = None) -> str:
    """The mlmon.yaml text: the inferred model, each feature's reason as a comment."""
    from exporter.commands.init_infer import scalar
    from exporter.config.model import WindowConfig
    from exporter.stats.thresholds import Thresholds

    q = scalar
    if inf.kind == "classification":
        classes = ", ".join(json.dumps(c) for c in inf.classes)
        prediction = f"{{kind: classification, classes: [{classes}]}}"
    else:
        prediction = "{kind: regression}"
    t = Thresholds()
    lines = [
        f"# Written by `mlmon init --from {source}` from its first {inf.rows} rows; `mlmon init`",
        "# printed why it chose each line. Edit freely, then rebuild the profile:",
        f"#   {build_command}",
        *([] if socket is None else [
            "server:",
            f"  socket: {q(str(socket))}  # the tap's socket (the default directory is not "
            "writable here)"]),
        "models:",
        f"  - name: {q(model)}",
        f"    version: {json.dumps(version)}",
        f"    profile: {q(profile)}",
        f"    prediction: {prediction}  # {inf.kind_why}",
    ]
    for key, column, default in (("prediction_column", inf.prediction_column, "prediction"),
                                 ("label_column", inf.label_column, "label"),
                                 ("id_column", inf.id_column, "id")):
        if column is not None and column != default:
            lines.append(f"    {key}: {q(column)}")
    lines.append("    features:")
    for d in inf.features:
        lines.append(f"      {q(d.column)}: {d.kind}  # {d.why}")
    lines += [
        f"    # window: {{size: {WindowConfig.size}, max_age: 1h}}",
        f"    # thresholds: {{psi_medium: {t.psi_medium:g}, psi_high: {t.psi_high:g}, "
        f"min_samples: {t.min_samples}, accuracy_floor: 0.8}}",
        "",
    ]
    return "\n".join(lines)


def _report(inf: Inference, source: Path) -> None:
    print(f"mlmon init: {source}: {inf.rows} rows read; each column's role:")
    width = max(len(d.column) for d in inf.decisions)
    for d in inf.decisions:
        role = d.kind if d.role == "feature" and d.kind else d.role
        print(f"  {d.column:<{width}}  {role:<11}  {d.why}; to change: {d.change}")
    print(f"  prediction: {inf.kind}"
          f"{' ' + str(list(inf.classes)) if inf.classes else ''} ({inf.kind_why}); "
          "to change: edit `prediction:`")
    if inf.timestamp_column is not None:
        print(f"  timestamp column {inf.timestamp_column!r}: the tap's `ts` is the event time; "
              f"`mlmon batch --chunk-by {inf.timestamp_column}` splits a file by it")


def run(args: argparse.Namespace) -> int:
    from exporter.atomic import write_atomic
    from exporter.commands.init_infer import InferError, describe, infer, read_sample
    from exporter.config.errors import ConfigError
    from exporter.config.load import load_config
    from exporter.config.model import DEFAULT_HTTP, DEFAULT_SOCKET
    from exporter.profile.build import build_profile
    from exporter.profile.files import save_profile
    from exporter.profile.model import ProfileError
    from exporter.readers.chunks import ReadError
    from exporter.readers.formats import FormatError

    out: Path = args.out
    profile_path: Path = args.profile or out.parent / "profile.json"
    existing = [str(p) for p in (out, profile_path) if p.exists()]
    if existing and not args.force:
        print(f"mlmon init: {', '.join(existing)} already exists; pass --force to overwrite",
              file=sys.stderr)
        return 1
    model = args.model or _model_name(args.source)
    try:
        sample = read_sample(args.source)
        inf = infer([describe(name, values) for name, values in sample.items()])
    except InferError as exc:
        print(f"mlmon init: {exc}", file=sys.stderr)
        return 1
    _report(inf, args.source)
    if not inf.features:
        print(f"mlmon init: {args.source}: no column is a feature; nothing to monitor",
              file=sys.stderr)
        return 1
    try:
        in_yaml = os.path.relpath(profile_path.resolve(), out.resolve().parent)
    except ValueError:  # another drive
        in_yaml = str(profile_path.resolve())
    build = (f"mlmon profile build --config {out} --model {model} --input {args.source} "
             f"--out {profile_path}")
    socket = tap_socket(out, DEFAULT_SOCKET, model)
    text = render(inf, model=model, version=args.version, profile=in_yaml,
                  source=str(args.source), build_command=build, socket=socket)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(out, text)
        config = load_config(out)
        built = build_profile(config.models[0], args.source)
        save_profile(built, profile_path)
    except (ConfigError, ProfileError, ReadError, FormatError, OSError) as exc:
        print(f"mlmon init: {exc}", file=sys.stderr)
        print(f"mlmon init: fix {out}, then run `{build}`", file=sys.stderr)
        return 1
    print(f"wrote {out}: model {model}:{args.version}, {inf.kind}, {len(inf.features)} features")
    print(f"wrote {profile_path}: {built.rows} rows, sha256 {built.content_hash[:12]}")
    print(f"next: mlmon serve --config {out}  (tap socket {socket or DEFAULT_SOCKET}, metrics on "
          f"http://{DEFAULT_HTTP}/metrics; --socket and --http change them)")
    return 0
