"""Clusters through /api/v1/clusters: registration hands out the agent's token once, with the
command that starts the agent; renaming and deletion; who may do it.
``org``: c1 holds d1 (p1, p2) and d2 (p3); c2 holds d3 (p4)."""

import json

import pytest

from accounts.models import AccessRule, AuditEvent
from clusters import services
from clusters.models import Cluster, Department, NodePool, Project
from tests.accounts.conftest import client_for

pytestmark = pytest.mark.django_db

SYSADMIN, EDITOR, VIEWER = 1, 4, 9
CLUSTERS = "/api/v1/clusters"


def send(client, method, path, body):
    return getattr(client, method)(path, json.dumps(body), content_type="application/json")


def refused(response, status, field):
    assert response.status_code == status, response.content
    assert response.json()["message"].startswith(field), response.json()


@pytest.fixture
def admin(make_user):
    return client_for(make_user("root", SYSADMIN))


def test_a_new_cluster_comes_with_its_default_pool_and_a_token_shown_once(admin):
    response = send(admin, "post", CLUSTERS, {"name": "gpu-farm", "domain": "https://farm.example"})
    assert response.status_code == 201, response.content
    body = response.json()
    token = body["installationInfo"]["clientSecret"]
    assert body["name"] == "gpu-farm" and body["status"]["state"] == "WaitingToConnect"
    assert f"--cluster-id {body['uuid']}" in body["installationInfo"]["installationStr"]
    assert token in body["installationInfo"]["installationStr"]
    cluster = Cluster.objects.get(pk=body["uuid"])
    assert services.authenticate_agent(cluster.pk, token) == cluster
    assert NodePool.objects.filter(cluster=cluster, name="default").exists()
    # Never again: reading the cluster shows no secret.
    assert token not in admin.get(f"{CLUSTERS}/{cluster.pk}").content.decode()
    assert AuditEvent.objects.filter(action="create", object_type="cluster", object_name="gpu-farm").exists()


@pytest.mark.parametrize("body, field", [({}, "name"), ({"name": "No Spaces"}, "name"), ({"name": 7}, "name"),
                                         ({"name": "ok", "region": "eu"}, "region")])  # fmt: skip
def test_bad_cluster_requests_are_refused_naming_the_field(admin, org, body, field):
    refused(send(admin, "post", CLUSTERS, body), 400, field)
    assert Cluster.objects.count() == 2


def test_renaming_keeps_the_cluster_and_a_taken_name_is_a_conflict(admin, org):
    refused(send(admin, "put", f"{CLUSTERS}/{org.c1.pk}", {"name": "c2"}), 409, "A cluster named 'c2'")
    response = send(admin, "put", f"{CLUSTERS}/{org.c1.pk}", {"name": "east"})
    assert response.status_code == 200 and response.json()["name"] == "east"
    assert Cluster.objects.get(pk=org.c1.pk).name == "east"
    refused(send(admin, "post", CLUSTERS, {"name": "east"}), 409, "A cluster named 'east'")


def test_a_cluster_that_ran_work_stays_and_an_unused_one_goes_with_its_organisation(admin, org, make_user):
    refused(admin.delete(f"{CLUSTERS}/{org.c1.pk}"), 409, "Cluster 'c1' has workloads")
    org.workloads["p4"].delete()
    make_user("pat", VIEWER, "project", org.p4.pk)
    make_user("cid", EDITOR, "cluster", org.c2.pk)
    assert admin.delete(f"{CLUSTERS}/{org.c2.pk}").status_code == 204
    assert not Cluster.objects.filter(pk=org.c2.pk).exists()
    assert not Department.objects.filter(pk=org.d3.pk).exists() and not Project.objects.filter(pk=org.p4.pk).exists()
    assert not AccessRule.objects.filter(subject_id__in=["pat", "cid"]).exists()
    assert admin.get("/api/v1/authorization/access-rules").status_code == 200


def test_only_who_holds_the_rule_changes_clusters(make_user, org):
    editor = client_for(make_user("ed", EDITOR, "cluster", org.c1.pk))
    refused(send(editor, "post", CLUSTERS, {"name": "mine"}), 403, "You may not create cluster")
    refused(send(editor, "put", f"{CLUSTERS}/{org.c1.pk}", {"name": "mine"}), 403, "You may not update cluster")
    refused(editor.delete(f"{CLUSTERS}/{org.c1.pk}"), 403, "You may not delete cluster")
    assert editor.get(f"{CLUSTERS}/{org.c2.pk}").status_code == 404
    cluster_admin = client_for(make_user("ca", SYSADMIN, "cluster", org.c1.pk))
    # A System administrator of one cluster runs it, but registering clusters is the account's.
    assert send(cluster_admin, "put", f"{CLUSTERS}/{org.c1.pk}", {"name": "renamed"}).status_code == 200
    refused(send(cluster_admin, "post", CLUSTERS, {"name": "another"}), 403, "You may not create cluster")
    assert sorted(Cluster.objects.values_list("name", flat=True)) == ["c2", "renamed"]
