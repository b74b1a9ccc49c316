"""The two container images, built for real by scripts/build-image.sh (mmdebstrap + buildah,
no Docker engine): the sidecar image runs mlmon without pyarrow and stays within 250 MB over
its Python base; the batch image reads CSV/Parquet. The Dockerfile's two targets agree with
the script. Sizes are du of each image's mounted root filesystem (bytes of its files)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.dockerfile import Stage, load
from tests.paths import EXAMPLES, ROOT
from tests.procs import IN_CI

SCRIPT = ROOT / "scripts" / "build-image.sh"
MAX_SIDECAR_OVER_BASE = 250_000_000  # bytes (250 MB)
TAG = "test"
HINT = "pip install 'mlmon[files]'"
# The real build: mmdebstrap + two pip installs, a few minutes.
SLOW = pytest.mark.slow


def _stage(name: str) -> Stage:
    stages = {s.name: s for s in load(ROOT / "Dockerfile").stages}
    return stages[name]


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _installed(stage: Stage) -> list[str]:
    """What a stage's `pip install` lines install (after substituting the global ARGs)."""
    dockerfile = load(ROOT / "Dockerfile")
    found: list[str] = []
    for run in stage.all("RUN"):
        for match in re.finditer(r"pip install (?:--\S+ )*(\"[^\"]+\"|\S+)", run.args):
            found.append(match.group(1).strip('"').replace(
                "${BATCH_EXTRAS}", dockerfile.global_args["BATCH_EXTRAS"]))
    return found


def _printed() -> dict[str, list[str]]:
    out = subprocess.run(["bash", str(SCRIPT), "--print"], capture_output=True, text=True,
                         check=True, timeout=30).stdout
    return {line.split()[0]: line.split()[1:] for line in out.splitlines()}


def _dependency_names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0].lower() for r in requirements}


def test_dockerfile_has_a_sidecar_and_a_batch_target_sidecar_last() -> None:
    stages = load(ROOT / "Dockerfile").stages
    assert [s.name for s in stages][-2:] == ["batch", "sidecar"]  # no --target: the sidecar


def test_pyarrow_is_only_in_the_batch_extra() -> None:
    project = _pyproject()
    extra = load(ROOT / "Dockerfile").global_args["BATCH_EXTRAS"]
    assert "pyarrow" not in _dependency_names(project["dependencies"])
    assert "pyarrow" in _dependency_names(project["optional-dependencies"][extra])
    # make test installs '.[test]': the tests read Parquet, so the test extra has the files one
    assert f"mlmon[{extra}]" in project["optional-dependencies"]["test"]


def test_script_and_dockerfile_install_the_same_in_each_image() -> None:
    printed = _printed()
    assert _installed(_stage("sidecar")) == ["mlmon"] == printed["sidecar"][1:]
    batch = _installed(_stage("batch"))
    assert batch == printed["batch"][1:]
    assert batch == [f"mlmon[{load(ROOT / 'Dockerfile').global_args['BATCH_EXTRAS']}]"]
    version = _pyproject()["version"]
    assert printed["sidecar"][0] == f"mlmon:{version}"
    assert printed["batch"][0] == f"mlmon-batch:{version}"
    assert printed["base"][0] == f"mlmon-base:{version}"


# ---- the real build ------------------------------------------------------------------


@dataclass(frozen=True)
class Built:
    buildah: list[str]  # buildah with the test's storage options
    base: str
    sidecar: str
    batch: str
    work: Path
    output: str


def _require_build_tools() -> None:
    problems = [f"{t} not installed" for t in ("buildah", "mmdebstrap") if not shutil.which(t)]
    if os.geteuid() != 0:
        problems.append("not root (mmdebstrap and buildah's chroot isolation need it)")
    if problems:
        message = ("image build: " + ", ".join(problems) + " (make test installs buildah "
                   "and mmdebstrap as root: scripts/ensure-tools.sh)")
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    _require_build_tools()
    tmp = tmp_path_factory.mktemp("image")
    # A store of the test's own; vfs works wherever buildah does (overlay not in every
    # container), MLMON_IMAGE_STORAGE_DRIVER=overlay is faster where it works.
    driver = os.environ.get("MLMON_IMAGE_STORAGE_DRIVER", "vfs")
    buildah = ["buildah", "--root", str(tmp / "storage"), "--runroot", str(tmp / "run"),
               "--storage-driver", driver]
    python = ROOT / ".venv" / "bin" / "python"
    env = {**os.environ, "BUILDAH_OPTS": " ".join(buildah[1:]),
           "PYTHON": str(python) if python.exists() else "python3"}
    # The base's root filesystem (mmdebstrap, the slowest step) is reused for 7 days from
    # the virtualenv, which `make clean` removes.
    cache = ["--rootfs-cache", str(ROOT / ".venv" / "image-cache")] if python.exists() else []
    try:
        proc = subprocess.run(["bash", str(SCRIPT), "--image", f"localhost/mlmon:{TAG}",
                               "--work", str(tmp / "work"), *cache], env=env,
                              capture_output=True, text=True, timeout=1200, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        print(f"\n{proc.stderr}{proc.stdout}")
        yield Built(buildah, f"localhost/mlmon-base:{TAG}", f"localhost/mlmon:{TAG}",
                    f"localhost/mlmon-batch:{TAG}", tmp / "work", proc.stdout)
    finally:
        subprocess.run([*buildah, "rm", "--all"], capture_output=True, check=False)  # unmounts
        _remove_unless_mounted(tmp)


def _remove_unless_mounted(tree: Path) -> None:
    """Delete the store, never through a mount left behind (it could be the host's /dev)."""
    mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    left = [m for m in mounts if m == str(tree) or m.startswith(f"{tree}/")]
    assert not left, f"still mounted, not deleted: {left}"
    shutil.rmtree(tree, ignore_errors=True)


def _run(argv: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=600, check=check)


@pytest.fixture(scope="module")
def containers(built: Built) -> Iterator[dict[str, str]]:
    """One working container per image: the checks run in it, its rootfs is measured."""
    made = {name: _run([*built.buildah, "from", "--quiet", "--pull-never", image]).stdout.strip()
            for name, image in (("base", built.base), ("sidecar", built.sidecar),
                                ("batch", built.batch))}
    try:
        yield made
    finally:
        for container in made.values():
            _run([*built.buildah, "rm", container], check=False)


def _in(built: Built, container: str, *argv: str,
        volume: str | None = None) -> subprocess.CompletedProcess[str]:
    mount = ["-v", volume] if volume else []
    return _run([*built.buildah, "run", "--isolation", "chroot", *mount, container, "--", *argv],
                check=False)


def _du(built: Built, container: str) -> int:
    mnt = _run([*built.buildah, "mount", container]).stdout.strip()
    try:
        return int(_run(["du", "-sbx", mnt]).stdout.split()[0])
    finally:
        _run([*built.buildah, "umount", container], check=False)


@SLOW
def test_all_three_images_exist(built: Built) -> None:
    names = _run([*built.buildah, "images", "--format", "{{.Name}}:{{.Tag}}"]).stdout.split()
    assert {built.base, built.sidecar, built.batch} <= set(names)


@SLOW
@pytest.mark.parametrize("image", ["sidecar", "batch"])
def test_mlmon_runs_as_uid_10001(built: Built, containers: dict[str, str], image: str) -> None:
    proc = _in(built, containers[image], "mlmon", "--help")
    assert proc.returncode == 0, proc.stderr
    assert "serve" in proc.stdout and "batch" in proc.stdout
    assert _in(built, containers[image], "id", "-u").stdout.strip() == "10001"


@SLOW
def test_only_the_batch_image_has_pyarrow(built: Built, containers: dict[str, str]) -> None:
    sidecar = _in(built, containers["sidecar"], "python3", "-c", "import pyarrow")
    assert sidecar.returncode == 1 and "No module named 'pyarrow'" in sidecar.stderr
    batch = _in(built, containers["batch"], "python3", "-c", "import pyarrow.parquet")
    assert batch.returncode == 0, batch.stderr


@SLOW
def test_batch_of_a_csv_file_in_each_image(built: Built, containers: dict[str, str]) -> None:
    argv = ["mlmon", "batch", "--profile", "/data/profile.json", "--config", "/data/mlmon.yaml",
            "--input", "/data/current.csv", "--format", "json"]
    volume = f"{EXAMPLES / 'fraud'}:/data:ro"
    sidecar = _in(built, containers["sidecar"], *argv, volume=volume)
    assert sidecar.returncode == 2 and HINT in sidecar.stderr, sidecar.stderr
    batch = _in(built, containers["batch"], *argv, volume=volume)
    assert batch.returncode == 0, batch.stderr
    assert json.loads(batch.stdout)["model"] == "fraud"


@SLOW
@pytest.mark.parametrize("image", ["sidecar", "batch"])
def test_image_config_matches_the_dockerfile_target(built: Built, image: str) -> None:
    ref = getattr(built, image)
    config = json.loads(_run([*built.buildah, "inspect", "--type", "image", ref]).stdout)[
        "OCIv1"]["config"]
    stage = _stage(image)

    def last(keyword: str) -> str:
        ins = stage.last(keyword)
        assert ins is not None, keyword
        return ins.args

    assert config["Entrypoint"] == stage.last("ENTRYPOINT").exec_form()  # type: ignore[union-attr]
    assert config["Cmd"] == stage.last("CMD").exec_form()  # type: ignore[union-attr]
    assert config["User"] == last("USER")
    assert config["WorkingDir"] == last("WORKDIR")
    exposed = {p for e in stage.all("EXPOSE") for p in e.args.split()}
    assert {p.split("/")[0] for p in config.get("ExposedPorts") or {}} == exposed
    env = dict(e.split("=", 1) for e in config["Env"])
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"  # read-only root: no .pyc written at run time


@SLOW
def test_sidecar_adds_at_most_250_mb_over_its_base(
        built: Built, containers: dict[str, str]) -> None:
    sizes = {name: _du(built, c) for name, c in containers.items()}
    report = ", ".join(f"{name} {sizes[name] / 1e6:.1f} MB" for name in sizes) + (
        f"; over the base: sidecar {(sizes['sidecar'] - sizes['base']) / 1e6:.1f} MB, "
        f"batch {(sizes['batch'] - sizes['base']) / 1e6:.1f} MB")
    print(f"\nimage sizes (du of the rootfs): {report}")
    assert sizes["sidecar"] - sizes["base"] <= MAX_SIDECAR_OVER_BASE, report
    assert sizes["batch"] > sizes["sidecar"], report  # pyarrow is in the batch image only


@SLOW
@pytest.mark.parametrize("image", ["sidecar", "batch"])
def test_packaged_rules_check_in_each_image(built: Built, containers: dict[str, str],
                                            image: str) -> None:
    """The wheel in the image carries rules/ and the generated PrometheusRule (setup.py):
    `mlmon rules check` works outside a checkout and sees every rule file of the repo."""
    proc = _in(built, containers[image], "mlmon", "rules", "check")
    assert proc.returncode == 0, proc.stderr
    files = len(list((ROOT / "rules").glob("*.yml")))
    assert f"up to date: {files} rule files" in proc.stdout, proc.stdout
