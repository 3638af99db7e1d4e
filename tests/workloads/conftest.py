"""The organisation tree and users with rules, shared with the identity and access tests."""

from tests.accounts.conftest import make_user, org  # noqa: F401  (fixtures)
