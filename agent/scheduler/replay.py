"""Replay the Alibaba GPU-sharing trace with the protocol of ``shared/traces/REPLAY.md``.

    python -m agent.scheduler.replay --trace default --seeds 42-51 --policy tessera,bestfit

Every pod is placed with ``placement.best_placement`` and the named policies, the very code the
scheduler uses. The last line of output is one JSON object with, per policy, the mean over the
seeds of the GPU allocation % at arrived = 100% and 130%, the fragmentation ratio at 90%, and the
wall time of that policy's replays.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from agent.scheduler.placement import (
    FragmentModel,
    NodeIndex,
    NodeState,
    Policy,
    WorkloadClass,
    best_placement,
    distribution,
    policy,
)
from agent.scheduler.replay_support.arrivals import arrival_sequence
from agent.scheduler.replay_support.metrics import Recorder, fragmentation_ratio
from agent.scheduler.replay_support.trace import TracePod, load_nodes, load_pods, resolve_trace, traces_dir

REPORTED = {"alloc_100": 100, "alloc_130": 130, "frag_90": 90}
"""The arrived % at which each reported figure is read."""


@dataclass(frozen=True)
class SeedResult:
    """The figures of one replay (None where no event had that arrived %)."""

    alloc_100: float | None
    alloc_130: float | None
    frag_90: float | None
    placed: int
    failed: int


def ranked_nodes(template: Sequence[NodeState], rng: random.Random) -> list[NodeState]:
    """Fresh copies of the nodes in a random ranking: ties between equal scores go to the earlier."""
    order = list(range(len(template)))
    rng.shuffle(order)
    return [template[i].copy() for i in order]


def replay_seed(
    template: Sequence[NodeState],
    pods: Sequence[TracePod],
    chosen: Policy,
    classes: Sequence[WorkloadClass],
    seed: int,
) -> SeedResult:
    """Replay one seed: the arrival sequence, then the node ranking, both from ``Random(seed)``."""
    rng = random.Random(seed)
    capacity = sum(node.total_gpu_milli() for node in template)
    sequence = arrival_sequence(pods, capacity, rng)
    nodes = ranked_nodes(template, rng)
    index = NodeIndex(nodes)
    model = FragmentModel(classes)
    recorder = Recorder(capacity)
    fragments = sum(model.node_fragment(node) for node in nodes)
    arrived = allocated = placed = failed = 0
    for pod in sequence:
        arrived += pod.gpu_milli
        found = best_placement(index, pod.request, chosen)
        if found is None:
            failed += 1
        else:
            node, devices = found
            before = model.node_fragment(node)
            index.take(node, pod.request, devices)
            fragments += model.node_fragment(node) - before
            allocated += pod.gpu_milli
            placed += 1
        recorder.record(arrived, allocated, fragmentation_ratio(fragments, model.total_count, capacity - allocated))
    return SeedResult(
        recorder.allocation_at(REPORTED["alloc_100"]),
        recorder.allocation_at(REPORTED["alloc_130"]),
        recorder.fragmentation_at(REPORTED["frag_90"]),
        placed,
        failed,
    )


def parse_seeds(text: str) -> list[int]:
    """``42-51``, ``42,43`` or a mix of both."""
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if "-" in part[1:]:
            low, high = part.split("-", 1)
            seeds.extend(range(int(low), int(high) + 1))
        elif part:
            seeds.append(int(part))
    return seeds


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(sum(known) / len(known), 2) if known else None


def run(trace: str, seeds: Sequence[int], policies: Sequence[str], folder: str | None = None) -> dict[str, object]:
    """Replay ``trace`` for every policy and seed; the JSON-ready summary, printing progress."""
    name, pod_path, node_path = resolve_trace(trace, traces_dir(folder))
    pods = load_pods(pod_path)
    template = load_nodes(node_path)
    # The fragmentation measure (and the fragmentation-aware policies) see the original trace's
    # pod groups, not the sampled sequence.
    classes = distribution(pod.request for pod in pods)
    summary: dict[str, dict[str, float | None]] = {}
    for policy_name in policies:
        chosen = policy(policy_name, distribution=classes, nodes=template)
        results = []
        started = time.perf_counter()
        for seed in seeds:
            seed_started = time.perf_counter()
            result = replay_seed(template, pods, chosen, classes, seed)
            results.append(result)
            print(
                f"{name} {policy_name} seed {seed}: alloc_100={result.alloc_100} alloc_130={result.alloc_130} "
                f"frag_90={result.frag_90} placed={result.placed} failed={result.failed} "
                f"({time.perf_counter() - seed_started:.1f}s)",
                flush=True,
            )
        summary[policy_name] = {
            "alloc_100": _mean([r.alloc_100 for r in results]),
            "alloc_130": _mean([r.alloc_130 for r in results]),
            "frag_90": _mean([r.frag_90 for r in results]),
            "seconds": round(time.perf_counter() - started, 1),
        }
    return {"trace": name, "seeds": list(seeds), "policies": summary}


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; the last line printed is the JSON summary."""
    parser = argparse.ArgumentParser(prog="python -m agent.scheduler.replay", description=__doc__.split("\n")[0])
    parser.add_argument("--trace", default="default", help="a pod list's middle name (default, gpushare100...) or path")
    parser.add_argument("--seeds", default="42-51", help="e.g. 42-51 or 42,43")
    parser.add_argument("--policy", default="tessera,bestfit", help="comma-separated policy names")
    parser.add_argument("--traces-dir", default=None, help="folder of the trace files (else $TESSERA_TRACES_DIR)")
    args = parser.parse_args(argv)
    policies = [p.strip() for p in args.policy.split(",") if p.strip()]
    try:
        for policy_name in policies:
            policy(policy_name)
        summary = run(args.trace, parse_seeds(args.seeds), policies, args.traces_dir)
    except (ValueError, OSError) as error:
        print(f"replay: {error}", file=sys.stderr)
        return 2
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
