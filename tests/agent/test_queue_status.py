"""The reconciler works out each queue's fair share and allocation per node pool, for the control
plane to show beside the quotas: the scheduler's own figures, by water-filling.

Devices are simulated (there is no GPU here); the processes are real.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.connection.scripted import DEFAULT_TOLERATED, Close, Deliver, Expect, ScriptedTransport
from agent.protocol import (
    DesiredStateMessage,
    PoolQuota,
    QueuePoolStatus,
    QueueSpec,
    ResourceQuota,
    WorkloadPhase,
)
from tests.agent.agent_harness import desired, play, status_is, welcome
from tests.agent.test_reconciler_scheduling import LONG, Agent, spec
from tests.polling import wait_until


def project(queue_id: str, name: str, deserved: float, weight: float) -> QueueSpec:
    quota = ResourceQuota(deserved=deserved, over_quota_weight=weight)
    return QueueSpec(
        id=queue_id, name=name, kind="project", parent="1", pools=[PoolQuota(node_pool="default", gpu=quota)]
    )


# Department 1 deserves the cluster's 4 GPUs. Its projects 1 and 2 each deserve 1; what is left
# over goes 3 to 1 by their over-quota weights. Department and project ids may be equal: the
# control plane numbers them apart.
DEPARTMENT = QueueSpec(
    id="1", name="research", kind="department", pools=[PoolQuota(node_pool="default", gpu=ResourceQuota(deserved=4))]
)
VISION = project("1", "vision", deserved=1, weight=3)
SPEECH = project("2", "speech", deserved=1, weight=1)


def figures(agent: Agent) -> dict[tuple[str, str], QueuePoolStatus]:
    return {(entry.kind, entry.queue_id): entry for entry in agent.reconciler.queue_status}


def test_two_projects_wanting_more_than_the_cluster_share_it_by_deserved_quota_then_weight(state_dir: Path) -> None:
    agent = Agent(state_dir, gpus=4, queue_specs=[DEPARTMENT, VISION, SPEECH])
    agent.want(*(spec(f"v{i}", LONG, project="vision", gpu_devices=1) for i in range(4)))
    agent.want(*(spec(f"s{i}", LONG, project="speech", gpu_devices=1) for i in range(4)))
    wait_until(lambda: sum(s.phase == WorkloadPhase.RUNNING for s in agent.tick().values()) == 4, what="4 to run")

    shares = figures(agent)
    # Each project first gets its deserved 1 GPU; the other 2 are poured 3:1 by weight.
    assert shares["project", "1"].fair_share_gpus == 2.5
    assert shares["project", "2"].fair_share_gpus == 1.5
    assert shares["department", "1"].fair_share_gpus == 4
    assert {entry.node_pool for entry in shares.values()} == {"default"}

    running = {
        name: sum(s.phase == WorkloadPhase.RUNNING for w, s in agent.statuses.items() if w[0] == name) for name in "vs"
    }
    assert shares["project", "1"].allocated_gpus == running["v"]
    assert shares["project", "2"].allocated_gpus == running["s"]
    assert shares["department", "1"].allocated_gpus == 4
    assert shares["project", "1"].over_quota is (running["v"] > 1)
    assert shares["project", "2"].over_quota is (running["s"] > 1)
    assert shares["department", "1"].over_quota is False, "it holds exactly its deserved quota"


def test_with_nothing_waiting_the_figures_follow_work_that_ends_and_quotas_that_change(
    state_dir: Path, tmp_path: Path
) -> None:
    agent = Agent(state_dir, gpus=4, queue_specs=[DEPARTMENT, VISION, SPEECH])
    release = tmp_path / "release"
    agent.want(spec("v0", f"while [ ! -e {release} ]; do sleep 0.05; done", project="vision", gpu_devices=2))
    agent.until("vision's job to run", v0=WorkloadPhase.RUNNING)
    agent.tick()
    assert figures(agent)["project", "1"].fair_share_gpus == 2, "its demand, all within what is free"
    assert figures(agent)["project", "1"].allocated_gpus == 2
    assert figures(agent)["project", "1"].over_quota is True
    assert figures(agent)["project", "2"].fair_share_gpus == 0, "nothing asked, nothing shared"

    wider = project("1", "vision", deserved=3, weight=3)
    agent.reconciler.apply(DesiredStateMessage(full=False, queues=[DEPARTMENT, wider, SPEECH]))
    agent.tick()
    assert figures(agent)["project", "1"].over_quota is False, "2 GPUs held are within 3 deserved"

    release.touch()
    agent.until("vision's job to complete", v0=WorkloadPhase.COMPLETED)
    agent.tick()
    assert figures(agent)["project", "1"].allocated_gpus == 0
    assert figures(agent)["project", "1"].fair_share_gpus == 0


def test_the_agent_sends_the_figures_when_they_change_and_once_more_on_a_new_connection(state_dir: Path) -> None:
    # Project 1 asks for 2 GPUs of the 4: its fair share is its demand, 2.
    work = DesiredStateMessage(
        full=True, queues=[DEPARTMENT, VISION, SPEECH], workloads=[spec("v0", LONG, project="vision", gpu_devices=2)]
    )

    def vision_shares(share: float) -> Callable[[Any], bool]:
        return lambda m: any(e.queue_id == "1" and e.kind == "project" and e.fair_share_gpus == share for e in m.queues)

    heartbeats = [Expect("heartbeat") for _ in range(5)]
    first = ScriptedTransport(
        [
            Expect("hello"),
            Deliver(welcome()),
            Deliver(work),
            status_is("v0", WorkloadPhase.RUNNING),
            Expect("queue_status", vision_shares(2), "vision's fair share 2"),
            *heartbeats,  # several ticks pass: the same figures are not sent again
            Close(),
        ],
        tolerate=DEFAULT_TOLERATED | {"metrics"},
    )
    second = ScriptedTransport(
        [
            Expect("hello"),
            Deliver(welcome()),
            Deliver(work),
            Expect("queue_status", vision_shares(2), "the same figures again, for the new connection"),
            Deliver(desired(full=False, removed=["v0"]).message),
            Expect("queue_status", vision_shares(0), "vision's work is gone, and its fair share with it"),
        ],
        tolerate=DEFAULT_TOLERATED | {"metrics"},
    )

    play(state_dir, first, second, gpus=4)

    assert len(first.sent_of_type("queue_status")) == 1
    (report, *_) = first.sent_of_type("queue_status")
    department = next(e for e in report.queues if e.kind == "department")
    assert (department.queue_id, department.node_pool, department.allocated_gpus) == ("1", "default", 2)
