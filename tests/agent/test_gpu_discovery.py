"""GPU discovery: NVML when it works (tested with a mock NVML), simulated or none otherwise."""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any

import pynvml
import pytest

from agent.gpu import discover_inventory, discover_nvml
from agent.gpu.discovery import host_capacity
from agent.protocol import Inventory, NodeInventory
from tests.agent.mock_nvml import MockDevice
from tests.agent.mock_nvml import MockNvml as MockNvmlLibrary


class MockNvml:
    """A stand-in for the NVML library with two 80 GiB devices (this machine has no GPU)."""

    def __init__(self, count: int = 2) -> None:
        self.count = count
        self.shut_down = False

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(pynvml, "nvmlInit", lambda: None)
        monkeypatch.setattr(pynvml, "nvmlShutdown", self._shutdown)
        monkeypatch.setattr(pynvml, "nvmlSystemGetDriverVersion", lambda: "550.54.15")
        monkeypatch.setattr(pynvml, "nvmlSystemGetCudaDriverVersion", lambda: 12040)
        monkeypatch.setattr(pynvml, "nvmlDeviceGetCount", lambda: self.count)
        monkeypatch.setattr(pynvml, "nvmlDeviceGetHandleByIndex", lambda i: i)
        monkeypatch.setattr(pynvml, "nvmlDeviceGetUUID", lambda h: f"GPU-mock-{h}")
        monkeypatch.setattr(pynvml, "nvmlDeviceGetName", lambda h: b"NVIDIA H100 80GB HBM3")
        monkeypatch.setattr(pynvml, "nvmlDeviceGetMemoryInfo", lambda h: SimpleNamespace(total=80 * 1024**3))

    def _shutdown(self) -> None:
        self.shut_down = True


def test_real_gpus_are_discovered_with_mock_nvml(monkeypatch: pytest.MonkeyPatch) -> None:
    nvml = MockNvml()
    nvml.install(monkeypatch)

    inventory = discover_inventory("host-a", simulated_gpus=4)

    (node,) = inventory.nodes
    assert node.name == "host-a"
    assert node.simulated is False
    assert (node.driver_version, node.cuda_version) == ("550.54.15", "12.4")
    assert [(g.index, g.uuid, g.model, g.memory_mib, g.simulated) for g in node.gpus] == [
        (0, "GPU-mock-0", "NVIDIA H100 80GB HBM3", 81920, False),
        (1, "GPU-mock-1", "NVIDIA H100 80GB HBM3", 81920, False),
    ]
    assert nvml.shut_down


def test_zero_devices_with_mock_nvml_means_no_real_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    MockNvml(count=0).install(monkeypatch)

    (node,) = discover_inventory("host-a", simulated_gpus=0).nodes

    assert node.gpus == []


def test_a_failing_query_with_mock_nvml_falls_back_to_simulated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    MockNvml().install(monkeypatch)

    def broken(handle: Any) -> str:
        raise pynvml.NVMLError(pynvml.NVML_ERROR_UNKNOWN)

    monkeypatch.setattr(pynvml, "nvmlDeviceGetUUID", broken)

    (node,) = discover_inventory("host-a", simulated_gpus=1).nodes

    assert node.simulated and [g.uuid for g in node.gpus] == ["SIM-GPU-host-a-0"]


def test_without_nvml_and_without_simulation_the_node_has_no_gpus() -> None:
    # This machine has no NVIDIA driver: the real NVML path fails and is handled.
    inventory = discover_inventory("host-a", simulated_gpus=0)

    cpu_milli, memory_mib = host_capacity()
    expected = NodeInventory(name="host-a", simulated=False, gpus=[], cpu_milli=cpu_milli, memory_mib=memory_mib)
    assert inventory == Inventory(nodes=[expected])


def test_the_node_reports_the_cpus_this_process_may_use_and_the_hosts_memory() -> None:
    (node,) = discover_inventory("host-a", simulated_gpus=1).nodes

    assert node.cpu_milli == len(os.sched_getaffinity(0)) * 1000
    with open("/proc/meminfo") as meminfo:  # MemTotal, in KiB
        total_kib = int(next(line for line in meminfo if line.startswith("MemTotal:")).split()[1])
    assert abs(node.memory_mib - total_kib // 1024) <= 1


def test_without_nvml_simulated_devices_are_declared_and_labelled() -> None:
    inventory = discover_inventory("host-a", simulated_gpus=2, simulated_memory_mib=40960)

    (node,) = inventory.nodes
    assert node.simulated is True
    assert [(g.index, g.uuid, g.model, g.memory_mib, g.simulated) for g in node.gpus] == [
        (0, "SIM-GPU-host-a-0", "Simulated GPU", 40960, True),
        (1, "SIM-GPU-host-a-1", "Simulated GPU", 40960, True),
    ]


@pytest.mark.gpu
def test_real_gpus_are_discovered_where_nvml_sees_them() -> None:
    if discover_nvml() is None:
        pytest.skip("no GPU visible to NVML on this machine")

    (node,) = discover_inventory("host-a", simulated_gpus=2).nodes

    assert node.gpus and not node.simulated
    assert all(g.uuid.startswith(("GPU-", "MIG-")) and g.memory_mib > 0 for g in node.gpus)
    assert [g.index for g in node.gpus] == list(range(len(node.gpus)))
    assert node.driver_version and node.cuda_version


def test_discovery_reports_mig_mode_driver_and_cuda_versions_with_mock_nvml() -> None:
    nvml = MockNvmlLibrary(
        [MockDevice("GPU-aaaa", mig=(1, 1)), MockDevice("GPU-bbbb", mig=(0, 0)), MockDevice("GPU-cccc", mig=None)],
        driver="570.124.06",
        cuda=12080,
    )

    (node,) = discover_inventory("h200-node", simulated_gpus=0, nvml=nvml).nodes

    assert (node.driver_version, node.cuda_version, node.simulated) == ("570.124.06", "12.8", False)
    assert [(g.index, g.uuid, g.model, g.memory_mib, g.mig_mode) for g in node.gpus] == [
        (0, "GPU-aaaa", "NVIDIA H200", 143771, True),
        (1, "GPU-bbbb", "NVIDIA H200", 143771, False),
        (2, "GPU-cccc", "NVIDIA H200", 143771, None),  # no MIG support: left off the wire
    ]
    assert nvml.initialised == 0  # shut down again after the query
