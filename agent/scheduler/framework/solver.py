"""Evict-then-place as one step: evict candidate victims one by one until the waiting job fits,
keep only the evictions it needed, or undo everything. No eviction is ever useless.

The decisions are those of that plain procedure; what makes it affordable on a large cluster is
how it is carried out: no scan at all when even every candidate's eviction would not make room
(``could_fit_without``), and capacity given back only on the nodes where the job may land
(``_evict_then_place``), so a scan through hundreds of small victims costs little more than
counting them; and, for a job that fits nowhere yet, the point where the scan would first find
room read from an index kept across jobs (``_evict_on_first_fit``, :mod:`.first_fit`).
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from operator import attrgetter

from agent.scheduler.framework.first_fit import FirstFit
from agent.scheduler.framework.jobs import Job, PodAt
from agent.scheduler.framework.room import add_held, fits_after, pods_fitting
from agent.scheduler.framework.session import Session
from agent.scheduler.framework.statement import Statement
from agent.scheduler.placement import MILLI, NodeState, PodRequest, fits

BOUND_AFTER = 4096
"""Victims a scan stops before it asks whether evicting every candidate could make room."""


def evict_to_fit(
    session: Session,
    job: Job,
    victims: Iterable[Job],
    eligible: Callable[[Job], bool],
    reason: str,
    holds: Callable[[], bool],
    relocate: bool = False,
    max_victims: int | None = None,
    candidates: Iterable[Job] | Freed | None = None,
    first_fit: FirstFit | None = None,
    judge: Callable[[], Callable[[Job], bool]] | None = None,
) -> bool:
    """Try to start ``job`` by evicting ``victims`` in order (each only while ``eligible``).

    With ``relocate`` every victim must be placed again elsewhere (consolidation). ``holds``
    states the action's rule on the state reached (quota, fair share). ``candidates``, when
    given, holds every job that ``victims`` could evict (in any order, or counted in a
    ``Freed``): if the job would not fit even with all of them gone, no eviction is tried.
    ``first_fit``, when given, indexes every victim ``victims`` could hold for ``job``'s request
    (see ``_evict_on_first_fit``). Where ``eligible`` depends on the victims stopped before,
    ``judge``, when given, makes a fresh judge that says what ``eligible`` would of each victim
    it is asked in turn, had the ones it passed been stopped: then victims need not be stopped
    to be judged; without one, such an action must not pass ``first_fit``.
    Returns True and commits when ``job`` runs; otherwise the session is left exactly as it was.
    """
    statement = session.statement()
    # Capacity freed earlier in this action may already be enough.
    if session.admit(job) is None and statement.place(job) and holds():
        statement.commit()
        return True
    statement.discard()
    # Evictions only add capacity, so once some node of the pool can take the job's first pod it
    # stays so; until then only the nodes a victim just left can change that, and trying to place
    # the job is bound to fail. Asked once here, then only of the victims' nodes.
    needed = session.min_available(job)
    may_fit = needed < 1 or session.place_pod(job) is not None
    # The index serves a job, all of whose pods are needed, that fits nowhere yet (see
    # ``_evict_on_first_fit``).
    whole = not (may_fit or relocate) and max_victims is None and needed == job.workload.pods >= 1
    index = first_fit if whole and first_fit is not None and first_fit.pods == needed else None
    bound: Callable[[Iterable[tuple[Job, tuple[PodAt, ...]]]], bool] | None = None
    # An index already built answers at once; a new one must first walk its victims, which the
    # bound spares a job that cannot fit at all.
    if candidates is not None and not (may_fit and needed <= 1) and not (index is not None and index.built):
        # A pod that fits nowhere now can only fit where a candidate leaves: the other nodes
        # keep their capacity. (Here a job that may fit has more than one pod.)
        count_untouched = may_fit
        if isinstance(candidates, Freed) or relocate:
            if not could_fit_without(session, job, candidates, count_untouched):
                return False
        else:
            # Counting a long list of candidates costs as much as scanning many victims, and most
            # scans succeed early: the scan asks only once it has gone far (see BOUND_AFTER).
            listed = candidates

            def bound(held: Iterable[tuple[Job, tuple[PodAt, ...]]]) -> bool:
                freed = Freed(victim for victim in listed if victim is not job and victim.pool == job.pool)
                for victim, pods in held:
                    freed.add(victim, pods)
                return could_fit_without(session, job, freed, count_untouched)

    if relocate:
        return _evict_and_move(session, job, victims, eligible, reason, max_victims, may_fit)
    if index is not None:
        decided = _evict_on_first_fit(session, job, index, reason, holds, judge)
        if decided is not None:
            return decided
    return _evict_then_place(session, job, victims, eligible, reason, holds, max_victims, may_fit, bound, judge)


def _evict_and_move(
    session: Session,
    job: Job,
    victims: Iterable[Job],
    eligible: Callable[[Job], bool],
    reason: str,
    max_victims: int | None,
    may_fit: bool,
) -> bool:
    """``evict_to_fit`` for consolidation: every victim taken off must find a place again."""
    statement = session.statement()
    evicted: list[tuple[Job, tuple[PodAt, ...]]] = []
    for victim in victims:
        if max_victims is not None and len(evicted) >= max_victims:
            break
        if victim.pods is None or victim is job or not eligible(victim):
            continue
        evicted.append((victim, victim.pods))
        statement.evict(victim, reason)
        if not may_fit:
            may_fit = _first_pod_fits(session, job, [session.nodes[pod.node] for pod in evicted[-1][1]])
        if not may_fit or session.admit(job) is not None:
            continue
        mark = statement.checkpoint()
        if statement.place(job) and all(statement.place(moved) for moved, _ in evicted):
            _keep_only_needed(statement, evicted, lambda: True, relocate=True)
            statement.commit()
            return True
        statement.rollback(mark)
    statement.discard()
    return False


def _evict_then_place(
    session: Session,
    job: Job,
    victims: Iterable[Job],
    eligible: Callable[[Job], bool],
    reason: str,
    holds: Callable[[], bool],
    max_victims: int | None,
    may_fit: bool,
    bound: Callable[[Iterable[tuple[Job, tuple[PodAt, ...]]]], bool] | None = None,
    judge: Callable[[], Callable[[Job], bool]] | None = None,
) -> bool:
    """``evict_to_fit`` without moving victims, releasing capacity only where it matters.

    A victim is stopped (its queues no longer count it) at once, but what it holds on a node is
    given back only when the job might be placed on that node. The job can only go where its pod
    fits with every stopped victim gone, and there all are given back before it is placed; on
    the other nodes the capacity would be unused, and a victim found unneeded there is restored
    by counting it again. So the decisions are those of evicting and giving back every victim,
    at the cost of the few the job is placed among.

    ``bound``, given the stopped victims still holding capacity, says whether the job could fit
    with every candidate gone; it is asked once, after ``BOUND_AFTER`` victims. The state it sees
    (candidates running, held by stopped ones, or given back) is the one before the scan, so a
    False ends the scan exactly as an empty bound before it would have.

    Until some node fits a pod nothing reads the state the stops make but ``eligible``; with a
    ``judge`` to stand for it, the victims met until then are stopped only once a node fits, in
    the order met, and a scan that never gets there stops none.
    """
    statement = session.statement()
    judged = judge() if judge is not None and not may_fit else None
    unstopped: list[Job] = []
    """Victims judged eligible by ``judged`` and not stopped yet."""
    evicted: list[tuple[Job, tuple[PodAt, ...]]] = []
    # Stopped victims whose capacity is still held, per node, and that capacity per node.
    held_on: dict[str, list[Job]] = defaultdict(list)
    unreleased: dict[int, tuple[Job, tuple[PodAt, ...]]] = {}
    freed: dict[str, list] = {}
    fitting: set[str] = set()
    # Per node not yet fitting: the devices that would take one of the job's pods with what the
    # stopped victims hold there given back. That grows only by a victim's own devices.
    qualified: dict[str, set[int]] = {}
    nodes = session.nodes
    for victim in victims:
        if max_victims is not None and len(evicted) >= max_victims:
            break
        if victim.pods is None or victim is job or not (eligible if judged is None else judged)(victim):
            continue
        # (Victims not stopped yet are still counted as candidates by the bound.)
        if bound is not None and len(evicted) == BOUND_AFTER and not bound(() if unstopped else unreleased.values()):
            statement.discard()
            return False
        pods = victim.pods
        evicted.append((victim, pods))
        if judged is None:
            statement.stop(victim, reason)
        else:
            unstopped.append(victim)
        unreleased[id(victim)] = (victim, pods)
        add_held(freed, victim.request, pods, 1)
        for pod in pods:
            held_on[pod.node].append(victim)
            if pod.node not in fitting and fits_after(
                nodes[pod.node], job.request, job.pool, freed[pod.node], pod.devices, qualified
            ):
                fitting.add(pod.node)
                may_fit = True
        if not may_fit:
            continue
        if judged is not None:
            for stopped in unstopped:
                statement.stop(stopped, reason)
            judged, unstopped = None, []
        if session.admit(job) is not None:
            continue
        # Give back what stopped victims hold on every node the job's pods may go to.
        for name in fitting:
            for held in held_on.pop(name, ()):
                found = unreleased.pop(id(held), None)
                if found is not None:
                    add_held(freed, held.request, found[1], -1)
                    statement.release(*found)
        mark = statement.checkpoint()
        if statement.place(job) and holds():
            _keep_only_needed(statement, evicted, holds, relocate=False, unreleased=unreleased)
            for held, pods in unreleased.values():
                statement.release(held, pods)
            statement.commit()
            return True
        statement.rollback(mark)
    statement.discard()
    return False


def _evict_on_first_fit(
    session: Session,
    job: Job,
    first_fit: FirstFit,
    reason: str,
    holds: Callable[[], bool],
    judge: Callable[[], Callable[[Job], bool]] | None = None,
) -> bool | None:
    """``_evict_then_place``'s decision for a job that fits nowhere now and needs all its pods,
    reached without touching the victims that do not matter; None when it cannot tell, and the
    scan decides.

    The scan stops victims, giving back what they hold on the nodes that fit a pod, and places
    nothing before the first position ``first_fit`` finds (no node fits, or for a gang the nodes
    could not hold every pod). There the pods go to those nodes if they go anywhere (else the
    scan decides), and the victims elsewhere, never given back, are counted again. When the
    job's queues admit it before any eviction and the end state holds, every rule the scan
    checks on the way holds too (the rules only cap usage, and the scan's states use less), so
    evicting the victims up to there on those nodes, placing the job, and putting back those it
    does not need is the scan's outcome. Where a victim's eligibility depends on those stopped
    before it, the scan reaches that position the same way only if every victim up to it is
    eligible in turn (``judge``). Otherwise the scan runs."""
    if session.admit(job) is not None:
        return None
    found = first_fit.first()
    if found is None:
        return False  # even with every victim gone no node fits: the scan would fail
    position, nodes = found
    if judge is not None:
        judged = judge()
        if not all(map(judged, first_fit.running_until(position))):
            return None
    statement = session.statement()
    evicted: list[tuple[Job, tuple[PodAt, ...]]] = []
    for victim in first_fit.evicted_with(position, nodes):
        evicted.append((victim, victim.pods))  # type: ignore[arg-type]
        statement.evict(victim, reason)
    if statement.place(job):
        _keep_only_needed(statement, evicted, lambda: True, relocate=False)
        if holds():
            statement.commit()
            return True
    statement.discard()
    return None


def _first_pod_fits(session: Session, job: Job, nodes: Iterable[NodeState]) -> bool:
    """Whether one of ``job``'s pods fits on one of ``nodes`` of its pool: the capacity rules
    every placement obeys, so a placement can succeed only where this holds."""
    return any(node.pool == job.pool and fits(node, job.request) for node in nodes)


class Freed:
    """Capacity a set of running jobs holds, per node: name -> [CPU, memory, {device index:
    [milli, memory]}], to ask what their eviction could free. Counted when first read, so one
    made but never asked costs nothing; a job evicted by then is not counted, which keeps the
    count an upper bound (what it held is free)."""

    __slots__ = ("_by_node", "_jobs", "_added", "_grown", "_profiles", "_read", "_with_room")

    def __init__(self, jobs: Iterable[Job] = ()) -> None:
        self._by_node: dict[str, list] | None = None
        self._jobs = jobs
        self._added: list[tuple[Job, tuple[PodAt, ...]]] = []
        self._grown: list[str] = []
        """Nodes whose count grew since it was first read, in order (repeats kept)."""
        self._profiles: dict[str, list[int]] | None = None
        self._read = (0, 0)
        """How far into the session's change log and ``_grown`` the profiles are."""
        self._with_room: dict[tuple[int, int], set[str]] = {}
        """Per (devices, milli-GPUs) asked: the counted nodes whose profile has that many
        devices with that much free (see ``with_room``), kept with the profiles."""

    def add(self, job: Job, pods: tuple[PodAt, ...]) -> None:
        """Count ``pods`` of ``job`` too."""
        if self._by_node is None:
            self._added.append((job, pods))
        else:
            add_held(self._by_node, job.request, pods, 1)
            self._grown.extend(pod.node for pod in pods)

    def profiles(self, session: Session) -> dict[str, list[int]]:
        """Per counted node: the milli-GPUs each healthy device would have free with the count
        given back, most first. Worked out again only for the nodes changed since last asked,
        in the session or in this count, so it is cheap to ask for every job of an action."""
        by_node, log = self.by_node, session.changed_nodes
        if self._profiles is None:
            self._profiles = {}
            changed: Iterable[str] = by_node
        else:
            changed = set(log[self._read[0] :])
            changed.update(self._grown[self._read[1] :])
        self._read = (len(log), len(self._grown))
        nodes, profiles, index, with_room = session.nodes, self._profiles, session.index, self._with_room
        assert index is not None
        for name in changed:
            entry = by_node.get(name)
            if entry is not None:
                back_of = entry[2]
                if back_of:
                    free = [
                        device.free_milli + (back_of[device.index][0] if device.index in back_of else 0)
                        for device in nodes[name].devices
                        if device.healthy
                    ]
                    free.sort(reverse=True)
                else:  # what only holds CPU and memory there: the node's own, shared
                    free = index.free_profile(name)
                profiles[name] = free
                for (gpus, milli), names in with_room.items():
                    if len(free) >= gpus and free[gpus - 1] >= milli:
                        names.add(name)
                    else:
                        names.discard(name)
        return profiles

    def with_room(self, session: Session, gpus: int, milli: int) -> set[str]:
        """The counted nodes that, with the count given back, have ``gpus`` healthy devices
        with ``milli`` free each: worked out once per (gpus, milli), then kept up to date with
        the profiles."""
        profiles = self.profiles(session)
        names = self._with_room.get((gpus, milli))
        if names is None:
            names = self._with_room[gpus, milli] = {
                name for name, free in profiles.items() if len(free) >= gpus and free[gpus - 1] >= milli
            }
        return names

    @property
    def by_node(self) -> dict[str, list]:
        """The count, node by node."""
        if self._by_node is None:
            by_node: dict[str, list] = {}
            for job in self._jobs:
                if job.pods is not None:
                    add_held(by_node, job.request, job.pods, 1)
            for job, pods in self._added:
                add_held(by_node, job.request, pods, 1)
            self._by_node, self._jobs, self._added = by_node, (), []
        return self._by_node


def could_fit_without(
    session: Session, job: Job, candidates: Iterable[Job] | Freed, count_untouched: bool = True
) -> bool:
    """Whether ``job``'s minimum of pods might fit if every running job of ``candidates`` (or
    what a ``Freed`` of them counted) were gone. Generous (pods per node are counted by free
    CPU, memory and device slots, each device at most once per pod; a ``Freed`` may still count
    jobs evicted since), so False means no choice of those evictions can make the job fit.
    ``count_untouched`` also counts the pods that fit now on nodes no candidate runs on."""
    needed = session.min_available(job)
    if needed < 1:
        return True
    if not isinstance(candidates, Freed):
        candidates = Freed(victim for victim in candidates if victim is not job and victim.pool == job.pool)
    freed = candidates.by_node
    nodes = session.nodes
    request = job.request
    # For one more pod of a share of each device, a node counts only if enough of its devices
    # could hold a share: read from a sorted list kept per node, asked of every shape in turn.
    # So too for any number of pods when a device holds at most one share (over half of it).
    by_share = request.gpus > 0 and request.gpu_memory_mib is None
    lone_shares = one_share_per_device(request)
    found = 0
    gpus, milli = request.gpus, request.milli
    profiles = candidates.profiles(session) if by_share else {}
    # Where a device holds one share at most, only the nodes with room for one pod count (how
    # many they take, in any order, adds up to the same).
    names = candidates.with_room(session, gpus, milli) if lone_shares else freed
    for name in names:
        node = nodes[name]
        if node.pool != job.pool:
            continue
        cpu, memory, devices = freed[name]
        if by_share and needed - found == 1 and not lone_shares:
            free = profiles[name]
            if len(free) < gpus or free[gpus - 1] < milli:
                continue
        found += pods_fitting(node, request, cpu, memory, devices, needed - found)
        if found >= needed:
            return True
    if count_untouched:
        # Nodes in one state take as many pods each: counted per capacity group, node by node's
        # allowance at most (each group's first node asked with what is still needed).
        for node, count in session.node_groups(job.pool, leaving_out=freed):
            found += count * pods_fitting(node, job.request, 0, 0, {}, needed - found)
            if found >= needed:
                return True
    return False


def one_share_per_device(request: PodRequest) -> bool:
    """Whether a device holds at most one of ``request``'s shares (over half of it): then
    whether a ``Freed`` could make room is read from its kept profiles alone and cheap to ask
    again."""
    return request.gpus > 0 and request.gpu_memory_mib is None and 2 * request.milli > MILLI


def evictable_by_queue(session: Session) -> dict[tuple[str, str], deque[Job]]:
    """Jobs running when first asked that may be evicted at all (preemptible, old enough), by
    (project, pool), each in victim order. Built once per cycle, since neither rule changes within
    a cycle; jobs evicted since are dropped from the front as they are met, so each action walks
    only live candidates."""
    if session.victims is None:
        found: dict[tuple[str, str], list[Job]] = defaultdict(list)
        checks = session.evictable_checks
        for job in session.running_jobs():
            for check in checks:
                if not check(job):
                    break
            else:
                job.victim = True
                found[job.project, job.pool].append(job)
        session.victims_loaded = dict(found)
        session.victims = {key: deque(in_victim_order(session, jobs)) for key, jobs in found.items()}
    for jobs in session.victims.values():
        while jobs and jobs[0].pods is None:
            jobs.popleft()
    return session.victims


def in_victim_order(session: Session, jobs: Iterable[Job]) -> list[Job]:
    """``jobs`` sorted by the session's victim order."""
    fields = session.victim_fields
    if fields is None:
        return sorted(jobs, key=session.victim_key)
    # One stable sort per field, least significant first.
    ordered = list(jobs)
    for name, high_to_low in reversed(fields):
        ordered.sort(key=attrgetter(name), reverse=high_to_low)
    return ordered


def _keep_only_needed(
    statement: Statement,
    evicted: list[tuple[Job, tuple[PodAt, ...]]],
    holds: Callable[[], bool],
    relocate: bool,
    unreleased: dict[int, tuple[Job, tuple[PodAt, ...]]] | None = None,
) -> None:
    """Put back, where they were, the victims the job turned out not to need: the last chosen
    first, so the preferred victims (lowest priority, newest) are the ones that go. A victim
    whose capacity was never given back (``unreleased``, see ``_evict_then_place``) is only
    counted again; it is dropped from ``unreleased`` when it stays.

    Every rule ``holds`` states caps what queues use, so a state that holds holds for less too:
    a run of such victims is counted again at once, and one by one only if that fails."""
    unreleased = unreleased if unreleased is not None else {}
    position = len(evicted) - 1
    while position >= 0:
        run_end = position
        while position >= 0 and id(evicted[position][0]) in unreleased:
            position -= 1
        if run_end > position:
            _keep_run(statement, evicted[position + 1 : run_end + 1], holds, unreleased)
            continue
        victim, before = evicted[position]
        position -= 1
        mark = statement.checkpoint()
        if relocate:
            statement.unplace(victim)
        if statement.place_at(victim, before) and holds():
            continue
        statement.rollback(mark)


def _keep_run(
    statement: Statement,
    run: list[tuple[Job, tuple[PodAt, ...]]],
    holds: Callable[[], bool],
    unreleased: dict[int, tuple[Job, tuple[PodAt, ...]]],
) -> None:
    """Count the never-released victims of ``run`` as running again where the rule allows,
    the last first; see ``_keep_only_needed``."""
    mark = statement.checkpoint()
    statement.resume_many(run[::-1])
    if holds():
        for victim, _ in run:
            del unreleased[id(victim)]
        return
    statement.rollback(mark)
    for victim, before in reversed(run):
        mark = statement.checkpoint()
        statement.resume(victim, before)
        if holds():
            del unreleased[id(victim)]
        else:
            statement.rollback(mark)
