"""schemathesis, run against the served OpenAPI schema with an administrator's token, finds no
server error, no response that violates the schema and no status code the schema does not list.

A bounded run against the real uvicorn server and the test database: a few generated examples
per operation (valid and invalid), the coverage phase's boundary values (valid ones; its invalid
ones multiply the run's length for what fuzzing already covers) and a fixed seed so CI is
repeatable. A registered cluster with a node, its default organisation, a training, an
identity provider, an application and an access rule give the generated requests something to
find: their ids are given to every operation but deletions.
"""

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from agent.protocol.messages import GpuDevice, Inventory, NodeInventory
from clusters import services
from clusters.models import Cluster, Node, NodePool, Project
from tests.conftest import ADMIN_PASSWORD
from tests.sso.test_idp_api import saml_metadata

pytestmark = pytest.mark.e2e

# Operations that would end the run's own session: revoking its token, signing the administrator
# out everywhere, changing his password.
SESSION_ENDING = r"^/api/v1/(token/revoke|users/\{[^}]+\}/logout|me/password)$"


@dataclass
class Fuzzed:
    cluster: Cluster
    project: Project
    node: Node


@pytest.fixture
def fuzzed(transactional_db):
    """A registered cluster whose agent reported a node with one GPU, and its default
    department and project."""
    cluster = services.register_cluster("fuzzed").cluster
    project = services.ensure_default_organisation(cluster)
    gpu = GpuDevice(index=0, uuid="GPU-0", model="NVIDIA H100", memory_mib=81559, simulated=True)
    services.record_agent_inventory(cluster, Inventory(nodes=[NodeInventory(name="n1", simulated=True, gpus=[gpu])]))
    return Fuzzed(cluster, project, cluster.nodes.get())


def configuration(fuzzed: Fuzzed, created: dict[str, str | int]) -> str:
    """schemathesis.toml: valid-only coverage, and the existing objects' ids for creations' bodies
    and for every operation but deletions (a deleted cluster would leave the rest of the run
    nothing to find). ``created``: the ids of what the test created through the API, by the
    name of the path parameter that takes them."""
    project = fuzzed.project
    ids = {
        "cluster_id": str(fuzzed.cluster.pk),
        "pool_id": NodePool.objects.get(cluster=fuzzed.cluster, name=NodePool.DEFAULT).pk,
        "node_id": fuzzed.node.pk,
        "index": 0,
        **created,
    }
    units = {"departments": project.department_id, "projects": project.pk}
    sections = [
        '[phases.coverage.generation]\nmode = "positive"\n',
        # Creations name their cluster or project in the body: the existing ones, mostly.
        f'[dictionaries.cluster]\nvalues = ["{fuzzed.cluster.pk}"]\n',
        f'[dictionaries.project]\nvalues = ["{project.pk}"]\n',
        '[parameters]\n"body.clusterId" = { dictionary = "cluster", probability = 0.8 }\n'
        '"body.projectId" = { dictionary = "project", probability = 0.8 }\n',
    ]
    sections += [
        f'[[operations]]\ninclude-path-regex = "^/api/v1/org-unit/{kind}/"\nexclude-method = "DELETE"\n'
        f"parameters = {{ unit_id = {unit_id} }}\n"
        for kind, unit_id in units.items()
    ]
    parameters = ", ".join(f'{name} = "{value}"' if isinstance(value, str) else f"{name} = {value}"
                           for name, value in ids.items())  # fmt: skip
    sections.append(
        '[[operations]]\nexclude-path-regex = "^/api/v1/org-unit/"\nexclude-method = "DELETE"\n'
        f"parameters = {{ {parameters} }}\n"
    )
    return "\n".join(sections)


def test_the_api_keeps_to_its_schema(live_server_process, fuzzed, admin_user, tmp_path):
    server = live_server_process.url
    token = httpx.post(
        f"{server}/api/v1/token", json={"grantType": "password", "username": "admin", "password": ADMIN_PASSWORD}
    ).json()["accessToken"]
    headers = {"Authorization": f"Bearer {token}"}

    def create(path: str, body: dict, key: str) -> str:
        answer = httpx.post(f"{server}/api/v1/{path}", json=body, headers=headers)
        assert answer.status_code in (201, 202), answer.text
        return str(answer.json()[key])

    training = {"name": "fuzzed", "projectId": str(fuzzed.project.pk), "spec": {"image": "busybox"}}
    saml = {"type": "saml", "name": "Company SSO", "samlData": {"metadataXmlFile": saml_metadata()}}
    viewer = {"subjectId": "admin", "subjectType": "user", "roleId": 9, "scopeId": "1", "scopeType": "tenant"}
    created = {
        "workload_id": create("workloads/trainings", training, "workloadId"),
        "alias": create("idps", saml, "alias"),
        "app_id": create("apps", {"name": "fuzzed"}, "id"),
        "rule_id": int(create("authorization/access-rules", viewer, "id")),
        "user_id": str(admin_user.pk),
    }
    config = tmp_path / "schemathesis.toml"
    config.write_text(configuration(fuzzed, created))
    st = Path(sys.executable).with_name("st")
    result = subprocess.run(
        [
            str(st),
            "--config-file",
            str(config),
            "run",
            f"{server}/api/schema/?format=json",
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            "not_a_server_error,response_schema_conformance,status_code_conformance",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "5",
            "--seed",
            "1",
            "--workers",
            "1",
            "--exclude-path-regex",
            SESSION_ENDING,
        ],  # fmt: skip
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
    assert "Tested:" in result.stdout
