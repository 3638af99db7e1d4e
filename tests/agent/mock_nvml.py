"""MockNvml: a stand-in for the NVML library (``pynvml``), because this machine has no GPU.

It has the functions and constants the agent calls, with the real library's error classes, and
lets a test say what the devices report: memory, MIG mode, processes, ECC counts, XID events, a
device that stops answering.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pynvml

MIB = 1024 * 1024


@dataclass
class MockDevice:
    uuid: str
    name: str = "NVIDIA H200"
    memory_mib: int = 143771
    used_mib: int = 0
    mig: tuple[int, int] | None = (0, 0)  # (current, pending); None: not supported
    ecc_uncorrected: int | None = 0  # None: ECC not supported
    answering: bool = True
    processes: dict[int, int] = field(default_factory=dict)  # pid -> MiB


class MockNvml:
    NVMLError = pynvml.NVMLError
    NVMLError_Timeout = pynvml.NVMLError_Timeout
    NVMLError_NotSupported = pynvml.NVMLError_NotSupported
    NVML_MEMORY_ERROR_TYPE_UNCORRECTED = pynvml.NVML_MEMORY_ERROR_TYPE_UNCORRECTED
    NVML_VOLATILE_ECC = pynvml.NVML_VOLATILE_ECC
    nvmlEventTypeXidCriticalError = pynvml.nvmlEventTypeXidCriticalError

    def __init__(self, devices: list[MockDevice], driver: str = "570.124.06", cuda: int = 12080) -> None:
        self.devices = devices
        self.driver = driver
        self.cuda = cuda
        self.events: list[tuple[int, int]] = []  # (device index, xid)
        self.registered: set[int] = set()
        self.initialised = 0

    # --- library -----------------------------------------------------------------------------
    def nvmlInit(self) -> None:
        self.initialised += 1

    def nvmlShutdown(self) -> None:
        self.initialised -= 1

    def nvmlSystemGetDriverVersion(self) -> str:
        return self.driver

    def nvmlSystemGetCudaDriverVersion(self) -> int:
        return self.cuda

    # --- devices -----------------------------------------------------------------------------
    def nvmlDeviceGetCount(self) -> int:
        return len(self.devices)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        return index

    def _device(self, handle: int) -> MockDevice:
        device = self.devices[handle]
        if not device.answering:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_GPU_IS_LOST)
        return device

    def nvmlDeviceGetUUID(self, handle: int) -> str:
        return self.devices[handle].uuid  # still known after the device is lost

    def nvmlDeviceGetName(self, handle: int) -> bytes:
        return self._device(handle).name.encode()  # older bindings return bytes

    def nvmlDeviceGetMemoryInfo(self, handle: int) -> Any:
        device = self._device(handle)
        return SimpleNamespace(total=device.memory_mib * MIB, used=device.used_mib * MIB)

    def nvmlDeviceGetMigMode(self, handle: int) -> tuple[int, int]:
        device = self._device(handle)
        if device.mig is None:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return device.mig

    def nvmlDeviceGetTotalEccErrors(self, handle: int, error_type: int, counter: int) -> int:
        device = self._device(handle)
        if device.ecc_uncorrected is None:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return device.ecc_uncorrected

    def nvmlDeviceGetComputeRunningProcesses(self, handle: int) -> list[Any]:
        device = self._device(handle)
        return [SimpleNamespace(pid=pid, usedGpuMemory=mib * MIB) for pid, mib in device.processes.items()]

    # --- events ------------------------------------------------------------------------------
    def nvmlEventSetCreate(self) -> str:
        return "event-set"

    def nvmlDeviceRegisterEvents(self, handle: int, types: int, event_set: str) -> None:
        self.registered.add(handle)

    def nvmlEventSetWait(self, event_set: str, timeout_ms: int) -> Any:
        if not self.events:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_TIMEOUT)
        index, xid = self.events.pop(0)
        return SimpleNamespace(device=index, eventData=xid, eventType=pynvml.nvmlEventTypeXidCriticalError)

    def xid(self, index: int, xid: int) -> None:
        """The driver reports XID ``xid`` on device ``index``."""
        self.events.append((index, xid))
