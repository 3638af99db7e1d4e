"""The OpenAPI description of the identity and access endpoints' bodies, in Run:ai's shapes as
accounts/api/representations.py and the views write them. Documentation only: the views build
their answers themselves; these serializers only tell drf-spectacular what those look like."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, inline_serializer
from rest_framework import serializers


class BearerAuthenticationScheme(OpenApiAuthenticationExtension):
    """``Authorization: Bearer <token>``, a token from ``/api/v1/token`` or ``/api/v2/token``."""

    target_class = "accounts.authentication.BearerAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer"}


NO_CONTENT = OpenApiResponse(description="Done; no body.")
NEW_USER = OpenApiExample("A user", value={"email": "new.user@example.com"}, request_only=True)
NEW_APPLICATION = OpenApiExample("An application", value={"name": "ci-bot"}, request_only=True)
NEW_ACCESS_RULE = OpenApiExample(
    "A viewer of the whole account",
    value={
        "subjectId": "new.user@example.com",
        "subjectType": "user",
        "roleId": 9,
        "scopeId": "1",
        "scopeType": "tenant",
    },
    request_only=True,
)


class PermissionResponse(serializers.Serializer):
    resourceType = serializers.CharField()
    displayName = serializers.CharField()
    groupId = serializers.CharField()
    actions = serializers.ListField(child=serializers.CharField())


class RoleResponse(serializers.Serializer):
    """Run:ai's ``RoleV1``."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    permissions = PermissionResponse(many=True)
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()
    deletedAt = serializers.DateTimeField(allow_null=True)
    createdBy = serializers.CharField()
    custom = serializers.BooleanField()
    enabled = serializers.BooleanField()
    effectiveEnabled = serializers.BooleanField()
    kubernetesPermissions = serializers.JSONField(allow_null=True)


class AccessRuleResponse(serializers.Serializer):
    """Run:ai's ``AccessRule``."""

    id = serializers.IntegerField()
    subjectId = serializers.CharField()
    subjectType = serializers.CharField()
    roleId = serializers.IntegerField()
    roleName = serializers.CharField()
    scopeId = serializers.CharField()
    scopeType = serializers.CharField()
    scopeName = serializers.CharField(allow_blank=True)
    clusterId = serializers.CharField(allow_null=True)
    tenantId = serializers.IntegerField()
    createdBy = serializers.CharField(allow_blank=True)
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()
    deletedAt = serializers.DateTimeField(allow_null=True)


ACCESS_RULE_LIST = inline_serializer(
    "AccessRuleList",
    {
        "totalRecords": serializers.IntegerField(),
        "displayRecords": serializers.IntegerField(),
        "accessRules": AccessRuleResponse(many=True),
    },
)


class ApplicationResponse(serializers.Serializer):
    """Run:ai's ``Application``, never with its secret."""

    id = serializers.CharField()
    name = serializers.CharField()
    clientId = serializers.CharField()
    enabled = serializers.BooleanField()
    tenantId = serializers.CharField()
    createdBy = serializers.CharField(allow_blank=True)
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()
    lastLogin = serializers.DateTimeField(allow_null=True)


APPLICATION_SECRET = inline_serializer(
    "ApplicationWithSecret",
    {
        "id": serializers.CharField(),
        "name": serializers.CharField(),
        "clientId": serializers.CharField(),
        "secret": serializers.CharField(help_text="Shown this once."),
    },
)


class UserResponse(serializers.Serializer):
    """Run:ai's ``User``."""

    id = serializers.CharField()
    username = serializers.CharField()
    createdBy = serializers.CharField(allow_blank=True)
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()
    lastLogin = serializers.DateTimeField(allow_null=True)
    isLocal = serializers.BooleanField()
    groups = serializers.ListField(child=serializers.CharField())


USER_CREATED = inline_serializer(
    "UserCreated",
    {
        "id": serializers.CharField(),
        "username": serializers.CharField(),
        "tempPassword": serializers.CharField(help_text="Shown this once."),
    },
)

ME = inline_serializer(
    "Me",
    {
        "id": serializers.CharField(),
        "name": serializers.CharField(),
        "subjectType": serializers.CharField(),
        "groups": serializers.ListField(child=serializers.CharField()),
        "accessRules": inline_serializer(
            "MyAccessRule",
            {
                "roleId": serializers.IntegerField(),
                "roleName": serializers.CharField(),
                "scopeType": serializers.CharField(),
                "scopeId": serializers.CharField(),
            },
            many=True,
        ),
    },
)


class AuditEventResponse(serializers.Serializer):
    id = serializers.IntegerField()
    timestamp = serializers.DateTimeField()
    subjectType = serializers.CharField(allow_blank=True)
    subject = serializers.CharField(allow_blank=True)
    action = serializers.CharField()
    entityType = serializers.CharField(allow_blank=True)
    entityId = serializers.CharField(allow_blank=True)
    entityName = serializers.CharField(allow_blank=True)
    sourceIp = serializers.CharField(allow_blank=True, allow_null=True)
    httpStatusCode = serializers.IntegerField(allow_null=True)
    result = serializers.CharField()
    details = serializers.JSONField()


AUDIT_LOG = inline_serializer(
    "AuditLog", {"total": serializers.IntegerField(), "auditLogs": AuditEventResponse(many=True)}
)

# The token endpoints take Run:ai's field names in any spelling (AppId, appID, app_id); these are
# the documented ones.
TOKEN_REQUEST = inline_serializer(
    "TokenRequest",
    {
        "grantType": serializers.ChoiceField(choices=["app_token", "client_credentials", "password"]),
        "AppId": serializers.CharField(required=False),
        "AppSecret": serializers.CharField(required=False),
        "clientId": serializers.CharField(required=False),
        "clientSecret": serializers.CharField(required=False),
        "username": serializers.CharField(required=False),
        "password": serializers.CharField(required=False),
    },
)
TOKEN = inline_serializer("Token", {"accessToken": serializers.CharField(), "expiresIn": serializers.IntegerField()})
OAUTH_TOKEN_REQUEST = inline_serializer(
    "OAuthTokenRequest",
    {
        "grant_type": serializers.ChoiceField(choices=["client_credentials", "password"]),
        "client_id": serializers.CharField(required=False),
        "client_secret": serializers.CharField(required=False),
        "username": serializers.CharField(required=False),
        "password": serializers.CharField(required=False),
    },
)
OAUTH_TOKEN = inline_serializer(
    "OAuthToken",
    {
        "access_token": serializers.CharField(),
        "token_type": serializers.CharField(),
        "expires_in": serializers.IntegerField(),
    },
)
OAUTH_ERROR = inline_serializer(
    "OAuthError",
    {
        # OAuth2's names, on a refused grant; a request that cannot be read has only Run:ai's.
        "error": serializers.CharField(required=False),
        "error_description": serializers.CharField(required=False),
        "code": serializers.IntegerField(),
        "message": serializers.CharField(),
    },
)
REVOKE_REQUEST = inline_serializer("TokenRevocation", {"token": serializers.CharField()})
CLI_TOKEN_REQUEST = inline_serializer(
    "CliTokenRequest",
    {"code": serializers.CharField(), "state": serializers.CharField(), "codeVerifier": serializers.CharField()},
)
