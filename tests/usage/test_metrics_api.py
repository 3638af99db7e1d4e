"""Metrics over time in the API, as Run:ai has them: workloads, clusters and nodes, with
``metricType``, ``start``, ``end`` and ``numberOfSamples``; the denied side and bad input."""

import pytest

from clusters.models import Node, NodePool
from tests.accounts.conftest import client_for
from tests.usage.conftest import GIB, T0, at, device, sample, store, uses

pytestmark = pytest.mark.django_db

L1_RESEARCHER, L2_RESEARCHER, VIEWER = 6, 7, 9
HOUR = {"start": "2026-03-01T12:00:00Z", "end": "2026-03-01T13:00:00Z"}


@pytest.fixture
def measured(org):
    """Over an hour, w-p1 runs on half a real device (memory and utilisation known) and w-p2 on a
    whole simulated one (allocation only); c1's node-a has two devices."""
    w1, w2 = org.workloads["p1"], org.workloads["p2"]
    samples = []
    for minute in range(60):
        utilization = 20.0 if minute < 30 else 60.0
        samples.append(
            sample(
                at(minute * 60),
                [uses(w1, ("GPU-0", 0.5, 4 * GIB, utilization)), uses(w2, ("GPU-1", 1.0, None, None))],
                [device("GPU-0", 0, 0.5, 10 * GIB, utilization + 10), device("GPU-1", 1, 1.0)],
                interval=60,
            )
        )
    store(org.c1, *samples)
    return org


def values(measurement):
    return [(v["timestamp"], v["value"]) for v in measurement["values"]]


def test_a_workload_metric_is_averaged_into_the_number_of_samples_asked_for(api, measured):
    w1 = measured.workloads["p1"]

    response = api.get(f"/api/v1/workloads/{w1.pk}/metrics", {**HOUR, "metricType": "GPU_UTILIZATION",
                                                                 "numberOfSamples": 2})  # fmt: skip

    assert response.status_code == 200, response.content
    [utilization] = response.json()["measurements"]
    assert utilization["type"] == "GPU_UTILIZATION"
    assert values(utilization) == [("2026-03-01T12:00:00Z", "20"), ("2026-03-01T12:30:00Z", "60")]


def test_several_metric_types_repeated_or_comma_separated(api, measured):
    w1 = measured.workloads["p1"]
    path = f"/api/v1/workloads/{w1.pk}/metrics"

    repeated = api.get(path, {**HOUR, "metricType": ["GPU_ALLOCATION", "GPU_MEMORY_USAGE_BYTES"], "numberOfSamples": 1})
    joined = api.get(path, {**HOUR, "metricType": "GPU_ALLOCATION,GPU_MEMORY_USAGE_BYTES", "numberOfSamples": 1})

    assert repeated.json() == joined.json()
    allocation, memory = repeated.json()["measurements"]
    assert values(allocation) == [("2026-03-01T12:00:00Z", "0.5")]
    assert values(memory) == [("2026-03-01T12:00:00Z", str(4 * GIB))]


def test_zero_samples_means_every_sample_as_it_came(api, measured):
    w1 = measured.workloads["p1"]

    response = api.get(f"/api/v1/workloads/{w1.pk}/metrics", {**HOUR, "metricType": "GPU_ALLOCATION",
                                                                 "numberOfSamples": 0})  # fmt: skip

    [allocation] = response.json()["measurements"]
    assert len(allocation["values"]) == 60
    assert allocation["values"][1] == {"timestamp": "2026-03-01T12:01:00Z", "value": "0.5"}


def test_on_a_simulated_device_only_allocation_has_values(api, measured):
    w2 = measured.workloads["p2"]

    response = api.get(f"/api/v1/workloads/{w2.pk}/metrics",
                       {**HOUR, "metricType": "GPU_ALLOCATION,GPU_UTILIZATION,GPU_MEMORY_USAGE_BYTES"})  # fmt: skip

    allocation, utilization, memory = response.json()["measurements"]
    assert {v["value"] for v in allocation["values"]} == {"1"}
    assert utilization["values"] == [] and memory["values"] == []


def test_only_samples_within_the_range_are_used(api, measured):
    w1 = measured.workloads["p1"]

    later = {"start": "2026-03-01T12:40:00Z", "end": "2026-03-01T14:00:00Z"}

    response = api.get(f"/api/v1/workloads/{w1.pk}/metrics", {**later, "metricType": "GPU_UTILIZATION",
                                                                 "numberOfSamples": 0})  # fmt: skip

    [utilization] = response.json()["measurements"]
    assert len(utilization["values"]) == 20
    assert {v["value"] for v in utilization["values"]} == {"60"}


@pytest.mark.parametrize(
    "params, field",
    [
        ({**HOUR}, "metricType"),
        ({**HOUR, "metricType": "CPU_USAGE_CORES"}, "metricType"),
        ({"end": HOUR["end"], "metricType": "GPU_ALLOCATION"}, "start"),
        ({**HOUR, "start": "yesterday", "metricType": "GPU_ALLOCATION"}, "start"),
        ({**HOUR, "start": "0001-01-01T00:00:00+14:00", "metricType": "GPU_ALLOCATION"}, "start"),
        ({**HOUR, "end": "2026-03-01T11:00:00Z", "metricType": "GPU_ALLOCATION"}, "end"),
        ({**HOUR, "metricType": "GPU_ALLOCATION", "numberOfSamples": 1001}, "numberOfSamples"),
        ({**HOUR, "metricType": "GPU_ALLOCATION", "numberOfSamples": "many"}, "numberOfSamples"),
    ],
)
def test_bad_parameters_are_a_400_naming_the_parameter(api, measured, params, field):
    w1 = measured.workloads["p1"]

    response = api.get(f"/api/v1/workloads/{w1.pk}/metrics", params)

    assert response.status_code == 400
    assert response.json()["message"].startswith(f"{field}:")


def test_a_range_of_a_moment_cut_in_many_samples_is_answered(api, measured):
    w1 = measured.workloads["p1"]
    moment = {"start": "2026-03-01T12:01:00Z", "end": "2026-03-01T12:01:00.000001Z"}

    response = api.get(f"/api/v1/workloads/{w1.pk}/metrics", {**moment, "metricType": "GPU_ALLOCATION",
                                                                 "numberOfSamples": 1000})  # fmt: skip

    assert [v["value"] for v in response.json()["measurements"][0]["values"]] == ["0.5"]


def test_an_offset_sent_unencoded_is_still_read(api, measured):
    w1 = measured.workloads["p1"]
    query = "metricType=GPU_ALLOCATION&start=2026-03-01T12:00:00+00:00&end=2026-03-01T13:00:00+00:00&numberOfSamples=1"

    response = api.get(f"/api/v1/workloads/{w1.pk}/metrics?{query}")

    assert response.status_code == 200, response.content


def test_a_caller_who_cannot_see_the_workload_does_not_see_its_metrics(measured, make_user):
    researcher = client_for(make_user("r", L1_RESEARCHER, "project", measured.p2.pk))
    params = {**HOUR, "metricType": "GPU_ALLOCATION"}

    assert researcher.get(f"/api/v1/workloads/{measured.workloads['p1'].pk}/metrics", params).status_code == 404
    assert researcher.get(f"/api/v1/workloads/{measured.workloads['p2'].pk}/metrics", params).status_code == 200


def test_metrics_need_a_signed_in_caller(client, measured):
    response = client.get(
        f"/api/v1/workloads/{measured.workloads['p1'].pk}/metrics", {**HOUR, "metricType": "GPU_ALLOCATION"}
    )

    assert response.status_code == 401


def test_cluster_metrics_are_totals_over_its_devices(api, measured):
    types = "TOTAL_GPU,ALLOCATED_GPU,UNALLOCATED_GPU,TOTAL_GPU_NODES,GPU_UTILIZATION,GPU_MEMORY_UTILIZATION"

    response = api.get(
        f"/api/v1/clusters/{measured.c1.pk}/metrics", {**HOUR, "numberOfSamples": 1, "metricType": types}
    )

    assert response.status_code == 200, response.content
    got = {m["type"]: [v["value"] for v in m["values"]] for m in response.json()["measurements"]}
    # Utilisation and memory are known on GPU-0 only: the simulated GPU-1 does not count as idle.
    assert got == {
        "TOTAL_GPU": ["2"],
        "ALLOCATED_GPU": ["1.5"],
        "UNALLOCATED_GPU": ["0.5"],
        "TOTAL_GPU_NODES": ["1"],
        "GPU_UTILIZATION": ["50"],
        "GPU_MEMORY_UTILIZATION": ["12.5"],
    }


def test_cluster_metrics_of_one_node_pool(api, measured):
    NodePool.objects.create(cluster=measured.c1, name="a100", label_key="gpu", label_value="a100")
    pool = NodePool.objects.get(cluster=measured.c1, name="a100")
    Node.objects.create(cluster=measured.c1, name="node-a", node_pool=pool)
    params = {**HOUR, "numberOfSamples": 1, "metricType": "TOTAL_GPU"}

    in_pool = api.get(f"/api/v1/clusters/{measured.c1.pk}/metrics", {**params, "nodepoolName": "a100"})
    default = api.get(f"/api/v1/clusters/{measured.c1.pk}/metrics", {**params, "nodepoolName": "default"})
    unknown = api.get(f"/api/v1/clusters/{measured.c1.pk}/metrics", {**params, "nodepoolName": "h100"})

    assert [v["value"] for v in in_pool.json()["measurements"][0]["values"]] == ["2"]
    assert default.json()["measurements"][0]["values"] == []
    assert unknown.status_code == 400 and unknown.json()["message"].startswith("nodepoolName:")


def test_cluster_metrics_need_the_dashboards_on_the_cluster(measured, make_user):
    params = {**HOUR, "metricType": "ALLOCATED_GPU"}
    project_researcher = client_for(make_user("r", L1_RESEARCHER, "project", measured.p1.pk))
    cluster_viewer = client_for(make_user("v", VIEWER, "cluster", measured.c1.pk))
    no_dashboards = client_for(make_user("l2", L2_RESEARCHER, "cluster", measured.c1.pk))

    assert project_researcher.get(f"/api/v1/clusters/{measured.c1.pk}/metrics", params).status_code == 403
    assert no_dashboards.get(f"/api/v1/clusters/{measured.c1.pk}/metrics", params).status_code == 403
    assert cluster_viewer.get(f"/api/v1/clusters/{measured.c2.pk}/metrics", params).status_code == 404
    assert cluster_viewer.get(f"/api/v1/clusters/{measured.c1.pk}/metrics", params).status_code == 200


def test_cluster_metrics_refuse_a_type_they_do_not_have(api, measured):
    response = api.get(f"/api/v1/clusters/{measured.c1.pk}/metrics", {**HOUR, "metricType": "GPU_ALLOCATION"})

    assert response.status_code == 400 and response.json()["message"].startswith("metricType:")


def test_node_metrics_in_total_and_per_device(api, measured):
    node = Node.objects.create(cluster=measured.c1, name="node-a")

    types = "ALLOCATED_GPU,GPU_ALLOCATION_PER_GPU,GPU_MEMORY_USAGE_BYTES_PER_GPU"

    response = api.get(f"/api/v1/nodes/{node.pk}/metrics", {**HOUR, "numberOfSamples": 1, "metricType": types})

    assert response.status_code == 200, response.content
    got = [(m["type"], m["labels"], [v["value"] for v in m["values"]]) for m in response.json()["measurements"]]
    assert got == [
        ("ALLOCATED_GPU", None, ["1.5"]),
        ("GPU_ALLOCATION_PER_GPU", {"gpu": "0"}, ["0.5"]),
        ("GPU_ALLOCATION_PER_GPU", {"gpu": "1"}, ["1"]),
        ("GPU_MEMORY_USAGE_BYTES_PER_GPU", {"gpu": "0"}, [str(10 * GIB)]),
        ("GPU_MEMORY_USAGE_BYTES_PER_GPU", {"gpu": "1"}, []),
    ]


def test_node_metrics_of_a_node_the_caller_cannot_see_are_not_found(measured, make_user):
    node = Node.objects.create(cluster=measured.c1, name="node-a")
    other_cluster_viewer = client_for(make_user("v", VIEWER, "cluster", measured.c2.pk))

    response = other_cluster_viewer.get(f"/api/v1/nodes/{node.pk}/metrics", {**HOUR, "metricType": "ALLOCATED_GPU"})

    assert response.status_code == 404


def test_runapy_reads_workload_metrics(api, measured):
    """The public Run:ai client's request (its path and parameters) is answered in its shape."""
    from runai.models.measurement_response import MeasurementResponse

    w1 = measured.workloads["p1"]
    response = api.get(f"/api/v1/workloads/{w1.pk}/metrics", {"metricType": ["GPU_UTILIZATION"],
                       "start": T0.isoformat(), "end": "2026-03-01T13:00:00+00:00", "numberOfSamples": 20})  # fmt: skip

    for item in response.json()["measurements"]:
        assert MeasurementResponse.from_dict(item).type == "GPU_UTILIZATION"
