"""Fixtures for identity and access: an organisation tree, users with rules, bearer clients."""

import json
from dataclasses import dataclass

import pytest
from django.test import Client

from accounts.models import AccessRule
from clusters.models import Cluster, Department, Project
from workloads.models import Workload

PASSWORD = "a-long-enough-password-1"


@dataclass
class Org:
    """Two clusters; the first has two departments (with two projects and one), the second one."""

    c1: Cluster
    c2: Cluster
    d1: Department
    d2: Department
    d3: Department
    p1: Project
    p2: Project
    p3: Project
    p4: Project
    workloads: dict[str, Workload]


def _project(cluster, department, name):
    return Project.objects.create(cluster=cluster, department=department, name=name)


@pytest.fixture
def org(db) -> Org:
    c1 = Cluster.objects.create(name="c1", token_hash="x")
    c2 = Cluster.objects.create(name="c2", token_hash="x")
    d1 = Department.objects.create(cluster=c1, name="d1")
    d2 = Department.objects.create(cluster=c1, name="d2")
    d3 = Department.objects.create(cluster=c2, name="d3")
    p1, p2, p3, p4 = _project(c1, d1, "p1"), _project(c1, d1, "p2"), _project(c1, d2, "p3"), _project(c2, d3, "p4")
    workloads = {
        p.name: Workload.objects.create(name=f"w-{p.name}", project=p, cluster=p.cluster) for p in (p1, p2, p3, p4)
    }
    return Org(c1, c2, d1, d2, d3, p1, p2, p3, p4, workloads)


def grant(subject_id, role_id, scope_type, scope_id, subject_type="user"):
    return AccessRule.objects.create(
        subject_type=subject_type, subject_id=subject_id, role_id=role_id, scope_type=scope_type, scope_id=str(scope_id)
    )


@pytest.fixture
def make_user(django_user_model):
    def make(username, role_id=None, scope_type="tenant", scope_id="1"):
        user = django_user_model.objects.create_user(username, password=PASSWORD)
        if role_id is not None:
            grant(username, role_id, scope_type, scope_id)
        return user

    return make


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


class Bearer:
    """A test client that speaks JSON with a bearer token."""

    def __init__(self, token: str) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path, **params):
        return self.client.get(path, params, headers=self.headers)

    def post(self, path, body=None):
        return self.client.post(path, json.dumps(body or {}), content_type="application/json", headers=self.headers)

    def delete(self, path):
        return self.client.delete(path, headers=self.headers)


def post_json(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json")
