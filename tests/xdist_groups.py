"""`--dist loadgroup` that works: the tests of one xdist_group run on one worker, in order.

pytest-xdist sends the tests of a group to one worker by appending `@group` to their node ids in
the workers, which pytest 9.2's node ids no longer allow: the groups are then silently ignored
and the tests spread over every worker (pytest-dev/pytest-xdist#1386, open). This scheduler
gets the groups another way: each worker writes the group of every test it collected to a file
in a folder the controller made, and the controller reads them before it hands out work. The
units of work are then the groups, handed out in the order the tests were collected (the
conftest hook puts the longest first), each to the next free worker.

tests/conftest.py imports these hooks; `make test` passes `--dist loadgroup`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

FOLDER = "arena_xdist_groups"  # the key of the folder in each worker's workerinput
_folder_key = pytest.StashKey[Path]()


def _grouping(config: pytest.Config) -> bool:
    return config.getoption("dist", "no") == "loadgroup" and bool(
        config.getoption("numprocesses", None)
    )


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput") and _grouping(config):
        config.stash[_folder_key] = Path(tempfile.mkdtemp(prefix="arena-xdist-groups-"))


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = config.stash.get(_folder_key, None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    folder = node.config.stash.get(_folder_key, None)
    if folder is not None:
        node.workerinput[FOLDER] = str(folder)


def record_groups(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In a worker of a grouped run: write each collected test's xdist_group, if it has one."""
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if not workerinput or FOLDER not in workerinput:
        return
    groups = {}
    for item in items:
        mark = item.get_closest_marker("xdist_group")
        if mark is not None:
            groups[item.nodeid] = str(mark.args[0] if mark.args else mark.kwargs.get("name"))
    folder = Path(workerinput[FOLDER])
    partial = folder / f".{workerinput['workerid']}.json"
    partial.write_text(json.dumps(groups))
    os.replace(partial, folder / f"{workerinput['workerid']}.json")  # whole or not at all


@pytest.hookimpl(optionalhook=True, tryfirst=True)  # before xdist's own
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    folder = config.stash.get(_folder_key, None)
    if folder is None:
        return None
    from xdist.scheduler import LoadGroupScheduling

    class GroupScheduling(LoadGroupScheduling):  # type: ignore[misc]
        """xdist's loadgroup, whose scopes are the groups the workers wrote down (or, where a
        pytest still lets xdist suffix node ids with `@group`, that suffix)."""

        groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self.groups is None:  # first called once every worker has collected
                self.groups = {}
                for path in sorted(folder.glob("*.json")):
                    self.groups.update(json.loads(path.read_text()))
            return self.groups.get(nodeid) or str(super()._split_scope(nodeid))

    config.option.loadscopereorder = False  # keep the collection's order: longest first
    return GroupScheduling(config, log)
