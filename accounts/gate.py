"""The queryset gate: ``Model.objects.restrict(user, action)``, in the manner of NetBox.

Every viewset, page, websocket consumer and task gets clusters, departments, projects and
workloads through it, so a list never shows what the caller may not see.
"""

from typing import Any, ClassVar

from django.db import models

from accounts.access import scope_filter


class RestrictedQuerySet(models.QuerySet):
    """A queryset that can narrow itself to what a caller may do. Subclasses name their resource
    and the field path from the model to each scope level (``scope_lookups``). For reading,
    ``read_lookups`` adds levels below the object: a researcher of a project sees its cluster and
    department, though a rule on the project does not let him change them."""

    resource: ClassVar[str] = ""
    scope_lookups: ClassVar[dict[str, str]] = {}
    read_lookups: ClassVar[dict[str, str]] = {}

    def restrict(self, user: Any, action: str = "read", resource: str | None = None) -> "RestrictedQuerySet":
        """The objects on which ``user`` may do ``action`` (on ``resource``, by default the
        model's own)."""
        lookups = dict(self.scope_lookups)
        below = action == "read" and self.read_lookups
        if below:
            lookups.update(self.read_lookups)
        narrowed = self.filter(scope_filter(user, action, resource or self.resource, lookups))
        # Lookups through reverse relations (a cluster's projects) repeat rows.
        return narrowed.distinct() if below else narrowed
