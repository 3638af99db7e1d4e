"""What the pages share: a form post read as the API's request body, and the errors that the
API's serializers and the domain services raise, shown next to the field that caused them.

A page posts plain HTML form fields named by their path in the API's JSON body
(``resources[0].gpu.deserved``); the page's view validates that body with the API's own
serializer and calls the same service, so both speak the same rules and the same messages.
"""

import re
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from rest_framework.exceptions import ValidationError

from accounts.errors import AccessDenied, Conflict, Invalid, NotFound
from controlplane.api import _audit_refusal, _flatten
from workloads.services import WorkloadConflict

# Fields whose values the API wants as JSON numbers; a value that does not read as one stays a
# string, so the API's own "A valid number is required." lands next to the field.
NUMBER_FIELDS = frozenset(
    {
        "deserved",
        "limit",
        "overQuotaWeight",
        "gpuDevicesRequest",
        "gpuPortionRequest",
        "gpuPortionLimit",
        "cpuCoreRequest",
        "roleId",
        "numWorkers",
    }  # fmt: skip
)
PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
# What a caller can get wrong: shown on the form, nothing stored.
REFUSALS = (ValidationError, Invalid, Conflict, NotFound, WorkloadConflict)


def _number(value: str) -> Any:
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def request_body(post: QueryDict) -> dict[str, Any]:
    """The form's fields as the API's nested body: ``resources[0].gpu.deserved=1`` becomes
    ``{"resources": [{"gpu": {"deserved": 1}}]}``. Empty fields are left out, so the API's
    defaults apply; names starting with ``_`` are the page's own controls, not the API's."""
    body: dict[str, Any] = {}
    for name, value in post.items():
        if name == "csrfmiddlewaretoken" or name.startswith("_") or value.strip() == "":
            continue
        keys: list[Any] = [int(index) if index else key for key, index in PATH_PART.findall(name)]
        node: Any = body
        for key, following in zip(keys, keys[1:], strict=False):
            empty: Any = [] if isinstance(following, int) else {}
            if isinstance(key, int):
                node.extend([None] * (key + 1 - len(node)))
                node[key] = node[key] if node[key] is not None else empty
                node = node[key]
            else:
                node = node.setdefault(key, empty)
        node[keys[-1]] = _number(value.strip()) if keys[-1] in NUMBER_FIELDS else value.strip()
    return body


def _place(line: str, fields: Iterable[str]) -> tuple[str, str]:
    """(field, message) for one error line: "path: message" goes to the field of that path (or
    the first field under it); "field must be…" to that field; anything else to the form."""
    fields = list(fields)
    path, colon, message = line.partition(": ")
    if colon:
        for field in fields:
            if field == path or field.startswith(path + ".") or field.startswith(path + "["):
                return field, message
    first = line.split(" ", 1)[0]
    if first in fields:
        return first, line
    return "", line


def errors_of(exc: Exception, fields: Iterable[str]) -> dict[str, list[str]]:
    """The refusal's messages by form field ("" for the form as a whole)."""
    lines = _flatten(exc.detail) if isinstance(exc, ValidationError) else [str(exc)]
    errors: dict[str, list[str]] = {}
    for line in lines:
        field, message = _place(line, fields)
        errors.setdefault(field, []).append(message)
    return errors


def attempt(action: Callable[[], Any], fields: Iterable[str]) -> tuple[Any, dict[str, list[str]]]:
    """Run a change; (its result, {}) or (None, the errors by field) when the caller got it wrong.
    An ``AccessDenied`` is not a form error: it goes up to ``page``, which answers 403."""
    try:
        return action(), {}
    except REFUSALS as exc:
        return None, errors_of(exc, fields)


def page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A page view whose refusals are pages: 403 (audited for changes, as the API does)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except AccessDenied as exc:
            _audit_refusal(request, str(exc))
            return render(request, "frontend/forbidden.html", {"message": str(exc)}, status=403)

    return wrapper
