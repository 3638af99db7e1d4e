"""Where a lone pod first fits while a fixed list of victims is evicted in order.

Evict-then-place stops victims one by one until some node can take the waiting job. When no
node can take it now, that point is the first victim after which a node, with what the
victims so far hold on it given back, fits one pod: the least over nodes of each node's own
point. A node's point depends only on its capacity and its victims, so it is kept from one job
to the next and worked out again only for the nodes whose capacity changed since (the
session's change log) or, going further down the list, for the nodes met there. Jobs of one
project and request asking one after another then cost what changed, not a walk from the top
of a list of thousands each time.

A gang (all of several pods needed) cannot start before the nodes that fit one of its pods
might hold them all, so for it each such node also counts, generously, how many pods it might
take, and the point is where those counts first add up.

Valid while the listed victims only run where they ran or stop (an action that evicts, but
moves no victim); a victim found elsewhere makes the index start over.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from itertools import chain

from agent.scheduler.framework.jobs import Job, PodAt
from agent.scheduler.framework.room import add_held, fits_after, pods_fitting
from agent.scheduler.framework.session import Session
from agent.scheduler.placement import NodeState, PodRequest


class FirstFit:
    """Per node, the position in ``victims`` after whose eviction it first fits one pod of
    ``request`` (victims not running, or not ``eligible``, skipped), and for a gang of ``pods``
    how many it might hold after each. ``eligible`` must not depend on the session's state (a
    rule that does, the solver asks of the victims up to the position found)."""

    def __init__(
        self,
        session: Session,
        victims: Iterable[Job],
        request: PodRequest,
        pool: str,
        eligible: Callable[[Job], bool],
        pods: int = 1,
    ) -> None:
        self.session = session
        self.victims: list[Job] = []
        """The victims met so far, in order (the list is read only as far as needed)."""
        self._unmet: Iterator[Job] = iter(victims)
        self.request = request
        self.pool = pool
        self.eligible = eligible
        self.pods = pods
        """The job's pods, all needed (a gang places all or none)."""
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
        """Per node: what its met victims hold there (see :mod:`.room`)."""
        self.qualified: dict[str, set[int]] = {}
        """Per node: its devices that would take a share with that given back."""
        self.fit_at: dict[str, int] = {}
        """Nodes that fit, and the position after which they do."""
        self.gains: dict[str, list[int]] = {}
        """For more than one pod, per node that fits one: the position after which each pod
        more might fit there, counted generously (``room.pods_fitting``); a node that fits none
        takes none, so the count stays an upper bound of what placing can do."""
        self.gained = 0
        """How many gains there are in all."""
        self.changes_read = len(self.session.changed_nodes)

    @property
    def built(self) -> bool:
        """Whether any victim has been met yet."""
        return self.swept > 0

    def first(self) -> tuple[int, list[str]] | None:
        """The first position after which some node fits (for more than one pod: after which
        the nodes might hold them all), and the nodes that fit one pod by then; None if that
        never comes even with every victim gone."""
        if not self._catch_up():
            self._reset()
        if self.pods == 1:
            while not self.fit_at and self._sweep_one():
                pass
            if not self.fit_at:
                return None
            first = min(self.fit_at.values())
        else:
            while self.gained < self.pods and self._sweep_one():
                pass
            gained = sorted(chain.from_iterable(self.gains.values()))
            if len(gained) < self.pods:
                return None
            first = gained[self.pods - 1]
        return first, [name for name, at in self.fit_at.items() if at <= first]

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
        for found in (self.fit_at, self.room, self.qualified):
            found.pop(name, None)
        self.gained -= len(self.gains.pop(name, ()))
        for position in self.on_node[name]:
            victim = self.victims[position]
            pods = victim.pods
            if pods is None:
                continue
            if pods is not self.pods_of[position] and pods != self.pods_of[position]:
                return False
            add_held(self.room, victim.request, pods, 1, only=name)
            touched = [index for pod in pods if pod.node == name for index in pod.devices]
            self._count(node, position, touched)
            if self.pods == 1 and name in self.fit_at:
                break
        return True

    def _count(self, node: NodeState, position: int, touched: Iterable[int]) -> None:
        """Note what ``node`` may take once the victim at ``position`` is counted in its room:
        whether one pod fits, and from then on (for more than one pod) how many might."""
        name, room = node.name, self.room[node.name]
        if name not in self.fit_at:
            if not fits_after(node, self.request, self.pool, room, touched, self.qualified):
                return
            self.fit_at[name] = position
        if self.pods > 1:
            gained = self.gains.setdefault(name, [])
            now = pods_fitting(node, self.request, room[0], room[1], room[2], self.pods)
            if now > len(gained):
                self.gained += now - len(gained)
                gained.extend([position] * (now - len(gained)))

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
        add_held(self.room, victim.request, pods, 1)
        for pod in pods:
            listed = self.on_node[pod.node]
            if not listed or listed[-1] != position:
                listed.append(position)
            self._count(self.session.nodes[pod.node], position, pod.devices)
        return True
