"""First run: an administrator, the local cluster with its default organisation, health, compose."""

from pathlib import Path

import pytest
import yaml
from django.contrib.auth import get_user_model
from django.core.management import call_command

from clusters import services
from clusters.local import ensure_local_cluster
from clusters.models import Cluster, Department, Project

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_first_administrator_is_created_once_with_a_generated_password(capsys, monkeypatch):
    monkeypatch.delenv("TESSERA_ADMIN_USERNAME", raising=False)
    monkeypatch.delenv("TESSERA_ADMIN_PASSWORD", raising=False)
    call_command("ensure_admin")
    first = capsys.readouterr().out
    call_command("ensure_admin")
    second = capsys.readouterr().out

    password = first.split("password: ")[1].split()[0]
    assert get_user_model().objects.get(username="admin").check_password(password)
    assert "already exists" in second and password not in second


@pytest.mark.django_db
def test_first_administrator_from_the_environment(monkeypatch):
    monkeypatch.setenv("TESSERA_ADMIN_USERNAME", "root-admin")
    monkeypatch.setenv("TESSERA_ADMIN_PASSWORD", "a-long-enough-secret-42")
    call_command("ensure_admin")
    user = get_user_model().objects.get(username="root-admin")
    assert user.is_superuser and user.check_password("a-long-enough-secret-42")


@pytest.mark.django_db
def test_a_weak_administrator_password_is_refused(monkeypatch):
    monkeypatch.setenv("TESSERA_ADMIN_PASSWORD", "password")
    with pytest.raises(Exception, match="not acceptable"):
        call_command("ensure_admin")
    assert not get_user_model().objects.exists()


@pytest.mark.django_db
def test_local_cluster_has_a_default_department_and_project(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    local = ensure_local_cluster()

    assert local.cluster.name == "local"
    assert Department.objects.get().name == "default"
    assert Project.objects.get().name == "default"
    token = local.token_file.read_text()
    assert services.authenticate_agent(local.cluster.pk, token) == local.cluster
    assert local.token_file.stat().st_mode & 0o777 == 0o600
    assert token not in Cluster.objects.get().token_hash  # stored hashed

    assert ensure_local_cluster().token_file.read_text() == token  # idempotent
    local.token_file.unlink()
    rotated = ensure_local_cluster().token_file.read_text()
    assert rotated != token
    assert services.authenticate_agent(local.cluster.pk, token) is None
    assert Cluster.objects.count() == 1 and Project.objects.count() == 1


@pytest.mark.django_db
def test_healthz_answers_once_database_and_channel_layer_are_ready(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "agentConnected": False, "connectedAgents": 0}


def test_compose_file_declares_the_production_services():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services_ = compose["services"]
    assert {"postgres", "redis", "web", "celery-worker", "celery-beat", "agent"} <= set(services_)
    assert "worker" in services_["celery-worker"]["command"] and "beat" in services_["celery-beat"]["command"]
    [device] = services_["agent"]["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]
    assert "REDIS_URL" in services_["web"]["environment"] and "DATABASE_URL" in services_["web"]["environment"]
