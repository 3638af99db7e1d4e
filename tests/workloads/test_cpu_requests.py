"""Trainings asking for CPU cores and memory per pod (``cpuCoreRequest``, ``cpuMemoryRequest``):
validated, stored, shown as Run:ai shows them and carried in the agent's WorkloadSpec; an agent
older than CPU requests gets the workload without them, as it ran it before."""

import pytest

from tests.workloads.test_gpu_requests import compute
from tests.workloads.test_training_api import post, project  # noqa: F401  (fixture)
from workloads import services
from workloads.models import Workload

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "fields, stored, shown",
    [
        ({"cpuCoreRequest": 0.5, "cpuMemoryRequest": "2G"}, (500, 1908), ({"request": 0.5}, {"request": "1908Mi"})),
        ({"cpuCoreRequest": 4, "gpuDevicesRequest": 1}, (4000, None), ({"request": 4.0}, None)),
        ({"cpuMemoryRequest": "512Mi"}, (None, 512), (None, {"request": "512Mi"})),
        ({"cpuCoreRequest": 0}, (None, None), (None, None)),
    ],
)
def test_cpu_and_memory_requests_are_stored_shown_and_sent(api, project, fields, stored, shown):  # noqa: F811
    response = post(api, compute(project, **fields))

    assert response.status_code == 202, response.content
    workload = Workload.objects.get()
    assert (workload.cpu_milli, workload.memory_mib) == stored
    spec = services.workload_spec(workload)
    assert (spec.cpu_milli, spec.memory_mib) == stored
    requested = api.get(f"/api/v1/workloads/{workload.pk}").json()["podsRequestedResources"]
    assert (requested.get("cpu"), requested.get("memory")) == shown


def test_a_distributed_trainings_whole_request_counts_every_worker(api, project):  # noqa: F811
    body = compute(project, cpuCoreRequest=1.5, cpuMemoryRequest="1Gi")
    body["spec"]["numWorkers"] = 3
    response = api.post("/api/v1/workloads/distributed", body, content_type="application/json")

    assert response.status_code == 202, response.content
    shown = api.get(f"/api/v1/workloads/{response.json()['workloadId']}").json()
    assert shown["workloadRequestedResources"]["cpu"] == {"request": 4.5}
    assert shown["workloadRequestedResources"]["memory"] == {"request": "3072Mi"}


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"cpuCoreRequest": -1}, "cpuCoreRequest"),
        ({"cpuCoreRequest": "2"}, "cpuCoreRequest"),
        ({"cpuCoreRequest": 0.0001}, "cpuCoreRequest"),
        ({"cpuMemoryRequest": "lots"}, "cpuMemoryRequest"),
        ({"cpuMemoryRequest": 512}, "cpuMemoryRequest"),
    ],
)
def test_bad_cpu_requests_are_refused_naming_the_field(api, project, fields, field):  # noqa: F811
    response = post(api, compute(project, **fields))

    assert response.status_code == 400, response.content
    assert response.json()["message"].startswith(f"spec.compute.{field}:"), response.json()
    assert not Workload.objects.exists()


def test_an_agent_older_than_cpu_requests_gets_the_workload_without_them(api, project):  # noqa: F811
    post(api, compute(project, cpuCoreRequest=2, cpuMemoryRequest="1Gi"))
    (spec,) = services.desired_specs(project.cluster)

    (older,) = services.as_understood([spec], {"queues", "workload_types", "node_pools", "tool_ports"})
    (today,) = services.as_understood([spec], {"queues", "workload_types", "node_pools", "tool_ports", "cpu_requests"})

    assert (older.cpu_milli, older.memory_mib) == (None, None)
    assert (today.cpu_milli, today.memory_mib) == (2000, 1024)
