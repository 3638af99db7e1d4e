"""Pages of the accounts app: sign-in with lockout, logout everywhere, the roles table."""

from typing import Any

from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import audit
from accounts.roles import ACTIONS, RESOURCES, ROLE_DEFINITIONS
from accounts.services import signin
from accounts.services.users import logout_everywhere


class LockoutAuthenticationForm(AuthenticationForm):
    """Django's sign-in form, saying plainly when an account is locked."""

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        if username and signin.is_locked(username):
            signin.record_failure(username)
            audit.record(audit.Origin(username, audit.client_address(self.request)), "sign_in", "user", "", username,
                         "failure", locked=True)  # fmt: skip
            raise ValidationError(signin.lockout_message(username), code="locked")
        return super().clean()


class SignInView(LoginView):
    template_name = "accounts/login.html"
    authentication_form = LockoutAuthenticationForm


@require_POST
@login_required
def logout_everywhere_page(request: HttpRequest) -> HttpResponse:
    """End every session and token of the signed-in user, this one included."""
    logout_everywhere(audit.Origin.of(request), request.user)
    logout(request)
    return redirect("login")


@login_required
def roles_page(request: HttpRequest) -> HttpResponse:
    """The system roles as a table: one row per role, one column per resource."""
    rows = [
        {
            "role": role,
            "cells": ["".join(a[0].upper() for a in ACTIONS if role.grants(res, a)) for res in RESOURCES],
        }
        for role in ROLE_DEFINITIONS
    ]
    return render(request, "accounts/roles.html", {"resources": RESOURCES, "rows": rows})
