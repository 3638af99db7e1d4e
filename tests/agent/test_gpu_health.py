"""GPU health from a mock NVML (no GPU here): XID errors, uncorrectable ECC errors and a device
that stops answering make it unhealthy; the inventory says so and nothing is placed on it."""

from __future__ import annotations

from agent.gpu.health import HealthMonitor
from agent.gpu.inventory import unschedulable_devices, with_flags
from agent.protocol import CordonSpec, GpuDevice, Inventory, NodeInventory
from tests.agent.mock_nvml import MockDevice, MockNvml


def two_devices() -> MockNvml:
    return MockNvml([MockDevice("GPU-0"), MockDevice("GPU-1")])


def test_healthy_devices_report_nothing():
    assert HealthMonitor(two_devices()).check() == {}


def test_a_critical_xid_error_makes_its_device_unhealthy():
    nvml = two_devices()
    monitor = HealthMonitor(nvml)
    nvml.xid(1, 79)  # fallen off the bus

    assert monitor.check() == {"GPU-1": "XID error 79"}
    assert nvml.registered == {0, 1}


def test_an_xid_caused_by_the_application_leaves_the_device_healthy():
    nvml = two_devices()
    monitor = HealthMonitor(nvml)
    nvml.xid(0, 13)  # graphics engine exception: the program's fault
    nvml.xid(0, 43)

    assert monitor.check() == {}


def test_new_uncorrectable_ecc_errors_make_the_device_unhealthy_but_old_ones_do_not():
    nvml = MockNvml([MockDevice("GPU-0", ecc_uncorrected=2), MockDevice("GPU-1", ecc_uncorrected=None)])
    monitor = HealthMonitor(nvml)
    assert monitor.check() == {}  # the 2 errors were there before the agent started

    nvml.devices[0].ecc_uncorrected = 3

    assert monitor.check() == {"GPU-0": "1 uncorrectable ECC errors"}


def test_a_device_that_stops_answering_is_unhealthy_and_stays_so():
    nvml = two_devices()
    monitor = HealthMonitor(nvml)
    nvml.devices[0].answering = False

    (reason,) = monitor.check().values()
    nvml.devices[0].answering = True

    assert reason.startswith("the device stopped answering NVML")
    assert set(monitor.check()) == {"GPU-0"}  # until an administrator restarts the agent


def gpu(uuid: str) -> GpuDevice:
    return GpuDevice(index=int(uuid[-1]), uuid=uuid, model="H200", memory_mib=143771)


def inventory() -> Inventory:
    return Inventory(
        nodes=[
            NodeInventory(name="a", gpus=[gpu("GPU-0"), gpu("GPU-1")]),
            NodeInventory(name="b", gpus=[gpu("GPU-2")]),
        ]
    )


def test_the_inventory_flags_unhealthy_and_cordoned_devices_and_cordoned_nodes():
    flagged = with_flags(
        inventory(),
        unhealthy={"GPU-0": "XID error 79"},
        cordons=[CordonSpec(target="device", name="GPU-1"), CordonSpec(target="node", name="b")],
        mps=True,
    )

    a, b = flagged.nodes
    assert (a.gpus[0].healthy, a.gpus[0].health_message, a.gpus[0].cordoned) == (False, "XID error 79", None)
    assert (a.gpus[1].healthy, a.gpus[1].cordoned) == (None, True)
    assert (a.cordoned, b.cordoned, a.mps) == (None, True, True)
    assert unschedulable_devices(flagged) == {"GPU-0", "GPU-1", "GPU-2"}


def test_flags_that_no_longer_apply_are_cleared():
    cordoned = with_flags(inventory(), {}, [CordonSpec(target="node", name="a")])

    assert with_flags(cordoned, {}, []) == inventory()
    assert unschedulable_devices(inventory()) == set()
