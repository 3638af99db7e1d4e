"""``tessera project list|set``, ``cluster list``, ``nodepool list``, ``node list``."""

from typing import Any

import click

from tessera_cli.client import Api
from tessera_cli.config import Config
from tessera_cli.errors import CliError, ExitCode
from tessera_cli.output import output_option, show_list


def _count(value: Any) -> Any:
    return len(value) if isinstance(value, list) else value


def find_project(api: Api, name_or_id: str) -> dict[str, Any]:
    """The visible project with this name (or id); an invisible one does not exist."""
    projects = list(api.pages("/api/v1/org-unit/projects", "projects"))
    by_id = [p for p in projects if p["id"] == name_or_id]
    found = by_id or [p for p in projects if p["name"] == name_or_id]
    if not found:
        raise CliError(f"Project {name_or_id!r} not found (or not visible to you).", ExitCode.NOT_FOUND)
    if len(found) > 1:
        ids = ", ".join(f"{p['id']} (cluster {p['clusterId']})" for p in found)
        raise CliError(f"Several projects are named {name_or_id!r}: give its id instead, one of {ids}.")
    return found[0]


@click.group()
def project() -> None:
    """Projects: list them, and set the one that commands use by default."""


@project.command("list", epilog="\b\nExamples:\n  tessera project list\n  tessera project list -o json")
@output_option
def project_list(output: str) -> None:
    """The projects you may see; the default one is marked with *."""
    config = Config.load()
    api = Api.signed_in(config)
    projects = list(api.pages("/api/v1/org-unit/projects", "projects"))
    show_list(
        projects,
        [
            ("NAME", lambda p: p["name"] + (" *" if p["id"] == config.projectId else "")),
            ("ID", lambda p: p["id"]),
            ("DEPARTMENT", lambda p: p.get("parentName")),
            ("CLUSTER", lambda p: p.get("clusterId")),
            ("GPU QUOTA", lambda p: (p.get("totalResources") or {}).get("gpuQuota")),
        ],
        output,
        empty="No projects visible to you.",
    )


@project.command("set", epilog="\b\nExamples:\n  tessera project set team-a\n  tessera project set 12")
@click.argument("name")
def project_set(name: str) -> None:
    """Make NAME (a project's name or id) the default project of later commands."""
    config = Config.load()
    found = find_project(Api.signed_in(config), name)
    config.project, config.projectId = found["name"], found["id"]
    config.save()
    click.echo(f"Default project: {found['name']} (id {found['id']}).", err=True)


@click.group()
def cluster() -> None:
    """Clusters that run the work."""


@cluster.command("list", epilog="\b\nExamples:\n  tessera cluster list\n  tessera cluster list -o yaml")
@output_option
def cluster_list(output: str) -> None:
    """The clusters you may see, with their agent's state."""
    clusters = Api.signed_in(Config.load()).get("/api/v1/clusters")
    show_list(
        clusters,
        [
            ("NAME", lambda c: c["name"]),
            ("UUID", lambda c: c["uuid"]),
            ("STATE", lambda c: (c.get("status") or {}).get("state")),
            ("VERSION", lambda c: c.get("version")),
            ("SIMULATED GPUS", lambda c: c.get("simulated")),
            ("LAST SEEN", lambda c: c.get("lastLiveness")),
        ],
        output,
        empty="No clusters visible to you.",
    )


@click.group()
def nodepool() -> None:
    """Node pools: groups of nodes with their own quotas and placement."""


@nodepool.command("list", epilog="\b\nExamples:\n  tessera nodepool list\n  tessera nodepool list -o json")
@output_option
def nodepool_list(output: str) -> None:
    """The node pools you may see."""
    pools = list(Api.signed_in(Config.load()).pages("/api/v1/node-pools", "nodepools"))
    show_list(
        pools,
        [
            ("NAME", lambda p: p["name"]),
            ("ID", lambda p: p["id"]),
            ("CLUSTER", lambda p: p.get("clusterName")),
            ("LABEL", lambda p: f"{p['labelKey']}={p['labelValue']}" if p.get("labelKey") else None),
            ("NODES", lambda p: _count((p.get("status") or {}).get("nodes"))),
            ("PLACEMENT", lambda p: (p.get("placementStrategy") or {}).get("gpu")),
            ("PHASE", lambda p: p.get("phase")),
        ],
        output,
        empty="No node pools visible to you.",
    )


@click.group()
def node() -> None:
    """Nodes and their GPUs."""


@node.command("list", epilog="\b\nExamples:\n  tessera node list\n  tessera node list -o yaml")
@output_option
def node_list(output: str) -> None:
    """The nodes you may see, with their GPUs (simulated ones marked)."""
    nodes = list(Api.signed_in(Config.load()).pages("/api/v1/nodes", "nodes"))
    show_list(
        nodes,
        [
            ("NAME", lambda n: n["name"]),
            ("STATUS", lambda n: n.get("status")),
            ("NODE POOL", lambda n: n.get("nodePool")),
            ("GPU TYPE", lambda n: (n.get("gpuInfo") or {}).get("gpuType")),
            ("GPUS", lambda n: (n.get("gpuInfo") or {}).get("gpuCount")),
            ("SIMULATED", lambda n: (n.get("gpuInfo") or {}).get("simulated")),
            ("CLUSTER", lambda n: n.get("clusterUuid")),
        ],
        output,
        empty="No nodes visible to you.",
    )
