"""What every command prints with: the two consoles, an error that exits with status 2, and
logging through rich."""

from __future__ import annotations

import logging

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape

console = Console()
err = Console(stderr=True)


def fail(message: str, to: Console = err) -> typer.Exit:
    """Print `message` as an error; raise the returned Exit (status 2)."""
    to.print(f"[bold red]error:[/bold red] {escape(message)}", highlight=False)
    return typer.Exit(code=2)


def invalid(exc: ValidationError) -> str:
    """A validation error as the fields at fault and why, one per line, without the input (it
    may be thousands of names): `personas: List should have at most 200 items ...`."""
    lines = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        msg = error["msg"].removeprefix("Value error, ")
        lines.append(f"{where}: {msg}" if where else msg)
    return "\n".join(lines)


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=err, show_path=False)],
    )
