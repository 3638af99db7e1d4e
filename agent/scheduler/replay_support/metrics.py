"""The metrics of REPLAY.md, recorded after every arriving pod."""

from __future__ import annotations

import math


def rounded_percent(part: int, whole: int) -> int:
    """100 * part / whole rounded half up to an integer (the arrived % of an event)."""
    return math.floor(100.0 * part / whole + 0.5)


class Recorder:
    """Mean GPU allocation % and fragmentation ratio over the events at each integer arrived %."""

    def __init__(self, capacity_milli: int) -> None:
        self.capacity = capacity_milli
        self._allocation: dict[int, list[float]] = {}
        self._fragmentation: dict[int, list[float]] = {}

    def record(self, arrived_milli: int, allocated_milli: int, fragmentation: float | None = None) -> None:
        """One event: after a pod arrived (placed or not)."""
        arrived = rounded_percent(arrived_milli, self.capacity)
        entry = self._allocation.setdefault(arrived, [0.0, 0])
        entry[0] += 100.0 * allocated_milli / self.capacity
        entry[1] += 1
        if fragmentation is not None:
            frag = self._fragmentation.setdefault(arrived, [0.0, 0])
            frag[0] += fragmentation
            frag[1] += 1

    @staticmethod
    def _mean(table: dict[int, list[float]], arrived: int) -> float | None:
        entry = table.get(arrived)
        return None if entry is None else entry[0] / entry[1]

    def allocation_at(self, arrived: int) -> float | None:
        """Mean allocation % over the events at ``arrived`` %, None if no event had that value."""
        return self._mean(self._allocation, arrived)

    def fragmentation_at(self, arrived: int) -> float | None:
        """Mean fragmentation ratio % over the events at ``arrived`` %, None if none."""
        return self._mean(self._fragmentation, arrived)


def fragmentation_ratio(fragment_total: int, weight_total: int, free_milli: int) -> float:
    """The paper's ratio in %: count-weighted fragments over count-weighted free GPU milli."""
    if free_milli <= 0 or weight_total <= 0:
        return 0.0
    return 100.0 * fragment_total / (weight_total * free_milli)
