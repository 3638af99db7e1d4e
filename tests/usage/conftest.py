"""Fixtures for usage: the organisation tree, and samples stored as an agent's batch would be."""

from datetime import UTC, datetime, timedelta

from agent.protocol import DeviceUsage, MetricsMessage, MetricsSample, WorkloadDeviceUsage, WorkloadUsage
from tests.accounts.conftest import make_user, org  # noqa: F401  (fixtures)
from tests.clusters.test_agent_endpoint import registered  # noqa: F401  (fixture)
from usage import services

GIB = 1024**3
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def uses(workload, *devices: tuple[str, float, int | None, float | None], node: str = "node-a") -> WorkloadUsage:
    """A workload's usage: (device uuid, share, memory bytes, utilisation %) per device."""
    return WorkloadUsage(
        workload_id=str(workload.pk),
        node=node,
        devices=[WorkloadDeviceUsage(gpu_uuid=u, allocation=a, memory_used_bytes=m, utilization_percent=p)
                 for u, a, m, p in devices],
    )  # fmt: skip


def device(uuid: str, index: int, allocation: float, used: int | None = None, utilization: float | None = None,
           node: str = "node-a") -> DeviceUsage:  # fmt: skip
    return DeviceUsage(
        node=node,
        gpu_uuid=uuid,
        index=index,
        allocation=allocation,
        memory_total_bytes=80 * GIB,
        memory_used_bytes=used,
        utilization_percent=utilization,
    )


def sample(when: datetime, workloads=(), devices=(), interval: float = 5.0) -> MetricsSample:
    return MetricsSample(at=when, interval_seconds=interval, workloads=list(workloads), devices=list(devices))


def store(cluster, *samples: MetricsSample) -> tuple[int, int]:
    """Store samples as the agent endpoint does with a batch."""
    return services.record_metrics(cluster, MetricsMessage(samples=list(samples)))
