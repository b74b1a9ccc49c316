"""`mlmon metrics`: print the metric reference generated from the one metric list."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import get_args

HELP = "print the metric reference (Markdown or JSON), or check the README's copy"


def configure(parser: argparse.ArgumentParser) -> None:
    from exporter.metric_names import Source

    parser.add_argument("--format", choices=("markdown", "json", "names"), default="markdown")
    parser.add_argument("--source", choices=get_args(Source), default=None,
                        help="only metrics exported by this component")
    parser.add_argument("--check-readme", type=Path, metavar="README",
                        help="exit 1 if README's metric table differs from the generated one")


def run(args: argparse.Namespace) -> int:
    from exporter.metric_docs import exported_by, markdown, readme_block

    if args.check_readme is not None:
        current = readme_block(args.check_readme.read_text(encoding="utf-8"))
        if current != markdown():
            print(f"{args.check_readme}: metric reference is out of date; "
                  "regenerate it with `mlmon metrics`", file=sys.stderr)
            return 1
        return 0
    if args.format == "markdown":
        sys.stdout.write(markdown(args.source))
    elif args.format == "names":
        for m in exported_by(args.source):
            print(m.name)
    else:
        rows = [
            {"name": m.name, "type": m.type, "labels": list(m.labels),
             "sources": list(m.sources), "help": m.help}
            for m in exported_by(args.source)
        ]
        json.dump(rows, sys.stdout, indent=2)
        sys.stdout.write("\n")
    return 0
