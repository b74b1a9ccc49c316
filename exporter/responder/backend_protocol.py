"""The seam between decisions and the outside world: one Backend per action target."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from exporter.responder.clock import Clock
from exporter.responder.config import RetryPolicy


@dataclass(frozen=True)
class ActionRequest:
    model: str
    version: str
    alertname: str
    action: str
    fingerprint: str = ""


class BackendError(RuntimeError):
    """A backend call that failed; ``retryable`` says whether trying again may help."""

    def __init__(self, message: str, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class Backend(Protocol):
    kind: str

    async def execute(self, request: ActionRequest) -> str:
        """Carry out the action; return a one-line detail for the audit log."""
        ...


@dataclass(frozen=True)
class Outcome:
    ok: bool
    detail: str
    attempts: int


async def run_with_retries(backend: Backend, request: ActionRequest, policy: RetryPolicy,
                           clock: Clock) -> Outcome:
    """Try up to ``policy.attempts`` times with exponential backoff; never raises."""
    errors: list[str] = []
    for attempt in range(1, policy.attempts + 1):
        try:
            detail = await backend.execute(request)
        except BackendError as exc:
            errors.append(f"attempt {attempt}: {exc}")
            if not exc.retryable:
                break
        except Exception as exc:  # a bug or an unexpected reply must still be audited
            errors.append(f"attempt {attempt}: {type(exc).__name__}: {exc}")
        else:
            return Outcome(True, detail, attempt)
        if attempt < policy.attempts:
            await clock.sleep(policy.delay(attempt))
    return Outcome(False, "; ".join(errors), len(errors))
