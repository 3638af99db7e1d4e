"""Why a sign-in through an identity provider was refused."""


class SignInRefused(Exception):
    """The provider's answer, or the request that carried it, cannot be trusted: nobody is signed
    in. The message says why, for the audit log and the page shown."""
