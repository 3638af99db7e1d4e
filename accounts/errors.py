"""Errors a caller can cause in account operations; the API maps them to 4xx responses."""


class AccessDenied(Exception):
    """The subject holds no rule that allows this (403)."""


class Conflict(Exception):
    """The request contradicts what exists: a duplicate, or the last System administrator (409)."""


class Invalid(Exception):
    """The request names something that does not exist or is malformed (400)."""


class NotFound(Exception):
    """Nothing the caller may see has that id (404)."""
