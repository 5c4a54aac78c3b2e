"""Logging set-up: a rotating file in the log folder, stderr on request, tokens redacted."""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from pathlib import Path

from app.core.redact import RedactingFilter

__all__ = ["setup_logging"]

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
PRIVATE_MODE = 0o600  # the log names bridges and their addresses: readable by its owner only


class _PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A RotatingFileHandler whose files, the current one and each new one after a rollover, are mode 0600."""

    def _open(self):  # noqa: ANN202 (the base class's signature)
        descriptor = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_MODE)
        if hasattr(os, "fchmod"):  # a file left by an older version keeps its mode otherwise
            os.fchmod(descriptor, PRIVATE_MODE)
        return open(descriptor, self.mode, encoding=self.encoding, errors=self.errors)


def setup_logging(log_file: Path | None, *, verbose: bool = False, console: bool = False) -> None:
    """Configure the root logger once: called by the front ends, never by the core modules."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_bridgewatch", False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    redactor = RedactingFilter()

    handlers: list[logging.Handler] = []
    if log_file is not None:
        try:
            log_file.parent.mkdir(parents=True, exist_ok=True)
            handlers.append(
                _PrivateRotatingFileHandler(log_file, maxBytes=1_000_000, backupCount=3, encoding="utf-8")
            )
        except OSError as exc:
            print(f"bridgewatch: cannot write the log file {log_file}: {exc}", file=sys.stderr)
    if console:
        stream = logging.StreamHandler(sys.stderr)
        stream.setLevel(logging.DEBUG if verbose else logging.WARNING)
        handlers.append(stream)
    for handler in handlers:
        handler._bridgewatch = True
        handler.setFormatter(logging.Formatter(_FORMAT))
        handler.addFilter(redactor)
        root.addHandler(handler)

    # httpx logs every request at INFO: too chatty for a poller.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
