"""The CLI is a package of its own: installable without Django, with help and examples on every
command, shell completion, and no import in either direction with the control plane."""

import ast
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import click

from tessera_cli.main import cli
from tests.cli.conftest import TESSERA
from tests.conftest import REPO

SERVER_PACKAGES = {"django", "rest_framework", "accounts", "clusters", "workloads", "controlplane", "frontend", "agent"}


def test_the_package_depends_only_on_small_client_libraries():
    project = tomllib.loads((REPO / "cli" / "pyproject.toml").read_text())["project"]

    names = {
        dependency.split(">")[0].split("=")[0].split("<")[0].strip().lower() for dependency in project["dependencies"]
    }

    assert names == {"click", "httpx", "pyyaml", "rich"}
    assert project["scripts"] == {"tessera": "tessera_cli.main:main"}


def test_help_runs_without_importing_django_or_the_control_plane(tmp_path):
    # Every command module is loaded by the root group; run a deep --help from outside the repository.
    probe = (
        "import sys\n"
        "from tessera_cli.main import cli\n"
        "try:\n"
        "    cli.main(['training', 'submit', '--help'], prog_name='tessera')\n"
        "except SystemExit as exit:\n"
        "    assert exit.code == 0, exit.code\n"
        "print('IMPORTED', sorted({m.split('.')[0] for m in sys.modules}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH")}

    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True)

    assert done.returncode == 0, done.stderr
    assert "Usage: tessera training submit" in done.stdout
    imported = set(ast.literal_eval(done.stdout.rsplit("IMPORTED", 1)[1].strip()))
    assert "tessera_cli" in imported and not imported & SERVER_PACKAGES


def test_the_control_plane_never_imports_the_cli():
    sources = [p for package in SERVER_PACKAGES - {"django", "rest_framework"} for p in (REPO / package).rglob("*.py")]

    assert sources
    assert [str(p) for p in sources if "tessera_cli" in p.read_text()] == []


def _leaf_commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    found = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _leaf_commands(command, (*path, name))
        if not isinstance(command, click.Group) or command.invoke_without_command:
            found.append(((*path, name), command))
    return found


def test_every_command_has_help_with_examples():
    commands = _leaf_commands(cli)

    missing = []
    for path, command in commands:
        context = click.Context(command, info_name=" ".join(("tessera", *path)))
        text = command.get_help(context)
        if "Examples:" not in text or f"tessera {' '.join(path)}" not in text:
            missing.append(" ".join(path))

    assert len(commands) > 30
    assert missing == []


def test_shell_completion_completes_commands():
    env = {**os.environ, "_TESSERA_COMPLETE": "bash_complete", "COMP_WORDS": "tessera tra", "COMP_CWORD": "1"}

    done = subprocess.run([str(TESSERA)], env=env, capture_output=True, text=True)
    script = subprocess.run([str(TESSERA), "completion", "bash"], capture_output=True, text=True)

    assert "plain,training" in done.stdout.split()
    assert script.returncode == 0 and "_TESSERA_COMPLETE" in script.stdout


def test_usage_errors_exit_2():
    done = subprocess.run([str(TESSERA), "training", "submit"], capture_output=True, text=True)

    assert done.returncode == 2
    assert "Missing argument 'NAME'" in done.stderr


def test_the_installed_command_is_the_packages_entry_point():
    assert Path(TESSERA).exists()
    done = subprocess.run([str(TESSERA), "--version"], capture_output=True, text=True)
    assert done.stdout.strip() == "tessera, version 0.1.0"
