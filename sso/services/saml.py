"""SAML 2.0 sign-in and logout with python3-saml, in strict mode, with what Tessera adds.

python3-saml checks signatures, timestamps, issuer and (when the response has them) audience,
destination and ``InResponseTo``. Tessera also requires: an audience and a destination (the exact
URL the response arrived at), a signed assertion, no deprecated algorithm, a request it sent
(unless the provider may send unsolicited responses), and an assertion never used before.
"""

import datetime
from typing import Any

import requests
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.errors import OneLogin_Saml2_Error
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser
from onelogin.saml2.response import OneLogin_Saml2_Response
from onelogin.saml2.settings import OneLogin_Saml2_Settings

from sso.models import IdentityProvider, SamlRequest, SeenAssertion
from sso.services import identities, sp_keys
from sso.services.redirects import public_base
from sso.services.refusals import SignInRefused

REQUEST_SECONDS = 600
# How long a used assertion is remembered when it says nothing about its own expiry.
DEFAULT_ASSERTION_LIFETIME = datetime.timedelta(hours=8)
SESSION_KEY = "sso_saml"
TIMEOUT = 10


def read_metadata(xml: str = "", url: str = "", entity_id: str = "") -> dict[str, Any]:
    """The identity provider's entity id, endpoints and signing certificates from its metadata;
    raises ValueError saying what is missing."""
    if url:
        try:
            response = requests.get(url, timeout=TIMEOUT)
            response.raise_for_status()
        except requests.RequestException as exc:
            raise ValueError(f"could not fetch the metadata: {exc}") from None
        xml = response.text
    try:
        parsed = OneLogin_Saml2_IdPMetadataParser.parse(xml, entity_id=entity_id or None)
    except Exception as exc:  # the parser raises bare exceptions for malformed XML and DTDs
        raise ValueError(f"the metadata is not valid XML: {exc}") from None
    idp = parsed.get("idp", {})
    certificates = idp.get("x509certMulti", {}).get("signing") or ([idp["x509cert"]] if idp.get("x509cert") else [])
    if not idp.get("entityId"):
        raise ValueError("the metadata describes no identity provider" + (f" {entity_id!r}" if entity_id else ""))
    if not idp.get("singleSignOnService", {}).get("url"):
        raise ValueError("the metadata has no single sign-on service with the HTTP-Redirect binding")
    if not certificates:
        raise ValueError("the metadata has no signing certificate")
    return {
        "entity_id": idp["entityId"],
        "sso_url": idp["singleSignOnService"]["url"],
        "slo_url": idp.get("singleLogoutService", {}).get("url", ""),
        "signing_certificates": certificates,
        "xml": xml,
    }


def sp_urls(request: HttpRequest, provider: IdentityProvider) -> dict[str, str]:
    base = public_base(request)
    return {
        "entity_id": base + reverse("sso-saml-metadata", args=[provider.alias]),
        "acs": base + reverse("sso-saml-acs", args=[provider.alias]),
        "sls": base + reverse("sso-saml-sls", args=[provider.alias]),
    }


def saml_settings(request: HttpRequest, provider: IdentityProvider) -> OneLogin_Saml2_Settings:
    key, certificate = sp_keys.key_and_certificate()
    urls = sp_urls(request, provider)
    idp: dict[str, Any] = {
        "entityId": provider.entity_id,
        "singleSignOnService": {"url": provider.sso_url, "binding": C.BINDING_HTTP_REDIRECT},
        "x509certMulti": {"signing": provider.signing_certificates},
    }
    if provider.slo_url:
        idp["singleLogoutService"] = {"url": provider.slo_url, "binding": C.BINDING_HTTP_REDIRECT}
    data = {
        "strict": True,
        "debug": False,
        "sp": {
            "entityId": urls["entity_id"],
            "assertionConsumerService": {"url": urls["acs"], "binding": C.BINDING_HTTP_POST},
            "singleLogoutService": {"url": urls["sls"], "binding": C.BINDING_HTTP_REDIRECT},
            "NameIDFormat": C.NAMEID_UNSPECIFIED,
            "x509cert": certificate,
            "privateKey": key,
        },
        "idp": idp,
        "security": {
            "authnRequestsSigned": True,
            "logoutRequestSigned": True,
            "logoutResponseSigned": True,
            "wantAssertionsSigned": True,
            "wantMessagesSigned": False,
            "wantNameId": True,
            "wantAttributeStatement": False,
            "requestedAuthnContext": False,
            "rejectDeprecatedAlgorithm": True,
            "rejectUnsolicitedResponsesWithInResponseTo": not provider.allow_unsolicited,
            "signatureAlgorithm": C.RSA_SHA256,
            "digestAlgorithm": C.SHA256,
            "signMetadata": False,
            # An internal host name without a dot ("tessera") is a fine place to run Tessera.
            "allowSingleLabelDomains": True,
        },
    }
    try:
        return OneLogin_Saml2_Settings(data, sp_validation_only=False)
    except OneLogin_Saml2_Error as exc:
        raise SignInRefused(
            f"The provider's configuration cannot be used ({exc}); an administrator must fix it."
        ) from None


def request_data(request: HttpRequest) -> dict[str, Any]:
    """The request as python3-saml reads it; scheme and host as the world sees them."""
    base = public_base(request)
    scheme, host = base.split("://", 1)
    return {
        "https": "on" if scheme == "https" else "off",
        "http_host": host,
        "script_name": request.path,
        "get_data": request.GET.copy(),
        "post_data": request.POST.copy(),
        "query_string": request.META.get("QUERY_STRING", ""),
    }


def metadata(request: HttpRequest, provider: IdentityProvider) -> str:
    settings = saml_settings(request, provider)
    xml = settings.get_sp_metadata()
    errors = settings.validate_metadata(xml)
    if errors:
        raise ValueError(f"invalid service provider metadata: {errors}")
    return xml.decode() if isinstance(xml, bytes) else xml


def start(request: HttpRequest, provider: IdentityProvider, next_url: str) -> str:
    """Record a new authentication request and return the provider's URL that carries it."""
    auth = OneLogin_Saml2_Auth(request_data(request), saml_settings(request, provider))
    url = auth.login(return_to=next_url)
    now = timezone.now()
    SamlRequest.objects.filter(expires_at__lte=now).delete()
    SamlRequest.objects.create(
        id=auth.get_last_request_id(), provider=provider, next_url=next_url,
        expires_at=now + datetime.timedelta(seconds=REQUEST_SECONDS),
    )  # fmt: skip
    return url


def _take_request(provider: IdentityProvider, request_id: str) -> SamlRequest:
    """The request this response answers, removed so that only one response is ever taken for it."""
    with transaction.atomic():
        pending = (
            SamlRequest.objects.select_for_update()
            .filter(id=request_id, provider=provider, expires_at__gt=timezone.now())
            .first()
        )
        if pending is None:
            raise SignInRefused("The response answers no request Tessera has pending.")
        pending.delete()
    return pending


def _check_tessera_rules(response: OneLogin_Saml2_Response, settings: OneLogin_Saml2_Settings) -> None:
    """What strict python3-saml lets through when the response leaves it out."""
    sp = settings.get_sp_data()
    if response.document.get("Destination") != sp["assertionConsumerService"]["url"]:
        raise SignInRefused("The response is not addressed to this service (Destination).")
    if sp["entityId"] not in response.get_audiences():
        raise SignInRefused("The assertion is not meant for this service (Audience).")


def _remember_assertion(provider: IdentityProvider, response: OneLogin_Saml2_Response) -> None:
    assertion_id = response.get_assertion_id()
    if not assertion_id:
        raise SignInRefused("The assertion has no ID.")
    not_on_or_after = response.get_assertion_not_on_or_after()
    now = timezone.now()
    expires = (
        datetime.datetime.fromtimestamp(not_on_or_after, datetime.UTC)
        if not_on_or_after
        else now + DEFAULT_ASSERTION_LIFETIME
    )
    SeenAssertion.objects.filter(expires_at__lte=now).delete()
    try:
        with transaction.atomic():
            SeenAssertion.objects.create(provider=provider, assertion_id=assertion_id, expires_at=expires)
    except IntegrityError:
        raise SignInRefused("This assertion has been used already (replay).") from None


def finish(request: HttpRequest, provider: IdentityProvider) -> tuple[Any, str, dict[str, Any]]:
    """Check the posted response; returns (user, where the request wanted to go, what logout needs)."""
    encoded = request.POST.get("SAMLResponse", "")
    if not encoded:
        raise SignInRefused("No SAMLResponse was posted.")
    settings = saml_settings(request, provider)
    try:
        response = OneLogin_Saml2_Response(settings, encoded)
        in_response_to = response.get_in_response_to()
    except Exception as exc:  # malformed, DTD or entity: the parser refuses before reading anything
        raise SignInRefused(f"The response cannot be read: {exc}") from None
    if in_response_to:
        next_url = _take_request(provider, in_response_to).next_url
    elif provider.allow_unsolicited:
        next_url = request.POST.get("RelayState", "")
    else:
        raise SignInRefused("Unsolicited responses are not accepted from this provider.")
    try:
        response.is_valid(request_data(request), request_id=in_response_to, raise_exceptions=True)
    except Exception as exc:
        raise SignInRefused(f"The response was refused: {exc}") from None
    _check_tessera_rules(response, settings)
    _remember_assertion(provider, response)
    attributes = response.get_attributes()

    def first(name: str) -> str:
        values = attributes.get(name) or []
        return str(values[0]) if values else ""

    user = identities.user_for(
        provider,
        identities.Vouched(
            subject=response.get_nameid() or "",
            email=first(provider.email_claim) if provider.email_claim else "",
            # The administrator chose to trust this provider's assertions, e-mail included.
            email_verified=True,
            groups=identities.group_names(attributes.get(provider.groups_claim, [])) if provider.groups_claim else (),
            first_name=first("givenName"),
            last_name=first("sn"),
        ),
    )
    logout_data = {
        "provider": provider.alias,
        "name_id": response.get_nameid(),
        "name_id_format": response.get_nameid_format(),
        "name_id_nq": response.get_nameid_nq(),
        "name_id_spnq": response.get_nameid_spnq(),
        "session_index": response.get_session_index(),
    }
    return user, next_url, logout_data


def logout_url(request: HttpRequest, provider: IdentityProvider, data: dict[str, Any], return_to: str) -> str:
    """The provider's single logout URL carrying a signed LogoutRequest for this session."""
    auth = OneLogin_Saml2_Auth(request_data(request), saml_settings(request, provider))
    return auth.logout(
        return_to=return_to,
        name_id=data.get("name_id"),
        session_index=data.get("session_index"),
        nq=data.get("name_id_nq"),
        name_id_format=data.get("name_id_format"),
        spnq=data.get("name_id_spnq"),
    )


def process_logout(request: HttpRequest, provider: IdentityProvider, end_session) -> str | None:
    """A LogoutRequest or LogoutResponse from the provider (HTTP-Redirect). Ends the local session
    through ``end_session`` when valid; returns where to send the browser (the provider, with our
    LogoutResponse, when it asked), or None. Raises SignInRefused when invalid."""
    if "Signature" not in request.GET:
        # python3-saml checks a signature only when there is one (unless every message, the
        # sign-in responses too, must be signed): an unsigned logout message is refused here.
        raise SignInRefused("The logout message is not signed.")
    auth = OneLogin_Saml2_Auth(request_data(request), saml_settings(request, provider))
    try:
        url = auth.process_slo(delete_session_cb=end_session)
    except Exception as exc:
        raise SignInRefused(f"The logout message cannot be read: {exc}") from None
    if auth.get_errors():
        raise SignInRefused(f"The logout message was refused: {auth.get_last_error_reason() or auth.get_errors()}")
    return url
