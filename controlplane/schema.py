"""The OpenAPI schema's shared parts: every API operation's error answers.

Every error the API gives has Run:ai's shape, ``{"code", "message"}`` (validation errors add
``details``), whatever view raised it (controlplane/api.py's exception handler). The schema says
so once, here, instead of on each view.
"""

from typing import Any

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
            for status, description in ERRORS.items():
                responses.setdefault(
                    status, {"description": description, "content": {"application/json": {"schema": reference}}}
                )
    return result
