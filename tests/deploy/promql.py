"""A tiny PromQL lexer: enough to list the metrics, label matchers and ranges of a query.

Not a parser: it walks tokens and skips grouping label lists (``by (...)``), string
literals and range selectors, so that every remaining bare identifier is a metric name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<range>\[[^\]]*\])
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<op>=~|!~|!=|==|>=|<=|[-+*/%^<>=(){},])
""", re.VERBOSE)

GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}
KEYWORDS = {"and", "or", "unless", "bool", "offset", "atan2"}
FUNCTIONS = {
    "abs", "absent", "absent_over_time", "avg", "avg_over_time", "bottomk", "ceil", "changes",
    "clamp", "clamp_max", "clamp_min", "count", "count_over_time", "count_values", "delta",
    "deriv", "exp", "floor", "group", "histogram_quantile", "holt_winters", "idelta", "increase",
    "irate", "label_join", "label_replace", "last_over_time", "ln", "log10", "log2", "max",
    "max_over_time", "min", "min_over_time", "predict_linear", "quantile", "quantile_over_time",
    "rate", "resets", "round", "scalar", "sgn", "sort", "sort_desc", "sqrt", "stddev",
    "stddev_over_time", "stdvar", "sum", "sum_over_time", "time", "timestamp", "topk", "vector",
}


@dataclass
class Selector:
    metric: str
    matchers: dict[str, tuple[str, str]] = field(default_factory=dict)  # label -> (op, value)


@dataclass
class Call:
    function: str
    ranges: list[str]  # contents of the range selectors directly inside the call


@dataclass
class Query:
    selectors: list[Selector]
    calls: list[Call]
    functions: set[str]


def tokens(expr: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(expr):
        match = _TOKEN.match(expr, pos)
        if match is None:
            raise ValueError(f"unexpected character {expr[pos]!r} at {pos} in {expr!r}")
        kind = match.lastgroup or ""
        if kind != "ws":
            out.append((kind, match.group()))
        pos = match.end()
    return out


def _matching(toks: list[tuple[str, str]], start: int, open_: str, close: str) -> int:
    depth = 0
    for index in range(start, len(toks)):
        if toks[index] == ("op", open_):
            depth += 1
        elif toks[index] == ("op", close):
            depth -= 1
            if depth == 0:
                return index
    raise ValueError(f"unbalanced {open_}{close}")


def _matchers(toks: list[tuple[str, str]]) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for index in range(0, len(toks), 4):  # label op "value" [,]
        label, op, value = toks[index][1], toks[index + 1][1], toks[index + 2]
        if value[0] != "string":
            raise ValueError(f"matcher {label} needs a quoted value")
        out[label] = (op, value[1][1:-1])
    return out


def analyse(expr: str) -> Query:
    toks = tokens(expr)
    selectors: list[Selector] = []
    calls: list[Call] = []
    functions: set[str] = set()
    index = 0
    while index < len(toks):
        kind, text = toks[index]
        nxt = toks[index + 1] if index + 1 < len(toks) else ("", "")
        if kind == "ident" and text in FUNCTIONS and nxt[0] == "ident" and nxt[1] in GROUPING:
            functions.add(text)  # `sum by (x) (...)`: the grouping is skipped next
            index += 1
            continue
        if kind == "ident" and text in GROUPING:
            index = _matching(toks, index + 1, "(", ")") + 1 if nxt == ("op", "(") else index + 1
            continue
        if kind == "ident" and nxt == ("op", "("):
            functions.add(text)
            end = _matching(toks, index + 1, "(", ")")
            depth = 0
            ranges: list[str] = []
            for k, t in toks[index + 2:end]:
                depth += (k, t) == ("op", "(")
                depth -= (k, t) == ("op", ")")
                if k == "range" and depth == 0:
                    ranges.append(t[1:-1])
            calls.append(Call(text, ranges))
            index += 1
            continue
        if kind == "ident" and text not in KEYWORDS:
            selector = Selector(text)
            if nxt == ("op", "{"):
                end = _matching(toks, index + 1, "{", "}")
                selector.matchers = _matchers(toks[index + 2:end])
                index = end
            selectors.append(selector)
        index += 1
    return Query(selectors, calls, functions)
