"""From what a provider vouched for to a Tessera user: first sign-in creates the user, every
sign-in brings the groups up to date, so access rules on groups take effect at once."""

from dataclasses import dataclass, replace

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from sso.models import ExternalIdentity, IdentityProvider
from sso.services.refusals import SignInRefused

MAX_GROUP_NAME = 150  # Django's Group.name
MAX_SUBJECT = 255  # ExternalIdentity.subject
MAX_EMAIL = 254  # Django's User.email


@dataclass(frozen=True)
class Vouched:
    """What a provider said about the person signing in, after its signature was checked."""

    subject: str
    email: str = ""
    email_verified: bool = False
    groups: tuple[str, ...] = ()
    first_name: str = ""
    last_name: str = ""


def group_names(value: object) -> tuple[str, ...]:
    """A claim or attribute holding groups, as a list of names: one string or a list of strings."""
    items = [value] if isinstance(value, str) else value if isinstance(value, (list, tuple)) else []
    names = {item.strip() for item in items if isinstance(item, str) and item.strip()}
    return tuple(sorted(name for name in names if len(name) <= MAX_GROUP_NAME))


def _unused_username(wanted: str) -> str:
    users = get_user_model().objects
    wanted = wanted[:140]
    candidate, n = wanted, 1
    while users.filter(username__iexact=candidate).exists():
        n += 1
        candidate = f"{wanted}-{n}"
    return candidate


def _existing_account_for(provider: IdentityProvider, vouched: Vouched):
    """The local account a verified e-mail address links to, if exactly one holds it. Never a
    superuser: the break-glass administrators stay local."""
    if not vouched.email:
        return None
    holders = list(get_user_model().objects.filter(email__iexact=vouched.email)[:2])
    if not holders:
        return None
    if not vouched.email_verified:
        raise SignInRefused(
            f"The provider has not verified the e-mail address {vouched.email}, which belongs to an existing "
            "account; an administrator must link them."
        )
    if len(holders) > 1 or holders[0].is_superuser:
        raise SignInRefused(f"The e-mail address {vouched.email} cannot be linked to an account automatically.")
    if ExternalIdentity.objects.filter(provider=provider, user=holders[0]).exists():
        raise SignInRefused(f"The account with {vouched.email} is already linked to another identity at this provider.")
    return holders[0]


def _create_user(provider: IdentityProvider, vouched: Vouched):
    email = vouched.email if vouched.email_verified else ""
    username = _unused_username(email or f"{provider.alias}-{vouched.subject}")
    user = get_user_model().objects.create_user(
        username, email=email, first_name=vouched.first_name[:150], last_name=vouched.last_name[:150]
    )
    user.set_unusable_password()  # signs in through the provider only
    user.save(update_fields=["password"])
    return user


def sync_groups(identity: ExternalIdentity, names: tuple[str, ...]) -> None:
    """Make the user's provider-given groups exactly ``names``; groups given locally stay."""
    user = identity.user
    dropped = set(identity.groups) - set(names)
    if dropped:
        user.groups.remove(*Group.objects.filter(name__in=dropped))
    user.groups.add(*(Group.objects.get_or_create(name=name)[0] for name in names))
    identity.groups = list(names)


@transaction.atomic
def user_for(provider: IdentityProvider, vouched: Vouched):
    """The user behind (provider, subject), created or linked on the first sign-in."""
    if not vouched.subject or len(vouched.subject) > MAX_SUBJECT:
        raise SignInRefused("The provider named no subject, or one longer than Tessera keeps.")
    if len(vouched.email) > MAX_EMAIL:
        vouched = replace(vouched, email="", email_verified=False)
    identity = (
        ExternalIdentity.objects.select_for_update()
        .select_related("user")
        .filter(provider=provider, subject=vouched.subject)
        .first()
    )
    if identity is None:
        user = _existing_account_for(provider, vouched) or _create_user(provider, vouched)
        identity = ExternalIdentity.objects.create(provider=provider, subject=vouched.subject, user=user)
    if not identity.user.is_active:
        raise SignInRefused("This account is disabled.")
    sync_groups(identity, vouched.groups)
    identity.last_sign_in = timezone.now()
    identity.save(update_fields=["groups", "last_sign_in"])
    return identity.user
