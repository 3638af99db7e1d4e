"""The audit log (append-only, filtered, for those allowed) and the gate on live updates."""

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.core.exceptions import ValidationError

from accounts.models import AuditEvent
from tests.accounts.conftest import client_for, grant, post_json
from workloads.consumers import WorkloadUpdatesConsumer
from workloads.notify import BROWSER_GROUP
from workloads.representations import workload_representation


@pytest.mark.django_db
def test_changes_are_audited_with_who_what_and_where(api, org):
    body = {"name": "audited", "projectId": str(org.p1.pk), "spec": {"image": "busybox"}}
    workload_id = post_json(api, "/api/v1/workloads/trainings", body).json()["workloadId"]
    api.delete(f"/api/v1/workloads/trainings/{workload_id}")
    app = post_json(api, "/api/v1/apps", {"name": "bot"}).json()
    api.post(f"/api/v1/apps/{app['id']}/secret")
    events = api.get("/api/v1/audit", {"entityType": "workload"}).json()
    assert [(e["action"], e["entityName"], e["subject"]) for e in events["auditLogs"]] == [
        ("delete", "audited", "admin"),
        ("create", "audited", "admin"),
    ]
    assert events["auditLogs"][0]["sourceIp"] == "127.0.0.1" and events["total"] == 2
    apps = api.get("/api/v1/audit/log", {"entityType": "application"}).json()["auditLogs"]
    assert [e["action"] for e in apps] == ["regenerate_secret", "create"]
    assert api.get("/api/v1/audit", {"result": "maybe"}).status_code == 400
    assert api.get("/api/v1/audit", {"start": "2999-01-01T00:00:00Z"}).json()["total"] == 0


@pytest.mark.django_db
def test_the_audit_log_filters_by_source_address_and_refuses_what_is_not_one(api, org):
    post_json(api, "/api/v1/apps", {"name": "bot"})
    assert api.get("/api/v1/audit", {"sourceIp": "127.0.0.1", "entityType": "application"}).json()["total"] == 1
    assert api.get("/api/v1/audit", {"sourceIp": "10.0.0.1", "entityType": "application"}).json()["total"] == 0
    refused = api.get("/api/v1/audit", {"sourceIp": "0"})
    assert refused.status_code == 400 and refused.json()["message"].startswith("sourceIp:")


@pytest.mark.django_db
def test_the_audit_log_is_append_only():
    event = AuditEvent.objects.create(actor_type="system", actor="system", action="x", object_type="y")
    with pytest.raises(ValidationError):
        event.save()
    with pytest.raises(ValidationError):
        event.delete()
    with pytest.raises(ValidationError):
        AuditEvent.objects.all().update(action="z")
    with pytest.raises(ValidationError):
        AuditEvent.objects.all().delete()


@pytest.mark.django_db
def test_only_account_wide_administrators_read_the_audit_log(org, make_user):
    department_admin = make_user("dora", 2, "department", org.d1.pk)
    assert client_for(department_admin).get("/api/v1/audit").status_code == 403


@pytest.mark.django_db
def test_refused_changes_are_audited(org, make_user):
    viewer = client_for(make_user("vic", 9, "project", org.p1.pk))
    body = {"name": "nope", "projectId": str(org.p1.pk), "spec": {"image": "busybox"}}
    assert post_json(viewer, "/api/v1/workloads/trainings", body).status_code == 403
    event = AuditEvent.objects.get(outcome="failure")
    assert (event.actor, event.action, event.object_id) == ("vic", "post", "/api/v1/workloads/trainings")
    assert "may not create trainings" in event.detail["reason"]


async def _updates_seen(user, representations):
    communicator = WebsocketCommunicator(WorkloadUpdatesConsumer.as_asgi(), "/ws/workloads/")
    communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    assert connected
    for representation in representations:
        await get_channel_layer().group_send(BROWSER_GROUP, {"type": "workload.changed", "workload": representation})
    seen = []
    while not await communicator.receive_nothing(timeout=1):
        seen.append((await communicator.receive_json_from())["workload"]["name"])
    await communicator.disconnect()
    return seen


@pytest.mark.django_db(transaction=True)
def test_live_updates_reach_only_those_who_may_see_the_workload(org, make_user):
    researcher = make_user("rita", 6, "project", org.p1.pk)
    nobody = make_user("nora")
    changes = [workload_representation(org.workloads[p]) for p in ("p1", "p2", "p4")]
    assert async_to_sync(_updates_seen)(researcher, changes) == ["w-p1"]
    assert async_to_sync(_updates_seen)(nobody, changes) == []
    grant("nora", 9, "department", org.d1.pk)  # a rule granted while connected counts at once
    assert async_to_sync(_updates_seen)(nobody, changes) == ["w-p1", "w-p2"]
