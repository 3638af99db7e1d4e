"""The CSV export of GPU-hours for a time range, per project or per department, showing only
what the caller may see on the dashboards."""

import csv
import io
from datetime import timedelta

import pytest

from tests.accounts.conftest import client_for
from tests.usage.conftest import T0
from usage.models import UsageHour

pytestmark = pytest.mark.django_db

DEPARTMENT_ADMIN, L2_RESEARCHER = 2, 7
DAY = {"start": "2026-03-01T00:00:00Z", "end": "2026-03-02T00:00:00Z"}


@pytest.fixture
def rolled_up(org):
    """Two hours of p1 and p2 (department d1), one of p3 (d2) and one of p4 (cluster c2), and an
    hour of p1 the day before."""
    rows = [
        (T0, org.p1, 0.5, 0.4),
        (T0, org.p2, 1.0, None),
        (T0, org.p3, 2.0, 1.5),
        (T0, org.p4, 1.0, 0.1),
        (T0 + timedelta(hours=1), org.p1, 0.25, 0.2),
        (T0 + timedelta(hours=1), org.p2, 1.0, None),
        (T0 - timedelta(days=1), org.p1, 8.0, 8.0),
    ]
    for hour, project, allocated, used in rows:
        UsageHour.objects.create(hour=hour, cluster=project.cluster, department=project.department, project=project,
                                 gpu_hours_allocated=allocated, gpu_hours_used=used)  # fmt: skip
    return org


def table(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_gpu_hours_per_project_and_hour_in_the_range(api, rolled_up):
    rows = table(api.get("/api/v1/usage/gpu-hours", DAY))

    got = [(r["hour"], r["projectName"], r["departmentName"], r["gpuHoursAllocated"], r["gpuHoursUsed"]) for r in rows]
    assert got == [
        ("2026-03-01T12:00:00Z", "p1", "d1", "0.500000", "0.400000"),
        ("2026-03-01T12:00:00Z", "p2", "d1", "1.000000", ""),
        ("2026-03-01T12:00:00Z", "p3", "d2", "2.000000", "1.500000"),
        ("2026-03-01T12:00:00Z", "p4", "d3", "1.000000", "0.100000"),
        ("2026-03-01T13:00:00Z", "p1", "d1", "0.250000", "0.200000"),
        ("2026-03-01T13:00:00Z", "p2", "d1", "1.000000", ""),
    ]
    assert rows[0]["clusterName"] == "c1" and rows[0]["projectId"] == str(rolled_up.p1.pk)


def test_gpu_hours_summed_per_department(api, rolled_up):
    rows = table(api.get("/api/v1/usage/gpu-hours", {**DAY, "groupBy": "department"}))

    got = [(r["hour"], r["departmentName"], r["gpuHoursAllocated"], r["gpuHoursUsed"]) for r in rows]
    assert got == [
        ("2026-03-01T12:00:00Z", "d1", "1.500000", "0.400000"),
        ("2026-03-01T12:00:00Z", "d2", "2.000000", "1.500000"),
        ("2026-03-01T12:00:00Z", "d3", "1.000000", "0.100000"),
        ("2026-03-01T13:00:00Z", "d1", "1.250000", "0.200000"),
    ]
    assert "projectName" not in rows[0]


def test_a_department_administrator_exports_only_his_department(rolled_up, make_user):
    admin_of_d2 = client_for(make_user("a", DEPARTMENT_ADMIN, "department", rolled_up.d2.pk))

    rows = table(admin_of_d2.get("/api/v1/usage/gpu-hours", DAY))

    assert [r["projectName"] for r in rows] == ["p3"]


def test_a_caller_without_the_dashboards_gets_no_rows(rolled_up, make_user):
    researcher = client_for(make_user("r", L2_RESEARCHER, "tenant", "1"))

    assert table(researcher.get("/api/v1/usage/gpu-hours", DAY)) == []


@pytest.mark.parametrize(
    "params, field",
    [
        ({"end": DAY["end"]}, "start"),
        ({"start": DAY["start"]}, "end"),
        ({**DAY, "start": "2026-13-01T00:00:00Z"}, "start"),
        ({**DAY, "end": "2026-02-01T00:00:00Z"}, "end"),
        ({**DAY, "groupBy": "node"}, "groupBy"),
    ],
)
def test_bad_parameters_are_a_400_naming_the_parameter(api, rolled_up, params, field):
    response = api.get("/api/v1/usage/gpu-hours", params)

    assert response.status_code == 400
    assert response.json()["message"].startswith(f"{field}:")


def test_the_export_needs_a_signed_in_caller(client, rolled_up):
    assert client.get("/api/v1/usage/gpu-hours", DAY).status_code == 401
