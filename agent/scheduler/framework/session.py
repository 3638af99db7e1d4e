"""The working state of one scheduling cycle, and the plugin callbacks actions consult.

Plugins register ordering, admission, victim and placement callbacks when the session opens;
actions only call the session's combined verdicts, so a policy change never touches an action.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Callable, Hashable, Iterable

from agent.scheduler.api import Node, Snapshot
from agent.scheduler.framework.jobs import Job, PodAt, estimate_milli, job_of, pod_at, pod_request
from agent.scheduler.framework.node_index import NodeIndex
from agent.scheduler.framework.queues import QueueTree
from agent.scheduler.framework.statement import Statement
from agent.scheduler.placement import MILLI, Device, NodeState, PodRequest, give_back, take
from agent.scheduler.placement.capacity import oversubscribed, running_needs, take_counted

Admission = Callable[[Job, int], "str | None"]
"""Why ``job`` may not hold ``extra`` more milli-GPUs than counted now, or None if it may."""

PLACEMENT = "placement"
"""A pending reason to be worded at the end of the cycle, from the capacity then left."""


class Session:
    """Nodes' free capacity, jobs, queue usage and plugin callbacks for one cycle."""

    def __init__(self, snapshot: Snapshot, plugins: Iterable[Callable[[Session], None]]) -> None:
        self.snapshot = snapshot
        self.now = snapshot.now
        self.tree = QueueTree(snapshot.queues)
        self.nodes: dict[str, NodeState] = {node.name: _node_state(node) for node in snapshot.nodes}
        self.allocated: dict[tuple[str, str], int] = defaultdict(int)
        self.non_preemptible: dict[tuple[str, str], int] = defaultdict(int)
        self.held: dict[tuple[str, str, str], int] = defaultdict(int)
        """CPU millicores and memory MiB held per (queue, pool, resource); resources "cpu",
        "memory", and "np-cpu", "np-memory" for non-preemptible work."""
        self.fair_share: dict[tuple[str, str], float] = {}
        self.usage_changes: list[tuple[tuple[str, ...], str]] = []
        """Every change of queues' usage after loading, in order, as the path of queues whose
        usage changed and the pool: orderings read it to know which keys to ask again."""
        self.evicted: dict[str, str] = {}
        self.placed: list[tuple[Job, tuple[PodAt, ...]]] = []
        """Every placement of a job listed as a victim, in order (see ``Statement.place``), even
        those undone since."""
        self.reasons: dict[str, str] = {}
        self.jobs: dict[str, Job] = {}
        self.victims: dict[tuple[str, str], deque[Job]] | None = None
        """Evictable running jobs by (project, pool); see ``solver.evictable_by_queue``."""
        self.victims_loaded: dict[tuple[str, str], list[Job]] = {}
        """The same jobs (evicted ones too) in the order loaded, which is their order in memory:
        a walk that only adds up what they hold goes faster so than in victim order."""
        self.index: NodeIndex | None = None
        self.changed_nodes: list[str] = []
        """Every node whose capacity changed after loading, in order (repeats kept), for
        indexes over nodes to catch up from (see :mod:`.first_fit`)."""
        self._load_jobs()
        self.pools: dict[str, list[NodeState]] = defaultdict(list)
        for state in self.nodes.values():
            self.pools[state.pool].append(state)
        self.index = NodeIndex(list(self.nodes.values()))
        # Callbacks, filled by plugins.
        self.job_key: Callable[[Job], tuple] = lambda job: (job.rank,)
        self.victim_key: Callable[[Job], tuple] = lambda job: (-job.rank,)
        self.victim_fields: tuple[tuple[str, bool], ...] | None = None
        """The order of ``victim_key`` as fields of a job, most significant first, each with
        whether it runs high to low, or None: a plugin that sets the key sets both. Victims are
        sorted field by field then, which costs a third less than comparing keys on a cluster's
        worth of them."""
        self.queue_key: Callable[[str, str], tuple] = lambda project, pool: ()
        """The order of (project, pool)'s queue, lowest served first; it may depend only on the
        usage of the queues on the project's path in that pool (see ``usage_changes``)."""
        self.admissions: list[Admission] = []
        self.reclaimer_checks: list[Admission] = []
        self.reclaim_victim_checks: list[Callable[[Job, Job], bool]] = []
        self.reclaimable: Callable[[str, str], float] = lambda project, pool: math.inf
        """Milli-GPUs a project may lose to reclaim on a pool now: a reclaim victim check passes
        only while the victim's project has lost less than this (its other queues may stop it
        sooner)."""
        self.reclaim_headroom: Callable[[Job, Job], list[tuple[tuple[str, str], float]] | None] | None = None
        """The reclaim victim checks (when there is one) as limits: the queues whose allocation
        falls as victims are stopped, each with the milli-GPUs it may lose while the victim stays
        eligible (None: it never is). Lets reclaim judge a run of victims without stopping them."""
        self.preempt_victim_checks: list[Callable[[Job, Job], bool]] = []
        self.evictable_checks: list[Callable[[Job], bool]] = [lambda job: job.preemptible]
        self.reason_notes: list[Callable[[Job], str | None]] = []
        """Extra context for a job that found no place (e.g. why it could not reclaim)."""
        self.min_available: Callable[[Job], int] = lambda job: job.workload.pods
        self.place_pod: Callable[[Job], tuple[NodeState, tuple[int, ...]] | None] = lambda job: None
        """Where one more pod of the job would go now (node and devices), or None."""
        for register in plugins:
            register(self)

    def _load_jobs(self) -> None:
        largest = defaultdict(int)
        for state in self.nodes.values():
            for device in state.devices:
                largest[state.pool] = max(largest[state.pool], device.memory_mib)
        # Each workload's place in name order, by its place in the snapshot.
        workloads = self.snapshot.workloads
        names = [workload.name for workload in workloads]
        ranks = [0] * len(names)
        for rank, at in enumerate(sorted(range(len(names)), key=names.__getitem__)):
            ranks[at] = rank
        # What running work holds, summed per (project, pool, preemptible) and added to every
        # queue above once at the end: the same totals as accounting job by job.
        totals: dict[tuple[str, str, bool], list[int]] = defaultdict(lambda: [0, 0, 0])
        running: list[Job] = []
        paths: dict[str, tuple[str, ...]] = {}
        for at, workload in enumerate(workloads):
            path = paths.get(workload.project)
            if path is None:
                self.tree.ensure(workload.project)
                path = paths[workload.project] = self.tree.path(workload.project)
            request = pod_request(workload)
            pods = workload.running
            if pods:
                started_at = pods[0].started_at if len(pods) == 1 else min(pod.started_at for pod in pods)
            else:
                started_at = self.now
            estimate = estimate_milli(workload, request, largest[workload.pool])
            job = self.jobs[workload.name] = job_of(workload, request, path, estimate, ranks[at], started_at)
            if pods:
                running.append(job)
        if not self._take_running_trusted(running):
            # Some pod breaks a rule or overfills its node: take them again one by one, checking
            # each, to say which.
            self.nodes = {node.name: _node_state(node) for node in self.snapshot.nodes}
            for job in running:
                job.pods = tuple(self._take_running(job, pod.node, pod.gpus) for pod in job.workload.running)
        for job in running:
            pods = job.original = job.pods  # type: ignore[assignment]
            held = job.held_milli = pods[0].milli if len(pods) == 1 else sum(pod.milli for pod in pods)
            total = totals[job.project, job.pool, job.preemptible]
            total[0] += held
            total[1] += job.request.cpu_milli * job.workload.pods
            total[2] += job.request.memory_mib * job.workload.pods
        for (project, pool, preemptible), (milli, cpu, memory) in totals.items():
            self._add_usage(self.tree.path(project), pool, preemptible, milli, cpu, memory)
        self.usage_changes.clear()

    def _take_running_trusted(self, running: list[Job]) -> bool:
        """Take what the running ``jobs`` hold, checking every pod alone (``running_needs``) but
        their room only once all is taken (``oversubscribed``): the snapshot's running work is
        almost always where the cluster says it is, and this is most of a large cycle's loading.
        Pods alike (node, devices, request) share one record and are taken at once. False if
        any check fails, with the nodes then partly taken."""
        nodes = self.nodes
        # (node, devices, request's id) -> [the pods' record, how many, request, needs, the
        # record alone as a job's pods]: a job of one pod shares that too.
        alike: dict[tuple[str, tuple[int, ...], int], list] = {}
        for job in running:
            request = job.request
            pods = []
            for pod in job.workload.running:
                key = (pod.node, pod.gpus, id(request))
                found = alike.get(key)
                if found is None:
                    node = nodes.get(pod.node)
                    needs = None if node is None else running_needs(node, request, pod.gpus)
                    if needs is None:
                        return False
                    record = _record(node, request, pod.gpus, needs)  # type: ignore[arg-type]
                    found = alike[key] = [record, 0, request, needs, (record,)]
                found[1] += 1
                pods.append(found)
            job.pods = pods[0][4] if len(pods) == 1 else tuple(entry[0] for entry in pods)
        for (name, devices, _), (_, count, request, needs, _) in alike.items():
            take_counted(nodes[name], request, devices, needs, count)
        return not any(oversubscribed(node) for node in nodes.values())

    def _take_running(self, job: Job, node_name: str, devices: tuple[int, ...]) -> PodAt:
        node = self.nodes.get(node_name)
        if node is None:
            raise ValueError(f"workload {job.name} runs on unknown node {node_name}")
        try:
            return self.take(job, node, devices)
        except ValueError as exc:
            raise ValueError(f"workload {job.name} cannot run where the snapshot says: {exc}") from exc

    def release(self) -> None:
        """Drop all the session holds. Its callbacks refer back to it, so without this only
        Python's cycle collector could free a cycle's state, walking all of it first; with it,
        reference counting frees it at once. The session is unusable after."""
        self.__dict__.clear()

    # -- capacity and accounting, used by statements ------------------------------------------

    def take(self, job: Job, node: NodeState, devices: tuple[int, ...]) -> PodAt:
        """Take one of ``job``'s pods from ``node`` on ``devices``."""
        pod = pod_at(node, job.request, devices)
        take(node, job.request, devices)
        if self.index is not None:
            self.index.update(node)
            self.changed_nodes.append(node.name)
        return pod

    def give(self, job: Job, pod: PodAt) -> None:
        """Give one of ``job``'s pods back to its node."""
        node = self.nodes[pod.node]
        give_back(node, job.request, pod.devices)
        if self.index is not None:
            self.index.update(node)
            self.changed_nodes.append(node.name)

    def account(self, job: Job, pods: tuple[PodAt, ...] | None) -> None:
        """Set where ``job`` runs (None: nowhere) and move its milli-GPUs in every queue above it."""
        milli, cpu, memory = self._set_pods(job, pods)
        if milli or cpu or memory:
            self._add_usage(job.path, job.pool, job.preemptible, milli, cpu, memory)

    def account_many(self, changes: Iterable[tuple[Job, tuple[PodAt, ...] | None]]) -> None:
        """``account`` for each (job, pods) in turn, adding up the queues' usage once."""
        # (path, pool, preemptible) -> change of [milli-GPUs, CPU, memory].
        moved: dict[tuple[tuple[str, ...], str, bool], list[int]] = {}
        for job, pods in changes:
            milli, cpu, memory = self._set_pods(job, pods)
            if milli or cpu or memory:
                change = moved.setdefault((job.path, job.pool, job.preemptible), [0, 0, 0])
                change[0] += milli
                change[1] += cpu
                change[2] += memory
        for (path, pool, preemptible), (milli, cpu, memory) in moved.items():
            self._add_usage(path, pool, preemptible, milli, cpu, memory)

    @staticmethod
    def _set_pods(job: Job, pods: tuple[PodAt, ...] | None) -> tuple[int, int, int]:
        """Set ``job``'s pods; the change of the milli-GPUs, CPU and memory its queues count."""
        was_running = job.pods is not None
        before = job.held_milli if was_running else 0
        job.pods = pods
        after = job.held_milli = (pods[0].milli if len(pods) == 1 else sum(p.milli for p in pods)) if pods else 0
        request = job.request
        # CPU and memory move only when the job starts or stops, not when it is moved.
        if was_running == (pods is not None) or not (request.cpu_milli or request.memory_mib):
            return after - before, 0, 0
        sign = job.workload.pods if pods is not None else -job.workload.pods
        return after - before, sign * request.cpu_milli, sign * request.memory_mib

    def _add_usage(
        self, path: tuple[str, ...], pool: str, preemptible: bool, milli: int, cpu: int, memory: int
    ) -> None:
        allocated, held = self.allocated, self.held
        self.usage_changes.append((path, pool))
        for queue in path:
            if milli:
                allocated[queue, pool] += milli
                if not preemptible:
                    self.non_preemptible[queue, pool] += milli
            if cpu or memory:
                held[queue, pool, "cpu"] += cpu
                held[queue, pool, "memory"] += memory
                if not preemptible:
                    held[queue, pool, "np-cpu"] += cpu
                    held[queue, pool, "np-memory"] += memory

    def statement(self) -> Statement:
        """A new statement over this session."""
        return Statement(self)

    def nodes_for(self, job: Job) -> list[NodeState]:
        """The nodes of ``job``'s pool, in snapshot order."""
        return self.pools.get(job.pool, [])

    def best_node(self, pool: str, ranked: Hashable, score: Callable[[NodeState], float | None]) -> NodeState | None:
        """The node of ``pool`` scoring highest, ties to the earlier one (see ``NodeIndex.best``)."""
        assert self.index is not None
        return self.index.best(pool, ranked, score)

    def node_groups(self, pool: str, leaving_out: Iterable[str] = ()) -> list[tuple[NodeState, int]]:
        """The nodes of ``pool`` by capacity state: one node of each and how many are in it,
        leaving out those named (see ``NodeIndex.groups``)."""
        assert self.index is not None
        return self.index.groups(pool, leaving_out)

    def free_milli(self, pool: str) -> int:
        """Free milli-GPUs in ``pool`` now."""
        assert self.index is not None
        return self.index.free_milli(pool)

    # -- combined plugin verdicts ------------------------------------------------------------

    def admit(self, job: Job, extra: int | None = None) -> str | None:
        """Why ``job`` may not run (quota, limit), or None. ``extra`` defaults to its request if
        it is pending, 0 if it already runs."""
        if extra is None:
            extra = 0 if job.pods is not None else job.milli
        for check in self.admissions:
            reason = check(job, extra)
            if reason is not None:
                return reason
        return None

    def may_reclaim(self, job: Job, extra: int | None = None) -> bool:
        """Whether ``job`` may take resources back from other queues."""
        if extra is None:
            extra = 0 if job.pods is not None else job.milli
        return all(check(job, extra) is None for check in self.reclaimer_checks)

    def evictable(self, job: Job) -> bool:
        """Whether ``job`` runs and may be evicted at all (preemptible, old enough, ...)."""
        if job.pods is None:
            return False
        # The checks do not change within a cycle, and a listed victim has passed them.
        return job.victim or all(check(job) for check in self.evictable_checks)

    def pending_jobs(self) -> list[Job]:
        """Jobs not running now, in snapshot order."""
        return [job for job in self.jobs.values() if job.pods is None]

    def running_jobs(self) -> list[Job]:
        """Jobs running now, in snapshot order."""
        return [job for job in self.jobs.values() if job.pods is not None]


def _record(node: NodeState, request: PodRequest, devices: tuple[int, ...], needs: list[tuple[int, int]]) -> PodAt:
    """The record of a pod of ``request`` that took ``needs`` on ``devices`` of ``node``."""
    if not needs:
        return PodAt(node.name, (), 0, 0.0)
    if request.gpu_memory_mib is None:
        portion = request.milli / MILLI
    else:
        portion = request.gpu_memory_mib / node.devices[devices[-1]].memory_mib
    return PodAt(node.name, devices, sum(milli for milli, _ in needs), portion, tuple(needs))


def _node_state(node: Node) -> NodeState:
    devices = [
        Device(
            index=i,
            memory_mib=node.gpu_memory_mib,
            free_memory_mib=node.gpu_memory_mib,
            healthy=i not in node.unhealthy,
        )
        for i in range(node.gpus)
    ]
    return NodeState(
        name=node.name,
        devices=devices,
        pool=node.pool,
        gpu_model=node.gpu_model,
        cpu_free_milli=node.cpu_milli,
        memory_free_mib=node.memory_mib,
        cpu_total_milli=node.cpu_milli,
        memory_total_mib=node.memory_mib,
    )
