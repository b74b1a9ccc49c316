"""docs/client.md: the two-line integration runs as written; the FastAPI example calls
the real API (FastAPI itself is not a dependency, so that block is checked, not run)."""

from __future__ import annotations

import ast
import inspect
import json
import re
from pathlib import Path

from exporter.client import AsyncTap, Tap
from tests.client.protocol import parse_line
from tests.client.servers import LineServer
from tests.paths import ROOT

DOC = ROOT / "docs" / "client.md"
DOC_SOCKET = "/var/run/mlmon/mlmon.sock"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_two_line_integration_runs_as_documented(tmp_path: Path) -> None:
    snippets = _blocks()[:3]
    assert "Tap(" in snippets[0] and "tap.prediction(" in snippets[1]
    assert "tap.label(" in snippets[2]
    path = str(tmp_path / "mlmon.sock")
    code = "\n".join(snippets).replace(DOC_SOCKET, path)
    with LineServer(path) as server:
        namespace: dict[str, object] = {}
        exec(compile(code, str(DOC), "exec"), namespace)
        tap = namespace["tap"]
        assert isinstance(tap, Tap) and tap.close(5.0)
        lines = server.wait_lines(2)
    assert [parse_line(x) for x in lines] == [
        {"v": 1, "model": "fraud", "version": "3", "id": "req-123",
         "features": {"amount": 12.5, "country": "DE"}, "prediction": 0.93},
        {"v": 1, "model": "fraud", "id": "req-123", "label": 1},
    ]
    assert json.loads(lines[0])["v"] == 1


def _calls(tree: ast.AST, method: str) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute) and n.func.attr == method
            and isinstance(n.func.value, ast.Name) and n.func.value.id == "tap"]


def test_fastapi_example_uses_the_real_api() -> None:
    example = next(b for b in _blocks() if "FastAPI" in b)
    tree = ast.parse(example)
    assert 'tap = AsyncTap("/var/run/mlmon/mlmon.sock")' in example
    for method in ("prediction", "label", "start", "aclose"):
        calls = _calls(tree, method)
        assert calls, f"example never calls tap.{method}"
        params = inspect.signature(getattr(AsyncTap, method)).parameters
        # What the calls need to be useful (the signature has defaults so that a
        # forgotten argument is counted, not raised).
        required = {"prediction": {"model", "features", "prediction", "id"},
                    "label": {"model", "id", "label"}}.get(method, set())
        for call in calls:
            given = {k.arg for k in call.keywords}
            assert not call.args, "the tap's calls are keyword-only"
            assert given <= set(params), given - set(params)
            assert required <= given, required - given
    routes = re.findall(r'@app\.post\("(/\w+)"\)', example)
    assert routes == ["/predict", "/feedback"]
