"""Usage domain operations: storing the agents' samples, reading them back as time series,
rolling them up per project and hour, and trimming what is past its retention."""

import logging
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Avg, Count, F, Func, IntegerField, Max, Q, Sum, Value
from django.db.models.functions import Least
from django.utils import timezone

from agent.protocol import MetricsMessage
from clusters.models import Cluster, Department, Project
from usage.models import DeviceSample, UsageHour, WorkloadSample
from workloads.models import Workload, WorkloadEvent, WorkloadLogChunk

log = logging.getLogger(__name__)


# --- storing samples --------------------------------------------------------------------------


def _workload_key(agent_id: str) -> uuid.UUID | None:
    # The agent names a resumed workload's run "<id>.<run>": usage of every run is the workload's.
    try:
        return uuid.UUID(agent_id.partition(".")[0])
    except ValueError:
        return None


def _mean(values: list[float | None]) -> float | None:
    return (
        None if not values or any(v is None for v in values) else sum(v for v in values if v is not None) / len(values)
    )


def _total(values: list[int | None]) -> int | None:
    return None if any(v is None for v in values) else sum(v for v in values if v is not None)


def record_metrics(cluster: Cluster, message: MetricsMessage) -> tuple[int, int]:
    """Store a batch of samples from ``cluster``'s agent, in bulk. Samples of workloads this
    cluster does not run are dropped; a batch sent again adds nothing. Returns how many workload
    and device rows the batch held."""
    keys = {_workload_key(w.workload_id) for sample in message.samples for w in sample.workloads}
    known = set(Workload.objects.filter(cluster=cluster, pk__in=[k for k in keys if k]).values_list("pk", flat=True))
    workload_rows, device_rows = [], []
    for sample in message.samples:
        for usage in sample.workloads:
            key = _workload_key(usage.workload_id)
            if key not in known:
                log.debug("cluster %s sent metrics of unknown workload %s", cluster.name, usage.workload_id)
                continue
            workload_rows.append(
                WorkloadSample(
                    workload_id=key,
                    at=sample.at,
                    interval_seconds=sample.interval_seconds,
                    gpu_devices=len(usage.devices),
                    gpu_allocation=sum(d.allocation for d in usage.devices),
                    gpu_memory_used_bytes=_total([d.memory_used_bytes for d in usage.devices]),
                    gpu_utilization=_mean([d.utilization_percent for d in usage.devices]),
                )
            )
        device_rows += [
            DeviceSample(
                cluster=cluster,
                node=device.node,
                gpu_uuid=device.gpu_uuid,
                gpu_index=device.index,
                at=sample.at,
                interval_seconds=sample.interval_seconds,
                gpu_allocation=device.allocation,
                memory_total_bytes=device.memory_total_bytes,
                memory_used_bytes=device.memory_used_bytes,
                gpu_utilization=device.utilization_percent,
            )
            for device in sample.devices
        ]
    with transaction.atomic():
        WorkloadSample.objects.bulk_create(workload_rows, ignore_conflicts=True, batch_size=1000)
        DeviceSample.objects.bulk_create(device_rows, ignore_conflicts=True, batch_size=1000)
    return len(workload_rows), len(device_rows)


# --- time series ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """A time range cut into ``buckets`` equal steps (0: every sample as it came)."""

    start: datetime
    end: datetime
    buckets: int

    def points(self, rows: Iterable[tuple[datetime, float | None]]) -> list[tuple[datetime, float]]:
        """The mean of each step that has a value, at the step's start; steps without any stay
        out (nothing is interpolated)."""
        if self.buckets == 0:
            return [(at, value) for at, value in rows if value is not None]
        step = max((self.end - self.start) / self.buckets, timedelta(microseconds=1))  # never 0 in a tiny range
        sums: dict[int, list[float]] = {}
        for at, value in rows:
            if value is None or not self.start <= at <= self.end:
                continue
            index = min(int((at - self.start) / step), self.buckets - 1)
            sums.setdefault(index, []).append(value)
        return [(self.start + step * i, sum(v) / len(v)) for i, v in sorted(sums.items())]


WORKLOAD_METRICS = {
    "GPU_UTILIZATION": "gpu_utilization",
    "GPU_MEMORY_USAGE_BYTES": "gpu_memory_used_bytes",
    "GPU_ALLOCATION": "gpu_allocation",
}
"""Run:ai's workload metric types Tessera collects, and the sample field of each."""


def workload_series(workload: Workload, metric: str, window: Window) -> list[tuple[datetime, float]]:
    rows = (
        WorkloadSample.objects.filter(workload=workload, at__gte=window.start, at__lte=window.end)
        .order_by("at")
        .values_list("at", WORKLOAD_METRICS[metric])
    )
    return window.points(rows.iterator())


# Per instant, over the devices of a cluster or node (the agent samples them all at once).
_DEVICE_TOTALS: dict[str, Callable[[], dict[str, Any]]] = {
    "GPU_UTILIZATION": lambda: {"value": Avg("gpu_utilization")},
    "GPU_MEMORY_USAGE_BYTES": lambda: {"value": Sum("memory_used_bytes")},
    "GPU_MEMORY_UTILIZATION": lambda: {
        "used": Sum("memory_used_bytes"),
        "total": Sum("memory_total_bytes", filter=Q(memory_used_bytes__isnull=False)),
    },
    "TOTAL_GPU": lambda: {"value": Count("id")},
    "ALLOCATED_GPU": lambda: {"value": Sum("gpu_allocation")},
    "UNALLOCATED_GPU": lambda: {"devices": Count("id"), "allocated": Sum("gpu_allocation")},
    "TOTAL_GPU_NODES": lambda: {"value": Count("node", distinct=True)},
}


def _instant_value(metric: str, row: dict[str, Any]) -> float | None:
    if metric == "GPU_MEMORY_UTILIZATION":
        return 100.0 * row["used"] / row["total"] if row["used"] is not None and row["total"] else None
    if metric == "UNALLOCATED_GPU":
        return row["devices"] - (row["allocated"] or 0.0)
    return row["value"]


CLUSTER_METRICS = tuple(_DEVICE_TOTALS)
"""Run:ai's cluster metric types Tessera collects."""

NODE_METRICS = ("GPU_UTILIZATION", "GPU_MEMORY_USAGE_BYTES", "GPU_MEMORY_UTILIZATION", "ALLOCATED_GPU", "TOTAL_GPU")
NODE_METRICS_PER_GPU = {
    "GPU_UTILIZATION_PER_GPU": "gpu_utilization",
    "GPU_MEMORY_USAGE_BYTES_PER_GPU": "memory_used_bytes",
    "GPU_ALLOCATION_PER_GPU": "gpu_allocation",
}
"""Run:ai's node metric types Tessera collects: totals over the node's devices, and per device."""


def device_totals_series(devices: Any, metric: str, window: Window) -> list[tuple[datetime, float]]:
    """A metric over ``devices`` (DeviceSample rows of a cluster or node) at each instant."""
    rows = (
        devices.filter(at__gte=window.start, at__lte=window.end)
        .values("at")
        .annotate(**_DEVICE_TOTALS[metric]())
        .order_by("at")
    )
    return window.points((row["at"], _instant_value(metric, row)) for row in rows.iterator())


def per_device_series(devices: Any, metric: str, window: Window) -> Iterator[tuple[int, list[tuple[datetime, float]]]]:
    """A per-device metric of a node's devices: (device index, series) for each device."""
    field = NODE_METRICS_PER_GPU[metric]
    rows = list(
        devices.filter(at__gte=window.start, at__lte=window.end)
        .order_by("gpu_index", "at")
        .values_list("gpu_index", "at", field)
    )
    for index in sorted({row[0] for row in rows}):
        yield index, window.points((at, value) for i, at, value in rows if i == index)


# --- hourly roll-up ---------------------------------------------------------------------------


def hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def roll_up_hour(hour: datetime) -> int:
    """Write each project's GPU-hours of the clock hour starting at ``hour`` (allocated: share
    held x time; used: utilisation x devices x time), replacing what an earlier run wrote for
    that hour, so running it again gives the same rows. Returns how many projects had usage."""
    hour = hour_of(hour)
    per_project = (
        WorkloadSample.objects.filter(at__gte=hour, at__lt=hour + timedelta(hours=1))
        .values("workload__project_id", "workload__project__department_id", "workload__cluster_id")
        .annotate(
            allocated=Sum(F("gpu_allocation") * F("interval_seconds")),
            used=Sum(F("gpu_utilization") / 100.0 * F("gpu_devices") * F("interval_seconds")),
            measured=Sum(F("gpu_devices") * F("interval_seconds"), filter=Q(gpu_utilization__isnull=False)),
        )
    )
    rows = [
        UsageHour(
            hour=hour,
            cluster_id=row["workload__cluster_id"],
            department_id=row["workload__project__department_id"],
            project_id=row["workload__project_id"],
            gpu_hours_allocated=row["allocated"] / 3600.0,
            gpu_hours_used=row["used"] / 3600.0 if row["measured"] is not None else None,
            gpu_hours_measured=row["measured"] / 3600.0 if row["measured"] is not None else None,
        )
        for row in per_project
    ]
    with transaction.atomic():
        UsageHour.objects.filter(hour=hour).delete()
        UsageHour.objects.bulk_create(rows)
    return len(rows)


def roll_up_recent(hours: int, now: datetime | None = None) -> list[datetime]:
    """Roll up the last ``hours`` complete hours (again): samples an agent buffered while the
    control plane was away arrive late. Returns the hours rolled up, oldest first."""
    current = hour_of(now or timezone.now())
    done = [current - timedelta(hours=back) for back in range(hours, 0, -1)]
    for hour in done:
        roll_up_hour(hour)
    return done


# --- departments and projects over time -------------------------------------------------------


UNIT_METRICS = ("GPU_ALLOCATION", "GPU_UTILIZATION")
"""What Tessera gives of a department or project over time: GPUs held (Run:ai's
``GPU_ALLOCATION``) and how busy they were (``GPU_UTILIZATION``, percent)."""


@dataclass(frozen=True)
class UnitPoint:
    """A department's or project's GPUs over one step: the mean GPUs its workloads held, and
    the mean utilisation of their devices (None when no sample of the step measured it)."""

    at: datetime
    gpu_allocation: float
    gpu_utilization: float | None


class _StepIndex(Func):
    """The index of the step a moment falls in, ``floor((moment - start) / step)``, the range's
    end counted in the last step (as ``Window.points`` does)."""

    output_field = IntegerField()

    def __init__(self, moment: Any, window: Window) -> None:
        step = (window.end - window.start).total_seconds() / window.buckets
        super().__init__(moment, Value(window.start.timestamp()), Value(max(step, 1e-6)), Value(window.buckets - 1))

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        (moment, p1), (start, p2), (step, p3), (last, p4) = (compiler.compile(e) for e in self.get_source_expressions())
        sql = f"LEAST(FLOOR((EXTRACT(EPOCH FROM {moment}) - {start}) / {step})::integer, {last})"
        return sql, [*p1, *p2, *p3, *p4]


def _of_unit(unit: Department | Project, workload: str = "") -> dict[str, Any]:
    """The filter for ``unit``'s rows, through ``workload`` (a lookup to a workload) if given."""
    if isinstance(unit, Department):
        return {f"{workload}project__department_id" if workload else "department_id": unit.pk}
    return {f"{workload}project_id" if workload else "project_id": unit.pk}


ROLL_UPS_AFTER = timedelta(days=1)


def _uses_roll_ups(window: Window) -> bool:
    # Over more than a day, steps of an hour or more are sums of whole hours: the roll-ups
    # serve, and a week of samples need not be read.
    span = window.end - window.start
    return window.buckets > 0 and span > ROLL_UPS_AFTER and span / window.buckets >= timedelta(hours=1)


def _percent(busy: float | None, measured: float | None) -> float | None:
    return busy / measured if busy is not None and measured else None


def unit_usage(unit: Department | Project, window: Window, now: datetime | None = None) -> list[UnitPoint]:
    """A department's or project's GPUs in each step of ``window`` that has any usage, in one
    query: from its workloads' samples, or, over more than a day in steps of an hour or more,
    from the hourly roll-ups. Allocation is the GPU-time held in the step over the step's time (time without
    samples holds nothing); utilisation is the busy share of the device-time where it was
    measured, and None where nothing was."""
    if _uses_roll_ups(window):
        return _unit_usage_from_roll_ups(unit, window, now or timezone.now())
    samples = WorkloadSample.objects.filter(at__gte=window.start, at__lte=window.end, **_of_unit(unit, "workload__"))
    measured = Q(gpu_utilization__isnull=False)
    busy = Sum(F("gpu_utilization") * F("gpu_devices") * F("interval_seconds"), filter=measured)
    device_time = Sum(F("gpu_devices") * F("interval_seconds"), filter=measured)
    if window.buckets == 0:  # every sampling instant: what the unit's workloads held then
        rows = samples.values("at").annotate(held=Sum("gpu_allocation"), busy=busy, measured=device_time)
        return [UnitPoint(r["at"], r["held"], _percent(r["busy"], r["measured"])) for r in rows.order_by("at")]
    step = (window.end - window.start) / window.buckets
    seconds = max(step.total_seconds(), 1e-6)
    # A sample stands for its period, but for no more than a step when steps are shorter.
    held = Sum(F("gpu_allocation") * Least(F("interval_seconds"), Value(seconds)))
    rows = (
        samples.annotate(step=_StepIndex(F("at"), window))
        .values("step")
        .annotate(held=held, busy=busy, measured=device_time)
        .order_by("step")
    )
    return [
        UnitPoint(window.start + step * r["step"], r["held"] / seconds, _percent(r["busy"], r["measured"]))
        for r in rows
    ]


def _unit_usage_from_roll_ups(unit: Department | Project, window: Window, now: datetime) -> list[UnitPoint]:
    step = (window.end - window.start) / window.buckets
    hour = timedelta(hours=1)

    def index(moment: datetime) -> int:
        return min((moment - window.start) // step, window.buckets - 1)

    # Each step stands for the whole hours that begin in it and are over (rolled up) by the end.
    first = window.start if window.start == hour_of(window.start) else hour_of(window.start) + hour
    stop = hour_of(min(window.end, now))

    def hours_in(i: int) -> int:
        begin = max(first, window.start + step * i)
        begin = begin if begin == hour_of(begin) else hour_of(begin) + hour
        end = stop if i == window.buckets - 1 else min(stop, window.start + step * (i + 1))
        return max(0, -((begin - end) // hour))  # the hours from begin (included) to end (excluded)

    rows = UsageHour.objects.filter(hour__gte=first, hour__lt=stop, **_of_unit(unit)).values_list(
        "hour", "gpu_hours_allocated", "gpu_hours_used", "gpu_hours_measured"
    )
    sums: dict[int, list[float]] = {}
    for at, allocated, used, measured in rows:
        held_busy_measured = sums.setdefault(index(at), [0.0, 0.0, 0.0])
        held_busy_measured[0] += allocated
        if used is not None and measured is not None:  # rows rolled up before measured was kept: unknown
            held_busy_measured[1] += 100.0 * used
            held_busy_measured[2] += measured
    return [
        UnitPoint(window.start + step * i, held / hours_in(i), _percent(busy, measured))
        for i, (held, busy, measured) in sorted(sums.items())
    ]


# --- retention --------------------------------------------------------------------------------


def _delete_in_batches(queryset: Any, batch: int = 5000) -> int:
    # Small transactions: a large backlog never holds locks on the whole table for long.
    deleted = 0
    while True:
        ids = list(queryset.values_list("pk", flat=True)[:batch])
        if not ids:
            return deleted
        count, _ = queryset.model.objects.filter(pk__in=ids).delete()
        deleted += count


def trim_expired(now: datetime | None = None) -> dict[str, int]:
    """Delete stored logs and workload events older than ``TESSERA_RETENTION_DAYS`` and metric
    samples older than ``TESSERA_METRICS_RETENTION_DAYS``; hourly roll-ups are kept. Returns
    how many rows of each kind went."""
    now = now or timezone.now()
    records = now - timedelta(days=settings.TESSERA_RETENTION_DAYS)
    samples = now - timedelta(days=settings.TESSERA_METRICS_RETENTION_DAYS)
    return {
        "logChunks": _delete_in_batches(WorkloadLogChunk.objects.filter(received_at__lt=records)),
        "events": _delete_in_batches(WorkloadEvent.objects.filter(created_at__lt=records)),
        "workloadSamples": _delete_in_batches(WorkloadSample.objects.filter(at__lt=samples)),
        "deviceSamples": _delete_in_batches(DeviceSample.objects.filter(at__lt=samples)),
    }


# --- latest values, for Prometheus ------------------------------------------------------------


def latest_instants(fresh_seconds: float, now: datetime | None = None) -> dict[Any, datetime]:
    """Each cluster's newest sampling instant, for clusters sampled within ``fresh_seconds``."""
    since = (now or timezone.now()) - timedelta(seconds=fresh_seconds)
    rows = DeviceSample.objects.filter(at__gte=since).values("cluster_id").annotate(latest=Max("at"))
    return {row["cluster_id"]: row["latest"] for row in rows}


def usage_hours(start: datetime, end: datetime, visible: Any, by: str) -> Iterator[dict[str, Any]]:
    """Hourly GPU-hours from ``start`` (inclusive) to ``end`` (exclusive), per project or summed
    per department, from the roll-ups in ``visible``."""
    rows = visible.filter(hour__gte=start, hour__lt=end)
    if by == "department":
        return (
            rows.values("hour", "cluster_id", "cluster__name", "department_id", "department__name")
            .annotate(allocated=Sum("gpu_hours_allocated"), used=Sum("gpu_hours_used"))
            .order_by("hour", "department_id")
            .iterator()
        )
    return (
        rows.values(
            "hour", "cluster_id", "cluster__name", "department_id", "department__name", "project_id", "project__name"
        )
        .annotate(allocated=F("gpu_hours_allocated"), used=F("gpu_hours_used"))
        .order_by("hour", "project_id")
        .iterator()
    )
