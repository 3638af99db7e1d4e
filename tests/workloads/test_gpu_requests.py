"""Trainings asking for GPU fractions, a priority class or a preemptibility: validated, stored,
shown as Run:ai shows them, carried in the agent's WorkloadSpec, and held back (Pending, with the
reason) from agents that do not run fractions, rather than run without them."""

import pytest

from agent.protocol import HelloMessage, WorkloadSpec, dump_message, parse_message
from clusters.consumers import features_of
from tests.workloads.test_training_api import post, project, valid_request  # noqa: F401  (fixture)
from workloads import services
from workloads.models import Workload

pytestmark = pytest.mark.django_db


def compute(project, **fields):  # noqa: F811  (the fixture's name)
    body = valid_request(project)
    body["spec"]["compute"] = fields
    return body


@pytest.mark.parametrize(
    "fields, stored",
    [
        ({"gpuPortionRequest": 0.5}, (1, 0.5, None, None)),
        ({"gpuRequestType": "portion", "gpuPortionRequest": 0.25, "gpuPortionLimit": 0.75, "gpuDevicesRequest": 2},
         (2, 0.25, 0.75, None)),
        ({"gpuRequestType": "memory", "gpuMemoryRequest": "20Gi"}, (1, None, None, 20480)),
        ({"gpuMemoryRequest": "1G", "gpuMemoryLimit": "2G"}, (1, None, None, 954)),
    ],
)  # fmt: skip
def test_fractions_are_stored_and_the_workload_waits_with_its_reason(api, project, fields, stored):  # noqa: F811
    response = post(api, compute(project, **fields))
    assert response.status_code == 202, response.content
    workload = Workload.objects.get()
    assert (workload.gpu_devices, workload.gpu_portion, workload.gpu_portion_limit, workload.gpu_memory_mib) == stored
    shown = api.get(f"/api/v1/workloads/{workload.pk}").json()
    assert shown["phase"] == "Pending" and "GPU fractions" in shown["phaseMessage"]
    assert shown["workloadRequestedResources"]["gpuRequestType"] == fields.get(
        "gpuRequestType", "memory" if "gpuMemoryRequest" in fields else "portion"
    )


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"gpuPortionRequest": 0}, "gpuPortionRequest"),
        ({"gpuPortionRequest": "0.5"}, "gpuPortionRequest"),
        ({"gpuPortionRequest": 0.5, "gpuPortionLimit": 0.25}, "gpuPortionLimit"),
        ({"gpuPortionLimit": 0.5}, "gpuPortionLimit"),
        ({"gpuPortionRequest": 0.5, "gpuMemoryRequest": "4G"}, "gpuMemoryRequest"),
        ({"gpuMemoryRequest": "lots"}, "gpuMemoryRequest"),
        ({"gpuMemoryRequest": "4G", "gpuMemoryLimit": "2G"}, "gpuMemoryLimit"),
        ({"gpuRequestType": "memory", "gpuPortionRequest": 0.5}, "gpuRequestType"),
        ({"gpuPortionRequest": 0.5, "gpuDevicesRequest": 0}, "gpuDevicesRequest"),
        ({"migProfile": "1g.10gb"}, "migProfile"),
    ],
)
def test_bad_gpu_requests_are_refused_naming_the_field(api, project, fields, field):  # noqa: F811
    response = post(api, compute(project, **fields))
    assert response.status_code == 400, response.content
    assert response.json()["message"].startswith(f"spec.compute.{field}:"), response.json()
    assert not Workload.objects.exists()


@pytest.mark.parametrize(
    "spec, expected",
    [
        ({}, ("train", 50, True)),
        ({"priorityClass": "build"}, ("build", 100, False)),
        ({"priorityClass": "inference", "preemptibility": "preemptible"}, ("inference", 125, True)),
        ({"preemptibility": "non-preemptible"}, ("train", 50, False)),
    ],
)
def test_priority_class_and_preemptibility(api, project, spec, expected):  # noqa: F811
    body = valid_request(project)
    body["spec"].update(spec)
    assert post(api, body).status_code == 202
    workload = Workload.objects.get()
    assert (workload.priority_class, workload.priority, workload.preemptible) == expected
    sent = services.workload_spec(workload)
    assert (sent.priority_class, sent.priority, sent.preemptible) == expected
    shown = api.get(f"/api/v1/workloads/{workload.pk}").json()
    assert (shown["priorityClassName"], shown["preemptible"]) == (expected[0], expected[2])


def test_bad_priority_class_is_refused(api, project):  # noqa: F811
    body = valid_request(project)
    body["spec"]["priorityClass"] = "urgent"
    response = post(api, body)
    assert response.status_code == 400 and response.json()["message"].startswith("spec.priorityClass:")


def test_a_fractional_workload_is_held_back_from_agents_that_run_whole_gpus(api, project):  # noqa: F811
    post(api, compute(project, gpuPortionRequest=0.5))
    post(api, valid_request(project, name="whole"))
    specs = services.desired_specs(project.cluster)
    assert {s.name: s.needs() for s in specs} == {"train-1": {"gpu_fractions"}, "whole": set()}
    # An older agent, as the control plane receives its hello: it does not declare fractions.
    older = HelloMessage(seq=1, agent_version="0.1.0", inventory={"nodes": []}, features=["queues", "workload_types"])
    assert [
        s.name for s in services.sendable(specs, set(features_of(parse_message(dump_message(older), "agent"))))
    ] == ["whole"]
    # Today's agent declares them and gets both.
    today = parse_message(dump_message(HelloMessage(seq=1, agent_version="0.2.0", inventory={"nodes": []})), "agent")
    assert "gpu_fractions" in features_of(today)
    assert {s.name for s in services.sendable(specs, set(features_of(today)))} == {"train-1", "whole"}


def test_whole_gpu_specs_reach_older_agents_unchanged():
    spec = WorkloadSpec(id="1", name="w", project="p", submitted_at="2026-01-01T00:00:00Z")
    wire = dump_message(spec)
    assert "gpu_portion" not in wire and "preemptible" not in wire
    fractional = WorkloadSpec(id="1", name="w", project="p", submitted_at="2026-01-01T00:00:00Z", gpu_portion=0.5)
    assert '"gpu_portion":0.5' in dump_message(fractional)
