"""Create the first administrator if missing; print a generated password once."""

import os
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.services import ensure_first_administrator


class Command(BaseCommand):
    help = "Create the first administrator (TESSERA_ADMIN_USERNAME / TESSERA_ADMIN_PASSWORD) if missing."

    def handle(self, *args: Any, **options: Any) -> None:
        username = os.environ.get("TESSERA_ADMIN_USERNAME") or "admin"
        password = os.environ.get("TESSERA_ADMIN_PASSWORD") or None
        try:
            admin = ensure_first_administrator(username, password)
        except ValidationError as exc:
            raise CommandError(f"TESSERA_ADMIN_PASSWORD is not acceptable: {' '.join(exc.messages)}")
        if not admin.created:
            self.stdout.write(f"Administrator {username!r} already exists.")
        elif admin.password:
            self.stdout.write(
                self.style.WARNING(
                    f"Created administrator {username!r} with password: {admin.password}\n"
                    "This password is shown only once; change it after signing in."
                )
            )
        else:
            self.stdout.write(f"Created administrator {username!r} with the password from TESSERA_ADMIN_PASSWORD.")
