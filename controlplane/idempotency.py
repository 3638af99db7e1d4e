"""``Idempotency-Key`` on creation endpoints: a client that retries after a timeout never
creates twice. The same key (for the same caller and path) with the same body answers the first
response again; with another body it is a 422; while the first is still running, a 409."""

import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.access import subject_of
from controlplane.models import IdempotentRequest

HEADER = "Idempotency-Key"


def _body_hash(request: Request) -> str:
    try:
        canonical = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    except (TypeError, ValueError):
        canonical = repr(request.data)
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotent(post: Callable[..., Response]) -> Callable[..., Response]:
    """Wrap a view's ``post`` so that an ``Idempotency-Key`` header makes it safe to retry."""

    @functools.wraps(post)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER)
        if key is None:
            return post(view, request, *args, **kwargs)
        if not key or len(key) > 255:
            raise ValidationError({HEADER: ["Must be 1 to 255 characters."]})
        scope = {"subject": subject_of(request.user).label, "key": key, "path": request.path}
        digest = _body_hash(request)
        try:
            with transaction.atomic():
                record = IdempotentRequest.objects.create(**scope, body_hash=digest)
        except IntegrityError:
            first = IdempotentRequest.objects.get(**scope)
            if first.body_hash != digest:
                return Response({"code": 422, "message": f"{HEADER}: was used with another request body."}, status=422)
            if first.status is None:
                return Response({"code": 409, "message": f"{HEADER}: the first request is still running."}, status=409)
            return Response(first.response, status=first.status)
        try:
            response = post(view, request, *args, **kwargs)
        except BaseException:
            record.delete()  # nothing was created: a retry with the key may try again
            raise
        if 200 <= response.status_code < 300:
            record.status, record.response = response.status_code, response.data
            record.save(update_fields=["status", "response"])
        else:
            record.delete()
        return response

    return wrapper
