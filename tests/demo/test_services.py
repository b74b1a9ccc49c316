from __future__ import annotations

import pytest

from exporter.demo.services import Service, Services


class Recorder:
    def __init__(self, name: str, log: list[str], fail: bool = False,
                 interrupted: bool = False) -> None:
        self.name = name
        self.log = log
        self.fail = fail
        self.interrupted = interrupted  # Ctrl-C once its process runs, before it is ready
        self.running = False

    def start(self) -> None:
        if self.fail:
            raise RuntimeError(f"{self.name} failed")
        self.log.append(f"start {self.name}")
        self.running = True
        if self.interrupted:
            raise KeyboardInterrupt

    def stop(self, timeout: float = 15.0) -> int | None:
        self.log.append(f"stop {self.name}")
        self.running = False
        return 0

    def alive(self) -> bool:
        return self.running

    def urls(self) -> dict[str, str]:
        return {self.name: f"http://127.0.0.1/{self.name}"}


def test_started_in_order_stopped_in_reverse() -> None:
    log: list[str] = []
    items: list[Service] = [Recorder("sidecar", log), Recorder("prometheus", log)]
    services = Services(items)
    services.start()
    assert services.stop() == {"prometheus": 0, "sidecar": 0}
    assert log == ["start sidecar", "start prometheus", "stop prometheus", "stop sidecar"]
    assert list(services.urls()) == ["sidecar", "prometheus"]


def test_failed_start_stops_what_already_runs() -> None:
    log: list[str] = []
    services = Services([Recorder("sidecar", log), Recorder("alertmanager", log, fail=True)])
    with pytest.raises(RuntimeError, match="alertmanager failed"):
        services.start()
    assert log == ["start sidecar", "stop alertmanager", "stop sidecar"]


def test_a_start_interrupted_half_way_stops_that_service_too() -> None:
    """A Ctrl-C while the sidecar's process waits to be ready left it running."""
    log: list[str] = []
    sidecar = Recorder("sidecar", log, interrupted=True)
    services = Services([sidecar, Recorder("prometheus", log)])
    with pytest.raises(KeyboardInterrupt):
        services.start()
    assert log == ["start sidecar", "stop sidecar"] and not sidecar.running
    assert services.stop() == {}  # nothing left to stop


def test_dead_lists_services_that_stopped_on_their_own() -> None:
    log: list[str] = []
    sidecar, prom = Recorder("sidecar", log), Recorder("prometheus", log)
    services = Services([sidecar, prom])
    services.start()
    assert services.dead() == []
    sidecar.running = False
    assert services.dead() == ["sidecar"]
    services.stop()
