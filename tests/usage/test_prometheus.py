"""/metrics: the latest GPU metrics in Prometheus' text format, for a scraper with the metrics
token or a caller who may read the dashboards of the whole account."""

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from tests.accounts.conftest import client_for
from tests.usage.conftest import GIB, device, sample, store, uses

pytestmark = pytest.mark.django_db

SYSTEM_ADMINISTRATOR, L1_RESEARCHER = 1, 6
TOKEN = "scrape-me-0123456789"


@pytest.fixture
def sampled(org):
    """c1 sampled just now (a real and a simulated device); c2 sampled an hour ago."""
    now = timezone.now()
    store(org.c1, sample(now - timedelta(seconds=10), [uses(org.workloads["p1"], ("GPU-0", 0.5, 3 * GIB, 70.0))],
                         [device("GPU-0", 0, 0.5, 5 * GIB, 75.0), device("SIM-1", 1, 0.0)]))  # fmt: skip
    store(org.c1, sample(now, [uses(org.workloads["p1"], ("GPU-0", 0.5, 4 * GIB, 80.0)),
                               uses(org.workloads["p2"], ("SIM-1", 1.0, None, None))],
                         [device("GPU-0", 0, 0.5, 6 * GIB, 85.0), device("SIM-1", 1, 1.0)]))  # fmt: skip
    store(org.c2, sample(now - timedelta(hours=1), [], [device("GPU-9", 0, 1.0, GIB, 10.0, node="node-z")]))
    return org


def scrape(client, **headers) -> dict[str, dict[tuple, float]]:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return {
        family.name: {tuple(sorted(s.labels.items())): s.value for s in family.samples}
        for family in text_string_to_metric_families(response.content.decode())
    }


def test_a_scraper_with_the_token_gets_the_latest_values(client, sampled, settings):
    settings.TESSERA_METRICS_TOKEN = TOKEN

    metrics = scrape(client, Authorization=f"Bearer {TOKEN}")

    real = (("cluster", "c1"), ("gpu", "0"), ("node", "node-a"), ("uuid", "GPU-0"))
    simulated = (("cluster", "c1"), ("gpu", "1"), ("node", "node-a"), ("uuid", "SIM-1"))
    assert metrics["tessera_gpu_allocation"] == {real: 0.5, simulated: 1.0}
    assert metrics["tessera_gpu_memory_used_bytes"] == {real: 6 * GIB}  # nothing made up for SIM-1
    assert metrics["tessera_gpu_utilization_percent"] == {real: 85.0}
    node = (("cluster", "c1"), ("node", "node-a"))
    assert metrics["tessera_node_gpus"] == {node: 2}
    assert metrics["tessera_node_gpu_allocation"] == {node: 1.5}
    assert metrics.get("tessera_node_gpu_memory_used_bytes", {}) == {}  # a simulated device's is unknown
    w1 = sampled.workloads["p1"]
    labels = (("cluster", "c1"), ("department", "d1"), ("project", "p1"), ("workload", "w-p1"),
              ("workload_id", str(w1.pk)))  # fmt: skip
    assert metrics["tessera_workload_gpu_allocation"][labels] == 0.5
    assert metrics["tessera_workload_gpu_memory_used_bytes"] == {labels: 4 * GIB}
    assert metrics["tessera_workload_gpu_utilization_percent"] == {labels: 80.0}


def test_a_cluster_whose_agent_went_quiet_drops_out(client, sampled, settings):
    settings.TESSERA_METRICS_TOKEN = TOKEN

    metrics = scrape(client, Authorization=f"Bearer {TOKEN}")

    assert {dict(labels)["cluster"] for labels in metrics["tessera_gpu_allocation"]} == {"c1"}


def test_an_administrator_of_the_account_may_read_them(sampled, make_user):
    admin = client_for(make_user("root", SYSTEM_ADMINISTRATOR, "tenant", "1"))

    assert "tessera_gpu_allocation" in scrape(admin)


def test_without_the_token_or_the_right_metrics_are_refused(client, sampled, settings, make_user):
    settings.TESSERA_METRICS_TOKEN = TOKEN
    project_researcher = client_for(make_user("r", L1_RESEARCHER, "project", sampled.p1.pk))

    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer not-the-token"}).status_code == 401
    assert project_researcher.get("/metrics").status_code == 403


def test_no_token_is_accepted_when_none_is_set(client, sampled, settings):
    settings.TESSERA_METRICS_TOKEN = ""

    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401
