"""Background work: the hourly roll-up of GPU-hours per project and department, and retention of
logs, events and metric samples; run by a real Celery worker against PostgreSQL and Redis."""

import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from tests.clusters.test_offline_sweep import celery, needs_redis, stop
from tests.usage.conftest import GIB, T0, at, sample, store, uses
from usage import services, tasks
from usage.models import UsageHour, WorkloadSample
from workloads.models import WorkloadEvent, WorkloadLogChunk

pytestmark = pytest.mark.django_db(transaction=True)


def an_hour_of_samples(org, start=T0):
    """From ``start``, an hour of one-minute samples: w-p1 holds half a device at 40%
    utilisation; w-p2 a whole simulated device (no utilisation); w-p3 two devices for 30 min."""
    samples = []
    for minute in range(60):
        workloads = [uses(org.workloads["p1"], ("GPU-0", 0.5, 2 * GIB, 40.0)),
                     uses(org.workloads["p2"], ("SIM-1", 1.0, None, None))]  # fmt: skip
        if minute < 30:
            workloads.append(uses(org.workloads["p3"], ("GPU-2", 1.0, GIB, 100.0), ("GPU-3", 1.0, GIB, 50.0)))
        samples.append(sample(start + timedelta(minutes=minute), workloads, interval=60))
    store(org.c1, *samples)


def hours(**filters):
    return {
        (row.project.name, row.department.name): (round(row.gpu_hours_allocated, 6), row.gpu_hours_used)
        for row in UsageHour.objects.filter(**filters).select_related("project", "department")
    }


def test_an_hour_is_rolled_up_into_gpu_hours_allocated_and_used_per_project(org):
    an_hour_of_samples(org)

    assert services.roll_up_hour(T0) == 3

    assert hours(hour=T0) == {
        ("p1", "d1"): (0.5, pytest.approx(0.4)),
        ("p2", "d1"): (1.0, None),  # simulated: allocated, but nothing measured its use
        ("p3", "d2"): (1.0, pytest.approx(0.75)),  # two devices for half an hour, at 75% on average
    }


def test_rolling_up_the_same_hour_again_gives_the_same_rows_and_takes_in_late_samples(org):
    an_hour_of_samples(org)
    services.roll_up_hour(T0)
    first = hours(hour=T0)

    services.roll_up_hour(T0 + timedelta(minutes=20))  # any moment of the hour names it

    assert hours(hour=T0) == first
    assert UsageHour.objects.count() == 3
    # A batch the agent buffered while the control plane was away arrives after the roll-up.
    store(org.c1, sample(at(30), [uses(org.workloads["p4"], ("GPU-9", 1.0, GIB, 10.0))], interval=3600))
    services.roll_up_hour(T0)
    assert UsageHour.objects.count() == 3  # p4 is in cluster c2: c1's agent cannot report it
    store(org.c2, sample(at(30), [uses(org.workloads["p4"], ("GPU-9", 1.0, GIB, 10.0))], interval=3600))
    services.roll_up_hour(T0)
    assert hours(hour=T0)[("p4", "d3")] == (1.0, pytest.approx(0.1))


def test_samples_count_in_the_hour_they_were_taken(org):
    an_hour_of_samples(org, start=T0 + timedelta(minutes=30))

    services.roll_up_hour(T0)
    services.roll_up_hour(T0 + timedelta(hours=1))

    assert hours(hour=T0)[("p1", "d1")] == (0.25, pytest.approx(0.2))
    assert hours(hour=T0 + timedelta(hours=1))[("p1", "d1")] == (0.25, pytest.approx(0.2))


def test_the_scheduled_roll_up_redoes_the_last_complete_hours():
    now = T0 + timedelta(hours=5, minutes=7)

    done = services.roll_up_recent(3, now=now)

    assert done == [T0 + timedelta(hours=2), T0 + timedelta(hours=3), T0 + timedelta(hours=4)]


def old_and_new_records(org, age_days):
    workload = org.workloads["p1"]
    old = timezone.now() - timedelta(days=age_days + 1)
    for offset, when in ((0, old), (10, timezone.now())):
        chunk = WorkloadLogChunk.objects.create(workload=workload, stream="stdout", offset=offset, size=1, data="x")
        event = WorkloadEvent.objects.create(workload=workload, reason="Test", message="m")
        WorkloadLogChunk.objects.filter(pk=chunk.pk).update(received_at=when)
        WorkloadEvent.objects.filter(pk=event.pk).update(created_at=when)
        store(org.c1, sample(when, [uses(workload, ("GPU-0", 1.0, None, None))], interval=5))


def test_retention_deletes_only_what_is_older_than_its_age(org):
    old_and_new_records(org, settings.TESSERA_RETENTION_DAYS)
    UsageHour.objects.create(hour=T0, cluster=org.c1, department=org.d1, project=org.p1, gpu_hours_allocated=1)

    trimmed = services.trim_expired()

    assert trimmed == {"logChunks": 1, "events": 1, "workloadSamples": 1, "deviceSamples": 0}
    assert WorkloadLogChunk.objects.count() == WorkloadEvent.objects.count() == WorkloadSample.objects.count() == 1
    assert WorkloadLogChunk.objects.get().offset == 10
    assert UsageHour.objects.count() == 1  # roll-ups are kept


def test_metric_samples_have_their_own_retention(org, settings):
    settings.TESSERA_RETENTION_DAYS = 365
    settings.TESSERA_METRICS_RETENTION_DAYS = 1
    old_and_new_records(org, age_days=2)

    assert services.trim_expired() == {"logChunks": 0, "events": 0, "workloadSamples": 1, "deviceSamples": 0}


def test_beat_schedules_the_roll_up_hourly_and_retention_daily():
    roll_up = settings.CELERY_BEAT_SCHEDULE["roll-up-usage"]
    trim = settings.CELERY_BEAT_SCHEDULE["trim-expired"]

    assert roll_up["task"] == tasks.roll_up_usage.name and roll_up["schedule"].minute == {5}
    assert trim["task"] == tasks.trim_expired.name and len(trim["schedule"].hour) == 1


@needs_redis
def test_a_real_celery_worker_rolls_up_an_hour_and_trims_expired_records(org):
    an_hour_of_samples(org)
    old_and_new_records(org, settings.TESSERA_RETENTION_DAYS)
    queue = f"usage-test-{uuid.uuid4().hex[:8]}"
    worker = celery(
        "worker", "--pool", "solo", "--without-heartbeat", "--without-gossip", "--without-mingle", queue=queue
    )
    try:
        rolled = tasks.roll_up_usage.apply_async(kwargs={"hour": "2026-03-01T12:00:00Z"}, queue=queue)
        assert rolled.get(timeout=60) == ["2026-03-01T12:00:00Z"]
        again = tasks.roll_up_usage.apply_async(kwargs={"hour": "2026-03-01T12:30:00Z"}, queue=queue)
        assert again.get(timeout=60) == ["2026-03-01T12:00:00Z"]
        trimmed = tasks.trim_expired.apply_async(queue=queue).get(timeout=60)
    finally:
        output = stop(worker)
    assert "roll_up_usage" in output and "trim_expired" in output
    assert hours(hour=T0)[("p1", "d1")] == (0.5, pytest.approx(0.4))
    assert UsageHour.objects.count() == 3
    # Retention kept the roll-up, and of the samples only the recent one (the hour's are months old).
    assert trimmed["logChunks"] == 1 and trimmed["events"] == 1
    assert WorkloadSample.objects.count() == 1
