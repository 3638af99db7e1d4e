"""The latest GPU metrics in Prometheus' text format, read from the stored samples at scrape time.

Per device, per node (totals over its devices) and per running workload, from each cluster's
newest sampling instant, if it is recent (``TESSERA_METRICS_FRESH_SECONDS``): a cluster whose
agent went quiet drops out rather than showing stale values. A value the agent could not measure
(memory, utilisation on simulated devices) is left out, never exported as 0.
"""

from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db.models import Q
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from usage import services
from usage.models import DeviceSample, WorkloadSample

DEVICE_LABELS = ["cluster", "node", "gpu", "uuid"]
NODE_LABELS = ["cluster", "node"]
WORKLOAD_LABELS = ["cluster", "department", "project", "workload", "workload_id"]


def _gauges(prefix: str, labels: list[str], what: dict[str, str]) -> dict[str, GaugeMetricFamily]:
    return {key: GaugeMetricFamily(f"{prefix}_{key}", text, labels=labels) for key, text in what.items()}


class UsageCollector(Collector):
    """Gauges built from the database on every collection."""

    def collect(self) -> Iterator[Any]:
        latest = services.latest_instants(settings.TESSERA_METRICS_FRESH_SECONDS)
        devices = _gauges("tessera_gpu", DEVICE_LABELS, {
            "allocation": "Share of the device allocated to workloads (0 to 1).",
            "memory_total_bytes": "Memory of the device.",
            "memory_used_bytes": "Memory used on the device (real devices only).",
            "utilization_percent": "Utilisation of the device (real devices only).",
        })  # fmt: skip
        nodes = _gauges("tessera_node", NODE_LABELS, {
            "gpus": "GPUs on the node.",
            "gpu_allocation": "GPUs allocated on the node (sum of device shares).",
            "gpu_memory_used_bytes": "GPU memory used on the node (real devices only).",
        })  # fmt: skip
        workloads = _gauges("tessera_workload", WORKLOAD_LABELS, {
            "gpu_allocation": "GPUs the workload holds (sum of its device shares).",
            "gpu_memory_used_bytes": "GPU memory its processes use (real devices only).",
            "gpu_utilization_percent": "Mean utilisation by its processes over its devices (real devices only).",
        })  # fmt: skip
        if latest:
            instants = Q()
            for cluster_id, at in latest.items():
                instants |= Q(cluster_id=cluster_id, at=at)
            totals: dict[tuple[str, str], list[Any]] = {}
            for row in DeviceSample.objects.filter(instants).select_related("cluster").order_by("node", "gpu_index"):
                labels = [row.cluster.name, row.node, str(row.gpu_index), row.gpu_uuid]
                devices["allocation"].add_metric(labels, row.gpu_allocation)
                devices["memory_total_bytes"].add_metric(labels, row.memory_total_bytes)
                if row.memory_used_bytes is not None:
                    devices["memory_used_bytes"].add_metric(labels, row.memory_used_bytes)
                if row.gpu_utilization is not None:
                    devices["utilization_percent"].add_metric(labels, row.gpu_utilization)
                node = totals.setdefault((row.cluster.name, row.node), [0, 0.0, 0])
                node[0] += 1
                node[1] += row.gpu_allocation
                node[2] = None if node[2] is None or row.memory_used_bytes is None else node[2] + row.memory_used_bytes
            for labels, (count, allocation, memory) in totals.items():
                nodes["gpus"].add_metric(list(labels), count)
                nodes["gpu_allocation"].add_metric(list(labels), allocation)
                if memory is not None:
                    nodes["gpu_memory_used_bytes"].add_metric(list(labels), memory)
            self._add_workloads(latest, workloads)
        yield from [*devices.values(), *nodes.values(), *workloads.values()]

    def _add_workloads(self, latest: dict[Any, Any], gauges: dict[str, GaugeMetricFamily]) -> None:
        instants = Q()
        for cluster_id, at in latest.items():
            instants |= Q(workload__cluster_id=cluster_id, at=at)
        rows = WorkloadSample.objects.filter(instants).select_related(
            "workload__cluster", "workload__project__department"
        )
        for row in rows.order_by("workload__name"):
            workload = row.workload
            labels = [workload.cluster.name, workload.project.department.name, workload.project.name, workload.name,
                      str(workload.pk)]  # fmt: skip
            gauges["gpu_allocation"].add_metric(labels, row.gpu_allocation)
            if row.gpu_memory_used_bytes is not None:
                gauges["gpu_memory_used_bytes"].add_metric(labels, row.gpu_memory_used_bytes)
            if row.gpu_utilization is not None:
                gauges["gpu_utilization_percent"].add_metric(labels, row.gpu_utilization)


def exposition() -> tuple[bytes, str]:
    """The text exposition of the latest metrics and its content type."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(UsageCollector())
    return generate_latest(registry), CONTENT_TYPE_LATEST
