"""The embedded default's own cluster: registered on first run, its agent token kept in var/."""

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction

from clusters import services
from clusters.models import Cluster

LOCAL_CLUSTER_NAME = "local"


@dataclass(frozen=True)
class LocalCluster:
    cluster: Cluster
    token_file: Path


def _token_file(name: str) -> Path:
    return Path(settings.VAR_DIR) / "agents" / f"{name}.token"


def _write_secret(path: Path, secret: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(secret)


@transaction.atomic
def ensure_local_cluster(name: str = LOCAL_CLUSTER_NAME) -> LocalCluster:
    """Register the local cluster with a ``default`` department and project, if missing.

    The token is stored hashed in the database and in clear only in a 0600 file for the local
    agent; if that file was lost, the token is rotated.
    """
    token_file = _token_file(name)
    cluster = Cluster.objects.filter(name=name).first()
    if cluster is None:
        new = services.register_cluster(name)
        cluster = new.cluster
        _write_secret(token_file, new.token)
    elif not token_file.exists() or services.authenticate_agent(cluster.pk, token_file.read_text().strip()) is None:
        _write_secret(token_file, services.rotate_agent_token(cluster))
    services.ensure_default_organisation(cluster)
    return LocalCluster(cluster=cluster, token_file=token_file)
