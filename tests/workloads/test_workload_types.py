"""Workspaces and inferences through /api/v1/workloads/workspaces and /inferences: the trainings'
lifecycle, their own priority defaults, and their own resource in the access rules.
``org``: c1 holds d1 (p1, p2) and d2 (p3); c2 holds d3 (p4)."""

import json

import pytest

from accounts.models import AuditEvent
from tests.accounts.conftest import client_for
from workloads import services
from workloads.models import Workload

pytestmark = pytest.mark.django_db

L1_RESEARCHER, ML_ENGINEER, VIEWER = 6, 8, 9


def body(project, name):
    return {"name": name, "projectId": str(project.pk), "spec": {"image": "jupyter/base", "command": "sleep 60"}}


def post(client, kind, payload):
    return client.post(f"/api/v1/workloads/{kind}", json.dumps(payload), content_type="application/json")


@pytest.mark.parametrize(
    "kind, workload_type, expected",
    [("workspaces", "Workspace", ("build", 100, False)), ("inferences", "Inference", ("inference", 125, False))],
)
def test_each_type_has_the_trainings_lifecycle_and_its_own_defaults(org, make_user, kind, workload_type, expected):
    client = client_for(make_user("rita", L1_RESEARCHER, "project", org.p1.pk))
    response = post(client, kind, body(org.p1, "nb"))
    assert response.status_code == 202, response.content
    workload = Workload.objects.get(name="nb")
    assert workload.workload_type == workload_type
    assert (workload.priority_class, workload.priority, workload.preemptible) == expected
    assert services.workload_spec(workload).workload_type == workload_type.lower()
    listed = client.get(f"/api/v1/workloads/{kind}").json()[kind]
    assert [w["name"] for w in listed] == ["nb"]
    # A training is not listed among them, nor found under their path.
    training = org.workloads["p1"]
    assert client.get(f"/api/v1/workloads/{kind}/{training.pk}").status_code == 404
    assert client.get(f"/api/v1/workloads/trainings/{workload.pk}").status_code == 404
    assert client.delete(f"/api/v1/workloads/{kind}/{workload.pk}").status_code == 202
    assert client.get(f"/api/v1/workloads/{kind}").json()[kind] == []
    actions = AuditEvent.objects.filter(object_type="workload", object_id=str(workload.pk)).order_by("pk")
    assert list(actions.values_list("action", flat=True)) == ["create", "delete"]


def test_an_ml_engineer_serves_models_but_opens_no_workspace(org, make_user):
    client = client_for(make_user("mel", ML_ENGINEER, "project", org.p1.pk))
    assert post(client, "inferences", body(org.p1, "serve")).status_code == 202
    response = post(client, "workspaces", body(org.p1, "nb"))
    assert response.status_code == 403 and response.json()["message"].startswith("You may not create workspaces")
    assert client.get("/api/v1/workloads/workspaces").json()["workspaces"] == []
    assert not Workload.objects.filter(name="nb").exists()


def test_a_viewer_sees_them_and_creates_none(org, make_user):
    services.submit_training(
        services.TrainingRequest(name="nb", project=org.p1, raw={}, workload_type="Workspace"), None
    )
    client = client_for(make_user("vic", VIEWER, "project", org.p1.pk))
    assert [w["name"] for w in client.get("/api/v1/workloads/workspaces").json()["workspaces"]] == ["nb"]
    assert post(client, "workspaces", body(org.p1, "mine")).status_code == 403
    nb = Workload.objects.get(name="nb")
    assert client.delete(f"/api/v1/workloads/workspaces/{nb.pk}").status_code == 403
    outsider = client_for(make_user("out", L1_RESEARCHER, "project", org.p3.pk))
    assert outsider.get(f"/api/v1/workloads/workspaces/{nb.pk}").status_code == 404


@pytest.mark.parametrize(
    "kind, change, field",
    [
        ("workspaces", {"name": "Bad Name"}, "name"),
        ("workspaces", {"spec": {"completions": 2, "bogus": 1}}, "spec.bogus"),
        ("inferences", {"spec": {"servingPort": {"container": 8000}, "compute": {"gpuDevicesRequest": -1}}},
         "spec.compute.gpuDevicesRequest"),
        ("inferences", {"projectId": "999999"}, "projectId"),
    ],
)  # fmt: skip
def test_bad_requests_are_refused_naming_the_field(org, make_user, kind, change, field):
    client = client_for(make_user("root", 1))
    response = post(client, kind, {**body(org.p1, "x"), **change})
    assert response.status_code == 400, response.content
    assert response.json()["message"].startswith(f"{field}:"), response.json()
    assert not Workload.objects.filter(name="x").exists()
