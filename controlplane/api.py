"""Shared API plumbing: errors in Run:ai's shape (``{"code", "message"}``), never a bare 500."""

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from accounts.errors import AccessDenied, Conflict, Invalid, NotFound

# Errors the domain services raise for what a caller did wrong.
DOMAIN_ERRORS = {Invalid: 400, AccessDenied: 403, NotFound: 404, Conflict: 409}


def _flatten(detail: Any, prefix: str = "") -> list[str]:
    """Turn DRF's nested error detail into "field: message" lines that name the field."""
    if isinstance(detail, dict):
        lines = []
        for key, value in detail.items():
            if key == "non_field_errors":
                name = prefix
            elif str(key).isdigit():  # an item of a list
                name = f"{prefix}[{key}]"
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            lines.extend(_flatten(value, name))
        return lines
    if isinstance(detail, list):
        lines = []
        for index, value in enumerate(detail):
            if isinstance(value, (dict, list)):
                lines.extend(_flatten(value, f"{prefix}[{index}]" if prefix else str(index)))
            else:
                lines.extend(_flatten(value, prefix))
        return lines
    return [f"{prefix}: {detail}" if prefix else str(detail)]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Any:
    for error, status in DOMAIN_ERRORS.items():
        if isinstance(exc, error):
            if isinstance(exc, AccessDenied):
                _audit_refusal(context.get("request"), str(exc))
            return Response({"code": status, "message": str(exc)}, status=status)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ValidationError):
        lines = _flatten(exc.detail)
        response.data = {"code": response.status_code, "message": "; ".join(lines), "details": exc.detail}
    else:
        detail = response.data.get("detail", response.data) if isinstance(response.data, dict) else response.data
        response.data = {"code": response.status_code, "message": str(detail)}
    return response


def _audit_refusal(request: Any, message: str) -> None:
    """A refused attempt to change something is worth a line in the audit log; a refused read is not."""
    if request is None or request.method in ("GET", "HEAD", "OPTIONS"):
        return
    from accounts import audit
    from accounts.models import Outcome

    audit.record(audit.Origin.of(request), request.method.lower(), "endpoint", request.path, "", Outcome.FAILURE,
                 reason=message)  # fmt: skip


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 404 for paths no route matches: JSON in Run:ai's shape under /api/, a page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"code": 404, "message": f"No such path: {request.path}"}, status=404)
    return page_not_found(request, exception)
