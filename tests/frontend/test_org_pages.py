"""Departments and projects in the browser: quotas per node pool, errors beside the field that
caused them, and only the buttons the gate allows, which the server enforces anyway."""

import html
import re

import pytest

from clusters import pools
from clusters.models import Department, Project, Quota
from clusters.pools import PoolSettings
from tests.frontend.pages import field_error, has_button

pytestmark = pytest.mark.django_db

BY_RACK = PoolSettings(label_key="rack", label_value="r1", gpu_placement="binpack", cpu_placement="binpack")


def quota_form(site, name: str, deserved: str, limit: str = "", weight: str = "", **extra) -> dict:
    pool = site.cluster.node_pools.get(name="default")
    return {"name": name, "clusterId": str(site.cluster.pk), "resources[0].nodePool.id": str(pool.pk),
            "resources[0].gpu.deserved": deserved, "resources[0].gpu.limit": limit,
            "resources[0].gpu.overQuotaWeight": weight, **extra}  # fmt: skip


def test_an_administrator_creates_a_department_with_a_quota_per_node_pool(admin, site):
    form = admin.get("/departments/new/")
    assert form.status_code == 200 and has_button(form, "Create department")

    created = admin.post("/departments/new/", quota_form(site, "research", "4", "6", "2"))

    assert created.status_code == 302 and created["Location"] == "/departments/"
    quota = Quota.objects.get(department__name="research")
    assert (quota.node_pool.name, quota.gpu_deserved, quota.gpu_limit, quota.gpu_weight) == ("default", 4, 6, 2)
    listed = admin.get("/departments/")
    assert "research" in listed.content.decode() and has_button(listed, "New department")


def test_a_limit_below_the_deserved_quota_is_shown_next_to_the_limit_and_nothing_is_stored(admin, site):
    refused = admin.post("/departments/new/", quota_form(site, "research", "4", "2"))

    assert refused.status_code == 400
    assert "must be -1 (unlimited) or at least the deserved quota (4)" in field_error(refused, "resources[0].gpu.limit")
    assert field_error(refused, "resources[0].gpu.deserved") == ""
    assert not Department.objects.filter(name="research").exists()
    assert 'value="2"' in refused.content.decode()  # what was typed stays in the form


def test_a_bad_name_and_a_non_number_are_each_shown_next_to_their_field(admin, site):
    refused = admin.post("/departments/new/", quota_form(site, "Research!", "lots"))

    assert refused.status_code == 400
    assert "lower-case" in field_error(refused, "name")
    assert "number" in field_error(refused, "resources[0].gpu.deserved")


def test_a_project_may_not_deserve_more_than_its_department(admin, site):
    pool = site.cluster.node_pools.get(name="default")
    Quota.objects.create(department=site.department, node_pool=pool, gpu_deserved=2)
    form = quota_form(site, "vision", "3", parentId=str(site.department.pk))

    refused = admin.post(f"/projects/new/?department={site.department.pk}", form)

    assert refused.status_code == 400
    assert "deserves 2 GPUs in node pool 'default'; its projects would deserve 3" in field_error(
        refused, "resources[0].gpu.deserved"
    )
    assert not Project.objects.filter(name="vision").exists()
    created = admin.post("/projects/new/", {**form, "resources[0].gpu.deserved": "1"})
    assert created.status_code == 302
    assert Project.objects.get(name="vision").quotas.get().gpu_deserved == 1


def test_editing_a_project_keeps_what_was_stored_and_changes_the_quota(admin, site):
    page = admin.get(f"/projects/{site.project.pk}/")
    assert page.status_code == 200 and has_button(page, "Save")
    pool = site.cluster.node_pools.get(name="default")
    Quota.objects.create(department=site.department, node_pool=pool, gpu_deserved=8)

    saved = admin.post(f"/projects/{site.project.pk}/", {"description": "the default one",
                       "resources[0].nodePool.id": str(pool.pk), "resources[0].gpu.deserved": "2",
                       "resources[0].gpu.overQuotaWeight": "3"})  # fmt: skip

    assert saved.status_code == 302
    site.project.refresh_from_db()
    quota = site.project.quotas.get()
    assert (site.project.description, quota.gpu_deserved, quota.gpu_limit, quota.gpu_weight) == (
        "the default one", 2, -1, 3,
    )  # fmt: skip


def test_a_viewer_sees_no_buttons_and_the_server_refuses_his_forged_posts(viewer, site):
    listed = viewer.get("/departments/")
    assert listed.status_code == 200 and "default" in listed.content.decode()
    assert not has_button(listed, "New department") and not has_button(listed, "Edit")
    assert not has_button(listed, "Delete")
    edit = viewer.get(f"/departments/{site.department.pk}/")
    assert edit.status_code == 200 and not has_button(edit, "Save")
    assert "may read this department but not change it" in edit.content.decode()

    assert viewer.post("/departments/new/", quota_form(site, "sneaky", "1")).status_code == 403
    assert viewer.post(f"/projects/{site.project.pk}/", {"description": "mine now"}).status_code == 403
    assert viewer.post(f"/projects/{site.project.pk}/delete/").status_code == 403

    assert not Department.objects.filter(name="sneaky").exists()
    site.project.refresh_from_db()
    assert site.project.description == ""


def test_a_researcher_of_one_project_sees_only_its_tree_and_cannot_create_departments(researcher, site, admin):
    admin.post("/departments/new/", quota_form(site, "elsewhere", "0"))

    listed = researcher.get("/departments/").content.decode()

    assert "default" in listed and "elsewhere" not in listed
    assert researcher.get("/departments/new/").status_code == 403


def test_a_project_s_gpu_hours_per_hour_come_from_the_usage_roll_ups(admin, researcher, site):
    from datetime import UTC, datetime

    from clusters.models import Project
    from usage.models import UsageHour

    hour = datetime(2026, 11, 2, 10, tzinfo=UTC)
    UsageHour.objects.create(hour=hour, cluster=site.cluster, department=site.department, project=site.project,
                             gpu_hours_allocated=1.5, gpu_hours_used=0.5)  # fmt: skip
    other = Project.objects.create(cluster=site.cluster, department=site.department, name="other")
    UsageHour.objects.create(hour=hour, cluster=site.cluster, department=site.department, project=other,
                             gpu_hours_allocated=2.0)  # fmt: skip
    day = {"start": "2026-11-02T00:00:00Z", "end": "2026-11-03T00:00:00Z"}

    project = researcher.get(f"/projects/{site.project.pk}/usage/", day).json()["measurements"]
    department = admin.get(f"/departments/{site.department.pk}/usage/", day).json()["measurements"]

    assert [(m["type"], [v["value"] for v in m["values"]]) for m in project] == [
        ("GPU_HOURS_ALLOCATED", ["1.5"]), ("GPU_HOURS_USED", ["0.5"]),
    ]  # fmt: skip
    assert department[0]["values"] == [{"timestamp": "2026-11-02T10:00:00Z", "value": "3.5"}]
    assert researcher.get(f"/projects/{other.pk}/usage/", day).status_code == 404
    refused = admin.get(f"/projects/{site.project.pk}/usage/", {"start": "yesterday", "end": day["end"]})
    assert refused.status_code == 400 and "start" in refused.json()["message"]
    assert 'data-metrics-url="/projects/' in admin.get(f"/projects/{site.project.pk}/").content.decode()


def chosen_pools(response) -> list[str]:
    """The default node pools the project's form shows chosen, in order ("" for none)."""
    page = response.content.decode()
    selects = re.findall(r'<select id="f-defaultNodePools-\d+" name="defaultNodePools"[^>]*>(.*?)</select>', page, re.S)
    return [next(iter(re.findall(r'<option value="([^"]*)" selected>', s)), "") for s in selects]


def test_a_project_s_default_node_pools_are_chosen_in_order_and_shown_again(admin, site):
    pools.create_pool(site.cluster, "rack-one", BY_RACK, by="test")
    form = {**quota_form(site, "vision", "0", parentId=str(site.department.pk)),
            "defaultNodePools": ["rack-one", "", "default"]}  # fmt: skip

    created = admin.post("/projects/new/", form)

    assert created.status_code == 302, created.content.decode()
    project = Project.objects.get(name="vision")
    assert project.default_node_pools == ["rack-one", "default"]
    assert chosen_pools(admin.get(f"/projects/{project.pk}/")) == ["rack-one", "default"]


def test_a_pool_chosen_twice_is_shown_beside_the_choices_and_nothing_is_changed(admin, site):
    pools.create_pool(site.cluster, "rack-one", BY_RACK, by="test")
    Project.objects.filter(pk=site.project.pk).update(default_node_pools=["default"])

    refused = admin.post(f"/projects/{site.project.pk}/", {"defaultNodePools": ["rack-one", "rack-one"]})

    assert refused.status_code == 400
    error = re.search(r'<p class="field-error" id="f-defaultNodePools-error">(.*?)</p>', refused.content.decode())
    assert error and html.unescape(error.group(1)) == "node pool 'rack-one' is named twice."
    assert chosen_pools(refused) == ["rack-one", "rack-one"]  # what was chosen stays in the form
    site.project.refresh_from_db()
    assert site.project.default_node_pools == ["default"]


def test_a_department_s_form_offers_no_default_node_pools(admin, site):
    page = admin.get(f"/departments/{site.department.pk}/").content.decode()

    assert 'name="defaultNodePools"' not in page
