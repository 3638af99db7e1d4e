"""Where a lone pod first fits while a fixed list of victims is evicted in order.

Evict-then-place stops victims one by one until some node can take the waiting job. When no
node can take it now, that point is the first victim after which a node, with what the
victims so far hold on it given back, fits one pod: the least over nodes of each node's own
point. A node's point depends only on its capacity and its victims, so it is kept from one job
to the next and worked out again only for the nodes whose capacity changed since (the
session's change log) or, going further down the list, for the nodes met there. Jobs of one
project and request asking one after another then cost what changed, not a walk from the top
of a list of thousands each time.

Valid while the listed victims only run where they ran or stop (an action that evicts, but
moves no victim); a victim found elsewhere makes the index start over.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from itertools import chain

from agent.scheduler.framework.jobs import Job, PodAt
from agent.scheduler.framework.session import Session
from agent.scheduler.placement import Device, NodeState, PodRequest, device_need


class FirstFit:
    """Per node, the position in ``victims`` after whose eviction it first fits one pod of
    ``request`` (victims not running, or not ``eligible``, skipped). ``eligible`` must not
    depend on the session's state (a rule that does, the solver asks of the victims up to the
    position found)."""

    def __init__(
        self,
        session: Session,
        victims: Iterable[Job],
        request: PodRequest,
        pool: str,
        eligible: Callable[[Job], bool],
    ) -> None:
        self.session = session
        self.victims: list[Job] = []
        """The victims met so far, in order (the list is read only as far as needed)."""
        self._unmet: Iterator[Job] = iter(victims)
        self.request = request
        self.pool = pool
        self.eligible = eligible
        self._reset()

    def _reset(self) -> None:
        self._unmet = chain(self.victims, self._unmet)
        self.victims = []
        self.swept = 0
        """Victims before this position have been met."""
        self.pods_of: list[tuple[PodAt, ...] | None] = []
        """Each met victim's pods when met (None: skipped)."""
        self.on_node: dict[str, list[int]] = defaultdict(list)
        """Positions of the met victims with a pod on each node."""
        self.room: dict[str, list] = {}
        """Per node not fitting: what its met victims hold there (see ``_add_fits``)."""
        self.fit_at: dict[str, int] = {}
        """Nodes that fit, and the position after which they do."""
        self.changes_read = len(self.session.changed_nodes)

    @property
    def built(self) -> bool:
        """Whether any victim has been met yet."""
        return self.swept > 0

    def first(self) -> tuple[int, list[str]] | None:
        """The first position after which some node fits, and those nodes; None if none does
        even with every victim gone."""
        if not self._catch_up():
            self._reset()
        while not self.fit_at and self._sweep_one():
            pass
        if not self.fit_at:
            return None
        first = min(self.fit_at.values())
        return first, [name for name, at in self.fit_at.items() if at == first]

    def evicted_with(self, position: int, nodes: list[str]) -> list[Job]:
        """The running victims up to ``position`` with a pod on one of ``nodes``, in list order."""
        found = sorted({p for name in nodes for p in self.on_node.get(name, ()) if p <= position})
        return [self.victims[p] for p in found if self.victims[p].pods is not None]

    def running_until(self, position: int) -> list[Job]:
        """The running victims met up to ``position``, in list order."""
        met = self.pods_of
        return [v for i, v in enumerate(self.victims[: position + 1]) if met[i] is not None and v.pods is not None]

    def _catch_up(self) -> bool:
        """Work out again the nodes changed since last asked; False if a victim moved."""
        log = self.session.changed_nodes
        changed = set(log[self.changes_read :])
        self.changes_read = len(log)
        for name in changed:
            if name in self.on_node and not self._recount(name):
                return False
        return True

    def _recount(self, name: str) -> bool:
        node = self.session.nodes[name]
        self.fit_at.pop(name, None)
        self.room.pop(name, None)
        room: list = [0, 0, {}, None]
        for position in self.on_node[name]:
            victim = self.victims[position]
            pods = victim.pods
            if pods is None:
                continue
            if pods is not self.pods_of[position] and pods != self.pods_of[position]:
                return False
            if self._add_fits(node, room, victim.request, pods):
                self.fit_at[name] = position
                return True
        self.room[name] = room
        return True

    def _sweep_one(self) -> bool:
        """Meet the next victim; False when there is none left."""
        victim = next(self._unmet, None)
        if victim is None:
            return False
        position = self.swept
        self.swept += 1
        self.victims.append(victim)
        pods = victim.pods
        if pods is None or not self.eligible(victim):
            self.pods_of.append(None)
            return True
        self.pods_of.append(pods)
        names = (pods[0].node,) if len(pods) == 1 else dict.fromkeys(pod.node for pod in pods)
        for name in names:
            self.on_node[name].append(position)
            if name in self.fit_at:
                continue
            room = self.room.get(name)
            if room is None:
                room = self.room[name] = [0, 0, {}, None]
            if self._add_fits(self.session.nodes[name], room, victim.request, pods):
                self.fit_at[name] = position
                del self.room[name]
        return True

    def _add_fits(self, node: NodeState, room: list, request: PodRequest, pods: tuple[PodAt, ...]) -> bool:
        """Add to ``room`` what ``pods`` (of one job, of ``request``) hold on ``node``, and say
        whether one pod of ours then fits there: the capacity rules of every placement (pool,
        GPU type, devices, CPU, memory). ``room`` is [CPU, memory, {device: [milli, memory]},
        the devices that would take a share]: only the devices given back to are looked at
        again."""
        name = node.name
        touched: list[int] = []
        back_of = room[2]
        for pod in pods:
            if pod.node != name:
                continue
            room[0] += request.cpu_milli
            room[1] += request.memory_mib
            for index, (milli, memory) in zip(pod.devices, pod.needs, strict=True):
                touched.append(index)
                back = back_of.get(index)
                if back is None:
                    back_of[index] = [milli, memory]
                else:
                    back[0] += milli
                    back[1] += memory
        ours = self.request
        if node.pool != self.pool:
            return False
        if node.cpu_free_milli is not None and node.cpu_free_milli + room[0] < ours.cpu_milli:
            return False
        if node.memory_free_mib is not None and node.memory_free_mib + room[1] < ours.memory_mib:
            return False
        if ours.gpus <= 0:
            return True
        if ours.gpu_models is not None and node.gpu_model not in ours.gpu_models:
            return False
        good = room[3]
        if good is None:
            good = room[3] = {d.index for d in node.devices if self._takes(d, back_of)}
        else:
            listed = node.devices
            for index in touched:
                if index not in good:
                    device = listed[index] if 0 <= index < len(listed) and listed[index].index == index else None
                    if device is None:
                        device = next((d for d in listed if d.index == index), None)
                    if device is not None and self._takes(device, back_of):
                        good.add(index)
        return len(good) >= ours.gpus

    def _takes(self, device: Device, back_of: dict[int, list[int]]) -> bool:
        """Whether ``device``, with ``back_of`` its index given back, has room for one share."""
        if not device.healthy:
            return False
        need = device_need(device, self.request)
        if need is None:
            return False
        back = back_of.get(device.index)
        if back is None:
            return device.free_milli >= need[0] and device.free_memory_mib >= need[1]
        return device.free_milli + back[0] >= need[0] and device.free_memory_mib + back[1] >= need[1]
