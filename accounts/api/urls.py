from django.urls import path

from accounts.api import audit_views, tokens, views

urlpatterns = [
    path("v1/token", tokens.TokenView.as_view(), name="token-v1"),
    path("v1/token/revoke", tokens.RevokeTokenView.as_view(), name="token-revoke"),
    path("v2/token", tokens.OAuthTokenView.as_view(), name="token-v2"),
    path("v1/me", views.MeView.as_view(), name="me"),
    path("v1/me/password", views.MyPasswordView.as_view(), name="me-password"),
    path("v1/users", views.UserListView.as_view(), name="user-list"),
    path("v1/users/<str:user_id>", views.UserDetailView.as_view(), name="user-detail"),
    path("v1/users/<str:user_id>/logout", views.UserLogoutView.as_view(), name="user-logout"),
    path("v1/apps", views.ApplicationListView.as_view(), name="app-list"),
    path("v1/apps/<str:app_id>", views.ApplicationDetailView.as_view(), name="app-detail"),
    path("v1/apps/<str:app_id>/secret", views.ApplicationSecretView.as_view(), name="app-secret"),
    path("v1/authorization/roles", views.RoleListView.as_view(), name="role-list"),
    path("v1/authorization/roles/<int:role_id>", views.RoleDetailView.as_view(), name="role-detail"),
    path("v1/authorization/access-rules", views.AccessRuleListView.as_view(), name="access-rule-list"),
    path("v1/authorization/access-rules/<int:rule_id>", views.AccessRuleDetailView.as_view(), name="access-rule"),
    path("v1/audit", audit_views.AuditLogView.as_view(), name="audit"),
    path("v1/audit/log", audit_views.AuditLogView.as_view(), name="audit-log"),
]
