"""Opening the index's SQLite files (catalog, embedding cache) safely from several processes."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path


def retry_locked(operation: Callable[[], object], attempts: int = 200, pause: float = 0.05) -> None:
    """Run ``operation``, retrying while another connection holds the lock (about 10 s in all)."""
    for attempt in range(attempts):
        try:
            operation()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(pause)


def connect_wal(path: Path, timeout: float, schema: str) -> sqlite3.Connection:
    """Open (creating if needed) ``path`` in WAL mode and ensure ``schema`` exists.

    Switching a fresh file to WAL takes an exclusive lock for which SQLite does not run its busy
    handler, so two processes opening the same new file at once (a build and a search, two CLIs)
    would see "database is locked": both steps retry instead of failing.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path), timeout=timeout, check_same_thread=False)
    retry_locked(lambda: db.execute("PRAGMA journal_mode=WAL"))

    def create() -> None:
        with db:
            db.executescript(schema)

    retry_locked(create)
    return db
