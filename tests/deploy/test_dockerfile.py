"""The Dockerfile, parsed: multi-stage, pinned slim base, wheels, non-root, read-only root."""

from __future__ import annotations

import re
import tomllib

import pytest

from exporter.config.model import DEFAULT_HTTP, DEFAULT_SOCKET
from tests.deploy.dockerfile import Dockerfile, Stage, load, parse
from tests.paths import ROOT

UID = 10001
# python:<major>.<minor>.<patch>-slim-<debian release>: a full version, never a moving tag.
PINNED_SLIM = re.compile(r"^python:3\.1[1-9]\.\d+-slim-(bookworm|trixie)(@sha256:[0-9a-f]{64})?$")
BUILD_TOOLS = ("gcc", "g++", "make", "build-essential", "cmake", "clang", "python3-dev",
               "libc6-dev", "git", "curl", "wget")


@pytest.fixture(scope="module")
def dockerfile() -> Dockerfile:
    return load(ROOT / "Dockerfile")


@pytest.fixture(scope="module")
def final(dockerfile: Dockerfile) -> Stage:
    return dockerfile.stages[-1]


def test_parser_joins_continuations_and_skips_comments() -> None:
    parsed = parse(
        "# syntax=docker/dockerfile:1.7\n"
        "ARG V=3.11.9\n"
        "FROM python:${V}-slim AS a\n"
        "RUN echo one \\\n"
        "# a comment inside the continuation\n"
        "    && echo two\n"
        "\n"
        "FROM a\n"
        'CMD ["serve", "--x"]\n'
    )
    assert parsed.directives == {"syntax": "docker/dockerfile:1.7"}
    assert [s.base for s in parsed.stages] == ["python:3.11.9-slim", "a"]
    assert parsed.stages[0].name == "a"
    run = parsed.stages[0].instructions[0]
    assert (run.keyword, run.args, run.line) == ("RUN", "echo one && echo two", 4)
    assert parsed.stages[1].instructions[0].exec_form() == ["serve", "--x"]


def test_parser_rejects_a_dangling_continuation() -> None:
    with pytest.raises(ValueError, match="continuation"):
        parse("FROM x\nRUN a \\\n")


def test_multi_stage_with_pinned_slim_python_bases(dockerfile: Dockerfile) -> None:
    assert len(dockerfile.stages) >= 2
    for stage in dockerfile.stages:
        assert PINNED_SLIM.match(stage.base), stage.base
        assert not stage.base.endswith(":latest")


def test_wheels_are_built_in_the_first_stage_and_installed_offline(
        dockerfile: Dockerfile, final: Stage) -> None:
    build = dockerfile.stages[0]
    assert build.name, "the build stage needs a name for --from"
    assert any(re.search(r"\bpip wheel\b.*--wheel-dir[ =](\S+)", r.args) for r in build.all("RUN"))
    installs = [r for r in final.all("RUN") if "pip install" in r.args]
    assert installs, "the runtime stage installs the wheels"
    for run in installs:
        assert "--no-index" in run.args  # nothing fetched from an index in the final stage
        mount = run.flags.get("mount", "")
        copied = any(f"--from={build.name}" in c.args for c in final.all("COPY"))
        assert f"from={build.name}" in mount or copied


def test_no_build_tools_or_source_in_the_final_image(final: Stage) -> None:
    for run in final.all("RUN"):
        words = set(re.split(r"[\s;&|]+", run.args))
        if {"apt-get", "apt", "apk"} & words:
            assert not words & set(BUILD_TOOLS), run.args
    for copy in final.all("COPY"):
        assert "--from=" in copy.args, f"final stage copies from the context: {copy.args}"
    assert not final.all("ADD")


def test_runs_as_a_fixed_non_root_uid(final: Stage) -> None:
    user = final.last("USER")
    assert user is not None
    uid, _, gid = user.args.partition(":")
    assert uid == str(UID) and gid in ("", str(UID))
    created = " ".join(r.args for r in final.all("RUN"))
    assert re.search(rf"useradd\b[^&;]*--uid {UID}\b", created)
    # USER comes after every RUN: nothing at run time needs root.
    assert all(r.line < user.line for r in final.all("RUN"))


def test_read_only_root_filesystem_ready(final: Stage) -> None:
    env: dict[str, str] = {}
    for ins in final.all("ENV"):
        env.update(ins.pairs())
    assert env.get("PYTHONDONTWRITEBYTECODE") == "1"
    created = " ".join(r.args for r in final.all("RUN"))
    # The only directories written at run time: the socket's and the state file's,
    # owned by the runtime user (volumes are mounted over them in Kubernetes).
    socket_dir = str(DEFAULT_SOCKET.parent)
    assert socket_dir in created and "/var/lib/mlmon" in created
    assert re.search(rf"chown {UID}:{UID} [^&;]*{re.escape(socket_dir)}", created)


def test_entrypoint_is_mlmon_serve(final: Stage) -> None:
    entry = final.last("ENTRYPOINT")
    cmd = final.last("CMD")
    assert entry is not None and cmd is not None
    argv = (entry.exec_form() or []) + (cmd.exec_form() or [])
    assert argv[:2] == ["mlmon", "serve"]
    assert "--config" in argv


def test_exposes_the_default_metrics_port(final: Stage) -> None:
    port = DEFAULT_HTTP.rsplit(":", 1)[1]
    exposed = {p.split("/")[0] for e in final.all("EXPOSE") for p in e.args.split()}
    assert exposed == {port}


def test_oci_labels(final: Stage) -> None:
    labels: dict[str, str] = {}
    for ins in final.all("LABEL"):
        labels.update(ins.pairs())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    prefix = "org.opencontainers.image."
    assert labels[prefix + "title"] == project["name"]
    assert labels[prefix + "version"] == project["version"]
    assert labels[prefix + "licenses"] == project["license"]  # an SPDX expression
    assert labels[prefix + "description"]
    assert PINNED_SLIM.match(labels[prefix + "base.name"])
    assert labels[prefix + "base.name"] == final.base


def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's .dockerignore rule: the last matching pattern wins; a parent match counts."""
    result = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        body = pattern[1:] if negate else pattern
        regex = re.escape(body.strip("/")).replace(r"\*\*", ".*").replace(r"\*", "[^/]*")
        regex = regex.replace(r"\?", "[^/]")
        parts = path.split("/")
        if any(re.fullmatch(regex, "/".join(parts[:n])) for n in range(1, len(parts) + 1)):
            result = not negate
    return result


def test_dockerignore_keeps_the_build_inputs_and_drops_the_rest() -> None:
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    needed = ["pyproject.toml", "README.md", "exporter/__init__.py", "exporter/stats/psi.py",
              "exporter/py.typed", "setup.py", "MANIFEST.in", "rules/mlmon-recording.yml",
              "alertmanager/alertmanager.yml", "alertmanager/templates/mlmon.tmpl",
              "grafana/mlmon.json", "k8s/base/prometheusrule.yaml",
              "prometheus/prometheus.example.yml"]
    for path in needed:
        assert not _ignored(path, patterns), path
    unwanted = [".git/HEAD", ".venv/bin/python", "tests/test_cli.py", "k8s/base/kustomization.yaml",
                "exporter/__pycache__/cli.cpython-311.pyc", ".env"]
    for path in unwanted:
        assert _ignored(path, patterns), path
