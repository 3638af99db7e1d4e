"""CPU requests with a real agent: the agent reports the CPU this host gives it, and a workload
asking for more CPU than that waits, saying so, while one within it runs."""

import os

import pytest

from tests.conftest import wait_until
from tests.e2e.conftest import wait_for_phase
from tests.e2e.test_agent_scheduling import submit, workload

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_workload_asking_for_more_cpu_than_the_node_has_waits_and_one_within_it_runs(http, cluster, agent):
    project = str(cluster[2].pk)
    cores = len(os.sched_getaffinity(0))  # what the agent, started from this process, reports
    agent.start()

    too_big = submit(http, project, "too-big", "true", compute={"cpuCoreRequest": cores + 1})
    fits = submit(http, project, "fits", "true", compute={"cpuCoreRequest": cores, "cpuMemoryRequest": "64Mi"})

    assert wait_for_phase(http, fits, {"Completed", "Failed"})["phase"] == "Completed", agent.log()
    waiting = wait_until(
        lambda: (
            (body := workload(http, too_big))["phaseMessage"] not in ("", "waiting for the cluster's agent") and body
        ),
        what="the agent to say why the big one waits",
    )
    assert waiting["phase"] == "Pending"
    assert waiting["phaseMessage"].startswith(f"waiting for {(cores + 1) * 1000} CPU millicores"), waiting
