"""Redaction of tokens from log records: the secrets registered so far, and the filter that masks them.

This module imports nothing heavy, so logging can be set up at start-up before keyring is loaded.
"""

from __future__ import annotations

import logging
import threading

__all__ = ["RedactingFilter", "register_secret"]

_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def register_secret(secret: str) -> None:
    """Remember `secret` so that RedactingFilter masks it in every log record."""
    if secret and len(secret) >= 4:
        with _secrets_lock:
            _secrets.add(secret)


class RedactingFilter(logging.Filter):
    """Replace every registered token in a log record's message with `***`."""

    def filter(self, record: logging.LogRecord) -> bool:
        with _secrets_lock:
            secrets = tuple(_secrets)
        if not secrets:
            return True
        message = record.getMessage()
        redacted = message
        for secret in secrets:
            redacted = redacted.replace(secret, "***")
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
