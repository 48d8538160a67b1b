"""Liveness for load balancers and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from redis.exceptions import RedisClusterException, RedisError

from arena.api.deps import MetricsDep, StoreDep
from arena.api.schemas import Health
from arena.store import Store

router = APIRouter(tags=["health"])


async def _redis_ok(store: Store) -> bool:
    """Redis answers; on a Redis Cluster, CLUSTER INFO also says cluster_state:ok (a cluster
    with a slot not served fails the commands of that slot)."""
    if not await store.ping():
        return False
    try:
        state = await store.cluster_state()
    except (RedisError, RedisClusterException, OSError):
        return False
    return state is None or state[0]


@router.get(
    "/healthz",
    response_model=Health,
    responses={503: {"model": Health, "description": "Redis (or its cluster) is down"}},
)
async def healthz(store: StoreDep) -> JSONResponse:
    ok = await _redis_ok(store)
    body = Health(status="ok" if ok else "unavailable", redis=ok)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


@router.get("/metrics", response_class=Response)
async def metrics(store: StoreDep, api_metrics: MetricsDep) -> Response:
    try:
        counters = await store.counters()
    except (RedisError, OSError):
        counters = None
    return Response(api_metrics.render(counters), media_type=CONTENT_TYPE_LATEST)
