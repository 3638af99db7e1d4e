"""Register a cluster and print its agent token, once."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts import audit
from clusters import services
from clusters.models import Cluster


class Command(BaseCommand):
    help = "Register a cluster with a default department and project; prints the agent's token once."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("name")

    def handle(self, *args: Any, name: str, **options: Any) -> None:
        if Cluster.objects.filter(name=name).exists():
            raise CommandError(f"a cluster named {name!r} already exists")
        new = services.register_cluster(name)
        services.ensure_default_organisation(new.cluster)
        audit.record(audit.SYSTEM, "create", "cluster", new.cluster.pk, name, via="register_cluster")
        self.stdout.write(f"TESSERA_CLUSTER_ID={new.cluster.pk}\nTESSERA_AGENT_TOKEN={new.token}")
        self.stderr.write("The token is shown only this once; it is stored hashed.")
