"""Template helpers of the pages."""

import re
from typing import Any

from django import template

from frontend.permissions import navigation_for

register = template.Library()


@register.filter
def errors_for(errors: dict[str, list[str]] | None, field: str) -> list[str]:
    """The messages for one form field (named by its path in the API's body)."""
    return (errors or {}).get(field, [])


@register.filter
def quantity(value: Any) -> str:
    """A quota number as people read it: -1 is unlimited, None is no quota."""
    if value is None:
        return "—"
    if value == -1:
        return "unlimited"
    return f"{value:g}" if isinstance(value, float) else str(value)


@register.filter
def cores(milli: int) -> str:
    """Millicores as cores: 2500 is 2.5."""
    return f"{milli / 1000:g}"


@register.filter
def value_of(values: Any, field: str) -> Any:
    """A form field's value as posted (or as stored), by its path in the API's body."""
    if values is None:
        return ""
    value = values.get(field, "")
    return "" if value is None else value


@register.filter
def field_id(field: str) -> str:
    """An element id for a field path (``resources[0].gpu.deserved`` → ``f-resources-0-gpu-deserved``)."""
    return "f-" + re.sub(r"[^A-Za-z0-9]+", "-", field).strip("-")


@register.inclusion_tag("frontend/nav.html", takes_context=True)
def main_navigation(context: template.Context) -> dict[str, Any]:
    """The main menu: only the pages the signed-in subject may read something on."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"links": []}
    current = request.path
    links = [(url, label) for url, label, allowed in navigation_for(user) if allowed]
    return {"links": [{"url": url, "label": label, "current": current.startswith(url)} for url, label in links]}
