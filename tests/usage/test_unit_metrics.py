"""A department's and a project's GPUs over time: allocation and utilisation over their
workloads, cut into steps in the database (from samples, or over more than a day in steps of an
hour or more from the hourly roll-ups), and the API that gives them in Run:ai's shape."""

from datetime import timedelta

import pytest

from tests.accounts.conftest import client_for
from tests.usage.conftest import GIB, T0, at, sample, store, uses
from usage import services
from usage.models import WorkloadSample
from workloads.models import Workload

pytestmark = pytest.mark.django_db

L1_RESEARCHER, L2_RESEARCHER, VIEWER = 6, 7, 9
HOUR = services.Window(T0, T0 + timedelta(hours=1), 2)
HOUR_QUERY = {"start": "2026-03-01T12:00:00Z", "end": "2026-03-01T13:00:00Z"}


@pytest.fixture
def measured(org):
    """Over an hour, sampled each minute: p1's workload holds half a real device (utilisation 20%
    then 60%), p2's a whole simulated one (allocation only), both in d1; p3's (in d2) holds two."""
    w1, w2, w3 = org.workloads["p1"], org.workloads["p2"], org.workloads["p3"]
    store(
        org.c1,
        *[
            sample(
                at(minute * 60),
                [
                    uses(w1, ("GPU-0", 0.5, 4 * GIB, 20.0 if minute < 30 else 60.0)),
                    uses(w2, ("GPU-1", 1.0, None, None)),
                    uses(w3, ("GPU-2", 1.0, None, 100.0), ("GPU-3", 1.0, None, 100.0)),
                ],
                interval=60,
            )
            for minute in range(60)
        ],
    )
    return org


def points(unit, window=HOUR, **kwargs):
    return [(p.at, p.gpu_allocation, p.gpu_utilization) for p in services.unit_usage(unit, window, **kwargs)]


def test_a_project_is_its_own_workloads_only_in_each_step(measured):
    assert points(measured.p1) == [(T0, 0.5, 20.0), (at(1800), 0.5, 60.0)]


def test_a_department_is_the_workloads_of_its_projects(measured):
    # p1 and p2 are held together; only p1 measures utilisation, so it alone makes the percentage,
    # and d2's p3 (busy at 100%) is not counted.
    assert points(measured.d1) == [(T0, 1.5, 20.0), (at(1800), 1.5, 60.0)]
    assert points(measured.d2) == [(T0, 2.0, 100.0), (at(1800), 2.0, 100.0)]


def test_utilisation_is_left_unknown_where_no_sample_measured_it(measured):
    assert points(measured.p2) == [(T0, 1.0, None), (at(1800), 1.0, None)]


def test_allocation_is_the_gpu_time_held_over_the_step(measured):
    # p1's workload holds its half GPU for the first half hour only: over the whole hour, a quarter.
    WorkloadSample.objects.filter(workload=measured.workloads["p1"], at__gte=at(1800)).delete()

    [(start, allocation, utilization)] = points(measured.p1, services.Window(T0, T0 + timedelta(hours=1), 1))

    assert (start, allocation, utilization) == (T0, 0.25, 20.0)


def test_steps_without_usage_are_left_out(measured):
    later = services.Window(T0 + timedelta(minutes=30), T0 + timedelta(hours=2), 3)

    assert points(measured.p1, later) == [(at(1800), 0.5, 60.0)]


def test_zero_steps_gives_each_sampling_instant(measured):
    got = points(measured.d1, services.Window(T0, T0 + timedelta(minutes=2), 0))

    assert got == [(T0, 1.5, 20.0), (at(60), 1.5, 20.0), (at(120), 1.5, 20.0)]


def test_a_department_of_many_workloads_is_read_in_one_query(measured, django_assert_num_queries):
    for n in range(20):
        workload = Workload.objects.create(name=f"more-{n}", project=measured.p1, cluster=measured.c1)
        store(measured.c1, sample(at(0), [uses(workload, (f"GPU-{n + 10}", 1.0, None, 50.0))], interval=60))

    with django_assert_num_queries(1):
        services.unit_usage(measured.d1, HOUR)


TWO_DAYS = services.Window(T0, T0 + timedelta(days=2), 24)  # steps of two hours


def test_steps_of_hours_over_days_come_from_the_hourly_roll_ups(measured, django_assert_num_queries):
    for hour in range(2):
        services.roll_up_hour(T0 + timedelta(hours=hour))  # the second hour is empty
    WorkloadSample.objects.all().delete()  # the roll-ups alone answer

    with django_assert_num_queries(1):
        got = points(measured.d1, TWO_DAYS, now=T0 + timedelta(days=3))

    # The first step is two hours, d1 held 1.5 GPUs in one of them; p1's device was 20% busy for
    # half an hour and 60% for the other half.
    assert got == [(T0, 0.75, pytest.approx(40.0))]


def test_an_hour_not_over_yet_is_not_read_from_the_roll_ups(measured):
    services.roll_up_hour(T0)

    assert points(measured.p1, TWO_DAYS, now=T0 + timedelta(minutes=59)) == []
    assert points(measured.p1, TWO_DAYS, now=T0 + timedelta(minutes=60)) == [(T0, 0.5, pytest.approx(40.0))]


# --- the API ----------------------------------------------------------------------------------


def values(measurement):
    return [(v["timestamp"], v["value"]) for v in measurement["values"]]


@pytest.mark.parametrize("kind", ["departments", "projects"])
def test_the_api_gives_allocation_and_utilisation_in_run_ai_shape(api, measured, kind):
    unit = measured.d1 if kind == "departments" else measured.p1

    query = {**HOUR_QUERY, "metricType": "GPU_ALLOCATION,GPU_UTILIZATION", "numberOfSamples": 2}

    response = api.get(f"/api/v1/org-unit/{kind}/{unit.pk}/metrics", query)

    assert response.status_code == 200, response.content
    allocation, utilization = response.json()["measurements"]
    held = "1.5" if kind == "departments" else "0.5"
    assert allocation["type"] == "GPU_ALLOCATION" and allocation["labels"] is None
    assert values(allocation) == [("2026-03-01T12:00:00Z", held), ("2026-03-01T12:30:00Z", held)]
    assert values(utilization) == [("2026-03-01T12:00:00Z", "20"), ("2026-03-01T12:30:00Z", "60")]


def test_the_api_leaves_out_utilisation_nobody_measured(api, measured):
    response = api.get(f"/api/v1/org-unit/projects/{measured.p2.pk}/metrics",
                       {**HOUR_QUERY, "metricType": "GPU_UTILIZATION"})  # fmt: skip

    assert response.json()["measurements"] == [{"type": "GPU_UTILIZATION", "labels": None, "values": []}]


@pytest.mark.parametrize(
    "params, field",
    [
        (HOUR_QUERY, "metricType"),
        ({**HOUR_QUERY, "metricType": "ALLOCATED_GPU"}, "metricType"),
        ({**HOUR_QUERY, "metricType": "GPU_ALLOCATION", "end": "2026-03-01T11:00:00Z"}, "end"),
        ({**HOUR_QUERY, "metricType": "GPU_ALLOCATION", "numberOfSamples": -1}, "numberOfSamples"),
        ({**HOUR_QUERY, "metricType": "GPU_ALLOCATION", "nodepoolName": "default"}, "nodepoolName"),
    ],
)
def test_bad_parameters_are_a_400_naming_the_parameter(api, measured, params, field):
    response = api.get(f"/api/v1/org-unit/projects/{measured.p1.pk}/metrics", params)

    assert response.status_code == 400
    assert response.json()["message"].startswith(f"{field}:")


def test_a_range_of_millennia_is_answered_from_the_roll_ups(api, measured):
    services.roll_up_hour(T0)
    ages = {"start": "0001-01-01T00:00:00Z", "end": "9999-12-31T23:59:59Z", "numberOfSamples": 1000}

    response = api.get(f"/api/v1/org-unit/projects/{measured.p1.pk}/metrics", {**ages, "metricType": "GPU_ALLOCATION"})

    assert response.status_code == 200
    [allocation] = response.json()["measurements"]
    assert len(allocation["values"]) == 1 and 0 < float(allocation["values"][0]["value"]) <= 0.5


def test_unit_metrics_need_the_dashboards_on_the_unit(measured, make_user):
    params = {**HOUR_QUERY, "metricType": "GPU_ALLOCATION"}
    p1_researcher = client_for(make_user("r", L1_RESEARCHER, "project", measured.p1.pk))
    no_dashboards = client_for(make_user("l2", L2_RESEARCHER, "project", measured.p1.pk))
    d1_viewer = client_for(make_user("v", VIEWER, "department", measured.d1.pk))

    assert p1_researcher.get(f"/api/v1/org-unit/projects/{measured.p1.pk}/metrics", params).status_code == 200
    assert p1_researcher.get(f"/api/v1/org-unit/projects/{measured.p2.pk}/metrics", params).status_code == 404
    assert no_dashboards.get(f"/api/v1/org-unit/projects/{measured.p1.pk}/metrics", params).status_code == 403
    assert d1_viewer.get(f"/api/v1/org-unit/departments/{measured.d1.pk}/metrics", params).status_code == 200
    assert d1_viewer.get(f"/api/v1/org-unit/departments/{measured.d2.pk}/metrics", params).status_code == 404


def test_runapy_reads_project_metrics(api, measured):
    """The public Run:ai client's request path and parameters are answered in its shape."""
    from runai.models.measurement_response import MeasurementResponse

    response = api.get(f"/api/v1/org-unit/projects/{measured.p1.pk}/metrics", {"metricType": ["GPU_ALLOCATION"],
                       "start": T0.isoformat(), "end": "2026-03-01T13:00:00+00:00", "numberOfSamples": 20})  # fmt: skip

    [item] = response.json()["measurements"]
    assert MeasurementResponse.from_dict(item).type == "GPU_ALLOCATION"
