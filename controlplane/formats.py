"""Wire formats shared by every API."""

from datetime import datetime


def iso_time(value: datetime | None) -> str | None:
    """A timestamp as Run:ai's API writes it: ISO 8601 in UTC with a ``Z``."""
    return value.isoformat().replace("+00:00", "Z") if value else None
