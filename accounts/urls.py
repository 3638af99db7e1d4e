from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import cli_login, views

urlpatterns = [
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("logout/everywhere/", views.logout_everywhere_page, name="logout-everywhere"),
    path("roles/", views.roles_page, name="roles"),
    # The tessera CLI's browser sign-in: the page, and the exchange of its one-time code.
    path("cli/login", cli_login.authorize_page, name="cli-login"),
    path("api/v1/cli/token", cli_login.CliTokenView.as_view(), name="cli-token"),
]
