"""The `arena` command: one module per command group (app.py wires them together)."""

from arena.cli.app import main

__all__ = ["main"]
