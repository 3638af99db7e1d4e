"""Water-filling: divide a capacity among claimants by deserved quota, then by weight.

Each claimant first gets its deserved quota (no more than it wants); what is left is poured
among those that still want more, in proportion to their over-quota weight, and never past a
claimant's limit or its demand. Used at every level of the queue tree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

EPSILON = 1e-9


@dataclass(frozen=True)
class Claim:
    """What one queue asks of its parent's share: deserved quota, weight, limit (-1 = none) and
    demand (what it holds plus what it waits for)."""

    deserved: float
    weight: float
    limit: float
    demand: float


def water_fill(capacity: float, claims: Sequence[Claim]) -> list[float]:
    """The fair share of every claim out of ``capacity``, in claim order."""
    caps = [claim.demand if claim.limit < 0 else min(claim.demand, claim.limit) for claim in claims]
    caps = [max(cap, 0.0) for cap in caps]
    shares = [min(max(claim.deserved, 0.0), cap) for claim, cap in zip(claims, caps, strict=True)]
    given = sum(shares)
    if given > capacity and given > 0:
        # Deserved quotas promise more than there is: everyone gets the same fraction of theirs.
        shares = [share * capacity / given for share in shares]
        return shares
    remaining = capacity - given
    while remaining > EPSILON:
        thirsty = [i for i, claim in enumerate(claims) if claim.weight > 0 and shares[i] < caps[i] - EPSILON]
        if not thirsty:
            break
        weights = sum(claims[i].weight for i in thirsty)
        capped = [i for i in thirsty if caps[i] - shares[i] <= remaining * claims[i].weight / weights]
        if not capped:
            for i in thirsty:
                shares[i] += remaining * claims[i].weight / weights
            break
        # Fill those that would overflow to their cap, then pour the rest again.
        for i in capped:
            remaining -= caps[i] - shares[i]
            shares[i] = caps[i]
    return shares
