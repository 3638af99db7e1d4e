"""Pytest plugin, loaded before Django: point the tests at PostgreSQL and Redis when they answer.

Explicit ``DATABASE_URL`` / ``REDIS_URL`` win. Otherwise the local servers are probed, and when
one is not reachable the tests fall back to SQLite or in-process layers and say so. With
``TESSERA_TEST_REQUIRE_SERVICES=1`` (CI) a missing service is an error instead.
"""

import os
import socket
import uuid

import pytest

# Each run its own database (pytest-django creates test_<name> and drops it at the end), so runs
# side by side on one server never drop each other's tables.
POSTGRES = ("127.0.0.1", 5432, f"postgres://postgres@127.0.0.1:5432/tessera_{os.getpid()}")
REDIS = ("127.0.0.1", 6379, "redis://127.0.0.1:6379/0")


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


_notes: list[str] = []
for variable, (host, port, url) in (("DATABASE_URL", POSTGRES), ("REDIS_URL", REDIS)):
    if os.environ.get(variable):
        _notes.append(f"{variable} from the environment")
    elif _answers(host, port):
        os.environ[variable] = url
        _notes.append(f"{variable}={url}")
    elif os.environ.get("TESSERA_TEST_REQUIRE_SERVICES") == "1":
        raise pytest.UsageError(f"{variable}: nothing answers on {host}:{port} and CI requires it")
    else:
        _notes.append(f"{variable}: nothing on {host}:{port}, FALLING BACK to the embedded default")

# Keep this run's channel-layer groups apart from any other run on the same Redis.
os.environ.setdefault("TESSERA_CHANNEL_PREFIX", f"tessera-test-{uuid.uuid4().hex[:8]}")
os.environ.setdefault("TESSERA_VAR_DIR", os.path.join(os.path.dirname(os.path.dirname(__file__)), "var", "test"))


def pytest_report_header() -> list[str]:
    return ["backing services: " + "; ".join(_notes)]
