"""Workloads stored before they kept their node pools get, on migrating, the pools their request
named, else the default pool: what the agent was told before."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("workloads", "0007_workload_node_pool")]
AFTER = [("workloads", "0008_workload_node_pools")]


def migrate(to):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(to)
    return executor.loader.project_state(to).apps


@pytest.fixture
def back_to_latest():
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_migrating_keeps_the_pools_each_request_named(org, back_to_latest):
    old = migrate(BEFORE)
    Workload = old.get_model("workloads", "Workload")
    named = Workload.objects.create(
        name="named", project_id=org.p1.pk, cluster_id=org.c1.pk, spec={"spec": {"nodePools": ["rack-one", "default"]}}
    )
    plain = Workload.objects.create(name="plain", project_id=org.p1.pk, cluster_id=org.c1.pk, spec={"spec": {}})

    new = migrate(AFTER)

    Workload = new.get_model("workloads", "Workload")
    assert Workload.objects.get(pk=named.pk).node_pools == ["rack-one", "default"]
    assert Workload.objects.get(pk=plain.pk).node_pools == ["default"]
