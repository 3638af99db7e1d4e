"""The authentication backend of users who signed in through an identity provider.

It authenticates nobody by itself: the OIDC and SAML views verify the provider's answer and then
log the user in through it. Listed in AUTHENTICATION_BACKENDS so that Django finds the user of
such a session again on later requests.
"""

from typing import Any

from django.contrib.auth.backends import ModelBackend

PATH = "sso.backends.SingleSignOnBackend"


class SingleSignOnBackend(ModelBackend):
    def authenticate(self, request: Any, **credentials: Any) -> None:
        return None
