"""What every command prints with: the two consoles, an error that exits with status 2, and
logging through rich."""

from __future__ import annotations

import logging

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape

console = Console()
err = Console(stderr=True)


def fail(message: str, to: Console = err) -> typer.Exit:
    """Print `message` as an error; raise the returned Exit (status 2)."""
    to.print(f"[bold red]error:[/bold red] {escape(message)}", highlight=False)
    return typer.Exit(code=2)


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=err, show_path=False)],
    )
