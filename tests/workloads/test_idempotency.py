"""An Idempotency-Key on creation: a retry with the same key and body answers the first result
and creates nothing; the same key with another body is a 422; keys are the caller's own."""

import json

import pytest

from clusters.models import Department
from controlplane.models import IdempotentRequest
from tests.accounts.conftest import client_for
from workloads.models import Workload

pytestmark = pytest.mark.django_db

SYSADMIN = 1


def post(client, path, body, key):
    return client.post(path, json.dumps(body), content_type="application/json", headers={"Idempotency-Key": key})


@pytest.fixture
def admin(make_user, org):
    return client_for(make_user("root", SYSADMIN))


def training(org, name="retry"):
    return {"name": name, "projectId": str(org.p1.pk), "spec": {"command": "true"}}


def test_a_retry_answers_the_first_result_and_creates_nothing(admin, org):
    first = post(admin, "/api/v1/workloads/trainings", training(org), "k-1")
    again = post(admin, "/api/v1/workloads/trainings", training(org), "k-1")
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert Workload.objects.filter(name="retry").count() == 1
    # Without the key, the same body is a second request, and a conflict by name.
    assert admin.post("/api/v1/workloads/trainings", json.dumps(training(org)),
                      content_type="application/json").status_code == 409  # fmt: skip


def test_the_same_key_with_another_body_is_refused(admin, org):
    body = {"name": "research", "clusterId": str(org.c1.pk)}
    assert post(admin, "/api/v1/org-unit/departments", body, "k-2").status_code == 201
    other = post(admin, "/api/v1/org-unit/departments", {**body, "name": "other"}, "k-2")
    assert other.status_code == 422 and other.json()["message"].startswith("Idempotency-Key:")
    assert not Department.objects.filter(name="other").exists()


def test_a_refused_request_keeps_no_record_so_it_can_be_corrected(admin, org):
    bad = post(admin, "/api/v1/workloads/trainings", {**training(org), "name": "Bad Name"}, "k-3")
    assert bad.status_code == 400 and not IdempotentRequest.objects.exists()
    assert post(admin, "/api/v1/workloads/trainings", training(org), "k-3").status_code == 202


def test_keys_are_per_caller(admin, org, make_user):
    other = client_for(make_user("second", SYSADMIN))
    assert post(admin, "/api/v1/workloads/trainings", training(org, "one"), "shared").status_code == 202
    assert post(other, "/api/v1/workloads/trainings", training(org, "two"), "shared").status_code == 202
    assert set(Workload.objects.filter(name__in=["one", "two"]).values_list("name", flat=True)) == {"one", "two"}


def test_an_overlong_key_is_a_400(admin, org):
    response = post(admin, "/api/v1/workloads/trainings", training(org), "k" * 256)
    assert response.status_code == 400 and response.json()["message"].startswith("Idempotency-Key:")
