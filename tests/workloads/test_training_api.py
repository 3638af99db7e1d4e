"""POST /api/v1/workloads/trainings: Run:ai's request shape, strict validation, nothing half-stored."""

import json

import pytest

from clusters import services as cluster_services
from tests.conftest import ADMIN_PASSWORD, basic_auth
from workloads.models import Workload

pytestmark = pytest.mark.django_db

URL = "/api/v1/workloads/trainings"


@pytest.fixture
def project():
    new = cluster_services.register_cluster("local")
    return cluster_services.ensure_default_organisation(new.cluster)


def post(api, body, **headers):
    return api.post(
        URL, data=json.dumps(body) if not isinstance(body, str) else body, content_type="application/json", **headers
    )


def valid_request(project, **overrides):
    body = {
        "name": "train-1",
        "projectId": str(project.pk),
        "clusterId": str(project.cluster_id),
        "spec": {
            "image": "pytorch/pytorch:latest",
            "command": "python train.py",
            "args": "--epochs 1",
            "environmentVariables": [{"name": "LR", "value": "0.1"}],
            "compute": {"gpuDevicesRequest": 1},
        },
    }
    body.update(overrides)
    return body


def test_a_valid_training_is_stored_pending(api, project):
    response = post(api, valid_request(project))

    assert response.status_code == 202, response.content
    body = response.json()
    assert body["name"] == "train-1" and body["actualPhase"] == "Pending" and body["desiredPhase"] == "Running"
    workload = Workload.objects.get(pk=body["workloadId"])
    assert (workload.command, workload.args, workload.gpu_devices) == ("python train.py", "--epochs 1", 1)
    assert workload.environment == {"LR": "0.1"}
    assert workload.image == "pytorch/pytorch:latest"
    assert workload.events.get().reason == "Submitted"


def test_it_is_listed_in_runai_shape(api, project):
    workload_id = post(api, valid_request(project)).json()["workloadId"]

    listed = api.get("/api/v1/workloads").json()

    assert listed["next"] is None
    [entry] = listed["workloads"]
    assert entry["id"] == workload_id
    assert entry["type"] == "Training" and entry["phase"] == "Pending" and entry["projectName"] == "default"
    assert api.get(f"/api/v1/workloads/{workload_id}").json()["name"] == "train-1"
    assert api.get(f"{URL}/{workload_id}").json()["workloadId"] == workload_id


def test_use_given_name_as_prefix_adds_a_suffix(api, project):
    body = post(api, valid_request(project, useGivenNameAsPrefix=True)).json()
    assert body["name"].startswith("train-1-") and body["requestedName"] == "train-1"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b.update(projectId="999"), "projectId"),
        (lambda b: b.pop("projectId"), "projectId"),
        (lambda b: b["spec"]["compute"].update(gpuDevicesRequest=-1), "spec.compute.gpuDevicesRequest"),
        (lambda b: b["spec"]["compute"].update(gpuDevicesRequest="2"), "spec.compute.gpuDevicesRequest"),
        (lambda b: b["spec"]["compute"].update(gpuPortionRequest=1.5), "spec.compute.gpuPortionRequest"),
        (lambda b: b["spec"].update(command=["python"]), "spec.command"),
        (lambda b: b["spec"].update(bogus=1), "spec.bogus"),
        (lambda b: b.update(name="Not A DNS Name"), "name"),
        (lambda b: b.update(name=7), "name"),
        (lambda b: b.update(clusterId="not-a-uuid"), "clusterId"),
        (
            lambda b: b["spec"]["environmentVariables"].append({"name": "1BAD", "value": ""}),
            "spec.environmentVariables[1].name",
        ),
        (lambda b: b.update(spec=[]), "spec"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_stored(api, project, change, field):
    body = valid_request(project)
    change(body)

    response = post(api, body)

    assert response.status_code == 400, response.content
    assert response.json()["message"].startswith(f"{field}:") or f"; {field}:" in response.json()["message"], (
        response.json()
    )
    assert Workload.objects.count() == 0


def test_malformed_json_is_a_400(api, project):
    response = post(api, '{"name": "x", ')
    assert response.status_code == 400
    assert "JSON" in response.json()["message"]
    assert Workload.objects.count() == 0


def test_a_second_workload_with_the_same_name_conflicts(api, project):
    assert post(api, valid_request(project)).status_code == 202
    response = post(api, valid_request(project))
    assert response.status_code == 409
    assert Workload.objects.count() == 1


def test_http_basic_authentication_of_local_users_is_accepted(client, admin_user, project):
    response = client.get("/api/v1/workloads", headers=basic_auth("admin", ADMIN_PASSWORD))
    assert response.status_code == 200
    wrong = client.get("/api/v1/workloads", headers=basic_auth("admin", "wrong"))
    assert wrong.status_code in (401, 403)


def test_anonymous_callers_are_refused(client, project):
    response = client.post(URL, data=json.dumps(valid_request(project)), content_type="application/json")
    assert response.status_code in (401, 403)
    assert Workload.objects.count() == 0


def test_bad_paging_is_a_400(api):
    assert api.get("/api/v1/workloads?limit=0").status_code == 400
    assert api.get("/api/v1/workloads?offset=x").status_code == 400


def test_deleting_a_training_takes_it_off_the_lists(api, project):
    workload_id = post(api, valid_request(project)).json()["workloadId"]
    assert api.delete(f"{URL}/{workload_id}").status_code == 202
    assert api.get("/api/v1/workloads").json()["workloads"] == []
    assert api.get(f"/api/v1/workloads/{workload_id}").status_code == 404
