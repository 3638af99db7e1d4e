"""Charts of a department's and a project's GPUs over time in the console: their pages, and the
overview per department and project, chart allocation and utilisation over the last hour, day
or week from the org-unit metrics API, for those who may read the unit's dashboards."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.conftest import ADMIN_PASSWORD
from tests.frontend.browser import sign_in
from tests.frontend.conftest import person
from tests.usage.conftest import sample, store, uses
from usage import services
from workloads.models import Workload

pytestmark = pytest.mark.django_db

L1_RESEARCHER, L2_RESEARCHER = 6, 7
# What charts.js asks for each range it offers: the range up to now, in 60 points.
RANGES = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(days=7)}


@pytest.fixture
def used(site):
    """The default project's workload held 2 GPUs, 30% busy, an hour and a half ago (an hour
    now rolled up), and 1 GPU, 80% busy, in the hour now going on (which no roll-up holds yet,
    whatever the minute: the samples are spread over the part of it already past, but over no
    more than its last 40 minutes, so that no 24-minute step of the day holds both)."""
    workload = Workload.objects.create(name="train", project=site.project, cluster=site.cluster, phase="Running")
    now = timezone.now()
    since = max(now.replace(minute=0, second=0, microsecond=0), now - timedelta(minutes=40))
    two_gpus = uses(workload, ("G0", 1.0, None, 30.0), ("G1", 1.0, None, 30.0))
    earlier = [sample(now - timedelta(minutes=90 - m), [two_gpus], interval=60) for m in range(0, 30)]
    recent = [sample(since + (now - since) * (m + 1) / 6, [uses(workload, ("G0", 1.0, None, 80.0))],
                     interval=60) for m in range(0, 5)]  # fmt: skip
    store(site.cluster, *earlier, *recent)
    services.roll_up_recent(3, now)
    return site


def chart(page, url: str) -> dict[str, str]:
    """The attributes of the page's chart that reads ``url``."""
    html = page.content.decode()
    figure = re.search(rf'<figure [^>]*data-metrics-url="{re.escape(url)}"[^>]*>', html)
    assert figure, f"no chart of {url} on the page"
    return dict(re.findall(r'([\w-]+)="([^"]*)"', figure.group(0)))


def chart_data(client, figure: dict[str, str], range_name: str) -> dict[str, list[float]]:
    """What charts.js draws for the range: each metric's values."""
    end = timezone.now()
    params = {"metricType": figure["data-metric-types"], "start": (end - RANGES[range_name]).isoformat(),
              "end": end.isoformat(), "numberOfSamples": 60}  # fmt: skip
    response = client.get(figure["data-metrics-url"], params)
    assert response.status_code == 200, response.content
    return {m["type"]: [float(v["value"]) for v in m["values"]] for m in response.json()["measurements"]}


@pytest.mark.parametrize("kind", ["department", "project"])
def test_a_unit_s_page_charts_its_allocation_and_utilisation_over_the_last_hour_day_and_week(admin, used, kind):
    unit = used.department if kind == "department" else used.project
    api = f"/api/v1/org-unit/{kind}s/{unit.pk}/metrics"

    figure = chart(admin.get(f"/{kind}s/{unit.pk}/"), api)

    assert figure["data-metric-types"] == "GPU_ALLOCATION,GPU_UTILIZATION"
    assert "data-ranges" not in figure  # charts.js then offers the last hour, day and week
    hour, day, week = (chart_data(admin, figure, r) for r in ("hour", "day", "week"))
    assert hour["GPU_UTILIZATION"] == [80.0] * len(hour["GPU_UTILIZATION"]) and hour["GPU_UTILIZATION"]
    assert set(day["GPU_UTILIZATION"]) == {30.0, 80.0}
    # The week is read from the hourly roll-ups: only the hours that are over, at 30%.
    assert week["GPU_UTILIZATION"] and week["GPU_UTILIZATION"] == pytest.approx([30.0] * len(week["GPU_UTILIZATION"]))
    assert all(value > 0 for value in hour["GPU_ALLOCATION"] + day["GPU_ALLOCATION"] + week["GPU_ALLOCATION"])


def test_a_researcher_without_dashboards_gets_no_chart_and_no_data(django_user_model, used):
    l2 = person(django_user_model, "leo", L2_RESEARCHER, "project", used.project.pk)
    api = f"/api/v1/org-unit/projects/{used.project.pk}/metrics"

    page = l2.get(f"/projects/{used.project.pk}/")

    assert page.status_code == 200 and f'data-metrics-url="{api}"' not in page.content.decode()
    assert l2.get(api, {"metricType": "GPU_ALLOCATION", "start": "2026-01-01T00:00:00Z",
                        "end": "2026-01-02T00:00:00Z"}).status_code == 403  # fmt: skip


def test_the_overview_charts_each_department_and_project_the_person_may_read(admin, django_user_model, used):
    researcher = person(django_user_model, "rita", L1_RESEARCHER, "project", used.project.pk)
    department_api = f"/api/v1/org-unit/departments/{used.department.pk}/metrics"
    project_api = f"/api/v1/org-unit/projects/{used.project.pk}/metrics"

    overview = admin.get("/overview/")
    assert chart(overview, department_api) and chart(overview, project_api)
    assert chart_data(admin, chart(overview, project_api), "hour")["GPU_ALLOCATION"]

    # A project's researcher reads its dashboards, not its department's.
    mine = researcher.get("/overview/").content.decode()
    assert f'data-metrics-url="{project_api}"' in mine and f'data-metrics-url="{department_api}"' not in mine


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_in_the_browser_a_department_s_charts_are_drawn_when_opened_and_each_range_is_offered(
    open_browser, admin_user, used
):
    page = open_browser()
    sign_in(page, "admin", ADMIN_PASSWORD)
    page.get_by_role("link", name="Overview").click()
    department = page.locator(f"details[data-department={used.department.name}]")
    expect(department.locator("svg")).to_have_count(0)  # folded: nothing asked yet

    department.locator("summary").click()

    # Department and project: GPUs allocated and utilisation each.
    expect(department.locator("svg")).to_have_count(4)
    expect(department.locator("svg").first).to_have_attribute("aria-label", re.compile(r"^GPUs allocated: latest"))
    ranges = department.locator("figure").first.locator(".chart-ranges button")
    expect(ranges).to_have_text(["Last hour", "Last day", "Last week"])
    ranges.nth(2).click()
    expect(ranges.nth(2)).to_have_attribute("aria-pressed", "true")
    expect(department.locator("figure").first.locator("svg").last).to_have_attribute(
        "aria-label", re.compile(r"^GPU utilisation: latest 30\.0 %")
    )
