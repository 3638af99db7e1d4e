"""The arrival sequence of REPLAY.md: shuffle, then inflate or trim to 130% of the cluster."""

from __future__ import annotations

import random
from collections.abc import Sequence

from agent.scheduler.replay_support.trace import TracePod

TARGET = 1.3
"""Pods arrive until their GPU requests reach 130% of the cluster's GPU capacity."""


def arrival_sequence(pods: Sequence[TracePod], capacity_milli: int, rng: random.Random) -> list[TracePod]:
    """The pods in arrival order for one seed.

    ``pods`` must be sorted by name. They are shuffled; then, while the requests fall short of
    the target, copies drawn uniformly (with replacement) from the name-sorted list are appended,
    stopping at the first draw whose share m would pass the target; past the target, pods at
    random positions are removed until it is met.
    """
    sequence = list(pods)
    rng.shuffle(sequence)
    target = TARGET * capacity_milli
    total = sum(pod.gpu_milli for pod in sequence)
    # Without any GPU request the total could never reach the target: nothing to inflate.
    if total < target and any(pod.gpu_milli for pod in pods):
        while True:
            pod = pods[rng.randrange(len(pods))]
            if total + pod.share > target:
                break
            sequence.append(pod)
            total += pod.gpu_milli
    while total > target and sequence:
        removed = sequence.pop(rng.randrange(len(sequence)))
        total -= removed.gpu_milli
    return sequence
