"""The environment Tessera gives a workload's process: its identity, its devices and its share of
them, and its place in a distributed gang. One function, so that every runtime (and the GPU
layer's enforcement) sets the same variables."""

from __future__ import annotations

from collections.abc import Sequence

from agent.gpu.enforcement import WITHOUT_MPS, FractionConfig, fraction_env
from agent.protocol import GpuDevice, WorkloadSpec

MASTER_ADDR = "127.0.0.1"
"""Workers of a gang all run on this host under the local runtime."""


__all__ = ["MASTER_ADDR", "workload_environment"]


def workload_environment(
    spec: WorkloadSpec,
    devices: Sequence[GpuDevice],
    rank: int = 0,
    local_rank: int = 0,
    master_port: int | None = None,
    fractions: FractionConfig = WITHOUT_MPS,
) -> dict[str, str]:
    """What Tessera sets for worker ``rank`` of ``spec`` running on ``devices``; it wins over the
    spec's own env. A fraction's share is given as the portion of each device and the memory it
    may use there (and to MPS where the node runs it: see ``agent.gpu.enforcement``); a gang's
    workers get the torch.distributed variables."""
    env = {
        "TESSERA_WORKLOAD_ID": spec.id,
        "TESSERA_WORKLOAD_NAME": spec.name,
        "TESSERA_PROJECT": spec.project,
        **fraction_env(spec, devices, fractions),
    }
    if devices and spec.gpu_portion_limit is not None:
        env["TESSERA_GPU_PORTION_LIMIT"] = f"{spec.gpu_portion_limit:g}"
    if master_port is not None:
        env.update(
            WORLD_SIZE=str(spec.workers),
            RANK=str(rank),
            LOCAL_RANK=str(local_rank),
            MASTER_ADDR=MASTER_ADDR,
            MASTER_PORT=str(master_port),
        )
    return env
