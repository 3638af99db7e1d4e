"""GPU discovery: real devices through NVML, or clearly labelled simulated ones.

Any NVML failure (no library, no driver, no devices) means "no real GPUs"; the agent then
declares simulated devices if asked to, so the whole flow can be tried without hardware.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

from agent.protocol import GpuDevice, Inventory, NodeInventory

log = logging.getLogger(__name__)

SIMULATED_MODEL = "Simulated GPU"


@dataclass(frozen=True)
class NvmlReport:
    """What NVML says about this host."""

    driver_version: str | None
    cuda_version: str | None
    gpus: list[GpuDevice] = field(default_factory=list)


def _text(value: str | bytes) -> str:
    # Older nvidia-ml-py releases return bytes.
    return value.decode() if isinstance(value, bytes) else value


def _cuda_version(encoded: int) -> str:
    # NVML encodes CUDA 12.4 as 12040.
    return f"{encoded // 1000}.{encoded % 1000 // 10}"


def _mig_mode(nvml: Any, handle: Any) -> bool | None:
    """Whether MIG is enabled (current mode); ``None`` where the device does not support it."""
    try:
        current, _pending = nvml.nvmlDeviceGetMigMode(handle)
    except Exception:  # NVMLError_NotSupported on devices without MIG, or an older binding.
        return None
    return bool(current)


def discover_nvml(nvml: Any = None) -> NvmlReport | None:
    """Query NVML for this host's GPUs; ``None`` when NVML is unusable or finds no device.
    ``nvml`` is the ``pynvml`` module, or a stand-in with its functions (tests)."""
    if nvml is None:
        try:
            import pynvml as nvml
        except ImportError:
            log.info("nvidia-ml-py is not installed: no real GPUs")
            return None
    pynvml = nvml
    try:
        pynvml.nvmlInit()
    except Exception as exc:  # NVMLError and loader errors alike mean "no usable NVML".
        log.info("NVML is not available (%s): no real GPUs", exc)
        return None
    try:
        driver = _text(pynvml.nvmlSystemGetDriverVersion())
        cuda = _cuda_version(pynvml.nvmlSystemGetCudaDriverVersion())
        gpus = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            gpus.append(
                GpuDevice(
                    index=index,
                    uuid=_text(pynvml.nvmlDeviceGetUUID(handle)),
                    model=_text(pynvml.nvmlDeviceGetName(handle)),
                    memory_mib=int(memory.total) // (1024 * 1024),
                    mig_mode=_mig_mode(pynvml, handle),
                )
            )
    except Exception as exc:
        log.warning("NVML query failed (%s): no real GPUs", exc)
        return None
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:
            log.debug("nvmlShutdown failed", exc_info=True)
    if not gpus:
        log.info("NVML found no GPU")
        return None
    return NvmlReport(driver_version=driver, cuda_version=cuda, gpus=gpus)


def simulated_devices(node_name: str, count: int, memory_mib: int) -> list[GpuDevice]:
    """``count`` simulated devices for ``node_name``, labelled as such."""
    return [
        GpuDevice(
            index=i,
            uuid=f"SIM-GPU-{node_name}-{i}",
            model=SIMULATED_MODEL,
            memory_mib=memory_mib,
            simulated=True,
        )
        for i in range(count)
    ]


def host_capacity() -> tuple[int | None, int | None]:
    """This host's CPU in millicores (the CPUs this process may run on) and its memory in MiB,
    each None where the platform does not tell."""
    try:
        cpus: int | None = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count()
    try:
        memory: int | None = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2**20
    except (AttributeError, OSError, ValueError):
        memory = None
    return (cpus * 1000 if cpus else None), (memory or None)


def discover_inventory(
    node_name: str, simulated_gpus: int, simulated_memory_mib: int = 81920, nvml: Any = None
) -> Inventory:
    """This host as one node, with its CPU and memory: its real GPUs if NVML finds any, else
    ``simulated_gpus`` simulated devices, else no GPUs."""
    cpu_milli, memory_mib = host_capacity()
    report = discover_nvml(nvml)
    if report is not None:
        if simulated_gpus:
            log.warning("found %d real GPUs: ignoring --simulated-gpus", len(report.gpus))
        node = NodeInventory(
            name=node_name,
            driver_version=report.driver_version,
            cuda_version=report.cuda_version,
            gpus=report.gpus,
        )
    elif simulated_gpus > 0:
        node = NodeInventory(
            name=node_name,
            simulated=True,
            gpus=simulated_devices(node_name, simulated_gpus, simulated_memory_mib),
        )
    else:
        node = NodeInventory(name=node_name)
    return Inventory(nodes=[node.model_copy(update={"cpu_milli": cpu_milli, "memory_mib": memory_mib})])
