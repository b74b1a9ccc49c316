"""Rate-limited logging: a token bucket that reports how many lines it suppressed."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


class RateLimitedLog:
    def __init__(self, logger: logging.Logger, per_second: float = 1.0, burst: int = 5,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.logger = logger
        self.rate = per_second
        self.burst = float(burst)
        self.tokens = float(burst)
        self.clock = clock
        self.last = clock()
        self.suppressed = 0

    def warning(self, message: str, *args: object) -> bool:
        """Log unless over the rate; returns whether the line was written."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens < 1.0:
            self.suppressed += 1
            return False
        self.tokens -= 1.0
        if self.suppressed:
            message += f" ({self.suppressed} more suppressed)"
            self.suppressed = 0
        self.logger.warning(message, *args)
        return True


class KeyedRateLimitedLog:
    """One token bucket per kind of message, so a flood of one kind hides no other."""

    def __init__(self, logger: logging.Logger, per_second: float = 1.0, burst: int = 5,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._make: Callable[[], RateLimitedLog] = lambda: RateLimitedLog(
            logger, per_second, burst, clock)
        self._logs: dict[str, RateLimitedLog] = {}

    def warning(self, kind: str, message: str, *args: object) -> bool:
        log = self._logs.get(kind)
        if log is None:
            log = self._logs[kind] = self._make()
        return log.warning(message, *args)
