"""Periodic usage work, run by Celery beat in production: the hourly roll-up and retention."""

from datetime import datetime

from celery import shared_task
from django.conf import settings

from controlplane.formats import iso_time
from usage import services


@shared_task(name="usage.tasks.roll_up_usage")
def roll_up_usage(hour: str | None = None) -> list[str]:
    """Roll up GPU-hours per project for one hour (ISO 8601), or by default for the last
    ``TESSERA_USAGE_ROLLUP_HOURS`` complete hours; safe to run again. Returns the hours done."""
    if hour is not None:
        start = services.hour_of(datetime.fromisoformat(hour.replace("Z", "+00:00")))
        services.roll_up_hour(start)
        return [iso_time(start) or ""]
    return [iso_time(h) or "" for h in services.roll_up_recent(settings.TESSERA_USAGE_ROLLUP_HOURS)]


@shared_task(name="usage.tasks.trim_expired")
def trim_expired() -> dict[str, int]:
    """Delete logs, events and metric samples past their retention; returns how many of each."""
    return services.trim_expired()
