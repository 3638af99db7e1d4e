"""Seed the system roles from ``accounts.roles`` (the one table of roles, written in code).

A later change to that table comes with a migration that runs ``seed_roles`` again.
"""

from django.db import migrations


def seed_roles(apps, schema_editor):
    from accounts.roles import ROLE_DEFINITIONS

    Role = apps.get_model("accounts", "Role")
    for definition in ROLE_DEFINITIONS:
        Role.objects.update_or_create(
            id=definition.id, defaults={"name": definition.name, "description": definition.description}
        )
    Role.objects.exclude(id__in=[d.id for d in ROLE_DEFINITIONS]).delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_identity_and_access")]

    operations = [migrations.RunPython(seed_roles, migrations.RunPython.noop)]
