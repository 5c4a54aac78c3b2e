"""Clocks: the system clock, and a fake one that tests and the replay move by hand."""

from __future__ import annotations

import time
from datetime import datetime, timezone

__all__ = ["Clock", "SystemClock", "FakeClock", "to_datetime"]


class Clock:
    """Wall time (`time`, seconds since the epoch) and `monotonic` time, both in seconds."""

    def time(self) -> float:
        raise NotImplementedError

    def monotonic(self) -> float:
        raise NotImplementedError

    def now(self) -> datetime:
        return to_datetime(self.time())


class SystemClock(Clock):
    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


class FakeClock(Clock):
    """A clock that moves only when the test moves it. `sleep` moves wall time but not monotonic time."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self._wall = start
        self._monotonic = 0.0

    def time(self) -> float:
        return self._wall

    def monotonic(self) -> float:
        return self._monotonic

    def advance(self, seconds: float) -> None:
        self._wall += seconds
        self._monotonic += seconds

    def sleep(self, seconds: float) -> None:
        """Simulate a suspended machine: the wall clock jumps, the monotonic clock does not."""
        self._wall += seconds


def to_datetime(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, timezone.utc)
