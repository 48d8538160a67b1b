"""Turn a MatchCreate body into a MatchSpec, or a 422 whose `loc` names the field at fault.

The checks are the engine's own (arena.engine.lineup.validate_spec): they run field by field
first so that each ArenaError is reported at its field, then once more as a whole, so that a
check the engine adds later still reaches the user as a 422 and never as a failed match."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException

from arena.api.schemas import MatchCreate
from arena.config import Settings
from arena.domain.personas import Library
from arena.domain.specs import DebaterSpec, MatchSpec, Side
from arena.engine.lineup import validate_spec
from arena.errors import ArenaError, NeedsKeyError, NotFoundError, UnknownModelError
from arena.models.cache import ModelFactory

Loc = tuple[str | int, ...]
T = TypeVar("T")
_BODY_UNREADABLE = "There was an error parsing the body"  # FastAPI's detail


def printable(value: Any) -> Any:
    """`value` with every lone UTF-16 surrogate in its strings written as an escape (`\\ud800`):
    a 422 quotes the input, and a response body must be valid UTF-8."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {printable(k): printable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(printable(v) for v in value)
    return value


class ValidatedRoute(APIRoute):
    """A route whose every complaint about the request is a 422 that can be encoded: a lone
    surrogate in the input (JSON may carry one, in a value or a key) is quoted as an escape, and
    a body that cannot be read is a 422 like one that is not JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                raise RequestValidationError(printable(exc.errors()), body=None) from None
            except HTTPException as exc:
                # FastAPI answers 400 to a body it cannot read (not UTF-8, a broken multipart
                # form), 422 to one that is not JSON
                unreadable = exc.detail == _BODY_UNREADABLE
                if exc.status_code != 400 or not (
                    unreadable or isinstance(exc.__context__, MultiPartException)
                ):
                    raise
                utf8 = isinstance(exc.__cause__, UnicodeDecodeError)
                error = {
                    "type": "json_invalid" if utf8 else "body_invalid",
                    "loc": ["body"],
                    "msg": "not UTF-8 text" if utf8 else "the body does not match its content type",
                }
                raise RequestValidationError([error]) from None

        return route


def _error_type(exc: ArenaError) -> str:
    if isinstance(exc, NotFoundError):
        return "not_found"
    if isinstance(exc, NeedsKeyError):
        return "missing_key"
    if isinstance(exc, UnknownModelError):
        return "unknown_model"
    return "invalid"


def _detail(loc: Loc, exc: ArenaError, value: Any) -> dict[str, Any]:
    return {"loc": list(loc), "msg": str(exc), "type": _error_type(exc), "input": value}


class _Collector:
    def __init__(self) -> None:
        self.errors: list[dict[str, Any]] = []

    def check(self, loc: Loc, value: Any, fn: Callable[[], T]) -> T | None:
        try:
            return fn()
        except ArenaError as exc:
            self.errors.append(_detail(loc, exc, value))
            return None

    def model(self, loc: Loc, name: str, models: ModelFactory) -> None:
        self.check(loc, name, partial(models.require_available, name))


def _judges(body: MatchCreate, settings: Settings, errors: _Collector) -> list[tuple[Loc, str]]:
    if body.judges is not None:
        if body.judge is not None:
            errors.errors.append(
                {
                    "loc": ["body", "judge"],
                    "msg": "give either judge or judges, not both",
                    "type": "conflict",
                    "input": body.judge,
                }
            )
        judges: list[tuple[Loc, str]] = [
            (("body", "judges", i), name) for i, name in enumerate(body.judges)
        ]
        for i, (loc, name) in enumerate(judges):
            if name in body.judges[:i]:
                errors.errors.append(
                    {
                        "loc": list(loc),
                        "msg": f"judge {name!r} is listed twice: a panel needs different judges",
                        "type": "duplicate",
                        "input": name,
                    }
                )
        return judges
    if body.judge is not None:
        return [(("body", "judge"), body.judge)]
    return [(("body", "judge"), settings.default_judge)]


def build_spec(
    body: MatchCreate, library: Library, settings: Settings, models: ModelFactory
) -> MatchSpec:
    """The spec of a new match, with defaults filled in; raises RequestValidationError."""
    errors = _Collector()
    debaters: dict[Side, DebaterSpec] = {}
    for side in ("pro", "con"):
        given = body.pro if side == "pro" else body.con
        assert given is not None  # arena.api.pressure.build_match_spec checked both sides
        persona = errors.check(
            ("body", side, "persona"), given.persona, partial(library.persona, given.persona)
        )
        model = given.model or (persona.model if persona is not None else None)
        model = model or settings.default_model
        errors.model(("body", side, "model"), model, models)
        debaters[side] = DebaterSpec(persona=given.persona, model=model)
    if debaters["pro"].persona == debaters["con"].persona:
        errors.errors.append(
            {
                "loc": ["body", "con", "persona"],
                "msg": f"self-play: {debaters['con'].persona!r} is already PRO; a debate pairs "
                "two different personas (a persona against itself measures nothing on the board)",
                "type": "self_play",
                "input": debaters["con"].persona,
            }
        )
    judges = _judges(body, settings, errors)
    for loc, name in judges:
        errors.model(loc, name, models)
    if errors.errors:
        raise RequestValidationError(errors.errors)
    assert body.motion is not None  # arena.api.pressure.build_match_spec checked
    motion_id, motion = library.motion_text(body.motion)
    spec = MatchSpec(
        motion=motion,
        motion_id=motion_id,
        pro=debaters["pro"],
        con=debaters["con"],
        rounds=body.rounds if body.rounds is not None else settings.default_rounds,
        word_limit=body.word_limit if body.word_limit is not None else settings.word_limit,
        judges=[name for _, name in judges],
        seed=body.seed,
    )
    errors.check(("body",), None, partial(validate_spec, spec, library, settings, models))
    if errors.errors:
        raise RequestValidationError(errors.errors)
    return spec
