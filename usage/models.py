"""GPU usage over time: samples as the agents send them, and hourly roll-ups per project.

Samples are written in bulk, one row per workload and per device for each sampling instant; a
resent batch changes nothing (unique per instant). Memory used and utilisation are null where the
agent could not measure them (simulated devices), never filled in.
"""

from django.db import models

from accounts.gate import RestrictedQuerySet
from accounts.roles import DASHBOARDS
from clusters.models import Cluster, Department, Project
from workloads.models import Workload


class WorkloadSample(models.Model):
    """One workload's GPUs at one instant, over all its devices."""

    workload = models.ForeignKey(Workload, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField()
    interval_seconds = models.FloatField(help_text="The time this sample stands for (the sampling period).")
    gpu_devices = models.PositiveSmallIntegerField()
    gpu_allocation = models.FloatField(help_text="GPUs held: the share of each device, summed.")
    gpu_memory_used_bytes = models.BigIntegerField(null=True, blank=True)
    gpu_utilization = models.FloatField(null=True, blank=True, help_text="Percent, the mean over its devices.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workload", "at"], name="workload_sample_unique_instant")]
        indexes = [models.Index(fields=["at"], name="workload_sample_at")]


class DeviceSample(models.Model):
    """One device at one instant: the share of it allocated and what it uses in all."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="+")
    node = models.CharField(max_length=253)
    gpu_uuid = models.CharField(max_length=100)
    gpu_index = models.PositiveSmallIntegerField()
    at = models.DateTimeField()
    interval_seconds = models.FloatField()
    gpu_allocation = models.FloatField()
    memory_total_bytes = models.BigIntegerField()
    memory_used_bytes = models.BigIntegerField(null=True, blank=True)
    gpu_utilization = models.FloatField(null=True, blank=True, help_text="Percent.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cluster", "at", "node", "gpu_uuid"], name="device_sample_unique_instant")
        ]
        indexes = [models.Index(fields=["at"], name="device_sample_at")]


class UsageHourQuerySet(RestrictedQuerySet):
    # Usage is what the dashboards show: readable where the caller may read them.
    resource = DASHBOARDS
    scope_lookups = {"cluster": "cluster_id", "department": "department_id", "project": "project_id"}


class UsageHour(models.Model):
    """A project's GPU-hours in one clock hour (UTC): allocated (held) and used (busy, from
    utilisation; null when no sample of the hour measured it)."""

    hour = models.DateTimeField()
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="+")
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    gpu_hours_allocated = models.FloatField()
    gpu_hours_used = models.FloatField(null=True, blank=True)
    gpu_hours_measured = models.FloatField(
        null=True, blank=True, help_text="Device-hours whose utilisation was measured: what used is a share of."
    )

    objects = UsageHourQuerySet.as_manager()

    class Meta:
        ordering = ["hour", "project_id"]
        constraints = [models.UniqueConstraint(fields=["hour", "project"], name="usage_hour_unique_project")]
