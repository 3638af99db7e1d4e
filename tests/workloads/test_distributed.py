"""POST/GET/DELETE /api/v1/workloads/distributed: Run:ai's ``DistributedCreationRequest``, stored as
a Distributed workload of ``numWorkers`` workers, each with the compute request, sent to agents
that run distributed trainings. Distributed trainings are trainings in the access rules, as in
Run:ai. ``org``: c1 holds d1 (p1, p2) and d2 (p3); c2 holds d3 (p4)."""

import json

import pytest

from tests.accounts.conftest import client_for
from workloads import services
from workloads.models import Workload

pytestmark = pytest.mark.django_db

URL = "/api/v1/workloads/distributed"
SYSADMIN, L1_RESEARCHER, ML_ENGINEER, VIEWER = 1, 6, 8, 9


def request_body(project, name="ddp", **spec):
    return {
        "name": name,
        "projectId": str(project.pk),
        "clusterId": str(project.cluster_id),
        "masterSpecSameAsWorker": True,
        "spec": {
            "image": "pytorch/pytorch:latest",
            "command": "torchrun train.py",
            "distributedFramework": "PyTorch",
            "numWorkers": 2,
            "compute": {"gpuDevicesRequest": 2},
            **spec,
        },
    }


def post(client, body):
    return client.post(URL, json.dumps(body), content_type="application/json")


@pytest.fixture
def researcher(org, make_user):
    return client_for(make_user("rita", L1_RESEARCHER, "project", org.p1.pk))


def test_a_distributed_training_is_stored_with_its_workers_and_sent_to_the_agent_as_one(org, researcher):
    response = post(researcher, request_body(org.p1, numWorkers=3))

    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["name"], body["actualPhase"], body["desiredPhase"]) == ("ddp", "Pending", "Running")
    assert body["spec"]["numWorkers"] == 3 and body["masterSpecSameAsWorker"] is True
    workload = Workload.objects.get(pk=body["workloadId"])
    assert (workload.workload_type, workload.workers, workload.gpu_devices) == ("Distributed", 3, 2)
    spec = services.workload_spec(workload)
    assert (spec.workload_type, spec.workers, spec.gpu_devices) == ("distributed", 3, 2)
    assert "distributed" in spec.needs()
    # Until the cluster's agent runs distributed trainings, the workload says what it waits for.
    assert workload.phase_message == services.WAITING_FOR_FEATURE["distributed"]
    assert services.sendable([spec], {"queues", "workload_types"}) == []
    assert services.sendable([spec], {"queues", "workload_types", "distributed"}) == [spec]


def test_it_is_listed_and_shown_in_runai_shape_with_the_request_per_worker_and_in_all(org, researcher):
    workload_id = post(researcher, request_body(org.p1)).json()["workloadId"]

    assert [w["workloadId"] for w in researcher.get(URL).json()["distributed"]] == [workload_id]
    assert researcher.get(f"{URL}/{workload_id}").json()["spec"]["distributedFramework"] == "PyTorch"
    shown = researcher.get(f"/api/v1/workloads/{workload_id}").json()
    assert (shown["type"], shown["distributedFramework"]) == ("Distributed", "PyTorch")
    assert shown["requestedPods"] == {"min": 2, "max": 2}
    assert shown["podsRequestedResources"]["gpu"] == {"request": 2}
    assert shown["workloadRequestedResources"]["gpu"] == {"request": 4}
    assert shown["actionsSupport"] == {"delete": True, "suspend": True}
    filtered = researcher.get("/api/v1/workloads", {"filterBy": "type==Distributed"}).json()["workloads"]
    assert [w["id"] for w in filtered] == [workload_id]
    # Not a training under the trainings' path, and a training is not one here.
    assert researcher.get(f"/api/v1/workloads/trainings/{workload_id}").status_code == 404
    assert researcher.get(f"{URL}/{org.workloads['p1'].pk}").status_code == 404
    trainings = researcher.get("/api/v1/workloads/trainings").json()["trainings"]
    assert workload_id not in [w["workloadId"] for w in trainings]


def test_deleting_it_takes_it_off_the_lists(org, researcher):
    workload_id = post(researcher, request_body(org.p1)).json()["workloadId"]
    deleted = researcher.delete(f"{URL}/{workload_id}")
    assert deleted.status_code == 202 and deleted.json()["desiredPhase"] == "Deleted"
    assert researcher.get(URL).json()["distributed"] == []
    assert researcher.get(f"{URL}/{workload_id}").status_code == 404


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda b: b["spec"].update(numWorkers=1), "spec.numWorkers"),
        (lambda b: b["spec"].update(numWorkers=0), "spec.numWorkers"),
        (lambda b: b["spec"].update(numWorkers="2"), "spec.numWorkers"),
        (lambda b: b["spec"].pop("numWorkers"), "spec.numWorkers"),
        (lambda b: b.pop("spec"), "spec"),
        (lambda b: b["spec"].update(distributedFramework="Horovod"), "spec.distributedFramework"),
        (lambda b: b.update(masterSpec={"command": "python master.py"}), "masterSpec"),
        (lambda b: b.update(masterSpecSameAsWorker="yes"), "masterSpecSameAsWorker"),
        (lambda b: b.update(masterSpecSameAsWorker=False), "masterSpecSameAsWorker"),
        (lambda b: b["spec"]["compute"].update(gpuDevicesRequest=-1), "spec.compute.gpuDevicesRequest"),
        (lambda b: b["spec"].update(bogus=1), "spec.bogus"),
        (lambda b: b.update(name="DDP"), "name"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_stored(org, researcher, change, field):
    body = request_body(org.p1)
    change(body)

    response = post(researcher, body)

    assert response.status_code == 400, response.content
    assert response.json()["message"].startswith(f"{field}:"), response.json()
    assert not Workload.objects.filter(workload_type="Distributed").exists()


def test_the_numworkers_rule_is_said_plainly(org, researcher):
    response = post(researcher, request_body(org.p1, numWorkers=1))
    assert response.json()["message"] == (
        "spec.numWorkers: A distributed training runs at least 2 workers; submit a training for one."
    )


def test_run_ai_framework_settings_are_accepted(org, researcher):
    body = request_body(org.p1, distributedFramework="MPI", slotsPerWorker=2, sshAuthMountPath="/root/.ssh")
    assert post(researcher, body).status_code == 202


def test_who_may_not_run_trainings_may_not_run_distributed_ones(org, make_user):
    for username, role in (("vic", VIEWER), ("mel", ML_ENGINEER)):
        client = client_for(make_user(username, role, "project", org.p1.pk))
        response = post(client, request_body(org.p1, name=f"by-{username}"))
        assert response.status_code == 403, response.content
        assert response.json()["message"] == "You may not create trainings in project 'p1'."
    assert not Workload.objects.filter(workload_type="Distributed").exists()


def test_a_distributed_training_elsewhere_is_invisible(org, make_user):
    admin = client_for(make_user("root", SYSADMIN))
    elsewhere = post(admin, request_body(org.p3)).json()["workloadId"]
    researcher = client_for(make_user("rita", L1_RESEARCHER, "project", org.p1.pk))
    assert researcher.get(URL).json()["distributed"] == []
    assert researcher.get(f"{URL}/{elsewhere}").status_code == 404
    assert researcher.delete(f"{URL}/{elsewhere}").status_code == 404
    # A project out of sight cannot be submitted to either.
    refused = post(researcher, request_body(org.p3, name="mine"))
    assert refused.status_code == 400 and refused.json()["message"].startswith("projectId:")
    assert Workload.objects.filter(workload_type="Distributed").count() == 1
