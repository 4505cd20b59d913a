"""Per-client rate limit over the ``limits`` library: in memory for one worker, shared for several.

``BULLETIN_RATE_LIMIT_STORAGE`` picks the storage: ``memory://`` (the default: one process, no
server needed) or ``redis://HOST:PORT`` (every worker of ``python app.py --workers N`` counts
against the same quota).  A moving window: at most ``limit`` accepted hits per key in any 60 s.

>>> limiter = RateLimiter(2)
>>> limiter.hit("a") == 0.0, limiter.hit("a") == 0.0, limiter.hit("a") > 0, limiter.hit("b") == 0.0
(True, True, True, True)
"""

from __future__ import annotations

import logging
import time

log = logging.getLogger(__name__)


class RateLimitStorageError(RuntimeError):
    """The configured storage cannot be used; the message says which setting to change."""


class RateLimiter:
    """At most ``limit`` accepted hits per key within any ``window_s`` seconds (``limit <= 0``: no limit).

    Rejected hits are not counted, so a client that keeps retrying too early is let in as soon as
    its oldest hit leaves the window.  When a shared storage stops answering, requests are let
    through (and the outage logged): a broken counter must not take the service down.
    """

    def __init__(self, limit: int, storage: str = "memory://", window_s: int = 60) -> None:
        from limits import RateLimitItemPerSecond
        from limits.storage import storage_from_string
        from limits.strategies import MovingWindowRateLimiter

        self.limit = limit
        self.storage_uri = storage
        self.window_s = window_s
        self._item = RateLimitItemPerSecond(max(limit, 1), window_s)
        try:
            self._storage = storage_from_string(storage)
        except Exception as exc:  # unknown scheme, missing client library
            raise RateLimitStorageError(
                f"BULLETIN_RATE_LIMIT_STORAGE={storage!r} cannot be used: {exc}. "
                "Use memory:// (one worker) or redis://HOST:PORT (several workers)"
            ) from exc
        self._limiter = MovingWindowRateLimiter(self._storage)
        self._warned = 0.0

    @property
    def enabled(self) -> bool:
        return self.limit > 0

    @property
    def shared(self) -> bool:
        """Does the quota hold across processes (a server-backed storage)?"""
        return not self.storage_uri.startswith("memory")

    def hit(self, key: str) -> float:
        """Record a hit; 0.0 when accepted, else the seconds to wait before retrying."""
        if not self.enabled:
            return 0.0
        try:
            if self._limiter.hit(self._item, key):
                return 0.0
            reset, _remaining = self._limiter.get_window_stats(self._item, key)
            return max(reset - time.time(), 0.001)
        except Exception as exc:
            now = time.monotonic()
            if now - self._warned > 60:
                log.warning("rate-limit storage %s unavailable, requests are not limited: %s", self.storage_uri, exc)
                self._warned = now
            return 0.0

    def check(self) -> None:
        """Raise ``RateLimitStorageError`` when the storage does not answer (checked at start)."""
        try:
            ok = self._storage.check()
        except Exception as exc:
            raise RateLimitStorageError(f"the rate-limit storage {self.storage_uri} does not answer: {exc}") from exc
        if not ok:
            raise RateLimitStorageError(f"the rate-limit storage {self.storage_uri} does not answer")
