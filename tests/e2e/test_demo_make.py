"""The README's `make demo`, for real: every URL it prints answers 200, and Ctrl-C ends it
cleanly, without make's ``*** [Makefile:NN: demo] Interrupt`` line and with every program
it started gone.

make runs in a session of its own, as a terminal's foreground job, and Ctrl-C is SIGINT
sent to that whole process group (what the terminal does). The demo's own programs run in
sessions of their own (exporter/demo/programs.py), so only make, its shell and
`mlmon demo` get the signal; the demo then stops them in order.

``-o .venv/.installed``: make does not reinstall the package (another engineer's
pyproject.toml edit would otherwise make this test run pip); the recipe is the README's.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.paths import ROOT
from tests.procs import require_binary

pytestmark = pytest.mark.e2e

LISTED = re.compile(r"^  ([\w ]+): (http://\S+)$", re.M)


def _descendants(root: int) -> set[int]:
    """PIDs of every live process below ``root`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])  # field 4: ppid
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; its parent has not reaped it yet


def _status(url: str) -> int | str:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code
    except (urllib.error.URLError, OSError) as exc:
        return repr(exc)


def _default_sigint() -> None:
    # As in a terminal: SIGINT not ignored, even when pytest itself runs in the background.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _make_demo(out: Path, err: Path) -> subprocess.Popen[bytes]:
    require_binary("prometheus")
    require_binary("prometheus-alertmanager")  # make demo then runs the whole stack
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    with out.open("wb") as stdout, err.open("wb") as stderr:
        return subprocess.Popen(["make", "-C", str(ROOT), "-o", ".venv/.installed", "demo"],
                                stdout=stdout, stderr=stderr, env=env, stdin=subprocess.DEVNULL,
                                start_new_session=True, preexec_fn=_default_sigint)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def test_make_demo_urls_answer_and_ctrl_c_ends_it_cleanly(tmp_path: Path) -> None:
    out, err = tmp_path / "make.out", tmp_path / "make.err"
    started = time.monotonic()
    make = _make_demo(out, err)
    try:
        deadline = time.monotonic() + 180
        while "── mlmon demo" not in out.read_text(errors="replace"):  # the first summary
            assert make.poll() is None, out.read_text() + err.read_text()
            assert time.monotonic() < deadline, "no summary within 180 s\n" + out.read_text()
            time.sleep(0.2)
        ready = time.monotonic() - started
        listing = out.read_text(errors="replace").split("── mlmon demo", 1)[0]
        urls = dict(LISTED.findall(listing))
        statuses = {name: _status(url) for name, url in urls.items()}
        processes = _descendants(make.pid)
        # Ctrl-C: SIGINT to the foreground process group.
        interrupted = time.monotonic()
        os.killpg(make.pid, signal.SIGINT)
        code = make.wait(90)
        stopping = time.monotonic() - interrupted
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait()
    text, errors = out.read_text(errors="replace"), err.read_text(errors="replace")
    left = sorted(pid for pid in processes if _alive(pid))
    print(f"\nmake demo: first summary after {ready:.1f} s; {len(urls)} URLs listed; "
          f"{len(processes)} processes below make; stopped {stopping:.1f} s after SIGINT "
          f"(make exit {code})")
    for name, url in urls.items():
        print(f"  {statuses[name]}  {name}: {url}")
    print(f"make's stderr: {errors!r}; still running after make returned: {left}")

    assert {"prometheus", "alertmanager", "responder", "metrics", "status page"} <= set(urls), \
        listing
    assert all(status == 200 for status in statuses.values()), statuses
    assert "Interrupt" not in errors and "***" not in errors, errors
    assert "mlmon demo: sent " in text, text[-3000:]  # its clean-shutdown line
    assert left == [], f"still running after make returned: {left}"
    for url in urls.values():  # and nothing answers any more
        assert not isinstance(_status(url), int), url


def test_ctrl_c_while_the_stack_starts_ends_make_demo_cleanly(tmp_path: Path) -> None:
    """SIGINT once the sidecar process exists, before the demo announced it ready (it is
    then starting its services: the sidecar answers /readyz only after a while, and
    Prometheus and Alertmanager start after it)."""
    out, err = tmp_path / "make.out", tmp_path / "make.err"
    make = _make_demo(out, err)
    try:
        deadline = time.monotonic() + 120
        while True:
            processes = _descendants(make.pid)
            if any(" exporter serve " in _cmdline(pid) for pid in processes):
                break
            assert make.poll() is None, out.read_text() + err.read_text()
            assert time.monotonic() < deadline, "no sidecar process within 120 s"
            time.sleep(0.05)
        os.killpg(make.pid, signal.SIGINT)
        code = make.wait(90)
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait()
    text, errors = out.read_text(errors="replace"), err.read_text(errors="replace")
    left = sorted(pid for pid in processes if _alive(pid))
    print(f"\nmake exit {code}; stderr {errors!r}; {len(processes)} processes below make, "
          f"still running: {left}\n{text}")
    assert "sidecar ready" not in text  # it was interrupted while starting
    assert "mlmon demo: stopped while starting" in text
    assert "Interrupt" not in errors and "***" not in errors and "Traceback" not in errors
    assert left == []
