"""Run:ai's list parameters (filterBy, sortBy, sortOrder, offset, limit) and the /count variants.
``org``: c1 holds d1 (p1, p2) and d2 (p3); c2 holds d3 (p4); one workload w-<project> in each."""

import pytest

from tests.accounts.conftest import client_for
from workloads.models import Workload

pytestmark = pytest.mark.django_db

SYSADMIN, L1_RESEARCHER = 1, 6


@pytest.fixture
def admin(make_user, org):
    Workload.objects.filter(name="w-p2").update(phase="Running")
    return client_for(make_user("root", SYSADMIN))


def names(response, key="workloads"):
    assert response.status_code == 200, response.content
    return [item["name"] for item in response.json()[key]]


def test_filters_hold_together_and_sorting_pages_without_overlap(admin, org):
    assert names(admin.get("/api/v1/workloads", {"filterBy": "name==w-p3"})) == ["w-p3"]
    assert names(admin.get("/api/v1/workloads", {"filterBy": "phase=@Run"})) == ["w-p2"]
    both = {"filterBy": f"clusterId=={org.c1.pk},name!=w-p1", "sortBy": "name", "sortOrder": "desc"}
    assert names(admin.get("/api/v1/workloads", both)) == ["w-p3", "w-p2"]
    repeated = admin.get("/api/v1/workloads?filterBy=name=^w-&filterBy=projectName=$4")
    assert names(repeated) == ["w-p4"]
    first = admin.get("/api/v1/workloads", {"sortBy": "name", "limit": 3}).json()
    second = admin.get("/api/v1/workloads", {"sortBy": "name", "limit": 3, "offset": first["next"]}).json()
    assert [w["name"] for w in first["workloads"] + second["workloads"]] == ["w-p1", "w-p2", "w-p3", "w-p4"]
    assert second["next"] is None
    assert admin.get("/api/v1/workloads/count", {"filterBy": f"departmentId=={org.d1.pk}"}).json() == {"count": 2}
    assert admin.get("/api/v1/workloads/count").json() == {"count": 4}


def test_the_other_lists_take_the_same_parameters(admin, org):
    assert names(admin.get("/api/v1/workloads/trainings", {"filterBy": "projectName==p4"}), "trainings") == ["w-p4"]
    query = {"filterBy": f"clusterId=={org.c1.pk}", "sortBy": "name", "sortOrder": "desc"}
    assert names(admin.get("/api/v1/org-unit/departments", query), "departments") == ["d2", "d1"]
    assert names(admin.get("/api/v1/org-unit/projects", {"filterBy": "parentName==d1"}), "projects") == ["p1", "p2"]
    assert admin.get("/api/v1/org-unit/projects/count", {"filterBy": "name=@p"}).json() == {"count": 4}
    assert admin.get("/api/v1/org-unit/departments/count", {"filterBy": "name==d3"}).json() == {"count": 1}
    assert admin.get("/api/v1/node-pools/count", {"filterBy": "name==default"}).json() == {"count": 0}


def test_a_filter_never_widens_what_the_caller_may_see(make_user, org):
    client = client_for(make_user("rita", L1_RESEARCHER, "project", org.p1.pk))
    assert names(client.get("/api/v1/workloads", {"filterBy": "name==w-p3"})) == []
    assert client.get("/api/v1/workloads/count", {"filterBy": "name=@w"}).json() == {"count": 1}


@pytest.mark.parametrize(
    "path, query, parameter",
    [
        ("/api/v1/workloads", {"filterBy": "colour==blue"}, "filterBy"),
        ("/api/v1/workloads", {"filterBy": "name"}, "filterBy"),
        ("/api/v1/workloads", {"filterBy": "clusterId==not-a-uuid"}, "filterBy"),
        ("/api/v1/workloads", {"filterBy": "projectId=@1"}, "filterBy"),
        ("/api/v1/workloads", {"filterBy": "createdAt>=yesterday"}, "filterBy"),
        ("/api/v1/workloads/count", {"filterBy": "nope==1"}, "filterBy"),
        ("/api/v1/workloads", {"sortBy": "colour"}, "sortBy"),
        ("/api/v1/workloads", {"sortOrder": "sideways"}, "sortOrder"),
        ("/api/v1/workloads", {"limit": "501"}, "limit"),
        ("/api/v1/workloads", {"offset": "-1"}, "offset"),
        ("/api/v1/org-unit/projects", {"filterBy": "phase==Ready"}, "filterBy"),
        ("/api/v1/node-pools", {"sortBy": "nodes"}, "sortBy"),
    ],
)
def test_bad_list_parameters_are_a_400_naming_the_parameter(admin, path, query, parameter):
    response = admin.get(path, query)
    assert response.status_code == 400, response.content
    assert response.json()["message"].startswith(f"{parameter}:"), response.json()
