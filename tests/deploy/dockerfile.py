"""A small Dockerfile parser: instructions, continuations, stages (enough for the tests)."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, RUN, ...
    args: str  # the rest of the logical line, continuations joined
    line: int  # 1-based line where the instruction starts

    @property
    def flags(self) -> dict[str, str]:
        """Leading ``--name=value`` flags (``--mount`` may repeat: last one wins)."""
        out: dict[str, str] = {}
        for word in shlex.split(self.args):
            if not word.startswith("--"):
                break
            name, _, value = word[2:].partition("=")
            out[name] = value
        return out

    def exec_form(self) -> list[str] | None:
        """The JSON array of an exec-form CMD/ENTRYPOINT/RUN, or None for shell form."""
        text = self.args.strip()
        if not text.startswith("["):
            return None
        value = json.loads(text)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"line {self.line}: exec form must be a JSON array of strings")
        return value

    def pairs(self) -> dict[str, str]:
        """KEY=VALUE pairs of ENV / LABEL / ARG (quotes removed)."""
        out: dict[str, str] = {}
        for word in shlex.split(self.args):
            key, sep, value = word.partition("=")
            out[key] = value if sep else ""
        return out


@dataclass
class Stage:
    base: str  # image reference with global ARGs substituted
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction | None:
        found = self.all(keyword)
        return found[-1] if found else None


@dataclass
class Dockerfile:
    directives: dict[str, str]
    instructions: list[Instruction]
    global_args: dict[str, str]
    stages: list[Stage]


def logical_lines(text: str) -> tuple[dict[str, str], list[Instruction]]:
    """Split into parser directives and instructions, joining ``\\`` continuations.

    Comment lines are dropped, also inside a continued instruction, as Docker does.
    """
    directives: dict[str, str] = {}
    lines = text.splitlines()
    index = 0
    while index < len(lines):  # directives only before anything else
        match = _DIRECTIVE.match(lines[index])
        if not match:
            break
        directives[match.group(1).lower()] = match.group(2)
        index += 1
    escape = directives.get("escape", "\\")
    instructions: list[Instruction] = []
    buffer: list[str] = []
    start = 0
    for number, raw in enumerate(lines[index:], start=index + 1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not buffer):
            continue
        if not buffer:
            start = number
        if stripped.endswith(escape):
            buffer.append(stripped[: -len(escape)])
            continue
        buffer.append(stripped)
        instructions.append(_instruction(" ".join(b for b in buffer if b), start))
        buffer = []
    if buffer:
        raise ValueError(f"line {start}: continuation runs past the end of the file")
    return directives, instructions


def _instruction(logical: str, line: int) -> Instruction:
    keyword, _, args = logical.strip().partition(" ")
    if not keyword.isalpha():
        raise ValueError(f"line {line}: not an instruction: {logical[:40]!r}")
    return Instruction(keyword.upper(), " ".join(args.split()) if keyword.upper() not in (
        "CMD", "ENTRYPOINT") else args.strip(), line)


def substitute(text: str, variables: dict[str, str]) -> str:
    return _VAR.sub(lambda m: variables.get(m.group(1) or m.group(2), ""), text)


def parse(text: str) -> Dockerfile:
    directives, instructions = logical_lines(text)
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for ins in instructions:
        if ins.keyword == "FROM":
            words = [w for w in ins.args.split() if not w.startswith("--")]
            name = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
            stages.append(Stage(substitute(words[0], global_args), name))
        elif not stages:
            if ins.keyword != "ARG":
                raise ValueError(f"line {ins.line}: only ARG may come before the first FROM")
            global_args.update(ins.pairs())
        else:
            stages[-1].instructions.append(ins)
    if not stages:
        raise ValueError("no FROM instruction")
    return Dockerfile(directives, instructions, global_args, stages)


def load(path: Path) -> Dockerfile:
    return parse(path.read_text())
