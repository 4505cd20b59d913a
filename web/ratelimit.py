"""A per-client sliding-window rate limiter (in memory, thread-safe).

>>> limiter = SlidingWindowLimiter(2, window_s=60)
>>> limiter.hit("a", now=0.0), limiter.hit("a", now=1.0), limiter.hit("a", now=2.0)
(0.0, 0.0, 58.0)
>>> limiter.hit("b", now=2.0), limiter.hit("a", now=60.5)
(0.0, 0.0)
"""

from __future__ import annotations

import threading
import time
from collections import deque


class SlidingWindowLimiter:
    """At most ``limit`` accepted hits per key within any ``window_s`` seconds.

    ``limit <= 0`` disables limiting.  Rejected hits are not counted, so a client
    that keeps retrying too early is let in as soon as its oldest hit expires.
    """

    def __init__(self, limit: int, window_s: float = 60.0, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.limit > 0

    def hit(self, key: str, now: float | None = None) -> float:
        """Record a hit; 0.0 when accepted, else the seconds to wait before retrying."""
        if not self.enabled:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                if len(self._hits) >= self.max_keys:
                    self._prune(now)
                hits = self._hits[key] = deque()
            while hits and hits[0] <= now - self.window_s:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(hits[0] + self.window_s - now, 0.001)
            hits.append(now)
            return 0.0

    def remaining(self, key: str, now: float | None = None) -> int:
        if not self.enabled:
            return -1
        now = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits.get(key, ())
            return self.limit - sum(1 for t in hits if t > now - self.window_s)

    def _prune(self, now: float) -> None:
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window_s]:
            del self._hits[key]
