"""GPU health from NVML: a device with a critical XID error, uncorrectable ECC errors or that
stops answering is unhealthy, and stays so until the agent restarts (as Kubernetes' NVIDIA
device plugin does: such a device needs an administrator's look, or a reset)."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

# XIDs caused by the application (illegal address, ECC page retirement notice, reset channel,
# ...), not by the device: the workload fails, the device stays usable. Same list as the
# NVIDIA device plugin's default.
APPLICATION_XIDS = frozenset({13, 31, 43, 45, 68, 109})


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


class HealthMonitor:
    """Watches every device NVML lists. ``nvml`` is ``pynvml`` or a stand-in (tests)."""

    def __init__(self, nvml: Any = None) -> None:
        if nvml is None:
            import pynvml as nvml
        self.nvml = nvml
        nvml.nvmlInit()
        self.unhealthy: dict[str, str] = {}
        self._handles: dict[str, Any] = {}
        self._ecc_baseline: dict[str, int] = {}
        for index in range(nvml.nvmlDeviceGetCount()):
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            uuid = _text(nvml.nvmlDeviceGetUUID(handle))
            self._handles[uuid] = handle
            count = self._uncorrected_ecc(handle)
            if count is not None:
                # Errors from before the agent started are the administrator's call; new ones are ours.
                self._ecc_baseline[uuid] = count
        self._events = self._register_xid_events()

    def _register_xid_events(self) -> Any:
        try:
            events = self.nvml.nvmlEventSetCreate()
        except Exception as exc:
            log.warning("NVML events are not available (%s): XID errors go unseen", exc)
            return None
        for uuid, handle in self._handles.items():
            try:
                self.nvml.nvmlDeviceRegisterEvents(handle, self.nvml.nvmlEventTypeXidCriticalError, events)
            except Exception as exc:
                log.warning("cannot watch XID errors of %s: %s", uuid, exc)
        return events

    def _uncorrected_ecc(self, handle: Any) -> int | None:
        try:
            return int(
                self.nvml.nvmlDeviceGetTotalEccErrors(
                    handle, self.nvml.NVML_MEMORY_ERROR_TYPE_UNCORRECTED, self.nvml.NVML_VOLATILE_ECC
                )
            )
        except self.nvml.NVMLError_NotSupported:
            return None

    def _mark(self, uuid: str, reason: str) -> None:
        if uuid not in self.unhealthy:
            log.error("GPU %s is unhealthy: %s", uuid, reason)
            self.unhealthy[uuid] = reason

    def _drain_xid_events(self) -> None:
        if self._events is None:
            return
        while True:
            try:
                event = self.nvml.nvmlEventSetWait(self._events, 0)
            except self.nvml.NVMLError_Timeout:
                return
            except self.nvml.NVMLError as exc:
                log.warning("reading NVML events failed: %s", exc)
                return
            xid = int(event.eventData)
            if xid in APPLICATION_XIDS:
                log.info("XID %d (an application error) on a GPU: the device stays healthy", xid)
                continue
            uuid = next((u for u, h in self._handles.items() if h == event.device), None)
            if uuid is None:
                try:
                    uuid = _text(self.nvml.nvmlDeviceGetUUID(event.device))
                except self.nvml.NVMLError:
                    continue
            self._mark(uuid, f"XID error {xid}")

    def check(self) -> dict[str, str]:
        """The unhealthy devices so far, by UUID, with the reason."""
        self._drain_xid_events()
        for uuid, handle in self._handles.items():
            if uuid in self.unhealthy:
                continue
            try:
                self.nvml.nvmlDeviceGetMemoryInfo(handle)
                count = self._uncorrected_ecc(handle)
            except self.nvml.NVMLError as exc:
                self._mark(uuid, f"the device stopped answering NVML ({exc})")
                continue
            if count is not None and count > self._ecc_baseline.get(uuid, 0):
                self._mark(uuid, f"{count - self._ecc_baseline.get(uuid, 0)} uncorrectable ECC errors")
        return dict(self.unhealthy)
