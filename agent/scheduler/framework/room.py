"""What stopped victims hold on a node, and whether a pod would fit there with it given back:
the reckoning shared by the evict-then-place scan (``solver``) and the first-fit index
(``first_fit``), so both judge a node by the same capacity rules placement uses.

A room is [CPU, memory, {device index: [milli, memory]}] per node name.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from agent.scheduler.framework.jobs import PodAt
from agent.scheduler.placement import Device, NodeState, PodRequest, device_need


def add_held(
    rooms: dict[str, list], request: PodRequest, pods: tuple[PodAt, ...], sign: int, only: str | None = None
) -> None:
    """Add (``sign`` 1) or take out (-1) what ``pods`` of ``request`` hold to ``rooms``, on every
    node or ``only`` on that one."""
    cpu, memory = sign * request.cpu_milli, sign * request.memory_mib
    for pod in pods:
        if only is not None and pod.node != only:
            continue
        entry = rooms.get(pod.node)
        if entry is None:
            entry = rooms[pod.node] = [cpu, memory, {}]
        else:
            entry[0] += cpu
            entry[1] += memory
        if pod.devices:
            back_of = entry[2]
            for index, (milli, held) in zip(pod.devices, pod.needs, strict=True):
                back = back_of.get(index)
                if back is None:
                    back_of[index] = [sign * milli, sign * held]
                else:
                    back[0] += sign * milli
                    back[1] += sign * held


def fits_after(
    node: NodeState,
    request: PodRequest,
    pool: str,
    room: list,
    touched: Iterable[int],
    qualified: dict[str, set[int]],
) -> bool:
    """Whether one pod of ``request`` (of ``pool``) fits on ``node`` with ``room`` given back,
    asked again after only the devices ``touched`` got more back: those are looked at again
    (the others' room is unchanged since), after a first look at all of them recorded in
    ``qualified``."""
    if node.pool != pool:
        return False
    # The node's own checks first: they are cheaper than the devices', and the devices' first
    # look can as well wait for a room that passes them (it reads the room as it is then).
    if node.cpu_free_milli is not None and node.cpu_free_milli + room[0] < request.cpu_milli:
        return False
    if node.memory_free_mib is not None and node.memory_free_mib + room[1] < request.memory_mib:
        return False
    if request.gpus <= 0:
        return True
    if request.gpu_models is not None and node.gpu_model not in request.gpu_models:
        return False
    good = qualified.get(node.name)
    back_of = room[2]
    if good is None:
        good = qualified[node.name] = _devices_taking(node, request, back_of)
    else:
        listed = node.devices
        for index in touched:
            if index in good:
                continue
            device = listed[index] if 0 <= index < len(listed) and listed[index].index == index else None
            if device is None:
                device = next((d for d in listed if d.index == index), None)
            if device is not None and device_takes(device, request, back_of):
                good.add(index)
    return len(good) >= request.gpus


def _devices_taking(node: NodeState, request: PodRequest, back_of: dict[int, list[int]]) -> set[int]:
    """The indexes of ``node``'s devices that have room for one share with ``back_of`` given back."""
    # ``_free_given_back``'s walk written out: this runs for every node a sweep or scan first
    # meets, and resuming a generator per device cost more than the checks.
    found = set()
    need: tuple[int, int] | None = None
    memory_of_need = -1
    for device in node.devices:
        if not device.healthy:
            continue
        if device.memory_mib != memory_of_need:
            need, memory_of_need = device_need(device, request), device.memory_mib
        if need is None:
            continue
        free, free_memory = device.free_milli, device.free_memory_mib
        back = back_of.get(device.index)
        if back is not None:
            free, free_memory = free + back[0], free_memory + back[1]
        if free >= need[0] and free_memory >= need[1]:
            found.add(device.index)
    return found


def _free_given_back(
    node: NodeState, request: PodRequest, back_of: dict[int, list[int]]
) -> Iterator[tuple[int, tuple[int, int], int, int]]:
    """Per healthy device of ``node`` able to hold a share of ``request``: its index, the share's
    (milli, memory MiB) there, and its free milli and memory with ``back_of`` given back."""
    need: tuple[int, int] | None = None
    memory_of_need = -1
    for device in node.devices:
        if not device.healthy:
            continue
        if device.memory_mib != memory_of_need:
            # A node's devices are usually all alike.
            need, memory_of_need = device_need(device, request), device.memory_mib
        if need is None:
            continue
        free, free_memory = device.free_milli, device.free_memory_mib
        back = back_of.get(device.index)
        if back is not None:
            free, free_memory = free + back[0], free_memory + back[1]
        yield device.index, need, free, free_memory


def device_takes(device: Device, request: PodRequest, back_of: dict[int, list[int]]) -> bool:
    """Whether ``device``, with ``back_of`` its index given back, has room for one share."""
    if not device.healthy:
        return False
    need = device_need(device, request)
    if need is None:
        return False
    free, free_memory = device.free_milli, device.free_memory_mib
    back = back_of.get(device.index)
    if back is not None:
        free, free_memory = free + back[0], free_memory + back[1]
    return free >= need[0] and free_memory >= need[1]


def pods_fitting(
    node: NodeState, request: PodRequest, cpu: int, memory: int, devices: dict[int, list[int]], most: int
) -> int:
    """At most ``most``: how many pods of ``request`` ``node`` might take with ``cpu``, ``memory``
    and ``devices`` (index -> [milli, memory]) given back; an upper bound, not a packing."""
    if request.gpus > 0 and request.gpu_models is not None and node.gpu_model not in request.gpu_models:
        return 0
    count = most
    if node.cpu_free_milli is not None and request.cpu_milli:
        count = min(count, (node.cpu_free_milli + cpu) // request.cpu_milli)
    if node.memory_free_mib is not None and request.memory_mib:
        count = min(count, (node.memory_free_mib + memory) // request.memory_mib)
    if request.gpus <= 0 or count <= 0:
        return max(count, 0)
    gpus = request.gpus
    if len(node.devices) < gpus:
        return 0
    slots = 0
    for _, need, free, free_memory in _free_given_back(node, request, devices):
        room = free // need[0]
        if need[1] and free_memory // need[1] < room:
            room = free_memory // need[1]
        # A pod uses a device at most once.
        slots += room if room < count else count
    return min(count, slots // gpus)
