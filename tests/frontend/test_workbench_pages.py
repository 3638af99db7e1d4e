"""The researcher's workbench: submit from a form that knows the project's quota, see the
workload, delete it; a viewer gets no button and the server refuses his forged requests."""

import pytest

from accounts.models import AuditEvent
from tests.frontend.pages import field_error, has_button
from workloads.models import Workload

pytestmark = pytest.mark.django_db


def training(site, name="hello", **extra) -> dict:
    return {"_type": "trainings", "name": name, "projectId": str(site.project.pk), "spec.image": "python:3.11",
            "spec.command": "echo hello", "spec.compute.gpuDevicesRequest": "1", "_gpuFraction": "whole",
            **extra}  # fmt: skip


def test_a_researcher_submits_a_fractional_training_and_lands_on_its_page(researcher, site):
    form = researcher.get("/workloads/new/")
    assert form.status_code == 200 and has_button(form, "Submit")
    assert "Quota per node pool" in form.content.decode()

    both_shares = {"spec.compute.gpuPortionRequest": "0.5", "spec.compute.gpuMemoryRequest": "20Gi"}
    submitted = researcher.post("/workloads/new/", training(site, _gpuFraction="portion", **both_shares))

    workload = Workload.objects.get(name="hello")
    assert submitted.status_code == 302 and submitted["Location"] == f"/workloads/{workload.pk}/"
    # Only the share that was chosen travels: the memory field was filled but not chosen.
    assert (workload.gpu_devices, workload.gpu_portion, workload.gpu_memory_mib) == (1, 0.5, None)
    assert workload.submitted_by.username == "rita" and workload.phase == "Pending"
    assert AuditEvent.objects.filter(action="create", object_type="workload", object_name="hello").exists()
    page = researcher.get(f"/workloads/{workload.pk}/").content.decode()
    assert "GPU fractions" in page  # why it waits
    assert has_button(researcher.get(f"/workloads/{workload.pk}/"), "Delete")


def test_errors_of_a_submission_are_shown_next_to_their_fields(researcher, site):
    refused = researcher.post("/workloads/new/", training(site, name="Bad Name", _gpuFraction="portion",
                              **{"spec.compute.gpuPortionRequest": "1.5"}))  # fmt: skip

    assert refused.status_code == 400
    assert "lower-case" in field_error(refused, "name")
    assert "less than or equal to 1" in field_error(refused, "spec.compute.gpuPortionRequest")
    assert not Workload.objects.exists()

    memory = researcher.post("/workloads/new/", training(site, _gpuFraction="memory",
                             **{"spec.compute.gpuMemoryRequest": "lots"}))  # fmt: skip
    assert "such as 20G" in field_error(memory, "spec.compute.gpuMemoryRequest")


def test_a_project_the_researcher_may_not_use_is_refused_as_if_it_did_not_exist(researcher, site, admin):
    from clusters.models import Project

    other = Project.objects.create(cluster=site.cluster, department=site.department, name="other")

    refused = researcher.post("/workloads/new/", training(site, projectId=str(other.pk)))

    assert refused.status_code == 400 and "does not exist" in field_error(refused, "projectId")


def test_a_researcher_deletes_his_workload(researcher, site):
    researcher.post("/workloads/new/", training(site))
    workload = Workload.objects.get(name="hello")

    deleted = researcher.post(f"/workloads/{workload.pk}/delete/")

    assert deleted.status_code == 302
    workload.refresh_from_db()
    assert workload.deleted_at is not None


def test_a_viewer_has_no_submit_or_delete_button_and_forged_posts_are_refused(viewer, researcher, site):
    researcher.post("/workloads/new/", training(site))
    workload = Workload.objects.get(name="hello")

    listed = viewer.get("/workloads/")
    assert listed.status_code == 200 and "hello" in listed.content.decode()
    assert not has_button(listed, "Submit a workload")
    assert not has_button(viewer.get(f"/workloads/{workload.pk}/"), "Delete")
    assert viewer.get("/workloads/new/").status_code == 403

    forged = viewer.post("/workloads/new/", training(site, name="forged"))
    assert forged.status_code == 403 and "You may not create trainings" in forged.content.decode()
    assert viewer.post(f"/workloads/{workload.pk}/delete/").status_code == 403

    assert not Workload.objects.filter(name="forged").exists()
    workload.refresh_from_db()
    assert workload.deleted_at is None
    refused = set(AuditEvent.objects.filter(actor="vera", outcome="failure").values_list("object_id", flat=True))
    assert refused == {"/workloads/new/", f"/workloads/{workload.pk}/delete/"}  # changes refused are audited


def test_my_workloads_lists_only_the_signed_in_users_own(researcher, admin, site):
    researcher.post("/workloads/new/", training(site, name="ritas"))
    admin.post("/workloads/new/", training(site, name="admins"))

    mine = researcher.get("/workloads/?mine=1").content.decode()

    assert "ritas" in mine and "admins" not in mine and "My workloads" in mine


def test_a_distributed_training_is_submitted_with_its_workers(researcher, site):
    form = researcher.get("/workloads/new/").content.decode()
    assert '<option value="distributed"' in form

    refused = researcher.post("/workloads/new/", training(site, _type="distributed"))
    assert refused.status_code == 400 and "at least 2" in field_error(refused, "spec.numWorkers")

    submitted = researcher.post("/workloads/new/", training(site, _type="distributed", **{"spec.numWorkers": "3"}))

    assert submitted.status_code == 302
    workload = Workload.objects.get(name="hello")
    assert (workload.workload_type, workload.workers) == ("Distributed", 3)
    assert "3, run as one gang" in researcher.get(f"/workloads/{workload.pk}/").content.decode()


def test_workers_given_to_a_plain_training_are_left_out(researcher, site):
    researcher.post("/workloads/new/", training(site, **{"spec.numWorkers": "3"}))

    assert Workload.objects.get(name="hello").workers == 1


def test_a_researcher_suspends_and_resumes_his_training(researcher, site):
    researcher.post("/workloads/new/", training(site))
    workload = Workload.objects.get(name="hello")
    page = researcher.get(f"/workloads/{workload.pk}/")
    assert has_button(page, "Suspend") and not has_button(page, "Resume")

    assert researcher.post(f"/workloads/{workload.pk}/suspend/").status_code == 302
    workload.refresh_from_db()
    assert workload.suspended_at is not None and workload.phase == "Stopped"
    page = researcher.get(f"/workloads/{workload.pk}/")
    assert has_button(page, "Resume") and not has_button(page, "Suspend")

    first_run = workload.run
    assert researcher.post(f"/workloads/{workload.pk}/resume/").status_code == 302
    workload.refresh_from_db()
    assert workload.suspended_at is None and workload.phase == "Pending" and workload.run == first_run + 1
    assert set(AuditEvent.objects.filter(object_name="hello").values_list("action", flat=True)) >= {
        "suspend", "resume",
    }  # fmt: skip


def test_resuming_a_workload_that_is_not_suspended_says_why(researcher, site):
    researcher.post("/workloads/new/", training(site))
    workload = Workload.objects.get(name="hello")

    answer = researcher.post(f"/workloads/{workload.pk}/resume/", follow=True)

    assert "is not suspended" in answer.content.decode()


def test_an_inference_has_no_suspend_button_and_cannot_be_suspended(researcher, site):
    researcher.post("/workloads/new/", training(site, _type="inferences"))
    workload = Workload.objects.get(name="hello")

    assert not has_button(researcher.get(f"/workloads/{workload.pk}/"), "Suspend")
    answer = researcher.post(f"/workloads/{workload.pk}/suspend/", follow=True)
    assert "cannot be suspended" in answer.content.decode()
    workload.refresh_from_db()
    assert workload.suspended_at is None


def test_a_viewer_cannot_suspend_a_training(viewer, researcher, site):
    researcher.post("/workloads/new/", training(site))
    workload = Workload.objects.get(name="hello")

    assert not has_button(viewer.get(f"/workloads/{workload.pk}/"), "Suspend")
    assert viewer.post(f"/workloads/{workload.pk}/suspend/").status_code == 403
    workload.refresh_from_db()
    assert workload.suspended_at is None


def test_cpu_cores_and_memory_are_asked_from_the_form_and_shown_on_the_workload(researcher, site):
    cpu = {"spec.compute.cpuCoreRequest": "1.5", "spec.compute.cpuMemoryRequest": "2Gi"}
    submitted = researcher.post("/workloads/new/", training(site, **cpu))

    workload = Workload.objects.get(name="hello")
    assert submitted.status_code == 302, submitted.content.decode()
    assert (workload.cpu_milli, workload.memory_mib) == (1500, 2048)
    page = researcher.get(f"/workloads/{workload.pk}/").content.decode()
    assert "1.5 cores, 2048Mi of memory" in page

    refused = researcher.post("/workloads/new/", training(site, name="bad", **{"spec.compute.cpuCoreRequest": "-1"}))
    assert refused.status_code == 400
    assert "greater than or equal to 0" in field_error(refused, "spec.compute.cpuCoreRequest")
