"""``tessera training|workspace|inference|distributed submit|list|describe|logs|delete|suspend|resume``.

One group per workload type, built from the same commands: each type is its own resource on the
server (``/api/v1/workloads/trainings`` and the like), as in Run:ai."""

import shlex
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click
from click.shell_completion import CompletionItem

from tessera_cli.client import Api
from tessera_cli.config import Config
from tessera_cli.errors import CliError, ExitCode
from tessera_cli.org import find_project
from tessera_cli.output import output_option, show_list, show_object, spinner

ENDED = {"Completed", "Failed", "Stopped"}
POLL_SECONDS = 1.0
PRIORITY_CLASSES = ("train", "interactive-preemptible", "build", "inference")
FRAMEWORKS = ("PyTorch", "TF", "MPI", "XGBoost", "JAX")


@dataclass(frozen=True)
class Kind:
    """One workload type as the CLI and the API name it."""

    command: str  # tessera <command>
    resource: str  # /api/v1/workloads/<resource>
    type: str  # the ``type`` of /api/v1/workloads
    default_priority: str
    summary: str
    suspendable: bool = True  # as in Run:ai, inferences are not suspended and resumed

    @property
    def noun(self) -> str:
        return "distributed training" if self.command == "distributed" else self.command

    @property
    def plural(self) -> str:
        return f"{self.noun}s"

    @property
    def a_noun(self) -> str:
        return f"{'an' if self.noun[0] in 'aeiou' else 'a'} {self.noun}"

    @property
    def title(self) -> str:
        return self.noun.capitalize()


KINDS = (
    Kind("training", "trainings", "Training", "train", "Trainings: batch work that runs to its end."),
    Kind("workspace", "workspaces", "Workspace", "build", "Workspaces: interactive work, not preemptible."),
    Kind("inference", "inferences", "Inference", "inference", "Inferences: models served, not preemptible.",
         suspendable=False),
    Kind("distributed", "distributed", "Distributed", "train",
         "Distributed trainings: a master and workers, started all together or not at all."),
)  # fmt: skip


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def project_for(api: Api, config: Config, given: str | None, required: bool) -> dict[str, Any] | None:
    """The project named by ``-p``, else the default one (``tessera project set``)."""
    if given:
        return find_project(api, given)
    if config.projectId:
        return {"id": config.projectId, "name": config.project}
    if required:
        raise CliError("No project: give -p PROJECT or run `tessera project set PROJECT`.", ExitCode.USAGE)
    return None


def find_workload(api: Api, kind: Kind, name: str, project: dict[str, Any] | None) -> dict[str, Any]:
    """The visible workload of this kind with this name (in the project, if one is known) or id."""
    if _is_uuid(name):
        workload = api.get(f"/api/v1/workloads/{name}", what=f"{kind.title} {name}")
        if workload.get("type") != kind.type:
            raise CliError(f"{name} is a {workload.get('type')}, not {kind.a_noun}.", ExitCode.NOT_FOUND)
        return workload
    filters = [f"name=={name}", f"type=={kind.type}"]
    if project:
        filters.append(f"projectId=={project['id']}")
    found = list(api.pages("/api/v1/workloads", "workloads", filters))
    where = f" in project {project['name']!r}" if project else ""
    if not found:
        raise CliError(f"{kind.title} {name!r} not found{where}.", ExitCode.NOT_FOUND)
    if len(found) > 1:
        projects = ", ".join(sorted(w["projectName"] for w in found))
        raise CliError(f"Several {kind.plural} are named {name!r} (projects {projects}): give -p PROJECT.")
    return found[0]


def gpu_request(workload: dict[str, Any]) -> str | None:
    asked = workload.get("workloadRequestedResources") or {}
    devices = (asked.get("gpu") or {}).get("request")
    if asked.get("gpuMemory"):
        count = devices or 1
        return f"{count:g} x {asked['gpuMemory'].get('request')}"
    if asked.get("gpuPortion"):
        portion = asked["gpuPortion"].get("request")
        count = round(devices / portion) if devices and portion else 1
        return f"{count} x {portion:g}"
    return f"{devices:g}" if isinstance(devices, (int, float)) else None


def exit_status(workload: dict[str, Any]) -> int:
    """The exit status ``--wait`` hands back: the workload's own, 1 for a failure without one."""
    if workload.get("phase") == "Completed":
        return 0
    code = workload.get("exitCode")
    return code if isinstance(code, int) and 0 < code < 256 else 1


def wait_until_ended(api: Api, kind: Kind, workload_id: str, name: str) -> dict[str, Any]:
    """Poll the workload until it ends; a spinner shows its phase and why it waits."""
    with spinner(f"{kind.title} {name}: submitted") as show:
        while True:
            workload = api.get(f"/api/v1/workloads/{workload_id}", what=f"{kind.title} {name}")
            if workload.get("phase") in ENDED:
                return workload
            message = workload.get("phaseMessage")
            show(f"{kind.title} {name}: {workload.get('phase')}" + (f" ({message})" if message else ""))
            time.sleep(POLL_SECONDS)


def command_line(words: tuple[str, ...]) -> str:
    """The words after ``--`` as one shell line; a single word is taken as a whole line."""
    return words[0] if len(words) == 1 else shlex.join(words)


def parse_env(pairs: tuple[str, ...]) -> list[dict[str, str]]:
    variables = []
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{pair!r} is not NAME=VALUE.", param_hint="--env")
        variables.append({"name": name, "value": value})
    return variables


def submit_spec(kind: Kind, options: dict[str, Any], words: tuple[str, ...]) -> dict[str, Any]:
    """Run:ai's workload ``spec`` from the flags."""
    spec: dict[str, Any] = {}
    if options["image"]:
        spec["image"] = options["image"]
    if options["command"] and not words:
        raise click.UsageError("--command needs the command after --, e.g. --command -- python train.py")
    if words:
        spec["command" if options["command"] else "args"] = command_line(words)
    if options["env"]:
        spec["environmentVariables"] = parse_env(options["env"])
    compute: dict[str, Any] = {}
    if options["gpu"] is not None:
        compute["gpuDevicesRequest"] = options["gpu"]
    if options["gpu_portion"] is not None and options["gpu_memory"] is not None:
        raise click.UsageError("Give --gpu-portion or --gpu-memory, not both.")
    if options["gpu_portion"] is not None:
        compute.update(gpuRequestType="portion", gpuPortionRequest=options["gpu_portion"])
    if options["gpu_memory"] is not None:
        compute.update(gpuRequestType="memory", gpuMemoryRequest=options["gpu_memory"])
    if options["cpu"] is not None:
        compute["cpuCoreRequest"] = options["cpu"]
    if options["memory"] is not None:
        compute["cpuMemoryRequest"] = options["memory"]
    if compute:
        spec["compute"] = compute
    if options["priority"]:
        spec["priorityClass"] = options["priority"]
    if options["preemptible"] is not None:
        spec["preemptibility"] = "preemptible" if options["preemptible"] else "non-preemptible"
    if kind.command == "distributed":
        spec["distributedFramework"] = options["framework"]
        spec["numWorkers"] = options["workers"]
    return spec


WORKLOAD_COLUMNS = [
    ("NAME", lambda w: w["name"]),
    ("PROJECT", lambda w: w.get("projectName")),
    ("PHASE", lambda w: w.get("phase")),
    ("GPU", gpu_request),
    ("PRIORITY", lambda w: w.get("priorityClassName")),
    ("NODE", lambda w: w.get("nodeName")),
    ("SUBMITTED BY", lambda w: w.get("submittedBy")),
    ("CREATED", lambda w: (w.get("createdAt") or "")[:19].replace("T", " ")),
]
WORKLOAD_ROWS = [
    ("Name", lambda w: w["name"]),
    ("Id", lambda w: w["id"]),
    ("Type", lambda w: w.get("type")),
    ("Project", lambda w: w.get("projectName")),
    ("Department", lambda w: w.get("departmentName")),
    ("Cluster", lambda w: w.get("clusterId")),
    ("Phase", lambda w: w.get("phase")),
    ("Message", lambda w: w.get("phaseMessage")),
    ("Exit code", lambda w: w.get("exitCode")),
    ("Image", lambda w: ", ".join(w.get("images") or [])),
    ("Command", lambda w: w.get("command")),
    ("Arguments", lambda w: w.get("arguments")),
    ("Environment", lambda w: ", ".join(f"{e['name']}={e['value']}" for e in w.get("environmentVariables") or [])),
    ("GPU request", gpu_request),
    ("Pods", lambda w: (w.get("requestedPods") or {}).get("max")),
    ("Priority", lambda w: w.get("priorityClassName")),
    ("Preemptible", lambda w: w.get("preemptible")),
    ("Node", lambda w: w.get("nodeName")),
    ("Allocated GPUs", lambda w: ", ".join(map(str, w.get("allocatedGpuIds") or []))),
    ("Submitted by", lambda w: w.get("submittedBy")),
    ("Created", lambda w: w.get("createdAt")),
    ("Completed", lambda w: w.get("completedAt")),
]
EVENT_COLUMNS = [
    ("TIME", lambda e: (e.get("createdAt") or "")[:19].replace("T", " ")),
    ("REASON", lambda e: e.get("reason")),
    ("MESSAGE", lambda e: e.get("message")),
]


def name_argument(kind: Kind) -> Callable[[Callable], Callable]:
    """The NAME of a workload of this kind; the shell completes it from the server's list."""

    def complete(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
        filters = [f"type=={kind.type}"] + ([f"name=^{incomplete}"] if incomplete else [])
        try:
            found = Api.signed_in(Config.load()).pages("/api/v1/workloads", "workloads", filters)
            return [CompletionItem(name) for name in sorted({w["name"] for w in found})]
        except (CliError, ValueError):  # not signed in, server away: nothing to offer
            return []

    return click.argument("name", shell_complete=complete)


def _complete_projects(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    try:
        projects = Api.signed_in(Config.load()).pages("/api/v1/org-unit/projects", "projects")
        return [CompletionItem(p["name"]) for p in projects if p["name"].startswith(incomplete)]
    except (CliError, ValueError):
        return []


def project_option(function: Callable) -> Callable:
    return click.option(
        "-p",
        "--project",
        metavar="PROJECT",
        shell_complete=_complete_projects,
        help="Project name or id (default: the one of `tessera project set`).",
    )(function)


def _submit_options(kind: Kind) -> list[Callable[[Callable], Callable]]:
    options = [
        click.option("-i", "--image", help="Container image (recorded on the local runtime, pulled on Kubernetes)."),
        click.option("--command", is_flag=True,
                     help="The words after -- replace the image's command (otherwise they are its arguments)."),
        click.option("-g", "--gpu", "--gpu-devices-request", "gpu", type=click.IntRange(0),
                     help="Number of GPU devices (with --gpu-portion or --gpu-memory: devices shared)."),
        click.option("--gpu-portion", "--gpu-portion-request", "gpu_portion",
                     type=click.FloatRange(0, 1, min_open=True),
                     help="Fraction of each GPU, e.g. 0.5."),
        click.option("--gpu-memory", "--gpu-memory-request", "gpu_memory", metavar="QUANTITY",
                     help="GPU memory per device, e.g. 20Gi or 512Mi."),
        click.option("--cpu", "--cpu-core-request", "cpu", type=click.FloatRange(0, min_open=True),
                     help="CPU cores, e.g. 0.5."),
        click.option("--memory", "--cpu-memory-request", "memory", metavar="QUANTITY",
                     help="CPU memory, e.g. 4G."),
        click.option("-e", "--env", "--environment", "env", multiple=True, metavar="NAME=VALUE",
                     help="Environment variable; repeat for more."),
        click.option("--priority", type=click.Choice(PRIORITY_CLASSES),
                     help=f"Priority class (default {kind.default_priority})."),
        click.option("--preemptible/--non-preemptible", default=None,
                     help="Whether a higher priority may preempt it (default: by priority class)."),
        click.option("--name-prefix", is_flag=True, help="Use NAME as a prefix and add a random suffix."),
        click.option("--wait", is_flag=True,
                     help="Block until the workload ends and exit with its exit status "
                          "(1 if it failed without one, or was suspended)."),
    ]  # fmt: skip
    if kind.command == "distributed":
        options += [
            click.option("--workers", type=click.IntRange(1), required=True, help="Number of worker pods."),
            click.option("--framework", type=click.Choice(FRAMEWORKS), default="PyTorch", show_default=True,
                         help="Distributed framework."),
        ]  # fmt: skip
    return options


def workload_group(kind: Kind) -> click.Group:
    """The command group of one workload type."""
    cmd = f"tessera {kind.command}"
    workers = " --workers 2" if kind.command == "distributed" else ""

    @click.group(name=kind.command, help=kind.summary)
    def group() -> None:
        pass

    def submit(name: str, words: tuple[str, ...], project: str | None, output: str, **options: Any) -> None:
        config = Config.load()
        api = Api.signed_in(config)
        target = project_for(api, config, project, required=True)
        assert target is not None
        body: dict[str, Any] = {"name": name, "projectId": str(target["id"]), "spec": submit_spec(kind, options, words)}
        if options["name_prefix"]:
            body["useGivenNameAsPrefix"] = True
        if kind.command == "distributed":
            body["masterSpecSameAsWorker"] = True  # every process runs the one spec
        created = api.post(f"/api/v1/workloads/{kind.resource}", body, what=f"{kind.title} {name!r} refused")
        workload_id, actual_name = created["workloadId"], created["name"]
        if not options["wait"]:
            if output == "table":
                click.echo(f"{kind.title} {actual_name!r} submitted to project {target['name']!r} (id {workload_id}).")
            else:
                show_object(created, [], output)
            return
        click.echo(f"{kind.title} {actual_name!r} submitted (id {workload_id}); waiting for it to end...", err=True)
        final = wait_until_ended(api, kind, workload_id, actual_name)
        if output == "table":
            code = f", exit code {final['exitCode']}" if final.get("exitCode") is not None else ""
            message = f": {final['phaseMessage']}" if final.get("phaseMessage") else ""
            click.echo(f"{kind.title} {actual_name!r} {final['phase']}{code}{message}")
        else:
            show_object(final, [], output)
        raise SystemExit(exit_status(final))

    submit.__doc__ = f"""Submit {kind.a_noun} named NAME; the words after -- are its arguments
    (or, with --command, its command). With --wait, block until it ends and exit with its status.

    \b
    Examples:
      {cmd} submit hello -p team-a -i python:3.11{workers} --command -- 'echo hello from $HOSTNAME'
      {cmd} submit train -i pytorch/pytorch{workers} -g 2 -e EPOCHS=3 -- python train.py --lr 0.1
      {cmd} submit half -i pytorch/pytorch{workers} --gpu-portion 0.5 --wait -- python eval.py
      {cmd} submit big -i nvcr.io/nvidia/pytorch:24.05-py3{workers} --gpu-memory 20Gi --priority build
    """
    for option in reversed(_submit_options(kind)):
        submit = option(submit)
    submit = output_option(project_option(submit))
    submit = click.argument("words", nargs=-1, metavar="[-- COMMAND_OR_ARGS...]")(submit)
    submit = click.argument("name")(submit)
    group.command("submit")(submit)

    @group.command("list", epilog=f"\b\nExamples:\n  {cmd} list\n  {cmd} list -p team-a -o json\n  {cmd} list -A")
    @project_option
    @click.option("-A", "--all-projects", is_flag=True, help="Every project you may see, not just the default one.")
    @output_option
    def list_(project: str | None, all_projects: bool, output: str) -> None:
        config = Config.load()
        api = Api.signed_in(config)
        filters = [f"type=={kind.type}"]
        target = None if all_projects else project_for(api, config, project, required=False)
        if target:
            filters.append(f"projectId=={target['id']}")
        workloads = list(api.pages("/api/v1/workloads", "workloads", filters))
        where = f" in project {target['name']!r}" if target else ""
        show_list(workloads, WORKLOAD_COLUMNS, output, empty=f"No {kind.plural}{where}.")

    list_.help = f"The {kind.plural} of the project (the default one unless -p), or of every project (-A)."

    @group.command(epilog=f"\b\nExamples:\n  {cmd} describe hello\n  {cmd} describe hello -p team-a -o yaml")
    @name_argument(kind)
    @project_option
    @output_option
    def describe(name: str, project: str | None, output: str) -> None:
        config = Config.load()
        api = Api.signed_in(config)
        workload = find_workload(api, kind, name, project_for(api, config, project, required=False))
        events = api.get(f"/api/v1/workloads/{workload['id']}/events").get("events", [])
        if output != "table":
            show_object({**workload, "events": events}, [], output)
            return
        show_object(workload, WORKLOAD_ROWS, output)
        click.echo()
        show_list(events, EVENT_COLUMNS, output, empty="No events.")

    describe.help = f"{kind.a_noun.capitalize()}'s details, what it asked for, where it runs, and its events."

    @group.command(epilog=f"\b\nExamples:\n  {cmd} logs hello\n  {cmd} logs hello --follow\n"
                          f"  {cmd} logs hello --stream stderr")  # fmt: skip
    @name_argument(kind)
    @project_option
    @click.option("-f", "--follow", is_flag=True, help="Keep printing new output until the workload ends.")
    @click.option("--stream", type=click.Choice(["stdout", "stderr"]), help="Only one stream (default: both).")
    def logs(name: str, project: str | None, follow: bool, stream: str | None) -> None:
        config = Config.load()
        api = Api.signed_in(config)
        workload = find_workload(api, kind, name, project_for(api, config, project, required=False))
        path = f"/api/v1/workloads/{workload['id']}/logs"
        params = {"stream": stream} if stream else {}
        if not follow:
            click.echo(api.text(path, **params), nl=False)
            return
        printed = 0
        while True:
            # The agent sends all of a workload's output before its final status, so output read
            # after the workload is seen to have ended is complete.
            ended = api.get(f"/api/v1/workloads/{workload['id']}").get("phase") in ENDED
            text = api.text(path, **params)
            if len(text) > printed:
                click.echo(text[printed:], nl=False)
                printed = len(text)
            if ended:
                return
            time.sleep(POLL_SECONDS)

    logs.help = f"Print {kind.a_noun}'s output (stdout and stderr), or follow it to its end."

    @group.command(epilog=f"\b\nExamples:\n  {cmd} delete hello\n  {cmd} delete hello -p team-a")
    @name_argument(kind)
    @project_option
    def delete(name: str, project: str | None) -> None:
        config = Config.load()
        api = Api.signed_in(config)
        workload = find_workload(api, kind, name, project_for(api, config, project, required=False))
        api.delete(f"/api/v1/workloads/{kind.resource}/{workload['id']}", what=f"Deleting {kind.noun} {name!r}")
        click.echo(f"{kind.title} {name!r} deleted.", err=True)

    delete.help = f"Delete {kind.a_noun}: it is stopped if it runs, and its records go."

    for action, verb, what in (
        (
            ("suspend", "suspended", "Stop it, keeping its definition, so that it can be resumed."),
            ("resume", "resumed", "Queue a suspended one again, as a new run under the same id."),
        )
        if kind.suspendable
        else ()
    ):
        group.command(action, help=f"{action.capitalize()} {kind.a_noun}. {what}",
                      epilog=f"\b\nExamples:\n  {cmd} {action} hello\n  {cmd} {action} hello -p team-a")(
            project_option(name_argument(kind)(_lifecycle(kind, action, verb)))
        )  # fmt: skip
    return group


def _lifecycle(kind: Kind, action: str, verb: str) -> Callable[..., None]:
    def run(name: str, project: str | None) -> None:
        config = Config.load()
        api = Api.signed_in(config)
        workload = find_workload(api, kind, name, project_for(api, config, project, required=False))
        api.post(f"/api/v1/workloads/{kind.resource}/{workload['id']}/{action}",
                 what=f"Cannot {action} {kind.noun} {name!r}")  # fmt: skip
        click.echo(f"{kind.title} {name!r} {verb}.", err=True)

    return run


GROUPS = [workload_group(kind) for kind in KINDS]
