"""Bounded exponential backoff with jitter, for reconnecting to the control plane."""

from __future__ import annotations

import random


class Backoff:
    """Delays that double from ``initial`` up to ``cap``; each is drawn between half and all of
    its nominal value, so many agents restarted together do not reconnect in lockstep."""

    def __init__(
        self,
        initial: float = 0.5,
        cap: float = 30.0,
        factor: float = 2.0,
        rng: random.Random | None = None,
    ) -> None:
        if not 0 < initial <= cap or factor < 1:
            raise ValueError("backoff needs 0 < initial <= cap and factor >= 1")
        self.initial = initial
        self.cap = cap
        self.factor = factor
        self._rng = rng or random.Random()
        self._nominal = initial

    def next_delay(self) -> float:
        """The delay before the next attempt; every call makes the following one longer."""
        nominal = self._nominal
        self._nominal = min(self.cap, nominal * self.factor)
        return nominal * self._rng.uniform(0.5, 1.0)

    def reset(self) -> None:
        """Start again from ``initial``, after a connection succeeded."""
        self._nominal = self.initial
