"""The unseen-alerts list: every alert is kept until the user has seen it, even if its toast was hidden."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from app.core.policy import Alert

__all__ = ["AlertInbox", "InboxEntry"]

MAX_ENTRIES = 200  # the oldest seen entries go first, then the oldest unseen ones


@dataclass
class InboxEntry:
    number: int
    alert: Alert
    seen: bool = False


class AlertInbox:
    """Keep recent alerts and which of them the user has not seen yet."""

    def __init__(self, limit: int = MAX_ENTRIES) -> None:
        self._limit = limit
        self._entries: list[InboxEntry] = []
        self._numbers = itertools.count(1)

    def add(self, alert: Alert) -> InboxEntry:
        entry = InboxEntry(next(self._numbers), alert)
        self._entries.append(entry)
        while len(self._entries) > self._limit:
            seen = next((e for e in self._entries if e.seen), None)
            self._entries.remove(seen or self._entries[0])
        return entry

    @property
    def entries(self) -> list[InboxEntry]:
        """Return every kept entry, newest first."""
        return list(reversed(self._entries))

    @property
    def unseen(self) -> list[InboxEntry]:
        return [entry for entry in reversed(self._entries) if not entry.seen]

    def mark_seen(self, number: int | None = None) -> None:
        """Mark one entry, or every entry when `number` is None, as seen."""
        for entry in self._entries:
            if number is None or entry.number == number:
                entry.seen = True
