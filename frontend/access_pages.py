"""Users, applications, access rules and the audit log: thin views over ``accounts.services``,
which ask the gate themselves; the pages only hide what the gate would refuse."""

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from rest_framework.exceptions import ValidationError

from accounts import audit
from accounts.access import grants_of, may, require, scope_path, subject_of
from accounts.api.audit_views import FIELDS as AUDIT_FILTERS
from accounts.api.audit_views import AuditFilter
from accounts.api.representations import access_rule_representation, scope_names
from accounts.models import AccessRule, Application, AuditEvent, SubjectType
from accounts.roles import ACCESS_RULES, APPS, AUDIT, ROLE_DEFINITIONS, USERS
from accounts.services import apps as app_services
from accounts.services import rules as rule_services
from accounts.services import users as user_services
from clusters.models import Cluster
from frontend.forms import attempt, errors_of, page

NO_STORE = "no-store"  # a page that shows a secret must not be cached


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = NO_STORE
    return response


@login_required
@page
def application_list(request: HttpRequest) -> HttpResponse:
    require(request.user, "read", APPS)
    created, secret, errors = None, None, {}
    if request.method == "POST":
        result, errors = attempt(
            lambda: app_services.create_application(audit.Origin.of(request), request.POST.get("name", "")), ["name"]
        )
        if result is not None:
            created, secret = result
    context = {
        "applications": Application.objects.order_by("name"),
        "created": created,
        "secret": secret,
        "errors": errors,
        "values": request.POST if errors else {},
        "may_create": may(request.user, "create", APPS),
        "may_delete": may(request.user, "delete", APPS),
    }
    return _no_store(render(request, "frontend/application_list.html", context, status=400 if errors else 200))


@require_POST
@login_required
@page
def application_delete(request: HttpRequest, app_id: str) -> HttpResponse:
    require(request.user, "delete", APPS)
    app = get_object_or_404(Application, pk=app_id)
    app_services.delete_application(audit.Origin.of(request), app)
    messages.success(request, f"Application {app.name!r} deleted, with its access rules and tokens.")
    return redirect("application-page-list")


@login_required
@page
def user_list(request: HttpRequest) -> HttpResponse:
    require(request.user, "read", USERS)
    created, password, errors = None, None, {}
    if request.method == "POST":
        result, errors = attempt(
            lambda: user_services.create_user(audit.Origin.of(request), request.POST.get("email", "")), ["email"]
        )
        if result is not None:
            created, password = result
    context = {
        "users": get_user_model().objects.prefetch_related("groups").order_by("username"),
        "created": created,
        "password": password,
        "errors": errors,
        "values": request.POST if errors else {},
        "may_create": may(request.user, "create", USERS),
        "may_delete": may(request.user, "delete", USERS),
    }
    return _no_store(render(request, "frontend/user_list.html", context, status=400 if errors else 200))


@require_POST
@login_required
@page
def user_delete(request: HttpRequest, user_id: int) -> HttpResponse:
    require(request.user, "delete", USERS)
    user = get_object_or_404(get_user_model(), pk=user_id)
    _, errors = attempt(lambda: user_services.delete_user(audit.Origin.of(request), user), [])
    if errors:
        messages.error(request, " ".join(errors[""]))
    else:
        messages.success(request, f"User {user.get_username()!r} deleted, with the access rules naming him.")
    return redirect("user-page-list")


def scope_choices(user: Any) -> list[tuple[str, str]]:
    """The scope picker: account, then each cluster with its departments and their projects,
    indented as the tree they form; only the scopes the subject may see."""
    choices = [("tenant:1", "Account (everything)")]
    clusters = Cluster.objects.restrict(user, "read").prefetch_related("departments__projects")
    for cluster in clusters:
        choices.append((f"cluster:{cluster.pk}", f"\u2003Cluster {cluster.name}"))
        for department in cluster.departments.all():
            choices.append((f"department:{department.pk}", f"\u2003\u2003Department {department.name}"))
            for project in department.projects.all():
                choices.append((f"project:{project.pk}", f"\u2003\u2003\u2003Project {project.name}"))
    return choices


RULE_FIELDS = ["subjectType", "subjectId", "roleId", "_scope"]


def _create_rule(request: HttpRequest) -> AccessRule:
    scope_type, _, scope_id = request.POST.get("_scope", "").partition(":")
    role = request.POST.get("roleId", "")
    return rule_services.create_rule(
        audit.Origin.of(request),
        request.POST.get("subjectType", ""),
        request.POST.get("subjectId", "").strip(),
        int(role) if role.isdigit() else -1,
        scope_type,
        scope_id,
    )


# The rules service names what it could not find in words; these say which field that was.
RULE_ERROR_FIELDS = (
    ("There is no user", "subjectId"),
    ("There is no application", "subjectId"),
    ("There is no role", "roleId"),
    ("There is no cluster", "_scope"),
    ("There is no department", "_scope"),
    ("There is no project", "_scope"),
    ("scopeType", "_scope"),
)


def _rule_errors_by_field(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    placed: dict[str, list[str]] = {}
    for field, messages_ in errors.items():
        for message in messages_:
            target = next((f for prefix, f in RULE_ERROR_FIELDS if message.startswith(prefix)), field)
            placed.setdefault("_scope" if target == "scopeType" else target, []).append(message)
    return placed


@login_required
@page
def access_rule_list(request: HttpRequest) -> HttpResponse:
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        _, errors = attempt(lambda: _create_rule(request), ["subjectType", "subjectId", "roleId", "scopeType"])
        errors = _rule_errors_by_field(errors)
        if not errors:
            messages.success(request, "Access rule granted.")
            return redirect("access-rule-page-list")
    rules = list(AccessRule.objects.restrict(request.user, "read").select_related("role").order_by("id"))
    names = scope_names(rules)
    rows = [
        {
            "rule": access_rule_representation(rule, names.get((rule.scope_type, rule.scope_id), "")),
            "may_delete": may(request.user, "delete", ACCESS_RULES, scope_path(rule)),
        }
        for rule in rules
    ]
    context = {
        "rows": rows,
        "errors": errors,
        # A "Grant a role" link from the users or applications page names its subject.
        "values": request.POST
        if errors
        else {
            "subjectType": request.GET.get("subjectType", "user"),
            "subjectId": request.GET.get("subjectId", ""),
            "_scope": "tenant:1",
        },
        "may_create": may_grant_somewhere(request.user),
        "subject_types": [(value, label) for value, label in SubjectType.choices],
        "roles": [(str(role.id), role.name) for role in ROLE_DEFINITIONS],
        "scopes": scope_choices(request.user),
    }
    return render(request, "frontend/access_rule_list.html", context, status=400 if errors else 200)


def may_grant_somewhere(user: Any) -> bool:
    """Whether one of the subject's rules lets him grant rules somewhere."""
    return any(grant.role.grants(ACCESS_RULES, "create") for grant in grants_of(subject_of(user)))


@require_POST
@login_required
@page
def access_rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_object_or_404(AccessRule.objects.restrict(request.user, "read"), pk=rule_id)
    _, errors = attempt(lambda: rule_services.delete_rule(audit.Origin.of(request), rule), [])
    if errors:
        messages.error(request, " ".join(errors[""]))
    else:
        messages.success(request, "Access rule removed.")
    return redirect("access-rule-page-list")


@login_required
@page
def audit_log(request: HttpRequest) -> HttpResponse:
    """The audit log with the API's filters (``GET /api/v1/audit`` takes the same parameters)."""
    require(request.user, "read", AUDIT)
    given = {key: value for key, value in request.GET.items() if value}
    query = AuditFilter(data=given)
    events = AuditEvent.objects.all()
    errors: dict[str, list[str]] = {}
    if query.is_valid():
        data = query.validated_data
        for name, field in AUDIT_FILTERS.items():
            if name in data:
                events = events.filter(**{field: data[name]})
        if data.get("start"):
            events = events.filter(at__gte=data["start"])
        if data.get("end"):
            events = events.filter(at__lte=data["end"])
        events = events[data["offset"] : data["offset"] + data["limit"]]
    else:
        errors = errors_of(ValidationError(query.errors), list(AuditFilter().fields))
        events = events.none()
    context = {"events": events, "values": request.GET, "errors": errors, "results": [("", "any"),
               ("success", "success"), ("failure", "failure")]}  # fmt: skip
    return render(request, "frontend/audit_log.html", context, status=400 if errors else 200)
