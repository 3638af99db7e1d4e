"""What the CLI prints: tables that fit the terminal, or JSON and YAML for scripts; a spinner
while it waits, only when a person is watching."""

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import click
import yaml
from rich.console import Console
from rich.table import Table

FORMATS = ("table", "json", "yaml")

# A column: its heading, and how to read it from one item.
Column = tuple[str, Callable[[dict[str, Any]], Any]]


def output_option(function: Callable) -> Callable:
    return click.option(
        "-o",
        "--output",
        type=click.Choice(FORMATS),
        default="table",
        show_default=True,
        help="Output format: a table for people, json or yaml for scripts.",
    )(function)


def console() -> Console:
    """The terminal's width (or $COLUMNS); into a pipe or a file, lines are never cut."""
    if sys.stdout.isatty() or os.environ.get("COLUMNS"):
        return Console(highlight=False)
    return Console(highlight=False, width=UNLIMITED)


UNLIMITED = 100_000
GAP = 2  # spaces between columns


def _cell(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def dump(data: Any, fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), nl=False)


def show_list(items: Sequence[dict[str, Any]], columns: Sequence[Column], fmt: str, empty: str = "") -> None:
    """A list as a table (one row per item), or as the server gave it in JSON or YAML."""
    if fmt != "table":
        dump(list(items), fmt)
        return
    if not items:
        click.echo(empty or "Nothing to show.", err=True)
        return
    rows = [[_cell(read(item)) for _, read in columns] for item in items]
    headings = [heading for heading, _ in columns]
    # Columns come most useful first: while the table is wider than the terminal, the last
    # columns go, rather than every cell being cut or folded. The first column always stays.
    width = console().width
    shown = len(columns)
    while shown > 1 and _natural_width(headings[:shown], [row[:shown] for row in rows]) > width:
        shown -= 1
    # kubectl's look: a header line, aligned columns, no rules.
    table = Table(box=None, pad_edge=False, expand=False, header_style="bold", padding=(0, GAP, 0, 0))
    for heading in headings[:shown]:
        table.add_column(heading, overflow="ellipsis", no_wrap=True)
    for row in rows:
        table.add_row(*row[:shown])
    _print(table)


def _print(table: Table) -> None:
    """Print without the padding rich leaves at the end of each line."""
    out = console()
    with out.capture() as captured:
        out.print(table)
    click.echo("\n".join(line.rstrip() for line in captured.get().splitlines()), color=out.is_terminal)


def _natural_width(headings: Sequence[str], rows: Sequence[Sequence[str]]) -> int:
    widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(headings)]
    return sum(widths) + GAP * len(widths)


def show_object(data: dict[str, Any], rows: Sequence[Column], fmt: str) -> None:
    """One object: ``field  value`` lines, or the whole object in JSON or YAML."""
    if fmt != "table":
        dump(data, fmt)
        return
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for heading, read in rows:
        table.add_row(heading, _cell(read(data)))
    _print(table)


def interactive() -> bool:
    return sys.stdout.isatty() and sys.stderr.isatty()


@contextlib.contextmanager
def spinner(message: str) -> Iterator[Callable[[str], None]]:
    """Shows ``message`` with a spinner on a terminal; yields a function that updates it.
    Prints nothing when the output goes to a file or a pipe."""
    if not interactive():
        yield lambda _: None
        return
    with Console(stderr=True, highlight=False).status(message) as status:
        yield lambda text: status.update(text)
