"""Run:ai's list parameters on every list endpoint: ``filterBy`` (``field<op>value``, several
joined by ``,`` or repeated), ``sortBy``, ``sortOrder``, ``offset`` and ``limit``.

Operators: ``==``, ``!=``, ``<=``, ``>=``, ``=@`` (contains), ``!@`` (does not contain), ``=^``
(starts with), ``=$`` (ends with). A filter or sort on a field the list does not have, or a value
of the wrong kind, is a 400 that names the parameter; it never reaches the database.
"""

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from rest_framework.exceptions import ValidationError

EXPRESSION = re.compile(r"^(?P<field>[A-Za-z][A-Za-z0-9_.]*)(?P<op>==|!=|<=|>=|=@|!@|=\^|=\$)(?P<value>.*)$")
LOOKUPS = {"==": "exact", "!=": "exact", "<=": "lte", ">=": "gte", "=@": "icontains", "!@": "icontains",
           "=^": "istartswith", "=$": "iendswith"}  # fmt: skip
NEGATED = {"!=", "!@"}
TEXT_ONLY = {"=@", "!@", "=^", "=$"}
MAX_LIMIT = 500


@dataclass(frozen=True)
class Field:
    """A field a list can be filtered and sorted by: its ORM path and the kind of its values."""

    path: str
    kind: str = "text"  # "text", "int", "uuid", "date"


def _value(name: str, field: Field, op: str, raw: str) -> Any:
    if op in TEXT_ONLY and field.kind != "text":
        raise ValidationError({"filterBy": [f"{op} applies to text; {name} is not text."]})
    try:
        if field.kind == "int":
            return int(raw)
        if field.kind == "uuid":
            return uuid.UUID(raw)
        if field.kind == "date":
            return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError({"filterBy": [f"{raw!r} is not a valid {field.kind} for {name}."]}) from None
    return raw


def filters(params: Any, fields: dict[str, Field]) -> Q:
    """The ``filterBy`` parameters as one query (all must hold)."""
    query = Q()
    expressions = [part for given in params.getlist("filterBy") for part in given.split(",") if part]
    for expression in expressions:
        match = EXPRESSION.match(expression.strip())
        if match is None:
            raise ValidationError({"filterBy": [f"{expression!r} is not field<operator>value."]})
        name, op, raw = match["field"], match["op"], match["value"]
        field = fields.get(name)
        if field is None:
            raise ValidationError({"filterBy": [f"Cannot filter by {name!r}; fields: {', '.join(sorted(fields))}."]})
        condition = Q(**{f"{field.path}__{LOOKUPS[op]}": _value(name, field, op, raw)})
        query &= ~condition if op in NEGATED else condition
    return query


def _int(params: Any, name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"[0-9]+", raw) or not low <= int(raw) <= high:
        raise ValidationError({name: [f"Must be a whole number from {low} to {high}."]})
    return int(raw)


@dataclass(frozen=True)
class Page:
    """One page of a filtered, sorted list, and the offset of the next one (None at the end)."""

    items: list[Any]
    next: int | None


def narrowed(queryset: QuerySet, params: Any, fields: dict[str, Field]) -> QuerySet:
    """The queryset filtered and sorted as the parameters ask (for lists and their counts)."""
    queryset = queryset.filter(filters(params, fields))
    sort_by, order = params.get("sortBy"), params.get("sortOrder", "asc")
    if order not in ("asc", "desc"):
        raise ValidationError({"sortOrder": ["Must be asc or desc."]})
    if sort_by is not None:
        if sort_by not in fields:
            raise ValidationError({"sortBy": [f"Cannot sort by {sort_by!r}; fields: {', '.join(sorted(fields))}."]})
        path = fields[sort_by].path
        # The primary key breaks ties, so pages neither repeat nor skip rows.
        queryset = queryset.order_by(f"-{path}" if order == "desc" else path, "pk")
    return queryset


def page(queryset: QuerySet, params: Any, fields: dict[str, Field], default_limit: int = 50) -> Page:
    """Filter, sort and cut one page, as Run:ai's list endpoints do."""
    offset = _int(params, "offset", 0, 0, 10**9)
    limit = _int(params, "limit", default_limit, 1, MAX_LIMIT)
    rows = list(narrowed(queryset, params, fields)[offset : offset + limit + 1])
    return Page(rows[:limit], offset + limit if len(rows) > limit else None)
