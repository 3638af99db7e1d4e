"""End to end in a real headless Chromium against the real server and a real agent: an
administrator sets up the organisation, a researcher submits from the workbench and watches the
work run without reloading, a viewer cannot submit. The tests save screenshots of the pages."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import AccessRule, Application
from clusters.models import Department, Project, Quota
from tests.conftest import ADMIN_PASSWORD
from tests.frontend.browser import sign_in
from workloads.models import Workload

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PASSWORD = "a-long-enough-password-1"


def fits_the_screen(page) -> bool:
    """Whether the page needs no sideways scrolling at the laptop-sized viewport."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def person(django_user_model, username: str, role_id: int, scope_type: str, scope_id: object) -> None:
    django_user_model.objects.create_user(username, password=PASSWORD)
    AccessRule.objects.create(subject_type="user", subject_id=username, role_id=role_id, scope_type=scope_type,
                              scope_id=str(scope_id))  # fmt: skip


def test_an_administrator_sets_up_departments_projects_and_an_application(
    open_browser, admin_user, cluster, agent, screenshots
):
    page = open_browser()
    sign_in(page, "admin", ADMIN_PASSWORD)
    # The overview follows the cluster's state: its agent connects while the page is open.
    page.get_by_role("link", name="Overview").click()
    page.evaluate("window.notReloaded = true")
    expect(page.locator("[data-cluster=e2e] .badge").first).not_to_have_text("Connected")
    agent.start()
    expect(page.locator("[data-cluster=e2e] .badge").first).to_have_text("Connected", timeout=45_000)
    assert page.evaluate("window.notReloaded") is True

    page.get_by_role("link", name="Departments").click()
    page.get_by_role("link", name="New department").click()
    page.get_by_label("Name").fill("research")
    page.get_by_label("default GPUs deserved").fill("3")
    page.get_by_label("default GPUs limit").fill("1")
    assert fits_the_screen(page)
    page.get_by_role("button", name="Create department").click()
    limit_error = page.locator("#f-resources-0-gpu-limit-error")
    expect(limit_error).to_contain_text("at least the deserved quota (3)")
    expect(page.locator("#f-resources-0-gpu-limit")).to_have_attribute("aria-invalid", "true")
    page.screenshot(path=screenshots / "quota-error.png")
    page.get_by_label("default GPUs limit").fill("4")
    page.get_by_role("button", name="Create department").click()
    expect(page.locator("tr[data-unit=research]")).to_contain_text("3 / 4")
    assert Quota.objects.get(department__name="research").gpu_limit == 4

    page.get_by_role("link", name="Projects").click()
    page.get_by_role("link", name="New project").click()
    page.get_by_label("Department").select_option(label="research (e2e)")
    page.get_by_role("button", name="Choose").click()
    page.get_by_label("Name").fill("vision")
    page.get_by_label("default GPUs deserved").fill("2")
    page.get_by_label("default GPUs over-quota weight").fill("2")
    page.get_by_role("button", name="Create project").click()
    expect(page.locator("tr[data-unit=vision]")).to_contain_text("2 / unlimited (2)")
    assert Project.objects.get(name="vision").department == Department.objects.get(name="research")
    page.screenshot(path=screenshots / "projects.png")
    page.get_by_role("link", name="vision", exact=True).click()
    # GPUs allocated and utilisation over time, and GPU-hours allocated and used per hour.
    expect(page.locator("figure.chart svg")).to_have_count(4)

    page.get_by_role("link", name="Applications").click()
    page.get_by_label("Name").fill("ci-bot")
    page.get_by_role("button", name="Register").click()
    secret = page.locator("#app-secret").inner_text().strip()
    assert len(secret) > 30 and Application.objects.filter(name="ci-bot").exists()
    page.reload()
    expect(page.get_by_role("row", name=re.compile("ci-bot"))).to_be_visible()
    expect(page.locator("#app-secret")).to_have_count(0)
    assert secret not in page.content()

    page.get_by_role("link", name="Overview").click()
    expect(page.locator("[data-cluster=e2e]")).to_contain_text("Connected")
    expect(page.locator("[data-cluster=e2e] tr[data-pool=default] td").first).to_have_text("4")
    # Allocation and utilisation over time, drawn from the cluster's metrics API.
    expect(page.locator("figure.chart svg")).to_have_count(2)
    assert fits_the_screen(page)
    page.screenshot(path=screenshots / "overview.png")


def test_a_researcher_submits_from_the_workbench_and_follows_it_live(
    open_browser, django_user_model, cluster, agent, screenshots
):
    _, _, project = cluster
    person(django_user_model, "rita", 6, "project", project.pk)
    agent.start()
    page = open_browser()
    sign_in(page, "rita", PASSWORD)

    # Half a GPU, from the workbench; the page then follows it without being reloaded.
    page.get_by_role("link", name="Submit a workload").click()
    expect(page.locator("#project-quota")).to_contain_text("Quota per node pool")
    page.get_by_label("Name").fill("half-gpu")
    page.get_by_label("Command").fill("echo started; sleep 4; echo from-the-browser; echo oops >&2")
    page.get_by_role("radio", name="A portion of each GPU").check()
    page.get_by_role("textbox", name="Portion of each GPU").fill("0.5")
    page.screenshot(path=screenshots / "submit.png")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(re.compile(r"/workloads/[0-9a-f-]+/$"))
    fractional = Workload.objects.get(name="half-gpu")
    assert (fractional.gpu_devices, fractional.gpu_portion) == (1, 0.5)
    page.evaluate("window.notReloaded = true")
    expect(page.locator("#live-status")).to_have_text("Live")
    expect(page.locator("#phase")).to_have_text("Running", timeout=60_000)
    expect(page.locator("#stdout")).to_contain_text("started", timeout=30_000)  # followed while it runs
    expect(page.locator("#phase")).to_have_text("Completed", timeout=60_000)
    expect(page.locator("#stdout")).to_contain_text("from-the-browser")
    expect(page.locator("#stderr")).to_contain_text("oops")
    expect(page.locator("#events")).to_contain_text("Completed")
    expect(page.locator("figure.chart svg")).to_have_count(3)  # utilisation, memory, allocation
    expect(page.get_by_role("button", name="Suspend")).to_be_hidden()  # finished work cannot be suspended
    assert page.evaluate("window.notReloaded") is True
    page.screenshot(path=screenshots / "workload-completed.png")

    page.get_by_role("link", name="Workloads").click()
    expect(page.locator("tr", has_text="half-gpu").locator(".phase")).to_have_text("Completed")
    page.screenshot(path=screenshots / "workloads.png")


def test_a_viewer_cannot_submit_and_the_server_refuses_a_forged_post(
    open_browser, django_user_model, cluster, agent, screenshots
):
    _, _, project = cluster
    person(django_user_model, "vera", 9, "tenant", 1)
    page = open_browser()
    # With the keyboard only: the labels name the fields, Tab moves on, Enter submits.
    page.goto("/login/")
    page.get_by_label("Username").focus()
    page.keyboard.type("vera")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "id_password"
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/workloads/")

    expect(page.get_by_role("heading", name="Workloads")).to_be_visible()
    expect(page.get_by_role("link", name="Submit a workload")).to_have_count(0)
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    forged = page.request.post(
        "/workloads/new/",
        form={
            "csrfmiddlewaretoken": csrf,
            "_type": "trainings",
            "name": "forged",
            "projectId": str(project.pk),
            "spec.compute.gpuDevicesRequest": "1",
            "_gpuFraction": "whole",
        },  # fmt: skip
        headers={"Referer": page.url},
    )
    assert forged.status == 403 and "You may not create trainings" in forged.text()
    assert not Workload.objects.filter(name="forged").exists()
    page.goto("/workloads/new/")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
