"""Fixtures for the pages: a registered cluster with its default organisation, and people with
roles (an administrator, a viewer, a researcher of one project), each with a signed-in client."""

from dataclasses import dataclass

import pytest
from django.test import Client

from accounts.models import AccessRule
from clusters import services
from clusters.models import Cluster, Department, Project
from tests.e2e.conftest import agent, cluster, http  # noqa: F401  (a real agent and its cluster, for e2e)
from tests.frontend.browser import chromium, open_browser, screenshots  # noqa: F401


@dataclass
class Site:
    cluster: Cluster
    department: Department
    project: Project


@pytest.fixture
def site(db) -> Site:
    lab = services.register_cluster("lab").cluster
    project = services.ensure_default_organisation(lab)
    return Site(lab, project.department, project)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def person(django_user_model, username: str, role_id: int, scope_type: str, scope_id: object) -> Client:
    user = django_user_model.objects.create_user(username, password="a-long-enough-password-1")
    AccessRule.objects.create(subject_type="user", subject_id=username, role_id=role_id, scope_type=scope_type,
                              scope_id=str(scope_id))  # fmt: skip
    return signed_in(user)


@pytest.fixture
def admin(admin_user) -> Client:
    return signed_in(admin_user)


@pytest.fixture
def viewer(django_user_model, site) -> Client:
    """Role 9 (Viewer) on the whole account: sees everything, changes nothing."""
    return person(django_user_model, "vera", 9, "tenant", 1)


@pytest.fixture
def researcher(django_user_model, site) -> Client:
    """Role 6 (L1 researcher) on the default project only."""
    return person(django_user_model, "rita", 6, "project", site.project.pk)
