"""The ``tessera`` command: the root group, shell completion, and the process's exit code."""

import sys

import click
from click.shell_completion import get_completion_class

from tessera_cli import __version__
from tessera_cli.auth import login, logout, whoami
from tessera_cli.errors import EXIT_CODES_HELP, ExitCode
from tessera_cli.org import cluster, node, nodepool, project
from tessera_cli.workloads import GROUPS

ROOT_HELP = f"""Tessera's command-line tool: sign in, pick a project, submit and follow GPU workloads.

\b
Examples:
  tessera login --server https://tessera.example
  tessera project set team-a
  tessera training submit hello -i python:3.11 -g 1 --command -- 'nvidia-smi -L'
  tessera training logs hello --follow
  tessera workspace list -o json

The config file is ~/.config/tessera/config.yaml (or $TESSERA_CONFIG); $TESSERA_SERVER and
$TESSERA_TOKEN override the server and the token it holds.

{EXIT_CODES_HELP}
"""


@click.group(help=ROOT_HELP, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="tessera")
def cli() -> None:
    pass


@cli.command(epilog="""\b
Examples:
  tessera completion bash > ~/.local/share/bash-completion/completions/tessera
  tessera completion zsh > "${fpath[1]}/_tessera"
  tessera completion fish > ~/.config/fish/completions/tessera.fish""")  # fmt: skip
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script for SHELL."""
    completer = get_completion_class(shell)
    assert completer is not None
    click.echo(completer(cli, {}, "tessera", "_TESSERA_COMPLETE").source())


for command in (login, logout, whoami, project, cluster, nodepool, node, *GROUPS):
    cli.add_command(command)


def main() -> None:
    try:
        cli.main(prog_name="tessera")
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    sys.exit(ExitCode.OK)
