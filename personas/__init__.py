"""The bundled personas and motions, installed as package data: arena.personas_data.

This file only makes the folder a package, so the app finds them with importlib.resources in an
editable install too (see pyproject.toml)."""
