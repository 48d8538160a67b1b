"""A bounded schemathesis run: requests generated from the app's own OpenAPI schema, valid and
invalid, against the real app (uvicorn on a loopback port, in a thread with its own event loop)
on the test's Redis. The in-process worker plays created matches with function-backed models, so
no match needs a real model. Every response must be no server error and conform to the schema."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, settings
from schemathesis import Case

from arena.api import create_app
from arena.config import Settings
from tests.fakes import FakeModels

pytestmark = pytest.mark.slow

EXAMPLES = 60  # per operation: well under a minute in all
STARTUP_TIMEOUT = 60.0
TOKEN = "schemathesis-token"


@pytest.fixture
def base_url(settings: Settings) -> Iterator[str]:
    overrides = {"queue_max": 20, "api_token": TOKEN}
    app = create_app(
        settings.model_copy(update=overrides), run_worker=True, models=FakeModels(settings=settings)
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    host, port = sock.getsockname()
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_level="warning"))
    ready = threading.Event()

    async def serve() -> None:
        # uvicorn sets a flag, not an event, once it listens: report it from its own loop
        config_startup = server.startup

        async def startup(sockets: list[socket.socket] | None = None) -> None:
            await config_startup(sockets=sockets)
            ready.set()

        server.startup = startup  # type: ignore[method-assign]
        await server.serve(sockets=[sock])

    thread = threading.Thread(target=lambda: __import__("asyncio").run(serve()), daemon=True)
    thread.start()
    try:
        assert ready.wait(STARTUP_TIMEOUT), "the app did not start"
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(STARTUP_TIMEOUT)
        sock.close()


# The schema the app serves at /openapi.json, built without starting it. (A lazy schema from a
# fixture, schemathesis.pytest.from_fixture, does not run under pytest 9: it sets Node._nodeid.)
schema = schemathesis.openapi.from_dict(create_app(Settings(_env_file=None)).openapi())


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_the_api_conforms_to_its_schema_and_never_fails(base_url: str, case: Case) -> None:
    # with the token, writes get through; schemathesis also sends requests without it
    case.call_and_validate(
        base_url=base_url,
        headers={"Authorization": f"Bearer {TOKEN}"},
        # Starlette answers a method no route of a path takes with the Allow of the first route
        # only (GET and POST /api/matches are two routes): a framework limit, not ours
        excluded_checks=[
            schemathesis.checks.allow_header_conformance,
            # a schema-valid body may still name a persona or model provider that does not exist
            # (the schema cannot list them): that is a 422, not a rejected valid request
            schemathesis.checks.positive_data_acceptance,
        ],
    )
