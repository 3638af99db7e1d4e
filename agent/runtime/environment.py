"""The environment Tessera gives a workload's process: its identity, its devices and its share of
them, and its place in a distributed gang. One function, so that every runtime (and the GPU
layer's enforcement) sets the same variables."""

from __future__ import annotations

from collections.abc import Sequence

from agent.protocol import GpuDevice, WorkloadSpec

MASTER_ADDR = "127.0.0.1"
"""Workers of a gang all run on this host under the local runtime."""


def cuda_visible_devices(devices: Sequence[GpuDevice]) -> str:
    """CUDA_VISIBLE_DEVICES for ``devices``: UUIDs of real GPUs, indices of simulated ones."""
    return ",".join(str(d.index) if d.simulated else d.uuid for d in devices)


def workload_environment(
    spec: WorkloadSpec,
    devices: Sequence[GpuDevice],
    rank: int = 0,
    local_rank: int = 0,
    master_port: int | None = None,
) -> dict[str, str]:
    """What Tessera sets for worker ``rank`` of ``spec`` running on ``devices``; it wins over the
    spec's own env. A fraction's share is given as the portion of each device and the memory it
    may use there; a gang's workers get the torch.distributed variables."""
    env = {
        "CUDA_VISIBLE_DEVICES": cuda_visible_devices(devices),
        "TESSERA_WORKLOAD_ID": spec.id,
        "TESSERA_WORKLOAD_NAME": spec.name,
        "TESSERA_PROJECT": spec.project,
    }
    device_memory = min((d.memory_mib for d in devices), default=0)
    if devices and spec.gpu_portion is not None:
        env["TESSERA_GPU_PORTION"] = f"{spec.gpu_portion:g}"
        if device_memory:
            env["TESSERA_GPU_MEMORY_LIMIT_MIB"] = str(int(spec.gpu_portion * device_memory))
    elif devices and spec.gpu_memory_mib is not None:
        env["TESSERA_GPU_MEMORY_LIMIT_MIB"] = str(spec.gpu_memory_mib)
        if device_memory:
            env["TESSERA_GPU_PORTION"] = f"{min(1.0, spec.gpu_memory_mib / device_memory):.4g}"
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
