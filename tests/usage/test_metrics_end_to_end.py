"""A real agent samples the GPUs of a running training and sends them; the API then shows them."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import wait_until
from tests.e2e.conftest import agent, cluster, http, wait_for_phase  # noqa: F401  (fixtures)
from tests.e2e.test_runapy import application
from tests.e2e.test_walking_skeleton import submit

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


L1_RESEARCHER = 6


def test_a_running_training_s_allocation_reaches_the_metrics_api(
    http,  # noqa: F811
    cluster,  # noqa: F811
    agent,  # noqa: F811
    live_server_process,
    monkeypatch,
):
    cluster_obj, _, project = cluster
    monkeypatch.setenv("TESSERA_METRICS_INTERVAL", "0.5")
    monkeypatch.setenv("TESSERA_METRICS_BATCH_SECONDS", "1")
    agent.start()
    training = submit(http, project, "busy", "sleep 60", gpus=2)
    wait_for_phase(http, training["workloadId"], {"Running"}, timeout=60)
    now = datetime.now(UTC)
    window = {"start": (now - timedelta(minutes=5)).isoformat(), "end": (now + timedelta(minutes=5)).isoformat(),
              "numberOfSamples": 0}  # fmt: skip

    def measured() -> dict | None:
        response = http.get(f"/api/v1/workloads/{training['workloadId']}/metrics",
                            params={**window, "metricType": "GPU_ALLOCATION,GPU_UTILIZATION"})  # fmt: skip
        allocation, utilization = response.json()["measurements"]
        return {"allocation": allocation, "utilization": utilization} if allocation["values"] else None

    got = wait_until(measured, timeout=30, what=f"the agent's metrics to be stored\n{agent.log()}")

    assert {v["value"] for v in got["allocation"]["values"]} == {"2"}
    assert got["utilization"]["values"] == []  # simulated devices: nothing measured, nothing invented
    totals = http.get(f"/api/v1/clusters/{cluster_obj.pk}/metrics",
                      params={**window, "metricType": "TOTAL_GPU,ALLOCATED_GPU"}).json()["measurements"]  # fmt: skip
    total, allocated = ({v["value"] for v in m["values"]} for m in totals)
    assert total == {"4"}
    assert "2" in allocated
    # The public Run:ai client reads them too, with an application's token holding a project rule.
    researcher = application(live_server_process.url, "metrics-reader", L1_RESEARCHER, project)
    answer = researcher.workloads.workloads.get_workload_metrics(
        training["workloadId"], metric_type=["GPU_ALLOCATION"], start=window["start"], end=window["end"],
        number_of_samples=10,
    ).data  # fmt: skip
    assert {v["value"] for v in answer["measurements"][0]["values"]} == {"2"}
    http.delete(f"/api/v1/workloads/trainings/{training['workloadId']}")
