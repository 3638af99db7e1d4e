"""The reconciler runs the full scheduler over real local processes: fair-share reclaim across
projects, priority preemption inside one, non-preemptible work, GPU fractions and gangs.

Devices are simulated (there is no GPU here); the processes, their evictions and restarts are real.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.protocol import (
    DesiredStateMessage,
    GpuDevice,
    Inventory,
    NodeInventory,
    PoolQuota,
    QueueSpec,
    ResourceQuota,
    WorkloadPhase,
    WorkloadSpec,
    WorkloadStatus,
)
from agent.reconciler import Reconciler
from agent.runtime.local.runtime import LocalRuntime
from tests.agent.conftest import make_spec
from tests.polling import wait_until

LONG = "sleep 30"


def spec(workload_id: str, command: str, **fields: object) -> WorkloadSpec:
    """A workload named as its id, so the scheduler's reasons name it so."""
    return make_spec(workload_id, command=command, name=workload_id, **fields)


def simulated_node(gpus: int, memory_mib: int = 81920) -> Inventory:
    devices = [
        GpuDevice(index=i, uuid=f"SIM-GPU-{i}", model="Simulated", memory_mib=memory_mib, simulated=True)
        for i in range(gpus)
    ]
    return Inventory(nodes=[NodeInventory(name="node-a", simulated=True, gpus=devices)])


def queues(**deserved: float) -> list[QueueSpec]:
    """One department holding a project per keyword, each deserving that many GPUs of pool
    default (and the department all of them)."""

    def quota(gpus: float) -> list[PoolQuota]:
        return [PoolQuota(node_pool="default", gpu=ResourceQuota(deserved=gpus))]

    projects = [
        QueueSpec(id=f"p-{name}", name=name, kind="project", parent="d", pools=quota(gpus))
        for name, gpus in deserved.items()
    ]
    return [QueueSpec(id="d", name="research", kind="department", pools=quota(sum(deserved.values()))), *projects]


class Agent:
    """A reconciler over a local runtime, ticked by the test as the agent's loop would."""

    def __init__(self, state_dir: Path, gpus: int, queue_specs: list[QueueSpec] | None = None) -> None:
        self.runtime = LocalRuntime(state_dir)
        self.reconciler = Reconciler(self.runtime, simulated_node(gpus), stop_grace_seconds=1.0)
        self.reconciler.apply(DesiredStateMessage(full=True, queues=queue_specs or []))
        self.statuses: dict[str, WorkloadStatus] = {}

    def want(self, *specs: WorkloadSpec) -> None:
        self.reconciler.apply(DesiredStateMessage(full=False, workloads=list(specs)))

    def tick(self) -> dict[str, WorkloadStatus]:
        self.statuses = self.reconciler.tick()
        return self.statuses

    def until(self, what: str, **phases: WorkloadPhase) -> dict[str, WorkloadStatus]:
        """Tick until every named workload is in the given phase."""
        return wait_until(
            lambda: (s := self.tick()) and all(w in s and s[w].phase == p for w, p in phases.items()) and s,
            what=what,
        )

    def log(self, workload_id: str) -> str:
        return (self.runtime.workload_dir(workload_id) / "stdout.log").read_text()


def group_alive(pid_file: Path) -> bool:
    """Whether any process of the group the workload's shell leads is still alive (zombies
    waiting for a reaper do not count)."""
    group = pid_file.read_text().strip()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[2] == group and fields[0] not in ("Z", "X"):
            return True
    return False


def test_an_over_quota_project_gives_back_a_gpu_when_an_under_quota_project_needs_it(
    state_dir: Path, tmp_path: Path
) -> None:
    agent = Agent(state_dir, gpus=2, queue_specs=queues(vision=1, speech=1))
    pids = {name: tmp_path / f"{name}.pid" for name in ("v1", "v2")}
    agent.want(*(spec(n, f"echo $$ > {pids[n]}; {LONG} & wait", project="vision", gpu_devices=1) for n in pids))
    agent.until("vision's two jobs to run", v1=WorkloadPhase.RUNNING, v2=WorkloadPhase.RUNNING)
    wait_until(lambda: all(p.exists() for p in pids.values()), what="both jobs to write their pid")

    # A delta without queues: the agent keeps the queues it last received.
    agent.want(spec("s1", LONG, project="speech", gpu_devices=1))
    statuses = agent.until("speech's job to run", s1=WorkloadPhase.RUNNING)

    (evicted,) = [w for w in ("v1", "v2") if statuses[w].phase == WorkloadPhase.PENDING]
    (kept,) = {"v1", "v2"} - {evicted}
    assert statuses[kept].phase == WorkloadPhase.RUNNING
    assert statuses[evicted].message.startswith("Preempted: reclaimed by project speech for s1")
    assert statuses[evicted].node is None and statuses[evicted].gpus == []
    assert not group_alive(pids[evicted]), "the evicted job's whole process tree is stopped"
    assert group_alive(pids[kept])
    assert evicted in agent.reconciler.desired, "an evicted workload stays desired: it is requeued"


def test_a_higher_priority_job_preempts_a_lower_one_in_its_project_which_later_runs_again(
    state_dir: Path, tmp_path: Path
) -> None:
    agent = Agent(state_dir, gpus=1, queue_specs=queues(vision=1))
    release = tmp_path / "release"
    agent.want(spec("low", f"echo run; {LONG}", project="vision", gpu_devices=1))
    agent.until("the low-priority job to run", low=WorkloadPhase.RUNNING)
    wait_until(lambda: agent.log("low") == "run\n", what="the first run to log")

    high = f"i=0; while [ ! -e {release} ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done"
    agent.want(spec("high", high, project="vision", gpu_devices=1, priority=100))
    statuses = agent.until("the high-priority job to run", high=WorkloadPhase.RUNNING, low=WorkloadPhase.PENDING)
    assert statuses["low"].message.startswith("Preempted: preempted by high (priority 100) in project vision")

    release.touch()
    statuses = agent.until("the low-priority job to run again", high=WorkloadPhase.COMPLETED, low=WorkloadPhase.RUNNING)

    assert statuses["low"].gpus == ["SIM-GPU-0"]
    wait_until(lambda: agent.log("low") == "run\nrun\n", what="the second run to append to the same log")


def test_a_non_preemptible_job_is_never_evicted(state_dir: Path) -> None:
    agent = Agent(state_dir, gpus=1, queue_specs=queues(vision=1))
    agent.want(spec("steady", LONG, project="vision", gpu_devices=1, preemptible=False))
    agent.until("the non-preemptible job to run", steady=WorkloadPhase.RUNNING)

    agent.want(spec("urgent", LONG, project="vision", gpu_devices=1, priority=125, preemptible=True))
    for _ in range(10):
        statuses = agent.tick()
        assert statuses["steady"].phase == WorkloadPhase.RUNNING
        assert statuses["urgent"].phase == WorkloadPhase.PENDING

    assert statuses["urgent"].message.startswith("waiting for 1 GPU")


def test_two_half_gpu_workloads_share_one_device_and_a_third_waits(state_dir: Path) -> None:
    agent = Agent(state_dir, gpus=1, queue_specs=queues(vision=1))
    show = 'echo "$CUDA_VISIBLE_DEVICES $TESSERA_GPU_PORTION $TESSERA_GPU_MEMORY_LIMIT_MIB"; sleep 30'
    agent.want(*(spec(w, show, project="vision", gpu_devices=1, gpu_portion=0.5) for w in ("h1", "h2")))
    statuses = agent.until("both halves to run", h1=WorkloadPhase.RUNNING, h2=WorkloadPhase.RUNNING)

    assert statuses["h1"].gpus == statuses["h2"].gpus == ["SIM-GPU-0"]
    for workload in ("h1", "h2"):
        wait_until(lambda w=workload: agent.log(w) == "0 0.5 40960\n", what=f"{workload} to print its share")

    agent.want(spec("h3", show, project="vision", gpu_devices=1, gpu_portion=0.5))
    for _ in range(5):
        statuses = agent.tick()
        assert statuses["h3"].phase == WorkloadPhase.PENDING, "a device is never oversubscribed"


def test_a_gang_starts_all_its_workers_or_none(state_dir: Path, tmp_path: Path) -> None:
    agent = Agent(state_dir, gpus=2, queue_specs=queues(vision=2))
    release = tmp_path / "release"
    blocker = f"i=0; while [ ! -e {release} ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done"
    agent.want(spec("blocker", blocker, project="vision", gpu_devices=1, preemptible=False))
    agent.until("the blocker to run", blocker=WorkloadPhase.RUNNING)
    show = 'echo "$RANK/$WORLD_SIZE local $LOCAL_RANK gpu $CUDA_VISIBLE_DEVICES at $MASTER_ADDR:$MASTER_PORT"'
    gang = spec("gang", show, project="vision", gpu_devices=1, workers=2, workload_type="distributed")
    agent.want(gang)

    for _ in range(5):
        statuses = agent.tick()
        assert statuses["gang"].phase == WorkloadPhase.PENDING, "half a gang never starts"
    assert "gang" not in agent.runtime.known()

    release.touch()
    agent.until("the gang to complete", gang=WorkloadPhase.COMPLETED)

    lines = sorted(agent.log("gang").splitlines())
    assert [line.split(" gpu ")[0] for line in lines] == ["[worker 0] 0/2 local 0", "[worker 1] 1/2 local 1"]
    assert {line.split(" gpu ")[1].split(" at ")[0] for line in lines} == {"0", "1"}, "each worker has its own GPU"
    (rendezvous,) = {line.split(" at ")[1] for line in lines}
    host, port = rendezvous.split(":")
    assert host == "127.0.0.1" and port.isdigit()


def test_a_failing_worker_fails_the_whole_gang_and_stops_the_others(state_dir: Path, tmp_path: Path) -> None:
    agent = Agent(state_dir, gpus=2, queue_specs=queues(vision=2))
    pid = tmp_path / "worker0.pid"
    command = f'if [ "$RANK" = 1 ]; then exit 3; fi; echo $$ > {pid}; {LONG} & wait'
    agent.want(spec("gang", command, project="vision", gpu_devices=1, workers=2))

    statuses = agent.until("the gang to fail", gang=WorkloadPhase.FAILED)

    assert statuses["gang"].message == "worker 1 failed: exit code 3"
    assert statuses["gang"].exit_code == 3
    assert not pid.exists() or not group_alive(pid), "worker 0 is stopped with the gang"


def test_a_preempted_gang_is_evicted_whole_and_restarts_whole(state_dir: Path, tmp_path: Path) -> None:
    agent = Agent(state_dir, gpus=2, queue_specs=queues(vision=2))
    release = tmp_path / "release"
    agent.want(spec("gang", f"echo rank $RANK; {LONG}", project="vision", gpu_devices=1, workers=2))
    agent.until("the gang to run", gang=WorkloadPhase.RUNNING)
    wait_until(lambda: len(agent.log("gang").splitlines()) == 2, what="both workers to log")

    wait = f"i=0; while [ ! -e {release} ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done"
    agent.want(spec("big", wait, project="vision", gpu_devices=2, priority=100))
    statuses = agent.until("the big job to take both GPUs", big=WorkloadPhase.RUNNING, gang=WorkloadPhase.PENDING)
    assert statuses["gang"].message.startswith("Preempted: preempted by big")

    release.touch()
    agent.until("the gang to run again", big=WorkloadPhase.COMPLETED, gang=WorkloadPhase.RUNNING)
    wait_until(
        lambda: sorted(agent.log("gang").splitlines()) == ["[worker 0] rank 0"] * 2 + ["[worker 1] rank 1"] * 2,
        what="both workers of both runs to log",
    )


@pytest.mark.parametrize("full", [True, False])
def test_a_requeued_workload_the_control_plane_drops_is_stopped_for_good(state_dir: Path, full: bool) -> None:
    agent = Agent(state_dir, gpus=1, queue_specs=queues(vision=1))
    agent.want(spec("low", LONG, project="vision", gpu_devices=1))
    agent.until("the low job to run", low=WorkloadPhase.RUNNING)
    high = spec("high", LONG, project="vision", gpu_devices=1, priority=100)
    agent.want(high)
    agent.until("the low job to be preempted", low=WorkloadPhase.PENDING, high=WorkloadPhase.RUNNING)

    if full:
        agent.reconciler.apply(DesiredStateMessage(full=True, workloads=[high]))
    else:
        agent.reconciler.apply(DesiredStateMessage(full=False, removed=["low"]))
    statuses = agent.until("the dropped job to end", low=WorkloadPhase.STOPPED)

    assert not statuses["low"].message.startswith("Preempted")


def test_nothing_new_starts_on_a_device_cordoned_after_the_agent_started(state_dir: Path) -> None:
    agent = Agent(state_dir, gpus=2, queue_specs=queues(vision=2))
    agent.want(spec("first", LONG, project="vision", gpu_devices=1))
    (held,) = agent.until("the first job to run", first=WorkloadPhase.RUNNING)["first"].gpus
    (node,) = agent.reconciler.inventory.nodes
    gpus = [gpu.model_copy(update={"cordoned": gpu.uuid != held}) for gpu in node.gpus]

    agent.reconciler.set_inventory(Inventory(nodes=[node.model_copy(update={"gpus": gpus})]))
    agent.want(spec("second", LONG, project="vision", gpu_devices=1))

    for _ in range(5):
        statuses = agent.tick()
        assert statuses["first"].phase == WorkloadPhase.RUNNING
        assert statuses["second"].phase == WorkloadPhase.PENDING
