"""Identity and access endpoints, in Run:ai's paths and shapes: thin views over accounts.services."""

from typing import Any

from django.contrib.auth import get_user_model, update_session_auth_hash
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import audit
from accounts.access import grants_of, require, subject_of
from accounts.api import schemas
from accounts.api.representations import (
    access_rule_representation,
    application_representation,
    role_representation,
    scope_names,
    user_representation,
)
from accounts.errors import Invalid, NotFound
from accounts.models import AccessRule, Application
from accounts.principals import AppPrincipal
from accounts.roles import APPS, ROLE_DEFINITIONS, ROLES_BY_ID, USERS
from accounts.services import apps as app_services
from accounts.services import rules as rule_services
from accounts.services import users as user_services
from controlplane.serializers import StrictBooleanField, StrictCharField, StrictIntegerField, StrictSerializer


def _origin(request: Request) -> audit.Origin:
    return audit.Origin.of(request)


def _int(value: str, name: str) -> int:
    if not value.isdigit():
        raise serializers.ValidationError({name: ["Must be a number."]})
    return int(value)


class RoleListView(APIView):
    """``GET /api/v1/authorization/roles``: every signed-in caller may read the system roles."""

    @extend_schema(responses={200: schemas.RoleResponse(many=True)})
    def get(self, request: Request) -> Response:
        return Response([role_representation(role) for role in ROLE_DEFINITIONS])


class RoleDetailView(APIView):
    @extend_schema(responses={200: schemas.RoleResponse})
    def get(self, request: Request, role_id: int) -> Response:
        role = ROLES_BY_ID.get(role_id)
        if role is None:
            raise NotFound(f"There is no role with id {role_id}.")
        return Response(role_representation(role))


class AccessRuleCreation(StrictSerializer):
    subjectId = StrictCharField(max_length=254)
    subjectType = StrictCharField()
    roleId = StrictIntegerField()
    scopeId = StrictCharField(max_length=64)
    scopeType = StrictCharField()
    clusterId = StrictCharField(required=False, allow_null=True)


class AccessRuleFilter(StrictSerializer):
    subjectType = StrictCharField(required=False)
    subjectIdFilter = StrictCharField(required=False)
    subjectIds = StrictCharField(required=False)
    scopeType = StrictCharField(required=False)
    scopeId = StrictCharField(required=False)
    roleId = StrictCharField(required=False)
    clusterId = StrictCharField(required=False)
    limit = StrictCharField(required=False)
    offset = StrictCharField(required=False)
    sortOrder = StrictCharField(required=False)
    # Run:ai's list takes these too; Tessera keeps no deleted rules and has no free-text search.
    accepted_fields = frozenset({"includeDeleted", "lastUpdated", "sortBy", "filterBy", "search"})


class AccessRuleListView(APIView):
    """``GET/POST /api/v1/authorization/access-rules``."""

    @extend_schema(parameters=[AccessRuleFilter], responses={200: schemas.ACCESS_RULE_LIST})
    def get(self, request: Request) -> Response:
        params = {key: request.query_params.getlist(key) for key in request.query_params}
        flat = {key: values[0] for key, values in params.items()}
        query = AccessRuleFilter(data=flat)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        rules = AccessRule.objects.restrict(request.user, "read").select_related("role")
        if "subjectType" in data:
            rules = rules.filter(subject_type=data["subjectType"])
        if "subjectIdFilter" in data:
            rules = rules.filter(subject_id__icontains=data["subjectIdFilter"])
        if "subjectIds" in params:
            rules = rules.filter(subject_id__in=[i for v in params["subjectIds"] for i in v.split(",") if i])
        if "scopeType" in data:
            rules = rules.filter(scope_type=rule_services.SCOPE_ALIASES.get(data["scopeType"], data["scopeType"]))
        if "scopeId" in data:
            rules = rules.filter(scope_id=data["scopeId"])
        if "roleId" in data:
            rules = rules.filter(role_id=_int(data["roleId"], "roleId"))
        if "clusterId" in data:
            rules = rules.filter(cluster_id=data["clusterId"]) if _uuid(data["clusterId"]) else rules.none()
        if data.get("sortOrder") == "desc":
            rules = rules.order_by("-id")
        total = rules.count()
        offset = _int(data.get("offset", "0"), "offset")
        limit = min(_int(data.get("limit", "50"), "limit"), 500)
        rows = list(rules[offset : offset + limit])
        names = scope_names(rows)
        page = [access_rule_representation(r, names.get((r.scope_type, r.scope_id), "")) for r in rows]
        return Response({"totalRecords": total, "displayRecords": len(page), "accessRules": page})

    @extend_schema(
        request=AccessRuleCreation, responses={201: schemas.AccessRuleResponse}, examples=[schemas.NEW_ACCESS_RULE]
    )
    def post(self, request: Request) -> Response:
        body = AccessRuleCreation(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        rule = rule_services.create_rule(
            _origin(request), data["subjectType"], data["subjectId"], data["roleId"], data["scopeType"], data["scopeId"]
        )
        name = scope_names([rule]).get((rule.scope_type, rule.scope_id), "")
        return Response(access_rule_representation(rule, name), status=status.HTTP_201_CREATED)


def _uuid(value: str) -> bool:
    return rule_services.is_uuid(value)


class AccessRuleDetailView(APIView):
    """``GET/DELETE /api/v1/authorization/access-rules/<id>``."""

    def _rule(self, request: Request, rule_id: int) -> AccessRule:
        return get_object_or_404(AccessRule.objects.restrict(request.user, "read").select_related("role"), pk=rule_id)

    @extend_schema(responses={200: schemas.AccessRuleResponse})
    def get(self, request: Request, rule_id: int) -> Response:
        rule = self._rule(request, rule_id)
        return Response(access_rule_representation(rule, scope_names([rule]).get((rule.scope_type, rule.scope_id), "")))

    @extend_schema(responses={204: schemas.NO_CONTENT})
    def delete(self, request: Request, rule_id: int) -> Response:
        rule_services.delete_rule(_origin(request), self._rule(request, rule_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApplicationCreation(StrictSerializer):
    name = StrictCharField(max_length=63)


def _created_application(app: Application, secret: str, code: int) -> Response:
    body = {"id": str(app.pk), "name": app.name, "clientId": app.client_id, "secret": secret}
    return Response(body, status=code, headers={"Cache-Control": "no-store"})


class ApplicationListView(APIView):
    """``GET/POST /api/v1/apps``: the secret is in the creation response only."""

    @extend_schema(responses={200: schemas.ApplicationResponse(many=True)})
    def get(self, request: Request) -> Response:
        require(request.user, "read", APPS)
        return Response([application_representation(a) for a in Application.objects.all()])

    @extend_schema(
        request=ApplicationCreation, responses={201: schemas.APPLICATION_SECRET}, examples=[schemas.NEW_APPLICATION]
    )
    def post(self, request: Request) -> Response:
        body = ApplicationCreation(data=request.data)
        body.is_valid(raise_exception=True)
        app, secret = app_services.create_application(_origin(request), body.validated_data["name"])
        return _created_application(app, secret, status.HTTP_201_CREATED)


def _application(request: Request, app_id: str, action: str) -> Application:
    require(request.user, action, APPS)
    if not rule_services.is_uuid(app_id):
        raise NotFound(f"There is no application {app_id!r}.")
    return get_object_or_404(Application, pk=app_id)


class ApplicationDetailView(APIView):
    @extend_schema(responses={200: schemas.ApplicationResponse})
    def get(self, request: Request, app_id: str) -> Response:
        return Response(application_representation(_application(request, app_id, "read")))

    @extend_schema(responses={204: schemas.NO_CONTENT})
    def delete(self, request: Request, app_id: str) -> Response:
        app_services.delete_application(_origin(request), _application(request, app_id, "delete"))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApplicationSecretView(APIView):
    """``POST /api/v1/apps/<id>/secret``: a new secret, shown once; the old one is revoked."""

    @extend_schema(request=None, responses={200: schemas.APPLICATION_SECRET})
    def post(self, request: Request, app_id: str) -> Response:
        app = _application(request, app_id, "update")
        secret = app_services.regenerate_secret(_origin(request), app)
        return _created_application(app, secret, status.HTTP_200_OK)


class UserCreation(StrictSerializer):
    email = StrictCharField(max_length=150)
    resetPassword = StrictBooleanField(required=False)
    notify = StrictBooleanField(required=False)


class UserListView(APIView):
    """``GET/POST /api/v1/users``: local users; the temporary password is shown once."""

    @extend_schema(responses={200: schemas.UserResponse(many=True)})
    def get(self, request: Request) -> Response:
        require(request.user, "read", USERS)
        users = get_user_model().objects.prefetch_related("groups").order_by("username")
        return Response([user_representation(u) for u in users])

    @extend_schema(request=UserCreation, responses={201: schemas.USER_CREATED}, examples=[schemas.NEW_USER])
    def post(self, request: Request) -> Response:
        body = UserCreation(data=request.data)
        body.is_valid(raise_exception=True)
        user, password = user_services.create_user(_origin(request), body.validated_data["email"])
        body = {"id": str(user.pk), "username": user.get_username(), "tempPassword": password}
        return Response(body, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})


def _user(user_id: str) -> Any:
    user = get_user_model().objects.filter(pk=user_id).first() if user_id.isdigit() else None
    if user is None:
        raise NotFound(f"There is no user {user_id!r}.")
    return user


class UserDetailView(APIView):
    @extend_schema(responses={200: schemas.UserResponse})
    def get(self, request: Request, user_id: str) -> Response:
        require(request.user, "read", USERS)
        return Response(user_representation(_user(user_id)))

    @extend_schema(responses={204: schemas.NO_CONTENT})
    def delete(self, request: Request, user_id: str) -> Response:
        require(request.user, "delete", USERS)
        user_services.delete_user(_origin(request), _user(user_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserLogoutView(APIView):
    """``POST /api/v1/users/<id>/logout``: end every session and token of the user."""

    @extend_schema(request=None, responses={204: schemas.NO_CONTENT})
    def post(self, request: Request, user_id: str) -> Response:
        user_services.logout_everywhere(_origin(request), _user(user_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    """``GET /api/v1/me``: who the caller is and the rules he holds."""

    @extend_schema(responses={200: schemas.ME})
    def get(self, request: Request) -> Response:
        subject = subject_of(request.user)
        caller = request.user
        return Response(
            {
                "id": str(caller.application.pk) if isinstance(caller, AppPrincipal) else str(caller.pk),
                "name": subject.id,
                "subjectType": subject.type,
                "groups": list(subject.groups),
                "accessRules": [
                    {"roleId": g.role.id, "roleName": g.role.name, "scopeType": g.scope_type, "scopeId": g.scope_id}
                    for g in grants_of(subject)
                ],
            }
        )


class PasswordChange(StrictSerializer):
    currentPassword = StrictCharField(trim_whitespace=False)
    newPassword = StrictCharField(trim_whitespace=False)


class MyPasswordView(APIView):
    """``POST /api/v1/me/password``: a local user changes his own password."""

    @extend_schema(request=PasswordChange, responses={204: schemas.NO_CONTENT})
    def post(self, request: Request) -> Response:
        if isinstance(request.user, AppPrincipal):
            raise Invalid("Applications have secrets, not passwords: regenerate the secret instead.")
        body = PasswordChange(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        session = getattr(request, "session", None)
        keep = session.session_key if session is not None and request.auth is None else None
        user_services.change_password(
            _origin(request), request.user, data["currentPassword"], data["newPassword"], keep
        )
        if keep:
            update_session_auth_hash(request._request, request.user)  # this session stays signed in
        return Response(status=status.HTTP_204_NO_CONTENT)
