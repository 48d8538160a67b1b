"""The spectator page (static files, no build step), installed as package data: arena.frontend.

This file only makes the folder a package, so the app finds the page with importlib.resources
in an editable install too (see pyproject.toml)."""
