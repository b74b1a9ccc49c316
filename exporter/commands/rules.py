"""`mlmon rules`: generate the PrometheusRule from rules/, or check the committed one."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "generate the Kubernetes PrometheusRule from rules/*.yml, or check it is up to date"


def _label(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def _common(parser: argparse.ArgumentParser) -> None:
    from exporter.rulegen import DEFAULT_NAME, DEFAULT_RELEASE, DEFAULT_RULES_DIR

    parser.add_argument("--rules-dir", type=Path, default=None,
                        help=f"directory of Prometheus rule files (default: {DEFAULT_RULES_DIR}/ "
                             "in the working directory, else the copy installed with mlmon)")
    parser.add_argument("--name", default=DEFAULT_NAME,
                        help="metadata.name of the PrometheusRule (default: %(default)s)")
    parser.add_argument("--namespace", default=None,
                        help="metadata.namespace (default: none; kustomize sets it)")
    parser.add_argument("--release", default=DEFAULT_RELEASE,
                        help="value of the `release` label the Prometheus operator selects "
                             "rules by (default: %(default)s; empty to omit)")
    parser.add_argument("--label", type=_label, action="append", default=[],
                        metavar="KEY=VALUE", help="extra metadata label (repeatable)")


def configure(parser: argparse.ArgumentParser) -> None:
    from exporter.rulegen import DEFAULT_OUT

    sub = parser.add_subparsers(dest="rules_command", metavar="SUBCOMMAND", required=True)
    k8s = sub.add_parser("k8s", help="write the PrometheusRule custom resource",
                         description="Build a monitoring.coreos.com/v1 PrometheusRule "
                                     "from the rule files.")
    _common(k8s)
    k8s.add_argument("--out", type=Path, default=None,
                     help=f"output file (default: standard output; the repository keeps "
                          f"it in {DEFAULT_OUT})")
    check = sub.add_parser("check", help="exit 1 if the committed PrometheusRule is stale",
                           description="Regenerate the PrometheusRule and compare it "
                                       "with the committed file.")
    _common(check)
    check.add_argument("--file", type=Path, default=None,
                       help=f"generated file to compare (default: {DEFAULT_OUT} in the working "
                            "directory, else the copy installed with mlmon)")


def run(args: argparse.Namespace) -> int:
    import difflib

    from exporter.rulegen import (
        DEFAULT_OUT,
        DEFAULT_RULES_DIR,
        RuleFileError,
        load_groups,
        prometheus_rule,
        render,
        repository_path,
        resource_labels,
        rule_files,
    )

    if args.rules_dir is None:
        args.rules_dir = repository_path(DEFAULT_RULES_DIR)
    try:
        files = rule_files(args.rules_dir)
        groups = load_groups(args.rules_dir)
    except (RuleFileError, OSError) as exc:
        print(f"mlmon rules: {exc}", file=sys.stderr)
        return 2
    labels = resource_labels(args.release or None, dict(args.label))
    text = render(prometheus_rule(groups, args.name, args.namespace, labels))
    if args.rules_command == "k8s":
        if args.out is None:
            sys.stdout.write(text)
        else:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(text, encoding="utf-8")
        return 0
    if args.file is None:
        args.file = repository_path(DEFAULT_OUT)
    try:
        current = args.file.read_text(encoding="utf-8")
    except OSError as exc:
        print(f"mlmon rules check: cannot read {args.file}: {exc.strerror}; generate it with "
              f"`mlmon rules k8s --out {args.file}`", file=sys.stderr)
        return 1
    if current == text:
        rules = sum(len(group["rules"]) for group in groups)
        print(f"mlmon rules check: {args.file} is up to date: {len(files)} rule files, "
              f"{len(groups)} groups, {rules} rules in {args.rules_dir}")
        return 0
    diff = difflib.unified_diff(current.splitlines(keepends=True), text.splitlines(keepends=True),
                                str(args.file), "generated from " + str(args.rules_dir))
    sys.stderr.writelines(diff)
    print(f"mlmon rules check: {args.file} is out of date; regenerate it with "
          f"`mlmon rules k8s --out {args.file}`", file=sys.stderr)
    return 1
