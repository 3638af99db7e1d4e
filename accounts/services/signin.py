"""Local sign-in: lockout after repeated failures, atomic across workers.

With ``REDIS_URL`` the failure counter is a Redis key (INCR, and EXPIRE set only by the first
failure of a window), so every server process and Celery worker sees the same count. Without
Redis (the embedded default runs one server process) the counter lives in this process, behind
a lock; a second process would keep its own count.
"""

import hashlib
import threading
import time
from typing import Any

from django.conf import settings


def _key(username: str) -> str:
    # Case and surrounding spaces do not make a new account to guess at; hashing keeps names
    # out of Redis.
    digest = hashlib.sha256(username.strip().lower().encode()).hexdigest()
    return f"{settings.TESSERA_REDIS_PREFIX}:signin-failures:{digest}"


class RedisCounter:
    """Failure counts in Redis, shared by every worker."""

    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url)

    def add(self, key: str, window: int) -> int:
        pipe = self.client.pipeline(transaction=True)
        pipe.incr(key)
        pipe.expire(key, window, nx=True)
        count, _ = pipe.execute()
        return int(count)

    def get(self, key: str) -> int:
        return int(self.client.get(key) or 0)

    def ttl(self, key: str) -> int:
        return max(int(self.client.ttl(key)), 0)

    def clear(self, key: str) -> None:
        self.client.delete(key)


class ProcessCounter:
    """Failure counts in this process only: the fallback when there is no Redis."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[str, tuple[int, float]] = {}

    def _live(self, key: str) -> tuple[int, float]:
        count, until = self.counts.get(key, (0, 0.0))
        return (count, until) if until > time.monotonic() else (0, 0.0)

    def add(self, key: str, window: int) -> int:
        with self.lock:
            count, until = self._live(key)
            self.counts[key] = (count + 1, until or time.monotonic() + window)
            return count + 1

    def get(self, key: str) -> int:
        with self.lock:
            return self._live(key)[0]

    def ttl(self, key: str) -> int:
        with self.lock:
            return max(int(self._live(key)[1] - time.monotonic()), 0)

    def clear(self, key: str) -> None:
        with self.lock:
            self.counts.pop(key, None)


_counter: Any = None


def counter() -> Any:
    global _counter
    if _counter is None:
        _counter = RedisCounter(settings.REDIS_URL) if settings.REDIS_URL else ProcessCounter()
    return _counter


def record_failure(username: str) -> int:
    """Count a failed sign-in for ``username``; returns the failures in the current window."""
    return counter().add(_key(username), int(settings.TESSERA_SIGNIN_LOCKOUT_SECONDS))


def is_locked(username: str) -> bool:
    return counter().get(_key(username)) >= int(settings.TESSERA_SIGNIN_MAX_FAILURES)


def lockout_message(username: str) -> str:
    minutes = max(1, -(-counter().ttl(_key(username)) // 60))
    return f"Too many failed sign-ins for this account; try again in {minutes} minute(s)."


def clear_failures(username: str) -> None:
    counter().clear(_key(username))
