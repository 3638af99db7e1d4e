"""ASGI entry point: HTTP through Django, websockets for browsers and for cluster agents."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controlplane.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs Django set up first)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import path  # noqa: E402

from controlplane.routing import agent_urlpatterns, browser_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter(
            [
                # Agents authenticate with their cluster token; they send no Origin or cookies.
                path("agent/", URLRouter(agent_urlpatterns)),
                # Browsers: the session cookie, and only from our own origin.
                path(
                    "ws/",
                    AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(browser_urlpatterns))),
                ),
            ]
        ),
    }
)
