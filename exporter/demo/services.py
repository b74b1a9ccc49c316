"""The seam `mlmon demo --stack` extends: a list of services started in order.

The sidecar is always the first. A later ``--stack`` adds Prometheus,
Alertmanager and the responder as further :class:`Service` objects (each with
``start``/``stop``/``urls``); the runner starts them in order, prints their URLs
in every summary and stops them in reverse order.
"""

from __future__ import annotations

from typing import Protocol


class Service(Protocol):
    name: str

    def start(self) -> None: ...

    def stop(self, timeout: float = 15.0) -> int | None: ...

    def urls(self) -> dict[str, str]: ...

    def alive(self) -> bool: ...


class Services:
    """Started in order, stopped in reverse; a failed start stops what already runs,
    and the service that failed too: it may have started a process before it failed (a
    Ctrl-C while a program starts interrupts it after the spawn)."""

    def __init__(self, services: list[Service]) -> None:
        self.services = services
        self._started: list[Service] = []

    def start(self) -> None:
        for service in self.services:
            self._started.append(service)  # before start: stopped if it fails half-way
            try:
                service.start()
            except BaseException:
                self.stop()
                raise

    def stop(self) -> dict[str, int | None]:
        codes: dict[str, int | None] = {}
        while self._started:
            service = self._started.pop()
            codes[service.name] = service.stop()
        return codes

    def dead(self) -> list[str]:
        """Names of started services that have stopped on their own."""
        return [s.name for s in self._started if not s.alive()]

    def urls(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for service in self.services:
            out.update(service.urls())
        return out
