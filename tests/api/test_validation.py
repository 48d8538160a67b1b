"""Hostile input to POST /api/matches and GET /api/matches: every case is a 422 naming the
field, nothing is stored, and no error echoes what it should not (a lone surrogate, the store's
address)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from arena.config import Settings
from arena.errors import UnknownModelError
from arena.models.registry import MAX_MODEL_NAME, require_available
from arena.store import EmbeddedServer
from tests.api.conftest import Api, MakeApi

MAX_SEED = 2**63 - 1


def body(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "motion": "ai-art",
        "pro": {"persona": "pirate"},
        "con": {"persona": "kantian"},
        "rounds": 1,
    }
    return {**base, **changes}


async def post_raw(api: Api, payload: Any) -> httpx.Response:
    """POST the body as JSON with non-ASCII escaped, as a browser or curl may send it: a lone
    surrogate travels as the escape `\\ud800`."""
    content = json.dumps(payload, ensure_ascii=True)
    headers = {"content-type": "application/json"}
    return await api.client.post("/api/matches", content=content, headers=headers)


def only_error(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 422, r.text
    errors = json.loads(r.content.decode("utf-8"))["detail"]  # strict UTF-8: no surrogate
    assert len(errors) == 1, errors
    error: dict[str, Any] = errors[0]
    return error


async def nothing_stored(api: Api) -> bool:
    return await api.store.list_matches() == ([], None)


@pytest.mark.parametrize(
    ("changes", "loc"),
    [
        ({"motion": "cats \ud800 dogs"}, ["body", "motion"]),
        ({"pro": {"persona": "pi\udfffrate"}}, ["body", "pro", "persona"]),
        ({"con": {"persona": "kantian", "model": "local:\ud83d"}}, ["body", "con", "model"]),
        ({"judge": "\udc00"}, ["body", "judge"]),
        ({"judges": ["local:smollm2", "ollama:\ud800"]}, ["body", "judges", 1]),
    ],
)
async def test_a_lone_surrogate_is_a_422_naming_the_field(
    api: Api, changes: dict[str, Any], loc: list[Any]
) -> None:
    error = only_error(await post_raw(api, body(**changes)))
    assert error["loc"] == loc
    assert "surrogate" in error["msg"]
    assert "\\u" in json.dumps(error["input"], ensure_ascii=False)  # quoted as an escape
    assert await nothing_stored(api)


async def test_a_lone_surrogate_in_a_key_or_a_wrong_type_is_still_a_clean_422(api: Api) -> None:
    r = await post_raw(api, {**body(), "\ud800": 1})
    assert only_error(r)["input"] == "\\ud800"  # pydantic names no field for a key
    r = await post_raw(api, body(rounds="\ud800"))
    error = only_error(r)
    assert (error["loc"], error["input"]) == (["body", "rounds"], "\\ud800")
    assert await nothing_stored(api)


async def test_a_body_that_is_not_utf8_is_a_422_like_one_that_is_not_json(api: Api) -> None:
    headers = {"content-type": "application/json"}
    for content in (b'{"motion": "\xc3\x28"}', b"\xca", b"{oops"):
        r = await api.client.post("/api/matches", content=content, headers=headers)
        error = only_error(r)
        assert (error["type"], error["loc"][0]) == ("json_invalid", "body")
    assert await nothing_stored(api)


def _long(n: int) -> str:
    return "ollama:" + "x" * (n - len("ollama:"))


@pytest.mark.parametrize(
    ("changes", "loc", "says"),
    [
        (
            {"pro": {"persona": "pirate", "model": "local:../../etc"}},
            ["body", "pro", "model"],
            "unknown local model '../../etc'; known: local:smollm2",
        ),
        ({"judge": "local:nope"}, ["body", "judge"], "unknown local model 'nope'"),
        (
            {"con": {"persona": "kantian", "model": _long(MAX_MODEL_NAME + 1)}},
            ["body", "con", "model"],
            f"at most {MAX_MODEL_NAME} characters",
        ),
        ({"judges": ["ollama:a", _long(10_000)]}, ["body", "judges", 1], "at most 200"),
        ({"judge": "ollama:llama 3"}, ["body", "judge"], "should match pattern"),
        ({"judge": 'ollama:"><script>'}, ["body", "judge"], "should match pattern"),
        ({"judge": "ollama:a\nb"}, ["body", "judge"], "should match pattern"),
        ({"judges": ["ollama:a", "ollama:b", "ollama:a"]}, ["body", "judges", 2], "listed twice"),
        ({"seed": -1}, ["body", "seed"], "greater than or equal to 0"),
        ({"seed": MAX_SEED + 1}, ["body", "seed"], f"less than or equal to {MAX_SEED}"),
        ({"pro": {"persona": "p" * 101}}, ["body", "pro", "persona"], "at most 100"),
    ],
)
async def test_bad_names_seeds_and_panels_are_a_422_naming_the_field(
    api: Api, changes: dict[str, Any], loc: list[Any], says: str
) -> None:
    error = only_error(await api.client.post("/api/matches", json=body(**changes)))
    assert error["loc"] == loc
    assert says in error["msg"]
    assert await nothing_stored(api)


async def test_the_limits_themselves_are_accepted(make_api: MakeApi) -> None:
    api = await make_api(compatible_base_url="http://127.0.0.1:9/v1")
    name = _long(MAX_MODEL_NAME)
    changes = {
        "pro": {"persona": "pirate", "model": "openai-compatible:Qwen/Qwen2.5-7B@v1+q4_K.M"},
        "judges": [name, "ollama:llama3.2:3b"],
        "seed": MAX_SEED,
    }
    r = await api.client.post(
        "/api/matches", json=body(**changes, motion="Cats \U0001f408 are better.")
    )
    assert r.status_code == 201, r.text
    record = await api.store.get_match(r.json()["id"])
    assert record is not None
    assert record.spec.seed == MAX_SEED
    assert record.spec.judges == [name, "ollama:llama3.2:3b"]
    assert record.spec.motion == "Cats \U0001f408 are better."


@pytest.mark.parametrize("cursor", ["nope", "", "0" * 15, "0" * 17, "0000000000000ilu", "(a", "+"])
async def test_a_malformed_cursor_is_a_422(api: Api, cursor: str) -> None:
    r = await api.client.get("/api/matches", params={"cursor": cursor})
    error = only_error(r)
    assert error["loc"] == ["query", "cursor"]


async def test_a_well_formed_cursor_pages_on(api: Api) -> None:
    ids = [(await api.client.post("/api/matches", json=body())).json()["id"] for _ in range(2)]
    r = await api.client.get("/api/matches", params={"cursor": ids[1]})
    assert r.status_code == 200
    assert [m["id"] for m in r.json()["items"]] == [ids[0]]


def test_the_registry_refuses_the_same_names_outside_the_api(settings: Settings) -> None:
    """The CLI and the worker go through require_available too."""
    for name, says in [
        ("local:../../etc", "unknown local model"),
        ("ollama:" + "x" * 300, "limit is 200"),
        ("ollama:a b", "characters outside letters, digits and :._-/@+: ' '"),
        ("ollama:\ud800", "'\\ud800'"),
    ]:
        with pytest.raises(UnknownModelError, match=None) as caught:
            require_available(name, settings)
        assert says in str(caught.value)
        str(caught.value).encode("utf-8")  # the message itself is printable
    custom = settings.model_copy(update={"local_model_path": Path("/models/other.gguf")})
    require_available("local:other", custom)  # any name once a GGUF file is configured


@pytest.mark.slow
async def test_a_503_says_store_unavailable_without_the_address(
    make_api: MakeApi, tmp_path: Path
) -> None:
    server = EmbeddedServer(tmp_path / "own-redis")
    url = await asyncio.to_thread(server.acquire)
    api = await make_api(redis_url=url)
    await asyncio.to_thread(server.release)  # the last user: shuts the server down
    for r in (
        await api.client.get("/api/matches"),
        await api.client.post("/api/matches", json=body()),
        await api.client.get("/api/leaderboard"),
    ):
        assert r.status_code == 503
        assert r.json() == {"detail": "store unavailable, retry shortly"}
        assert str(tmp_path) not in r.text and "unix" not in r.text


async def test_a_persona_against_itself_is_refused_naming_the_field(api: Api) -> None:
    body = {"motion": "four-day-week", "pro": {"persona": "stoic"}, "con": {"persona": "stoic"}}
    r = await api.client.post("/api/matches", json=body)
    assert r.status_code == 422
    (error,) = r.json()["detail"]
    assert error["loc"] == ["body", "con", "persona"] and "self-play" in error["msg"]
