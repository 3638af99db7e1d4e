"""Feasibility and bookkeeping: which devices a pod can use on a node, and taking them.

These rules are the only ones that decide whether a pod fits; every policy only ranks the
candidates they allow, so no policy can oversubscribe a device.
"""

from __future__ import annotations

from agent.scheduler.placement.model import MILLI, Device, NodeState, PodRequest


def device_need(device: Device, pod: PodRequest) -> tuple[int, int] | None:
    """The (milli, memory MiB) ``pod`` takes on ``device``, or None if no such device could hold it.

    A memory request is converted to a share of this device (rounded up so the share always
    covers the memory); a share request takes the matching part of the memory (rounded down, so
    shares never claim more memory than the device has).
    """
    if pod.gpu_memory_mib is not None:
        if device.memory_mib <= 0 or pod.gpu_memory_mib > device.memory_mib:
            return None
        milli = -(-pod.gpu_memory_mib * MILLI // device.memory_mib)
        return milli, pod.gpu_memory_mib
    return pod.milli, pod.milli * device.memory_mib // MILLI


def device_fits(device: Device, pod: PodRequest) -> bool:
    """True if ``device`` is healthy and has room for one of ``pod``'s shares right now."""
    if not device.healthy:
        return False
    need = device_need(device, pod)
    return need is not None and device.free_milli >= need[0] and device.free_memory_mib >= need[1]


def node_admits(node: NodeState, pod: PodRequest) -> bool:
    """The node-level checks: pool, GPU type, free CPU and memory (devices aside)."""
    if pod.pool is not None and node.pool != pod.pool:
        return False
    if pod.gpus > 0 and pod.gpu_models is not None and node.gpu_model not in pod.gpu_models:
        return False
    if node.cpu_free_milli is not None and node.cpu_free_milli < pod.cpu_milli:
        return False
    return node.memory_free_mib is None or node.memory_free_mib >= pod.memory_mib


def fitting_devices(node: NodeState, pod: PodRequest) -> list[Device]:
    """Devices that could take one of ``pod``'s shares, tightest first (least free, then index)."""
    found = [d for d in node.devices if device_fits(d, pod)]
    found.sort(key=lambda d: (d.free_milli, d.free_memory_mib, d.index))
    return found


def pick_devices(node: NodeState, pod: PodRequest) -> tuple[int, ...] | None:
    """Device indexes for ``pod`` on ``node`` (best fit: the tightest devices), or None if it does
    not fit. A CPU-only pod that fits gets the empty tuple."""
    if pod.gpus <= 0:
        return () if node_admits(node, pod) else None
    if not node_admits(node, pod):
        return None
    found = fitting_devices(node, pod)
    if len(found) < pod.gpus:
        return None
    return tuple(sorted(d.index for d in found[: pod.gpus]))


def fits(node: NodeState, pod: PodRequest) -> bool:
    """True if ``pod`` can be placed on ``node`` now (``pick_devices`` would find devices)."""
    if not node_admits(node, pod):
        return False
    wanted = pod.gpus
    if wanted <= 0:
        return True
    # Counting is enough: which devices would be picked does not matter here.
    for device in node.devices:
        if device_fits(device, pod):
            wanted -= 1
            if not wanted:
                return True
    return False


def candidates(node: NodeState, pod: PodRequest) -> list[tuple[int, ...]]:
    """Every materially different device choice for ``pod`` on ``node``, tightest first.

    Only a shared pod has a real choice (which partly used device to join); devices in the same
    state are interchangeable, so one of each state is offered. Other pods get ``pick_devices``.
    """
    if not pod.shared:
        chosen = pick_devices(node, pod)
        return [] if chosen is None else [chosen]
    if not node_admits(node, pod):
        return []
    seen: set[tuple[int, int, int]] = set()
    found: list[tuple[int, ...]] = []
    for device in fitting_devices(node, pod):
        state = (device.free_milli, device.free_memory_mib, device.memory_mib)
        if state not in seen:
            seen.add(state)
            found.append((device.index,))
    return found


def _devices(node: NodeState, pod: PodRequest, indexes: tuple[int, ...]) -> list[Device]:
    """The devices named by ``indexes``, checked to be distinct, existing and as many as asked."""
    if len(indexes) != max(pod.gpus, 0) or len(set(indexes)) != len(indexes):
        raise ValueError(f"pod needs {pod.gpus} distinct devices, got {indexes!r} on {node.name}")
    devices = node.devices
    # Devices are usually listed by index; then no lookup table is needed (this runs for every
    # pod a cycle loads, takes or gives back).
    listed = len(devices)
    chosen = []
    for i in indexes:
        if not 0 <= i < listed or devices[i].index != i:
            break
        chosen.append(devices[i])
    else:
        return chosen
    by_index = {d.index: d for d in devices}
    missing = [i for i in indexes if i not in by_index]
    if missing:
        raise ValueError(f"node {node.name} has no device {missing[0]}")
    return [by_index[i] for i in indexes]


def take(node: NodeState, pod: PodRequest, devices: tuple[int, ...]) -> None:
    """Subtract ``pod``'s request from ``node`` on ``devices``; raise ValueError (changing
    nothing) if that would oversubscribe anything or use an unhealthy device."""
    chosen = _devices(node, pod, devices)
    if not node_admits(node, pod):
        raise ValueError(f"pod does not fit node {node.name} (pool, GPU type, CPU or memory)")
    needs = []
    for device in chosen:
        if not device_fits(device, pod):
            raise ValueError(f"device {device.index} of {node.name} cannot take the pod")
        needs.append(device_need(device, pod))
    for device, need in zip(chosen, needs, strict=True):
        assert need is not None
        device.free_milli -= need[0]
        device.free_memory_mib -= need[1]
    if node.cpu_free_milli is not None:
        node.cpu_free_milli -= pod.cpu_milli
    if node.memory_free_mib is not None:
        node.memory_free_mib -= pod.memory_mib
    node.version += 1


def running_needs(node: NodeState, pod: PodRequest, devices: tuple[int, ...]) -> list[tuple[int, int]] | None:
    """What a pod already running on ``devices`` of ``node`` holds on each: (milli, memory MiB)
    per device, or None if it breaks a rule of a pod alone (devices listed, distinct, healthy,
    able to hold it; pool; GPU type). Its room is checked once all running work is taken (see
    ``take_counted``, ``oversubscribed``)."""
    if len(devices) != max(pod.gpus, 0):
        return None
    if pod.pool is not None and node.pool != pod.pool:
        return None
    if pod.gpus > 0 and pod.gpu_models is not None and node.gpu_model not in pod.gpu_models:
        return None
    listed = node.devices
    count = len(listed)
    needs = []
    for i in devices:
        device = listed[i] if 0 <= i < count else None
        if device is None or device.index != i or not device.healthy:
            return None
        need = device_need(device, pod)
        if need is None:
            return None
        needs.append(need)
    if len(devices) > 1 and len(set(devices)) != len(devices):
        return None
    return needs


def take_counted(
    node: NodeState, pod: PodRequest, devices: tuple[int, ...], needs: list[tuple[int, int]], count: int
) -> None:
    """Subtract ``count`` pods of ``pod`` holding ``needs`` (see ``running_needs``) on
    ``devices`` from ``node``, unchecked: taking only subtracts, so a node not short once all
    is taken (``oversubscribed``) never was on the way."""
    listed = node.devices
    for i, (milli, memory) in zip(devices, needs, strict=True):
        device = listed[i]
        device.free_milli -= count * milli
        device.free_memory_mib -= count * memory
    if node.cpu_free_milli is not None:
        node.cpu_free_milli -= count * pod.cpu_milli
    if node.memory_free_mib is not None:
        node.memory_free_mib -= count * pod.memory_mib
    node.version += 1


def oversubscribed(node: NodeState) -> bool:
    """Whether anything of ``node`` is taken beyond what it has (after ``take_counted``)."""
    if node.cpu_free_milli is not None and node.cpu_free_milli < 0:
        return True
    if node.memory_free_mib is not None and node.memory_free_mib < 0:
        return True
    return any(d.free_milli < 0 or d.free_memory_mib < 0 for d in node.devices)


def give_back(node: NodeState, pod: PodRequest, devices: tuple[int, ...]) -> None:
    """Add ``pod``'s request back to ``node`` on ``devices``: the exact inverse of ``take``.
    Raise ValueError (changing nothing) if that would free more than the node has."""
    chosen = _devices(node, pod, devices)
    needs = []
    for device in chosen:
        need = device_need(device, pod)
        if need is None or device.free_milli + need[0] > MILLI or device.free_memory_mib + need[1] > device.memory_mib:
            raise ValueError(f"device {device.index} of {node.name} never held this pod")
        needs.append(need)
    over_cpu = node.cpu_total_milli is not None and node.cpu_free_milli is not None
    if over_cpu and node.cpu_free_milli + pod.cpu_milli > node.cpu_total_milli:  # type: ignore[operator]
        raise ValueError(f"node {node.name} would have more free CPU than it has")
    over_mem = node.memory_total_mib is not None and node.memory_free_mib is not None
    if over_mem and node.memory_free_mib + pod.memory_mib > node.memory_total_mib:  # type: ignore[operator]
        raise ValueError(f"node {node.name} would have more free memory than it has")
    for device, need in zip(chosen, needs, strict=True):
        device.free_milli += need[0]
        device.free_memory_mib += need[1]
    if node.cpu_free_milli is not None:
        node.cpu_free_milli += pod.cpu_milli
    if node.memory_free_mib is not None:
        node.memory_free_mib += pod.memory_mib
    node.version += 1
