"""Liveness for load balancers and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from redis.exceptions import RedisError

from arena.api.deps import MetricsDep, StoreDep
from arena.api.schemas import Health

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    response_model=Health,
    responses={503: {"model": Health, "description": "Redis is down"}},
)
async def healthz(store: StoreDep) -> JSONResponse:
    ok = await store.ping()
    body = Health(status="ok" if ok else "unavailable", redis=ok)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


@router.get("/metrics", response_class=Response)
async def metrics(store: StoreDep, api_metrics: MetricsDep) -> Response:
    try:
        counters = await store.counters()
    except (RedisError, OSError):
        counters = None
    return Response(api_metrics.render(counters), media_type=CONTENT_TYPE_LATEST)
