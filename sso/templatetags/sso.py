"""``{% sso_sign_in_buttons next %}``: one button per enabled identity provider, for the sign-in page."""

from urllib.parse import urlencode

from django import template
from django.urls import reverse

from sso.services.providers import enabled_providers

register = template.Library()


@register.inclusion_tag("sso/sign_in_buttons.html")
def sso_sign_in_buttons(next_url: str = "") -> dict:
    query = f"?{urlencode({'next': next_url})}" if next_url else ""
    buttons = [
        {"name": p.name, "url": reverse(f"sso-{p.type}-login", args=[p.alias]) + query} for p in enabled_providers()
    ]
    return {"buttons": buttons}
