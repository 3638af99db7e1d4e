"""Waiting for something to happen in another process, without fixed sleeps (no Django here)."""

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout: float = 20, interval: float = 0.05, what: str = "") -> T:
    """Poll ``predicate`` until it returns something truthy and return that; fail saying
    ``what`` was awaited after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(interval)
