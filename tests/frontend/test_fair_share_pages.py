"""The department and project pages show, beside each node pool's quota, the fair share the
cluster's scheduler computed and the GPUs it allocated, as the agent last reported them."""

import html
import re

import pytest

from agent.protocol import QueuePoolStatus, QueueStatusMessage
from clusters import queue_status

pytestmark = pytest.mark.django_db


def fair_share_cell(response, unit: str) -> str:
    """The text of the fair-share cell in the row of ``unit`` (a list page) or on the form."""
    page = response.content.decode()
    row = re.search(rf'<tr data-unit="{re.escape(unit)}">(.*?)</tr>', page, re.S)
    cell = re.search(r"<td data-fair-share>(.*?)</td>", row.group(1) if row else page, re.S)
    assert cell is not None, f"no fair share shown for {unit}"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", cell.group(1))).split())


def report(site, **figures: tuple[float, float, bool]) -> None:
    """The agent reported these figures (fair share, allocated, over quota) in pool default, by
    kind of unit."""
    units = {"project": site.project, "department": site.department}
    queue_status.record(
        site.cluster,
        QueueStatusMessage(
            queues=[
                QueuePoolStatus(
                    queue_id=str(units[kind].pk),
                    kind=kind,
                    node_pool="default",
                    fair_share_gpus=share,
                    allocated_gpus=allocated,
                    over_quota=over,
                )  # fmt: skip
                for kind, (share, allocated, over) in figures.items()
            ]
        ),
    )


def test_the_project_list_shows_each_pools_fair_share_beside_its_quota(admin, site):
    before = admin.get("/projects/")
    assert fair_share_cell(before, site.project.name) == "default : not reported yet"

    report(site, project=(2.5, 3, True))

    listed = admin.get("/projects/")
    assert fair_share_cell(listed, site.project.name) == "default : 2.5 (allocated 3, over quota)"


def test_the_department_list_and_form_show_the_departments_fair_share(admin, site):
    report(site, department=(4, 1, False))

    listed = admin.get("/departments/")
    assert fair_share_cell(listed, site.department.name) == "default : 4 (allocated 1)"
    form = admin.get(f"/departments/{site.department.pk}/")
    assert form.status_code == 200
    assert fair_share_cell(form, site.department.name) == "4 (1)"


def test_a_viewer_sees_the_fair_share_too(viewer, site):
    report(site, project=(1, 0.5, False))

    assert fair_share_cell(viewer.get(f"/projects/{site.project.pk}/"), site.project.name) == "1 (0.5)"
