"""Where a sign-in may send the browser afterwards: only to Tessera's own pages."""

from django.conf import settings
from django.http import HttpRequest
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme


def is_own_url(request: HttpRequest, url: str) -> bool:
    """Whether ``url`` is a page of this site (a path, or an absolute URL on this host)."""
    return bool(url) and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )


def default_landing() -> str:
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def own_url_or_default(request: HttpRequest, url: str) -> str:
    return url if is_own_url(request, url) else default_landing()


def public_base(request: HttpRequest) -> str:
    """The URL the world reaches Tessera at: ``TESSERA_PUBLIC_URL`` when set (behind a proxy that
    rewrites the host), else the request's own scheme and host."""
    configured = getattr(settings, "TESSERA_PUBLIC_URL", "")
    return configured.rstrip("/") if configured else f"{request.scheme}://{request.get_host()}"
