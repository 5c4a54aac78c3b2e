"""Logging set-up: a rotating file in the log folder, stderr on request, tokens redacted."""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

from app.core.redact import RedactingFilter

__all__ = ["setup_logging"]

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


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
                logging.handlers.RotatingFileHandler(log_file, maxBytes=1_000_000, backupCount=3, encoding="utf-8")
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
