"""Seed the system roles from ``accounts.roles`` (the one table of roles, written in code).

A later change to that table comes with a migration that runs ``seed_roles`` again; a
``post_migrate`` receiver also rewrites it, so a database flushed by ``manage.py flush`` (as
transactional tests do) gets its roles back.
"""

from django.db import migrations


def seed(apps, schema_editor):
    from accounts.roles import seed_roles

    seed_roles(apps.get_model("accounts", "Role"))


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_identity_and_access")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
