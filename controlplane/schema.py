"""The OpenAPI schema's shared parts: every API operation's error answers.

Every error the API gives has Run:ai's shape, ``{"code", "message"}`` (validation errors add
``details``), whatever view raised it (controlplane/api.py's exception handler). The schema says
so once, here, instead of on each view.
"""

import functools
from typing import Any

from drf_spectacular.generators import EndpointEnumerator
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

from controlplane.idempotency import HEADER

ERROR_SCHEMA = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {
        "code": {"type": "integer"},
        "message": {"type": "string"},
        "details": {"description": "Per-field messages of a validation error."},
    },
}
ERRORS = {
    "400": "Bad input; the message names the field or parameter.",
    "401": "Not signed in, or the token has expired.",
    "403": "Signed in, but the caller's access rules do not allow this.",
    "404": "No such object, or the caller may not see it.",
    "409": "The object's current state does not allow this.",
}


def document_errors(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: add the error answers to every /api/ operation."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"$ref": "#/components/schemas/Error"}
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            errors = dict(ERRORS)
            if any(p.get("name") == HEADER for p in operation.get("parameters", [])):
                errors.update(IDEMPOTENCY_ERRORS)
            for status, description in errors.items():
                responses.setdefault(
                    status, {"description": description, "content": {"application/json": {"schema": reference}}}
                )
    return result


# Shared by the apps' schemas modules: Run:ai's list parameters, counts, empty answers and the
# idempotency key of creations (controlplane/listing.py, controlplane/idempotency.py).
NO_CONTENT = OpenApiResponse(description="Done; no body.")
COUNT = inline_serializer("Count", {"count": serializers.IntegerField()})
NEXT = serializers.IntegerField(allow_null=True, help_text="The offset of the next page; null on the last.")
LIST_PARAMETERS = [
    OpenApiParameter(
        "filterBy",
        str,
        many=True,
        description="field<op>value, op one of ==, !=, <=, >=, =@, !@, =^, =$; several joined by ',' or repeated.",
    ),
    OpenApiParameter("sortBy", str, description="A field of the list."),
    OpenApiParameter("sortOrder", str, enum=["asc", "desc"]),
    OpenApiParameter("offset", int, description="From 0."),
    OpenApiParameter("limit", int, description="1 to 500; default 50."),
]
COUNT_PARAMETERS = LIST_PARAMETERS[:3]
IDEMPOTENCY_KEY = OpenApiParameter(
    HEADER,
    str,
    OpenApiParameter.HEADER,
    description="1 to 255 characters. A retry with the same key and body answers the first response again.",
)
IDEMPOTENCY_ERRORS = {
    "409": "The first request with this Idempotency-Key is still running.",
    "422": "This Idempotency-Key was used with another request body.",
}


@functools.cache
def _collections() -> frozenset[str]:
    """The API's paths that have objects below them (``/clusters`` of ``/clusters/{cluster_id}``)."""
    paths = [path for path, *_ in EndpointEnumerator().get_api_endpoints()]
    return frozenset(path for path in paths if any(other.startswith(f"{path}/{{") for other in paths))


class ApiSchema(AutoSchema):
    """The API's operation ids: a GET on a collection lists, on an object retrieves. The views
    are APIViews, whose lists drf-spectacular cannot tell from retrievals by themselves."""

    def get_operation_id(self) -> str:
        operation_id = super().get_operation_id()
        if self.method == "GET" and self.path in _collections() and operation_id.endswith("_retrieve"):
            return operation_id.removesuffix("_retrieve") + "_list"
        return operation_id
